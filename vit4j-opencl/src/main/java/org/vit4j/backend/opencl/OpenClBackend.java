package org.vit4j.backend.opencl;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;
import org.vit4j.ElementType;
import org.vit4j.Vit4jException;
import org.vit4j.backend.Backend;
import org.vit4j.backend.DeviceBuffer;
import org.vit4j.backend.Epilogue;
import org.vit4j.backend.KernelTimeline;
import org.vit4j.backend.Op;
import org.vit4j.backend.OpChecks;
import org.vit4j.backend.PatchEmbedShape;
import org.vit4j.memory.BufferPool;
import org.vit4j.memory.DeviceAllocator;
import org.vit4j.memory.PoolStats;

/**
 * The ViT ops as hand-written OpenCL kernels (kernels/opencl/*.cl), on any OpenCL 1.2 device. Each
 * op lives in its own class with its kernel file and tuning parameters; this class owns the device
 * state (context, queue, programs), the memory pool, and the argument checks. Thread-safe: every
 * entry point is synchronized on the backend, so a kernel object's arguments are set and the kernel
 * enqueued as one step; two threads (two models on one backend, or a buffer closed from another
 * thread) can never launch a kernel with the other's arguments, which crashed PoCL (issue 12).
 *
 * <p>Every op runs on fp32, bf16 and fp16 buffers: the kernels are generic over their storage type
 * (kernels/opencl/common.cl's {@code store_t}, a build define), each storage type's programs are
 * built on its first op, and the op's buffers (one type, {@link OpChecks#sameType}) pick them.
 * bf16/fp16 tensors take 2 bytes per element on the device; every op computes in float and rounds
 * once at its store (the points {@link ElementType} lists).
 */
public final class OpenClBackend implements Backend {
    private final ClRuntime rt;
    private final Tuning tuning;
    private final BufferPool<cl_mem> pool;
    private final ElementwiseOps elementwise;
    private final LinearOps gemm;
    private final PatchEmbedOps patchEmbed;
    private final LayerNormOps layerNorm;
    private final AttentionOps attention;
    /** The idle policy of PoCL's CPU workers in force ({@link PoclIdle}); null on other devices. */
    private final String idlePolicy;
    private boolean closed;

    private OpenClBackend(ClDevice device, Map<String, Integer> tuningOverrides, ClDevice.Kind tuneAs) {
        this(device, tuningOverrides, tuneAs, 0);
    }

    private OpenClBackend(ClDevice device, Map<String, Integer> tuningOverrides, ClDevice.Kind tuneAs, long memoryCap) {
        this.rt = new ClRuntime(device);
        try {
            this.tuning = new Tuning(tuneAs, tuningOverrides);
            this.pool = new BufferPool<>(new DeviceAllocator<>() {
                @Override
                public cl_mem allocate(long bytes) {
                    return rt.createBuffer(bytes);
                }

                @Override
                public void free(cl_mem handle) {
                    ClRuntime.free(handle);
                }
            }, "opencl " + device.name(), memoryCap > 0 ? memoryCap
                    : device.globalMemBytes() > 0 ? device.globalMemBytes() : Long.MAX_VALUE);
            this.elementwise = new ElementwiseOps(rt, tuning);
            this.gemm = new LinearOps(rt, tuning, (type, n) -> (ClBuffer) allocate(type, n));
            this.patchEmbed = new PatchEmbedOps(rt, tuning, (type, n) -> (ClBuffer) allocate(type, n));
            this.layerNorm = new LayerNormOps(rt, tuning);
            this.attention = new AttentionOps(rt, tuning, (type, n) -> (ClBuffer) allocate(type, n));
            int idleSpinUs = tuning.get(PoclIdle.SPIN_US); // declares the parameter before the check below
            if (idleSpinUs < 0) throw new Vit4jException("POCL_SPIN_US must be >= 0 (microseconds), not " + idleSpinUs);
            tuning.rejectUnknownOverrides();
            this.idlePolicy = PoclIdle.apply(device, idleSpinUs);
        } catch (RuntimeException e) {
            rt.close();
            throw e;
        }
    }

    /** The backend on device {@code index} of {@link ClDevice#all()}, with its device kind's tuning defaults. */
    public static OpenClBackend open(int index) {
        return open(index, Map.of());
    }

    /** The backend on device {@code index}, with {@code options}' tuning overrides (the only option it takes). */
    public static OpenClBackend open(int index, org.vit4j.backend.BackendOptions options) {
        List<ClDevice> devices = ClDevice.all();
        if (index < 0 || index >= devices.size()) {
            throw new Vit4jException("opencl: no device " + index + " (found " + devices.size() + ")");
        }
        ClDevice device = devices.get(index);
        warnWithoutSignalChaining(device);
        return new OpenClBackend(device, options.openClTuning(), device.kind(), options.memoryCap());
    }

    /** The backend on device {@code index}, with tuning values overridden by name (e.g. "GEMM_VARIANT" -> 1). */
    public static OpenClBackend open(int index, Map<String, Integer> tuningOverrides) {
        return open(index, tuningOverrides, null);
    }

    /**
     * As {@link #open(int, Map)}, with the defaults of another kind of device ({@code tuneAs}; null:
     * the device's own). Tests use it to run the GPU-shaped kernels on a CPU device and vice versa.
     */
    public static OpenClBackend open(int index, Map<String, Integer> tuningOverrides, ClDevice.Kind tuneAs) {
        List<ClDevice> devices = ClDevice.all();
        if (index < 0 || index >= devices.size()) {
            throw new Vit4jException("opencl: no device " + index + " (found " + devices.size() + ")");
        }
        ClDevice device = devices.get(index);
        warnWithoutSignalChaining(device);
        return new OpenClBackend(device, tuningOverrides, tuneAs == null ? device.kind() : tuneAs);
    }

    /** PoCL in a JVM without libjsig: say once what that risks and what to do ({@link SignalChaining}). */
    private static void warnWithoutSignalChaining(ClDevice device) {
        if (warnedSignals || !SignalChaining.isPocl(device)) return;
        warnedSignals = true;
        if (!SignalChaining.libjsigLoaded()) {
            org.slf4j.LoggerFactory.getLogger(OpenClBackend.class).warn(SignalChaining.warning());
        }
    }

    private static volatile boolean warnedSignals;

    @Override
    public String name() {
        return "opencl";
    }

    @Override
    public String deviceName() {
        return rt.device.describe();
    }

    /** Kernel arguments set so far ({@link ClRuntime#argumentsSet}); for tests. */
    synchronized long kernelArgumentsSet() {
        return rt.argumentsSet();
    }

    /**
     * The linear kernel in force and its sizes ({@link LinearOps#describe}), then the attention and
     * patch-embedding kernels', then (PoCL's CPU device) what its idle workers do ({@link PoclIdle}).
     */
    @Override
    public String kernelChoices() {
        return gemm.describe() + "; " + attention.describe() + "; " + patchEmbed.describe()
                + (idlePolicy == null ? "" : "; " + idlePolicy);
    }

    /**
     * kernels/opencl/peak.cl on this device: several work-groups of one work-item per compute unit on
     * a CPU (PoCL spreads work-groups over its threads), many on a GPU; iterations doubled until a run
     * takes 50 ms, then the best of 5 runs.
     */
    @Override
    public synchronized double measureFmaPeakGflops() {
        checkOpen();
        int vw = Integer.highestOneBit(Math.max(1, Math.min(16, rt.device.nativeFloatWidth())));
        cl_kernel k = rt.kernel("peak", "fma_peak", "-D PEAK_VW=" + vw, ElementType.F32);
        boolean gpu = rt.device.kind() == ClDevice.Kind.GPU;
        long local = gpu ? 64 : 1;
        long items = Math.max(1, rt.device.computeUnits()) * (gpu ? 2048L : 16L);
        try (DeviceBuffer out = allocate(ElementType.F32, items)) {
            int iters = 1 << 10;
            double seconds;
            while (true) {
                seconds = timeOnce(k, out, items, local, iters);
                if (seconds >= 0.05 || iters >= 1 << 26) break;
                iters *= 2;
            }
            for (int i = 0; i < 4; i++) seconds = Math.min(seconds, timeOnce(k, out, items, local, iters));
            return 2.0 * vw * 12 * iters * items / seconds / 1e9; // 12 = PEAK_CHAINS
        }
    }

    private double timeOnce(cl_kernel k, DeviceBuffer out, long items, long local, int iters) {
        long start = System.nanoTime();
        rt.launch(k, "fma_peak", new long[] {items}, new long[] {local}, out, iters, 1.0000001f, 1e-7f);
        rt.finish();
        return (System.nanoTime() - start) / 1e9;
    }

    public ClDevice device() {
        return rt.device;
    }

    /** The tuning values in force. */
    public Tuning tuning() {
        return tuning;
    }

    /** fp32, bf16 and fp16: every kernel is built for each storage type. */
    @Override
    public boolean supports(ElementType type) {
        return type != null;
    }

    @Override
    public synchronized PoolStats memoryStats() {
        return pool.stats();
    }

    @Override
    public long memoryCapacity() {
        return pool.capacity();
    }

    private void checkOpen() {
        if (closed) throw new IllegalStateException("opencl backend used after close");
    }

    // ---- memory ----

    @Override
    public synchronized DeviceBuffer allocate(ElementType type, long length) {
        checkOpen();
        if (type == null) throw new Vit4jException("opencl: allocate: element type is null");
        if (length < 0 || length > Integer.MAX_VALUE) {
            throw new Vit4jException("opencl: cannot allocate " + length + " elements (kernels index with int)");
        }
        return new ClBuffer(this, pool.acquire(length * type.bytes()), type, length);
    }

    @Override
    public synchronized void download(DeviceBuffer src, float[] dst) {
        checkOpen();
        OpChecks.hostTransfer(this, "download", src, dst);
        if (dst.length == 0) return;
        if (src.dtype() == ElementType.F32) {
            rt.read(cl(src).mem(), dst);
            return;
        }
        short[] bits = new short[dst.length];
        rt.read(cl(src).mem(), bits);
        src.dtype().fromBits(java.nio.ShortBuffer.wrap(bits), dst);
    }

    @Override
    public synchronized void write(float[] src, DeviceBuffer dst) {
        checkOpen();
        OpChecks.hostTransfer(this, "write", dst, src);
        cl(dst).written();
        if (src.length == 0) return;
        if (dst.dtype() == ElementType.F32) {
            rt.write(cl(dst).mem(), src);
            return;
        }
        rt.write(cl(dst).mem(), dst.dtype().toBits(src));
    }

    @Override
    public synchronized void writeBits(java.nio.ShortBuffer src, DeviceBuffer dst) {
        checkOpen();
        OpChecks.bitsTransfer(this, "writeBits", dst, src);
        cl(dst).written();
        if (src.remaining() == 0) return;
        short[] bits = new short[src.remaining()];
        src.duplicate().get(bits);
        rt.write(cl(dst).mem(), bits);
    }


    synchronized void release(cl_mem mem) {
        if (closed) return; // the pool freed everything at close
        pool.release(mem);
    }

    private static ClBuffer cl(DeviceBuffer b) {
        return (ClBuffer) b;
    }

    /** A buffer an op writes: its contents change ({@link ClBuffer#written}; stale packed copies). */
    private static ClBuffer out(DeviceBuffer b) {
        return ((ClBuffer) b).written();
    }

    private static int size(String op, long n) {
        if (n > Integer.MAX_VALUE) throw new Vit4jException(op + ": " + n + " elements exceed the kernels' int indexing");
        return (int) n;
    }

    // ---- ops ----










    private final Kernels kernels = new Kernels();

    @Override
    public synchronized void execute(Op op) {
        checkOpen();
        op.check(this);
        rt.currentOp = op;
        try {
            op.runOn(kernels);
        } finally {
            rt.currentOp = null;
        }
    }

    /** The ops, each called by {@link #execute} once checked ({@link Op#check}). */
    private final class Kernels implements Op.Kernels {
        @Override
        public void copy(Op.Copy op) {
            rt.copy(cl(op.src()).mem(), out(op.dst()).mem(), op.n() * op.src().dtype().bytes());
        }

        @Override
        public void patchEmbed(Op.PatchEmbed op) {
            patchEmbed.patchEmbed(op.s(), cl(op.images()), cl(op.weight()), cl(op.bias()), cl(op.clsToken()), cl(op.posEmbed()), out(op.out()));
        }

        @Override
        public void layerNorm(Op.LayerNorm op) {
            size("layerNorm", (long) op.rows() * op.dim());
            layerNorm.layerNorm(cl(op.x()), cl(op.gamma()), cl(op.beta()), out(op.out()), op.rows(), op.dim(), op.eps());
        }

        @Override
        public void addLayerNorm(Op.AddLayerNorm op) {
            size("addLayerNorm", (long) op.rows() * op.dim());
            layerNorm.addLayerNorm(cl(op.x()), cl(op.residual()), out(op.sum()), out(op.normed()), cl(op.gamma()), cl(op.beta()), op.rows(), op.dim(), op.eps());
        }

        @Override
        public void linear(Op.Linear op) {
            size("linear", (long) op.rows() * Math.max(op.inFeatures(), op.outFeatures()));
            gemm.linear(cl(op.x()), cl(op.weight()), op.bias() == null ? null : cl(op.bias()), out(op.out()), op.rows(), op.inFeatures(), op.outFeatures(), op.epilogue(),
                    op.residual() == null ? null : cl(op.residual()));
        }

        @Override
        public void linearQkv(Op.LinearQkv op) {
            size("linearQkv", 3L * op.batch() * op.tokens() * op.dim());
            gemm.linearQkv(cl(op.x()), cl(op.weight()), op.bias() == null ? null : cl(op.bias()), out(op.qkv()), op.batch(), op.tokens(), op.dim(), op.heads());
        }

        @Override
        public void attention(Op.Attention op) {
            size("attention", 3L * op.batch() * op.tokens() * op.heads() * op.headDim());
            attention.attention(cl(op.qkv()), out(op.out()), op.batch(), op.tokens(), op.heads(), op.headDim(), op.scale());
        }

        @Override
        public void attentionProbs(Op.AttentionProbs op) {
            size("attentionProbs", Math.max(3L * op.batch() * op.tokens() * op.heads() * op.headDim(), op.probsLength()));
            attention.probs(cl(op.qkv()), out(op.probs()), op.batch(), op.tokens(), op.heads(), op.headDim(), op.scale());
        }

        @Override
        public void gelu(Op.Gelu op) {
            elementwise.gelu(cl(op.x()), out(op.out()), size("gelu", op.n()));
        }

        @Override
        public void add(Op.Add op) {
            elementwise.add(cl(op.a()), cl(op.b()), out(op.out()), size("add", op.n()));
        }

        @Override
        public void selectToken(Op.SelectToken op) {
            elementwise.selectToken(cl(op.x()), out(op.out()), op.batch(), op.tokens(), op.dim(), op.token());
        }
    }

    @Override
    public synchronized void synchronize() {
        checkOpen();
        rt.finish();
    }

    /** OpenCL's event profiling: an event per kernel while recording, read when it stops. */
    @Override
    public Optional<KernelTimeline> kernelTimeline() {
        return Optional.of(timeline);
    }

    private final KernelTimeline timeline = new KernelTimeline() {
        @Override
        public void start() {
            synchronized (OpenClBackend.this) {
                checkOpen();
                rt.startRecording();
            }
        }

        @Override
        public List<Kernel> stop() {
            synchronized (OpenClBackend.this) {
                checkOpen();
                return rt.stopRecording();
            }
        }
    };

    @Override
    public synchronized void close() {
        if (closed) return;
        try {
            rt.finish();
        } finally {
            attention.close();
            closed = true;
            pool.close();
            rt.close();
        }
    }
}
