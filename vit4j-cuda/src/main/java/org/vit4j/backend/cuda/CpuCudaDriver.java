package org.vit4j.backend.cuda;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.vit4j.Vit4jException;

/**
 * {@link CudaDriver} over {@link CudaCpuNative}: every kernel of kernels/cuda compiled for the CPU,
 * for running the CUDA backend, and so its tests, where no GPU is. Device pointers are host
 * addresses and every launch and copy runs to completion before it returns.
 *
 * <p>What would make a real GPU fail, this fails too, at the call that did it: a call on a thread
 * where {@link #makeCurrent()} was not called (CUDA_ERROR_INVALID_CONTEXT), a host transfer or a
 * synchronize while a graph is recorded (CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED, which spoils the
 * capture as it does in CUDA), a launch whose arguments do not match the kernel's parameters. Graph
 * capture is done here: between {@link #beginCapture()} and {@link #endCapture()}, launches and
 * device-to-device copies are recorded with their arguments' values and not run, and launching the
 * graph replays them in order.
 */
public final class CpuCudaDriver implements CudaDriver {

    /**
     * How the CPU runs each block's threads.
     *
     * @param reverse run a block's threads last to first (a missing barrier shows in one order only)
     * @param strict  a barrier reached by part of a block, a shuffle naming an exited or unmasked lane,
     *                or a deadlock, is an error naming the kernel and thread (see {@link CudaCpuNative#STRICT})
     * @param computeCapability the compute capability this driver reports (major * 10 + minor), so the
     *                backend picks the kernels it would pick on such a device: 90 runs the Hopper kernels
     *                (linear_v4, through wgmma.cuh's fallbacks), others the sm_80 ones
     * @param tensorMaps whether {@link #encodeTensorMap} and tensor-map launches work (tma.cuh's fallback),
     *                so that on 90 the backend picks the TMA kernels (linear_v4_tma_*); off, it runs the
     *                cp.async ones (linear_v4_*), as on a GPU whose driver lacks cuTensorMapEncodeTiled
     * @param multiprocessors the multiprocessors this driver reports ({@link #multiprocessors()}), from which
     *                the backend picks the tensor-core GEMMs' tile per shape: {@link #SMALL_GPU} by default, so
     *                that the parity tests' shapes run both tiles (the large one where its blocks fill more
     *                than a wave, the small one below), on every version
     */
    public record Options(boolean reverse, boolean strict, int computeCapability, boolean tensorMaps, int multiprocessors) {
        /** The multiprocessors of a small GPU, what the CPU driver reports unless told otherwise. */
        public static final int SMALL_GPU = 8;
        /** Forward order, strict, as a compute capability 8.0 device. */
        public static final Options DEFAULT = new Options(false, true);

        /** As a compute capability 8.0 device (the sm_80 kernels). */
        public Options(boolean reverse, boolean strict) {
            this(reverse, strict, 80);
        }

        /** With tensor maps ({@link CpuCudaDriver#tensorMapProblem()} null). */
        public Options(boolean reverse, boolean strict, int computeCapability) {
            this(reverse, strict, computeCapability, true);
        }

        /** With {@link #SMALL_GPU} multiprocessors. */
        public Options(boolean reverse, boolean strict, int computeCapability, boolean tensorMaps) {
            this(reverse, strict, computeCapability, tensorMaps, SMALL_GPU);
        }

        public Options {
            if (computeCapability < 0) throw new Vit4jException("cuda-cpu: compute capability " + computeCapability + " < 0");
            if (multiprocessors < 0) throw new Vit4jException("cuda-cpu: multiprocessors " + multiprocessors + " < 0");
        }

        int flags() {
            return (reverse ? CudaCpuNative.REVERSE : 0) | (strict ? CudaCpuNative.STRICT : 0);
        }

        @Override
        public String toString() {
            return (reverse ? "reverse" : "forward") + " order, " + (strict ? "strict" : "lenient")
                    + ", as compute capability " + computeCapability / 10 + "." + computeCapability % 10
                    + (tensorMaps ? "" : ", no tensor maps") + ", " + multiprocessors + " multiprocessors";
        }
    }

    /** The driver whose context is current on each thread, as CUDA keeps one per thread. */
    private static final ThreadLocal<CpuCudaDriver> CURRENT = new ThreadLocal<>();

    private final Options options;
    private final int flags;
    private final String deviceName;
    private final Map<String, Kernel> functions = new HashMap<>();
    /** Live allocations, base address to size: what a pointer may point into. */
    private final TreeMap<Long, Long> allocations = new TreeMap<>();
    /** The graph being recorded, or null. */
    private List<Op> recording;
    /** Why the recording under way is spoilt, or null. */
    private String spoilt;
    private int liveGraphs;
    private boolean closed;

    private record Kernel(String name, long handle, String signature) implements Function {}

    /** A recorded step: a launch or a device-to-device copy, with its values. */
    private sealed interface Op permits Launch, Copy {}

    private record Launch(Kernel kernel, int[] grid, int[] block, int sharedBytes, List<KernelArg> args) implements Op {}

    private record Copy(long dst, long src, long bytes) implements Op {}

    private static final class Recorded implements Graph {
        final List<Op> ops;
        boolean destroyed;

        Recorded(List<Op> ops) {
            this.ops = ops;
        }
    }

    /** Null where the library is loaded, else why it is not (missing, wrong platform, a link error). */
    public static String unavailableReason() {
        String error = CudaCpuNative.load();
        if (error != null) return error;
        try {
            CudaCpuNative.describe();
            return null;
        } catch (UnsatisfiedLinkError e) {
            return "libvit4j_cudacpu.so lacks the native method describe(): " + e.getMessage();
        }
    }

    /** The library's own description of itself (its kernels and worker threads). */
    public static String describe() {
        requireLibrary();
        return CudaCpuNative.describe();
    }

    private static void requireLibrary() {
        String error = CudaCpuNative.load();
        if (error != null) throw new Vit4jException("cuda-cpu: " + error);
    }

    /** A driver whose context is current on the calling thread. */
    public CpuCudaDriver(Options options) {
        requireLibrary();
        this.options = options;
        this.flags = options.flags();
        this.deviceName = CudaCpuNative.describe() + " (" + options + ")";
        CURRENT.set(this);
    }

    public Options options() {
        return options;
    }

    /** Graphs made and not yet destroyed, for tests: a failed recording must leave none. */
    int liveGraphs() {
        return liveGraphs;
    }

    /** Allocations not yet freed, for tests. */
    int liveAllocations() {
        return allocations.size();
    }

    @Override
    public String name() {
        return "cuda-cpu";
    }

    @Override
    public String deviceName() {
        return deviceName;
    }

    @Override
    public int computeCapability() {
        return options.computeCapability();
    }

    /** {@link Options#multiprocessors()}. */
    @Override
    public int multiprocessors() {
        return options.multiprocessors();
    }

    @Override
    public void makeCurrent() {
        if (closed) throw new IllegalStateException("cuda-cpu: driver used after close");
        CURRENT.set(this);
    }

    /** What CUDA's context rule would give: an error where this driver's context is not current. */
    private void current(String call) {
        if (closed) throw new IllegalStateException("cuda-cpu: " + call + " after close");
        if (CURRENT.get() != this) {
            throw new Vit4jException("cuda-cpu: " + call + " on thread '" + Thread.currentThread().getName()
                    + "', where this context is not current (CUDA_ERROR_INVALID_CONTEXT): call makeCurrent() "
                    + "on each thread that enters the backend");
        }
    }

    /** A host-synchronous call during a recording: refused, and the recording spoilt, as in CUDA. */
    private void notWhileRecording(String call) {
        if (recording == null) return;
        String why = call + " while a graph is being recorded (CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED)";
        if (spoilt == null) spoilt = why;
        throw new Vit4jException("cuda-cpu: " + why);
    }

    @Override
    public long malloc(long bytes) {
        current("malloc");
        if (bytes <= 0) throw new Vit4jException("cuda-cpu: malloc of " + bytes + " bytes; must be > 0");
        long address = CudaCpuNative.malloc(bytes);
        allocations.put(address, bytes);
        return address;
    }

    @Override
    public void free(long address) {
        current("free");
        if (allocations.remove(address) == null) {
            throw new Vit4jException("cuda-cpu: free of 0x" + Long.toHexString(address)
                    + ", which malloc did not return or which was freed already");
        }
        CudaCpuNative.free(address);
    }

    /** True where [address, address + bytes) lies within one live allocation. */
    private boolean live(long address, long bytes) {
        Map.Entry<Long, Long> a = allocations.floorEntry(address);
        return a != null && bytes <= a.getValue() && address - a.getKey() <= a.getValue() - bytes;
    }

    /** Checks a copy's range: no host memory is touched blindly (a freed or foreign address would crash the JVM). */
    private void inBounds(String call, String arg, long address, long bytes) {
        if (!live(address, bytes)) {
            throw new Vit4jException("cuda-cpu: " + call + ": " + arg + " [0x" + Long.toHexString(address) + ", +"
                    + bytes + " bytes) is not within a live allocation");
        }
    }

    /**
     * Checks that each pointer argument is null or points into a live allocation: a launch on freed
     * memory (a graph replayed after its buffers went back) is then an error, not a crash. Where the
     * kernel reads past that, AddressSanitizer builds of the native tests are the check.
     */
    private void pointersLive(Kernel k, List<KernelArg> args) {
        for (int i = 0; i < args.size(); i++) {
            if (args.get(i) instanceof KernelArg.Ptr p && p.address() != 0 && !live(p.address(), 0)) {
                throw new Vit4jException("cuda-cpu: launch of " + k.name() + ": argument " + i + " (pointer 0x"
                        + Long.toHexString(p.address()) + ") is not within a live allocation (freed, or not "
                        + "device memory)");
            }
            if (args.get(i) instanceof KernelArg.TensorMap m) {
                long address = mapAddress(m);
                if (!live(address, 0)) {
                    throw new Vit4jException("cuda-cpu: launch of " + k.name() + ": argument " + i
                            + " (tensor map of 0x" + Long.toHexString(address) + ") is not within a live allocation "
                            + "(freed since it was encoded, or not made by this driver)");
                }
            }
        }
    }

    /** The tensor's address in a map of tma::CpuTensorMap's layout (bytes 32..39, little-endian). */
    private static long mapAddress(KernelArg.TensorMap m) {
        return java.nio.ByteBuffer.wrap(m.bytes()).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong(32);
    }

    /**
     * The checks of a host transfer, the same for each element type: context current, not while
     * recording, the device range in bounds. False where there is nothing to copy.
     */
    private boolean hostCopy(String op, String which, long address, int count, int elementBytes) {
        current(op);
        notWhileRecording(op);
        if (count == 0) return false;
        inBounds(op, which, address, (long) count * elementBytes);
        return true;
    }

    @Override
    public void copyHtoD(long dst, float[] src, int srcOffset, int count) {
        if (hostCopy("copyHtoD", "dst", dst, count, Float.BYTES)) CudaCpuNative.copyHtoD(dst, src, srcOffset, count);
    }

    @Override
    public void copyHtoD(long dst, short[] src, int srcOffset, int count) {
        if (hostCopy("copyHtoD", "dst", dst, count, Short.BYTES)) CudaCpuNative.copyHtoDBits(dst, src, srcOffset, count);
    }

    @Override
    public void copyDtoH(short[] dst, int dstOffset, long src, int count) {
        if (hostCopy("copyDtoH", "src", src, count, Short.BYTES)) CudaCpuNative.copyDtoHBits(dst, dstOffset, src, count);
    }

    @Override
    public void copyDtoH(float[] dst, int dstOffset, long src, int count) {
        if (hostCopy("copyDtoH", "src", src, count, Float.BYTES)) CudaCpuNative.copyDtoH(dst, dstOffset, src, count);
    }

    @Override
    public void copyDtoD(long dst, long src, long bytes) {
        current("copyDtoD");
        if (bytes == 0) return;
        inBounds("copyDtoD", "dst", dst, bytes);
        inBounds("copyDtoD", "src", src, bytes);
        if (recording != null) {
            recording.add(new Copy(dst, src, bytes));
            return;
        }
        CudaCpuNative.copyDtoD(dst, src, bytes);
    }

    @Override
    public Function function(String module, String kernel) {
        current("function");
        String key = module + "/" + kernel;
        Kernel k = functions.get(key);
        if (k == null) {
            long handle = CudaCpuNative.function(module, kernel);
            k = new Kernel(key, handle, CudaCpuNative.signature(handle));
            functions.put(key, k);
        }
        return k;
    }

    @Override
    public void launch(Function function, int[] grid, int[] block, int sharedBytes, List<KernelArg> args) {
        current("launch");
        Kernel k = (Kernel) function;
        if (grid.length != 3 || block.length != 3) {
            throw new Vit4jException("cuda-cpu: launch of " + k.name() + ": grid and block need 3 dimensions each");
        }
        if (recording != null) {
            // Checked now, not at replay: the error belongs to the launch that made it.
            String kinds = KernelArg.kinds(args);
            if (!kinds.equals(k.signature())) {
                throw new Vit4jException("cuda-cpu: launch of " + k.name() + " recorded with arguments '" + kinds
                        + "' (" + args.size() + "), but the kernel takes '" + k.signature() + "' ("
                        + k.signature().length() + ")");
            }
            pointersLive(k, args);
            recording.add(new Launch(k, grid.clone(), block.clone(), sharedBytes, List.copyOf(args)));
            return;
        }
        run(k, grid, block, sharedBytes, args);
    }

    private void run(Kernel k, int[] grid, int[] block, int sharedBytes, List<KernelArg> args) {
        pointersLive(k, args);
        long[] values = new long[args.size()];
        java.io.ByteArrayOutputStream maps = new java.io.ByteArrayOutputStream();
        for (int i = 0; i < values.length; i++) {
            values[i] = args.get(i).bits();
            if (args.get(i) instanceof KernelArg.TensorMap m) maps.writeBytes(m.bytes());
        }
        CudaCpuNative.launch(k.handle(), grid[0], grid[1], grid[2], block[0], block[1], block[2], sharedBytes,
                KernelArg.kinds(args), values, maps.size() == 0 ? null : maps.toByteArray(), flags);
    }

    /**
     * Null: this driver encodes tensor maps (kernels/cuda/tma.cuh's own 128-byte layout, which its
     * fallback of cp.async.bulk.tensor reads) and launches kernels that take them, unless
     * {@link Options#tensorMaps()} is off. It has no thread-block clusters ({@link #hopperProblem()}).
     */
    @Override
    public String tensorMapProblem() {
        return options.tensorMaps() ? null : "cuda-cpu: tensor maps switched off (CpuCudaDriver.Options.tensorMaps)";
    }

    /**
     * tma::CpuTensorMap of {@code spec} (encode_cpu_tensor_map, the checks cuTensorMapEncodeTiled makes
     * that matter to the copy, each error naming its argument), for a tensor that lies inside one live
     * allocation; the launch checks that again, so a map of a freed buffer is an error, not a stray read.
     */
    @Override
    public byte[] encodeTensorMap(TensorMapSpec spec) {
        current("encodeTensorMap");
        if (!options.tensorMaps()) throw new Vit4jException(tensorMapProblem());
        try {
            return CudaCpuNative.encodeTensorMap(spec.dtype().code, spec.address(), spec.dims(), spec.strideBytes(),
                    spec.box(), spec.elementStrides(), spec.interleave().code, spec.swizzle().code,
                    spec.l2Promotion().code, spec.oobFill().code);
        } catch (Vit4jException e) {
            throw new Vit4jException(e.getMessage() + " (" + spec + ")", e);
        }
    }

    /**
     * The launch that takes {@link KernelArg.TensorMap} arguments; {@code cluster} must be {1, 1, 1}: the
     * CPU runs no thread-block clusters.
     */
    @Override
    public void launch(Function function, int[] grid, int[] block, int[] cluster, int sharedBytes,
            List<KernelArg> args) {
        current("launch");
        if (cluster == null || cluster.length != 3 || cluster[0] != 1 || cluster[1] != 1 || cluster[2] != 1) {
            throw new Vit4jException("cuda-cpu: launch of " + function.name() + " with cluster "
                    + (cluster == null ? "null" : java.util.Arrays.toString(cluster))
                    + ": thread-block clusters are not supported here; only {1, 1, 1}");
        }
        if (!options.tensorMaps() && args.stream().anyMatch(a -> a instanceof KernelArg.TensorMap)) {
            throw new Vit4jException(tensorMapProblem());
        }
        launch(function, grid, block, sharedBytes, args);
    }

    @Override
    public void synchronize() {
        current("synchronize");
        notWhileRecording("synchronize"); // every call has finished already
    }

    @Override
    public void beginCapture() {
        current("beginCapture");
        if (recording != null) throw new Vit4jException("cuda-cpu: beginCapture while a graph is being recorded");
        recording = new ArrayList<>();
        spoilt = null;
    }

    @Override
    public Graph endCapture() {
        current("endCapture");
        if (recording == null) throw new Vit4jException("cuda-cpu: endCapture without beginCapture");
        List<Op> ops = recording;
        String why = spoilt;
        recording = null;
        spoilt = null;
        if (why != null) {
            throw new Vit4jException("cuda-cpu: the graph capture was invalidated by " + why
                    + " (CUDA_ERROR_STREAM_CAPTURE_INVALIDATED)");
        }
        liveGraphs++;
        return new Recorded(List.copyOf(ops));
    }

    @Override
    public void launchGraph(Graph graph) {
        current("launchGraph");
        Recorded g = (Recorded) graph;
        if (g.destroyed) throw new IllegalStateException("cuda-cpu: launch of a destroyed graph");
        if (recording != null) {
            recording.addAll(g.ops); // a graph launched into a capture becomes part of it
            return;
        }
        for (Op op : g.ops) {
            if (op instanceof Launch l) run(l.kernel(), l.grid(), l.block(), l.sharedBytes(), l.args());
            else if (op instanceof Copy c) copyRecorded(c);
        }
    }

    private void copyRecorded(Copy c) {
        inBounds("copyDtoD (replayed)", "dst", c.dst(), c.bytes());
        inBounds("copyDtoD (replayed)", "src", c.src(), c.bytes());
        CudaCpuNative.copyDtoD(c.dst(), c.src(), c.bytes());
    }

    @Override
    public void destroyGraph(Graph graph) {
        current("destroyGraph");
        Recorded g = (Recorded) graph;
        if (g.destroyed) throw new IllegalStateException("cuda-cpu: graph destroyed twice");
        g.destroyed = true;
        liveGraphs--;
    }

    @Override
    public void close() {
        if (closed) return;
        current("close");
        closed = true;
        if (CURRENT.get() == this) CURRENT.remove();
        // CUDA frees a context's memory with it; so does this, so that a leak in a test costs nothing later.
        for (long address : allocations.keySet()) CudaCpuNative.free(address);
        allocations.clear();
    }
}
