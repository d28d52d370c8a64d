package org.vit4j.backend.cuda;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.vit4j.ElementType;
import org.vit4j.Vit4jException;
import org.vit4j.backend.Backend;
import org.vit4j.backend.BackendOptions;
import org.vit4j.backend.DeviceBuffer;
import org.vit4j.backend.Epilogue;
import org.vit4j.backend.Op;
import org.vit4j.backend.OpChecks;
import org.vit4j.backend.PatchEmbedShape;
import org.vit4j.memory.BufferPool;
import org.vit4j.memory.DeviceAllocator;
import org.vit4j.memory.PoolStats;
import org.vit4j.memory.SegmentAllocator;

/**
 * The ViT ops as hand-written CUDA kernels (kernels/cuda/*.cu), launched through a {@link CudaDriver}
 * on one stream: {@link JCudaDriver} on an NVIDIA GPU (the fatbins that ship in the jar), or
 * {@link CpuCudaDriver}, the same kernels compiled for the CPU, which is how the tests run this
 * backend where no GPU is. Device memory comes from a caching {@link BufferPool} over a
 * {@link SegmentAllocator} (small blocks split from 2 MiB segments); {@link #run} records a whole
 * forward pass as a graph the first time per key and replays it after, so a pass is one launch from
 * Java (unless {@link BackendOptions#noGraph()}). Launch geometry and argument lists are
 * {@link CudaKernels}'.
 *
 * <p>A CUDA context is current per thread, so every method that reaches the driver makes it current
 * first: the backend may be used from any thread (a forward pass on a worker, close from a shutdown
 * hook). Thread-safe: every entry point is synchronized on the backend, and {@link #run} holds it
 * for the whole recording, so another thread's transfer can never land inside a stream capture.
 */
public final class CudaBackend implements Backend {
    private final CudaDriver driver;
    private final BackendOptions options;
    private final String name;
    private final String deviceName;
    /** The device as the tensor-core plans see it: compute capability, multiprocessors, tile policy. */
    private final CudaKernels.GpuTarget gpu;
    private final Map<String, CudaDriver.Function> functions = new HashMap<>();
    private final Map<Object, CudaDriver.Graph> graphs = new IdentityHashMap<>();
    private final BufferPool<DevicePointer> pool;
    private boolean capturing;
    private boolean closed;
    /** cuBLAS for the linear layers where asked for ({@link BackendOptions#gemm()}) and loadable, else null. */
    private CublasGemm cublas;
    private DevicePointer cublasWorkspace;
    /** The linear layers' [M, 3D] result before the head-layout scatter, on the cuBLAS path. */
    private DeviceBuffer qkvScratch;
    private final List<DeviceBuffer> retiredScratch = new ArrayList<>();
    /** cuBLAS's fp32 result of a half-precision linear layer, before its epilogue rounds it (see {@link #accScratch}). */
    private DeviceBuffer accScratch;

    private static final long CUBLAS_WORKSPACE_BYTES = 32L << 20;

    /**
     * The Hopper GEMM's tensor maps, encoded once per (buffer address, shape, box) and kept (the map holds
     * nothing else, so a buffer freed and its address reused by one of the same shape gets the same
     * bytes); null where the TMA kernels do not run ({@link #tensorMapChoice}). At most
     * {@link #MAX_TENSOR_MAPS}, the least recently used dropped first.
     */
    private final Map<String, KernelArg.TensorMap> tensorMaps;
    /** Why the linear layers on compute capability 9.0 run without TMA loads, or null where they use them. */
    private final String noTensorMaps;
    private static final int MAX_TENSOR_MAPS = 1024;
    private long tensorMapsEncoded;

    /** True where every kernel module is in the jar (built with nvcc). */
    public static boolean kernelsBuilt() {
        return JCudaDriver.kernelsBuilt();
    }

    /** The GPU {@code index} through JCuda, with graphs. */
    public CudaBackend(int index) {
        this(new JCudaDriver(index), BackendOptions.DEFAULT);
    }

    /** A backend over {@code driver}, with graphs; see {@link #CudaBackend(CudaDriver, BackendOptions)}. */
    public CudaBackend(CudaDriver driver) {
        this(driver, BackendOptions.DEFAULT);
    }

    /**
     * A backend over {@code driver}, which it owns from now on (and closes, on failure here too); the
     * tensor-core GEMMs' tile policy from {@code VIT4J_CUDA_TILE} (auto where unset).
     */
    public CudaBackend(CudaDriver driver, BackendOptions options) {
        this(driver, options, null);
    }

    /**
     * {@link #CudaBackend(CudaDriver, BackendOptions)} with the tile policy given ({@link CudaKernels.GemmTile#pick};
     * null: {@code VIT4J_CUDA_TILE}), e.g. for tests that run the wide tile's kernels through the backend.
     */
    public CudaBackend(CudaDriver driver, BackendOptions options, CudaKernels.GemmTile.Policy tiles) {
        this.driver = driver;
        this.options = options == null ? BackendOptions.DEFAULT : options;
        BufferPool<DevicePointer> p = null;
        try {
            driver.makeCurrent();
            name = driver.name();
            deviceName = driver.deviceName();
            gpu = new CudaKernels.GpuTarget(driver.computeCapability(), driver.multiprocessors(),
                    tiles != null ? tiles : CudaKernels.GemmTile.Policy.parse(System.getenv("VIT4J_CUDA_TILE")));
            noTensorMaps = tensorMapChoice(driver, gpu.computeCapability());
            tensorMaps = noTensorMaps == null ? new java.util.LinkedHashMap<>(64, 0.75f, true) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<String, KernelArg.TensorMap> eldest) {
                    return size() > MAX_TENSOR_MAPS;
                }
            } : null;
            // Small buffers (biases, norms) are carved from 2 MiB segments; larger ones are their own.
            DeviceAllocator<DevicePointer> device = new DeviceAllocator<>() {
                @Override
                public DevicePointer allocate(long bytes) {
                    return new DevicePointer(driver.malloc(bytes));
                }

                @Override
                public void free(DevicePointer handle) {
                    driver.free(handle.address());
                }
            };
            p = new BufferPool<>(new SegmentAllocator<>(device, DevicePointer::plus, 2L << 20, 256L << 10),
                    name + " " + deviceName, options.memoryCap() > 0 ? options.memoryCap() : Long.MAX_VALUE);
        } catch (RuntimeException e) {
            closeQuietly(driver, e);
            throw e;
        }
        pool = p;
        try {
            // Every kernel up front: a missing one is an error now, not in the middle of a pass.
            for (Map.Entry<String, List<String>> m : CudaKernels.KERNELS.entrySet()) {
                for (String k : m.getValue()) functions.put(m.getKey() + "/" + k, driver.function(m.getKey(), k));
            }
            if (this.options.gemm() == BackendOptions.Gemm.CUBLAS) {
                if (driver instanceof JCudaDriver jcuda) {
                    cublasWorkspace = pool.acquire(CUBLAS_WORKSPACE_BYTES);
                    cublas = CublasGemm.tryCreate(jcuda.rawStream(), cublasWorkspace.address(), CUBLAS_WORKSPACE_BYTES);
                    if (cublas == null) {
                        pool.release(cublasWorkspace);
                        cublasWorkspace = null;
                    }
                } else {
                    System.err.println("vit4j: --gemm cublas: cuBLAS needs an NVIDIA GPU; " + name
                            + " uses vit4j's own GEMM");
                }
            }
        } catch (RuntimeException e) {
            try {
                close();
            } catch (RuntimeException closing) {
                e.addSuppressed(closing);
            }
            throw e;
        }
    }

    /**
     * Null where the bf16/fp16 linear layers run version 4 with TMA loads (linear_v4_tma_*): compute
     * capability 9.0, a driver with tensor maps ({@link CudaDriver#tensorMapProblem()}), and
     * {@code VIT4J_CUDA_TMA} not 0; else why not (then version 4 with cp.async, or version 3 below 9.0).
     */
    private static String tensorMapChoice(CudaDriver driver, int computeCapability) {
        if (computeCapability != CudaKernels.HopperGemm.COMPUTE_CAPABILITY) return "not compute capability 9.0";
        if ("0".equals(System.getenv("VIT4J_CUDA_TMA"))) return "VIT4J_CUDA_TMA=0";
        return driver.tensorMapProblem();
    }

    /** The TMA kernels' maps, from the cache or encoded now; see {@link #tensorMaps}. */
    private KernelArg.TensorMap tensorMap(TensorMapSpec spec) {
        String key = spec.toString();
        KernelArg.TensorMap m = tensorMaps.get(key);
        if (m == null) {
            m = new KernelArg.TensorMap(driver.encodeTensorMap(spec));
            tensorMaps.put(key, m);
            tensorMapsEncoded++;
        }
        return m;
    }

    /** Tensor maps encoded so far (each once per buffer and shape while cached), for tests. */
    synchronized long tensorMapsEncoded() {
        return tensorMapsEncoded;
    }

    /** The plans' tensor maps, or null where the TMA kernels do not run. */
    private CudaKernels.TensorMaps maps() {
        return tensorMaps == null ? null : this::tensorMap;
    }

    /**
     * The GEMM the bf16/fp16 linear layers run and why: cuBLAS, linear_v4_tma (wgmma with TMA loads),
     * linear_v4 (wgmma with cp.async loads, with the reason there are no tensor maps) or linear_v3 (mma.sync);
     * fp32 runs linear_v2 (or cuBLAS). Printed by {@code vit4j bench} as "kernels: ...".
     */
    @Override
    public String kernelChoices() {
        if (cublas != null) return "linear: cublas";
        boolean hopper = gpu.computeCapability() == CudaKernels.HopperGemm.COMPUTE_CAPABILITY;
        CudaKernels.GemmTile large = hopper ? CudaKernels.HopperGemm.LARGE : CudaKernels.TensorCoreGemm.LARGE;
        CudaKernels.GemmTile small = hopper ? CudaKernels.HopperGemm.SMALL : CudaKernels.TensorCoreGemm.SMALL;
        String tiles = switch (gpu.tiles()) {
            case LARGE -> " " + large.label() + " (VIT4J_CUDA_TILE=large)";
            case SMALL -> " " + small.label() + " (VIT4J_CUDA_TILE=small)";
            case WIDE -> hopper && noTensorMaps == null ? " " + CudaKernels.HopperGemm.WIDE.label() + " (VIT4J_CUDA_TILE=wide)"
                    : " " + large.label() + " (VIT4J_CUDA_TILE=wide: no wide kernel without TMA loads)";
            case AUTO -> gpu.multiprocessors() == 0 ? " " + large.label() + " (multiprocessors unknown)"
                    : " " + large.label() + " or " + small.label() + " per shape on " + gpu.multiprocessors() + " SMs";
        };
        String half;
        if (!hopper) {
            half = "linear_v3 (mma.sync," + tiles + ")";
        } else if (noTensorMaps == null) {
            half = "linear_v4_tma (wgmma, TMA loads," + tiles + ")";
        } else {
            half = "linear_v4 (wgmma, cp.async loads," + tiles + "; no TMA: " + noTensorMaps + ")";
        }
        return "linear bf16/fp16: " + half + "; fp32: linear_v2";
    }

    private static void closeQuietly(CudaDriver driver, RuntimeException cause) {
        try {
            driver.close();
        } catch (RuntimeException e) {
            cause.addSuppressed(e);
        }
    }

    /**
     * "cublas" where cuBLAS runs the linear layers, else "vit4j". In fp32 cuBLAS writes the output (and
     * adds the residual with beta = 1); in bf16/fp16 it multiplies the half operands on tensor cores
     * into an fp32 scratch, and epilogue.cu's *_acc kernels add bias, GELU and residual and round once,
     * as ElementType prescribes (a half C from cuBLAS would be rounded before the bias and GELU).
     */
    public String gemmProvider() {
        return cublas != null ? "cublas" : "vit4j";
    }

    public BackendOptions options() {
        return options;
    }

    /** The driver, for tests that reach below the backend. */
    CudaDriver driver() {
        return driver;
    }

    /** Graphs recorded and kept, for tests. */
    int recordedGraphs() {
        return graphs.size();
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String deviceName() {
        return deviceName;
    }

    /** Every element type: each kernel exists in fp32, bf16 and fp16 (the cuBLAS path: see {@link #gemmProvider}). */
    @Override
    public boolean supports(ElementType type) {
        return type != null;
    }

    @Override
    public synchronized PoolStats memoryStats() {
        return pool.stats();
    }

    /** The pool's cap (--memory-cap), else the device's memory as the driver reports it. */
    @Override
    public long memoryCapacity() {
        return Math.min(pool.capacity(), driver.totalMemory());
    }

    /**
     * Every entry that reaches the driver comes through here: open, and the context current on this
     * thread (CUDA keeps it per thread, so the creating thread's is not this one's).
     */
    private void enter() {
        if (closed) throw new IllegalStateException(name + " backend used after close");
        driver.makeCurrent();
    }

    private void launch(CudaKernels.Launch l) {
        CudaDriver.Function f = functions.get(l.module() + "/" + l.kernelName());
        if (f == null) throw new IllegalStateException(name + ": no kernel " + l.module() + "/" + l.kernelName());
        driver.launch(f, l.grid(), l.block(), l.sharedBytes(), l.args());
    }

    /** The buffer's device address; 0 (the null pointer) for an absent optional buffer. */
    private static long p(DeviceBuffer b) {
        return b == null ? 0 : ((CudaBuffer) b).address();
    }

    // ---- memory ----

    @Override
    public synchronized DeviceBuffer allocate(ElementType type, long length) {
        enter();
        if (type == null) throw new Vit4jException(name + ": allocate: element type is null");
        if (length < 0 || length > Integer.MAX_VALUE) {
            throw new Vit4jException(name + ": cannot allocate " + length + " elements (kernels index with int)");
        }
        return new CudaBuffer(this, pool.acquire(length * type.bytes()), type, length);
    }

    @Override
    public synchronized void write(float[] src, DeviceBuffer dst) {
        enter();
        OpChecks.hostTransfer(this, "write", dst, src);
        if (dst.dtype() == ElementType.F32) {
            driver.copyHtoD(p(dst), src, 0, src.length);
            return;
        }
        driver.copyHtoDRounded(p(dst), src, dst.dtype());
    }

    @Override
    public synchronized void writeBits(java.nio.ShortBuffer src, DeviceBuffer dst) {
        enter();
        OpChecks.bitsTransfer(this, "writeBits", dst, src);
        short[] bits = new short[src.remaining()];
        src.duplicate().get(bits);
        driver.copyHtoD(p(dst), bits, 0, bits.length);
    }

    @Override
    public synchronized void download(DeviceBuffer src, float[] dst) {
        enter();
        OpChecks.hostTransfer(this, "download", src, dst);
        if (src.dtype() == ElementType.F32) {
            driver.copyDtoH(dst, 0, p(src), dst.length);
            return;
        }
        short[] bits = new short[dst.length];
        driver.copyDtoH(bits, 0, p(src), bits.length);
        src.dtype().fromBits(java.nio.ShortBuffer.wrap(bits), dst);
    }


    synchronized void release(DevicePointer ptr) {
        if (closed) return; // the pool freed everything at close
        pool.release(ptr);
    }

    // ---- ops ----





    /**
     * The fp32 scratch the half-precision cuBLAS path accumulates into, at least {@code n} floats. A
     * smaller one stays allocated till close: a recorded graph may still read it.
     */
    private DeviceBuffer accScratch(long n) {
        if (accScratch == null || accScratch.length() < n) {
            if (accScratch != null) retiredScratch.add(accScratch);
            accScratch = allocate(ElementType.F32, n);
        }
        return accScratch;
    }






    // ---- graphs ----

    /**
     * Records {@code body} into a graph the first time per {@code key} (stream capture: the kernels
     * are not run while recording) and launches the graph, then and on every later call: one driver
     * call for a whole pass. With {@link BackendOptions#noGraph()}, just runs {@code body}.
     *
     * <p>Where {@code body} throws while it is recorded, that exception is what the caller gets (an
     * error of ending the broken capture is added to it as suppressed), and no graph is kept.
     */
    @Override
    public synchronized void run(Object key, Runnable body) {
        enter();
        if (capturing || options.noGraph()) {
            body.run(); // nested: part of the recording already under way
            return;
        }
        CudaDriver.Graph graph = graphs.get(key);
        if (graph == null) {
            graph = record(body);
            graphs.put(key, graph);
            driver.makeCurrent();
        }
        driver.launchGraph(graph);
    }

    private CudaDriver.Graph record(Runnable body) {
        driver.beginCapture();
        capturing = true;
        try {
            body.run();
        } catch (Throwable first) {
            capturing = false;
            abandonCapture(first);
            throw first;
        } finally {
            capturing = false;
        }
        driver.makeCurrent(); // the body may have entered another backend on this thread
        return driver.endCapture();
    }

    /**
     * Ends a capture that {@code first} broke off and destroys what it recorded, so the stream leaves
     * capture mode and no graph leaks; what goes wrong meanwhile is added to {@code first}, which the
     * caller rethrows: the capture's own error (invalidated, say) would only hide the cause.
     */
    private void abandonCapture(Throwable first) {
        CudaDriver.Graph partial;
        try {
            driver.makeCurrent();
            partial = driver.endCapture();
        } catch (RuntimeException e) {
            first.addSuppressed(e);
            return;
        }
        try {
            driver.destroyGraph(partial);
        } catch (RuntimeException e) {
            first.addSuppressed(e);
        }
    }

    @Override
    public synchronized void forget(Object key) {
        if (closed) return; // close destroyed every graph
        CudaDriver.Graph graph = graphs.get(key);
        if (graph == null) return;
        driver.makeCurrent();
        graphs.remove(key);
        driver.destroyGraph(graph);
    }

    private final Kernels kernels = new Kernels();

    @Override
    public synchronized void execute(Op op) {
        enter();
        op.check(this);
        op.runOn(kernels);
    }

    /** The ops, each called by {@link #execute} once checked ({@link Op#check}). */
    private final class Kernels implements Op.Kernels {
        @Override
        public void copy(Op.Copy op) {
            driver.copyDtoD(p(op.dst()), p(op.src()), op.n() * op.src().dtype().bytes());
        }

        @Override
        public void patchEmbed(Op.PatchEmbed op) {
            launch(CudaKernels.patchEmbed(gpu, op.out().dtype(), op.s(), p(op.images()), p(op.weight()), p(op.bias()), p(op.clsToken()), p(op.posEmbed()),
                    p(op.out())));
        }

        @Override
        public void layerNorm(Op.LayerNorm op) {
            launch(CudaKernels.layerNorm(op.out().dtype(), p(op.x()), p(op.gamma()), p(op.beta()), p(op.out()), op.rows(), op.dim(), op.eps()));
        }

        @Override
        public void addLayerNorm(Op.AddLayerNorm op) {
            launch(CudaKernels.addLayerNorm(op.normed().dtype(), p(op.x()), p(op.residual()), p(op.sum()), p(op.normed()), p(op.gamma()), p(op.beta()), op.rows(),
                    op.dim(), op.eps()));
        }

        @Override
        public void linear(Op.Linear op) {
            DeviceBuffer bias = op.bias();
            DeviceBuffer out = op.out();
            int rows = op.rows();
            int outFeatures = op.outFeatures();
            Epilogue epilogue = op.epilogue();
            DeviceBuffer residual = op.residual();
            if (cublas == null) {
                launch(CudaKernels.linear(gpu, maps(), out.dtype(), p(op.x()), p(op.weight()), p(bias), p(out), rows, op.inFeatures(), outFeatures,
                        epilogue, p(residual)));
                return;
            }
            ElementType type = out.dtype();
            if (cublas.fusesBias() && bias != null && (epilogue == Epilogue.BIAS || epilogue == Epilogue.BIAS_RESIDUAL)) {
                // One cublasLtMatmul: bias epilogue, the residual as C with beta = 1, rounded once.
                cublas.gemmBias(p(op.x()), p(op.weight()), p(bias), epilogue == Epilogue.BIAS_RESIDUAL ? p(residual) : 0, p(out),
                        type, rows, op.inFeatures(), outFeatures);
                return;
            }
            if (type.isHalf()) {
                // cuBLAS's fp32 accumulators into a float scratch; the epilogue adds bias, GELU and the
                // residual and rounds once to the half type, as vit4j's own half GEMMs do.
                DeviceBuffer acc = accScratch((long) rows * outFeatures);
                cublas.gemm(p(op.x()), p(op.weight()), type, p(acc), ElementType.F32, rows, op.inFeatures(), outFeatures,
                        false);
                launch(CudaKernels.biasRowsAcc(type, p(acc), p(bias), epilogue == Epilogue.BIAS_RESIDUAL ? p(residual) : 0,
                        p(out), rows, outFeatures, epilogue == Epilogue.BIAS_GELU));
                return;
            }
            boolean accumulate = epilogue == Epilogue.BIAS_RESIDUAL;
            if (accumulate && residual != out) CudaBackend.this.copy(residual, out, (long) rows * outFeatures);
            cublas.gemm(p(op.x()), p(op.weight()), p(out), rows, op.inFeatures(), outFeatures, accumulate);
            if (bias != null) launch(CudaKernels.biasRows(p(out), p(bias), rows, outFeatures, epilogue == Epilogue.BIAS_GELU));
        }

        @Override
        public void linearQkv(Op.LinearQkv op) {
            DeviceBuffer qkv = op.qkv();
            int batch = op.batch();
            int tokens = op.tokens();
            int dim = op.dim();
            if (cublas == null) {
                launch(CudaKernels.linearQkv(gpu, maps(), qkv.dtype(), p(op.x()), p(op.weight()), p(op.bias()), p(qkv), batch, tokens, dim, op.heads()));
                return;
            }
            long n = 3L * batch * tokens * dim;
            if (qkv.dtype().isHalf()) {
                DeviceBuffer acc = accScratch(n);
                cublas.gemm(p(op.x()), p(op.weight()), qkv.dtype(), p(acc), ElementType.F32, batch * tokens, dim, 3 * dim,
                        false);
                launch(CudaKernels.qkvScatterAcc(qkv.dtype(), p(acc), p(op.bias()), p(qkv), batch, tokens, dim, op.heads()));
                return;
            }
            if (qkvScratch == null || qkvScratch.length() < n) {
                // A smaller scratch stays allocated till close: a recorded graph may still read it.
                if (qkvScratch != null) retiredScratch.add(qkvScratch);
                qkvScratch = allocate(n);
            }
            cublas.gemm(p(op.x()), p(op.weight()), p(qkvScratch), batch * tokens, dim, 3 * dim, false);
            launch(CudaKernels.qkvScatter(p(qkvScratch), p(op.bias()), p(qkv), batch, tokens, dim, op.heads()));
        }

        @Override
        public void attention(Op.Attention op) {
            launch(CudaKernels.attention(op.out().dtype(), p(op.qkv()), p(op.out()), op.batch(), op.tokens(), op.heads(), op.headDim(), op.scale()));
        }

        @Override
        public void gelu(Op.Gelu op) {
            launch(CudaKernels.gelu(op.out().dtype(), p(op.x()), p(op.out()), op.n()));
        }

        @Override
        public void add(Op.Add op) {
            launch(CudaKernels.add(op.out().dtype(), p(op.a()), p(op.b()), p(op.out()), op.n()));
        }

        @Override
        public void attentionProbs(Op.AttentionProbs op) {
            launch(CudaKernels.attentionProbs(op.qkv().dtype(), p(op.qkv()), p(op.probs()), op.batch(), op.tokens(),
                    op.heads(), op.headDim(), op.scale()));
        }

        @Override
        public void selectToken(Op.SelectToken op) {
            launch(CudaKernels.selectToken(op.out().dtype(), p(op.x()), p(op.out()), op.batch(), op.tokens(), op.dim(), op.token()));
        }
    }

    @Override
    public synchronized void synchronize() {
        enter();
        driver.synchronize();
    }

    /**
     * Waits for the stream, then releases graphs, cuBLAS, the pool's memory and the driver, from
     * whatever thread calls it; each step runs even where one before it failed, and the first failure
     * is thrown at the end with the others suppressed.
     */
    @Override
    public synchronized void close() {
        if (closed) return;
        List<RuntimeException> failures = new ArrayList<>();
        step(failures, driver::makeCurrent);
        step(failures, driver::synchronize);
        closed = true;
        for (CudaDriver.Graph g : graphs.values()) step(failures, () -> driver.destroyGraph(g));
        graphs.clear();
        if (cublas != null) step(failures, cublas::close);
        step(failures, pool::close);
        step(failures, driver::close);
        if (!failures.isEmpty()) {
            RuntimeException first = failures.get(0);
            for (RuntimeException e : failures.subList(1, failures.size())) first.addSuppressed(e);
            throw first;
        }
    }

    private static void step(List<RuntimeException> failures, Runnable step) {
        try {
            step.run();
        } catch (RuntimeException e) {
            failures.add(e);
        }
    }
}
