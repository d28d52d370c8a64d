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

    /** Copies {@code count} 16-bit patterns at {@code src} into {@code dst} from {@code dstOffset}, after queued work. */
    void copyDtoH(short[] dst, int dstOffset, long src, int count);

    /** Copies {@code bytes} from {@code src} to {@code dst} on the device, in stream order. */
    void copyDtoD(long dst, long src, long bytes);

    /** The kernel {@code kernel} of module {@code module} (the .cu file's base name). */
    Function function(String module, String kernel);

    /** Queues {@code function} on grid x block threads; {@code args} in the kernel's parameter order. */
    void launch(Function function, int[] grid, int[] block, int sharedBytes, List<KernelArg> args);

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
