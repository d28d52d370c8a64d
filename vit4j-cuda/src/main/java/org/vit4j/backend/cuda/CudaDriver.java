package org.vit4j.backend.cuda;

import java.util.List;

/**
 * The few CUDA driver operations {@link CudaBackend} needs, so that the same backend runs the same
 * kernels on a GPU ({@link JCudaDriver}) and on the CPU ({@link CpuCudaDriver}, for tests where no
 * GPU is). Device pointers are addresses ({@code long}, 0 is null); ops run in order on one stream.
 *
 * <p>As in CUDA, a context is current per thread: a thread must call {@link #makeCurrent()} before
 * any other call but {@link #deviceName()} and {@link #name()}. Not thread-safe: one thread at a
 * time, any thread.
 *
 * <p>Between {@link #beginCapture()} and {@link #endCapture()}, {@link #launch} and
 * {@link #copyDtoD} are recorded, not run (CUDA stream capture); host transfers and
 * {@link #synchronize()} are errors there and spoil the capture, so that {@link #endCapture()} then
 * fails too.
 */
public interface CudaDriver extends AutoCloseable {

    /** A kernel, from {@link #function}. */
    interface Function {
        /** "module/kernel". */
        String name();
    }

    /** A recorded, launchable graph, from {@link #endCapture()}. */
    interface Graph {}

    /** The backend name this driver gives: "cuda" or "cuda-cpu". */
    String name();

    /** The device, in words. */
    String deviceName();

    /**
     * The device's compute capability as major * 10 + minor (90 for an H100/H200, 80 for an A100); 0 where
     * the driver does not say. {@link CudaKernels} picks the Hopper kernels (sm_90a) on 90 only.
     */
    default int computeCapability() {
        return 0;
    }

    /**
     * The device's multiprocessors (SMs; 132 on an H200, 108 on an A100), 0 where the driver does not say;
     * with them {@link CudaKernels.GemmTile#pick} chooses the tensor-core GEMMs' tile per shape.
     */
    default int multiprocessors() {
        return 0;
    }

    /** The device's memory in bytes (cuDeviceTotalMem); {@link Long#MAX_VALUE} where the driver does not say. */
    default long totalMemory() {
        return Long.MAX_VALUE;
    }

    /** Makes this driver's context current on the calling thread. */
    void makeCurrent();

    /** At least {@code bytes} (> 0) of device memory, 256-byte aligned. */
    long malloc(long bytes);

    void free(long address);

    /** Copies {@code count} floats of {@code src} from {@code srcOffset} to {@code dst}, in stream order. */
    void copyHtoD(long dst, float[] src, int srcOffset, int count);

    /** Copies {@code count} floats at {@code src} into {@code dst} from {@code dstOffset}, after queued work. */
    void copyDtoH(float[] dst, int dstOffset, long src, int count);

    /** Copies {@code count} 16-bit patterns (bf16/fp16 elements) of {@code src} from {@code srcOffset} to {@code dst}. */
    void copyHtoD(long dst, short[] src, int srcOffset, int count);

    /**
     * Copies {@code src} to {@code dst} as {@code type}'s 16-bit patterns. This default rounds into a new
     * array first; a driver with a staging buffer rounds straight into it (JCudaDriver: in parallel
     * chunks, as a batch of 256 images is 38.5M values).
     */
    default void copyHtoDRounded(long dst, float[] src, org.vit4j.ElementType type) {
        copyHtoD(dst, type.toBits(src), 0, src.length);
    }

    /** Copies {@code count} 16-bit patterns at {@code src} into {@code dst} from {@code dstOffset}, after queued work. */
    void copyDtoH(short[] dst, int dstOffset, long src, int count);

    /** Copies {@code bytes} from {@code src} to {@code dst} on the device, in stream order. */
    void copyDtoD(long dst, long src, long bytes);

    /** The kernel {@code kernel} of module {@code module} (the .cu file's base name). */
    Function function(String module, String kernel);

    /** Queues {@code function} on grid x block threads; {@code args} in the kernel's parameter order. */
    void launch(Function function, int[] grid, int[] block, int sharedBytes, List<KernelArg> args);

    /**
     * Null where this driver can {@link #encodeTensorMap encode tensor maps} and
     * {@link #launch(Function, int[], int[], int[], int, List) launch with clusters}, else why not, in one
     * line (for the GPU driver: libvit4j_cuda.so, libcuda.so.1 or one of its entry points missing, or a
     * device older than sm_90). A backend picks its Hopper kernels only where this is null.
     */
    default String hopperProblem() {
        return name() + " has no tensor maps or cluster launches";
    }

    /**
     * Null where {@link #encodeTensorMap} and launches with {@link KernelArg.TensorMap} arguments (cluster
     * {1, 1, 1}) work, else why not, in one line; the backend runs its TMA kernels (linear_v4_tma_*) only
     * where this is null. The GPU driver's answer is {@link #hopperProblem()}'s; cuda-cpu has tensor maps
     * (tma.cuh's fallback) without clusters.
     */
    default String tensorMapProblem() {
        return hopperProblem();
    }

    /**
     * Encodes a TMA descriptor for the device tensor {@code spec} describes (cuTensorMapEncodeTiled on
     * a GPU): 128 bytes to pass to a kernel as {@link KernelArg.TensorMap}, whose parameter is
     * {@code const __grid_constant__ CUtensorMap}. The map holds the address: encode again after the
     * buffer moves. On a GPU the bytes are NVIDIA's opaque encoding; a driver that runs kernels
     * elsewhere (cuda-cpu) may fill the 128 bytes with a layout of its own that its emulation of the
     * TMA copy reads, so a map goes only to kernels launched through the driver that encoded it.
     * Fails with a {@link org.vit4j.Vit4jException} naming the argument or the driver's error.
     */
    default byte[] encodeTensorMap(TensorMapSpec spec) {
        throw new org.vit4j.Vit4jException(name() + ": tensor maps are not supported: " + hopperProblem());
    }

    /**
     * {@link #launch(Function, int[], int[], int, List)} with thread-block clusters of
     * {@code cluster} blocks (cuLaunchKernelEx with CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION on a GPU;
     * each grid size a multiple of the cluster's), and the launch that takes {@link KernelArg.TensorMap}
     * arguments (cluster {1, 1, 1} for none). Dynamic shared memory above 48 KiB is opted into
     * here. Recorded like any launch while a graph is captured.
     */
    default void launch(Function function, int[] grid, int[] block, int[] cluster, int sharedBytes,
            List<KernelArg> args) {
        boolean plain = cluster != null && cluster.length == 3 && cluster[0] == 1 && cluster[1] == 1 && cluster[2] == 1
                && args.stream().noneMatch(a -> a instanceof KernelArg.TensorMap);
        if (!plain) {
            throw new org.vit4j.Vit4jException(name() + ": cluster launches and tensor-map arguments are not supported: "
                    + hopperProblem());
        }
        launch(function, grid, block, sharedBytes, args);
    }

    /** Waits until everything queued has finished. */
    void synchronize();

    /** Starts recording the stream's work into a graph. */
    void beginCapture();

    /**
     * Ends the recording and returns the graph, ready to launch. Where the recording was spoilt, this
     * throws and nothing is left to destroy.
     */
    Graph endCapture();

    /** Queues the whole recorded graph. */
    void launchGraph(Graph graph);

    void destroyGraph(Graph graph);

    /** Releases the stream, modules and context; device memory must have been freed before. */
    @Override
    void close();
}
