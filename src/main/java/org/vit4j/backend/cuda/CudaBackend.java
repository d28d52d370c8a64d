package org.vit4j.backend.cuda;

import static jcuda.driver.JCudaDriver.cuCtxSetCurrent;
import static jcuda.driver.JCudaDriver.cuDeviceGet;
import static jcuda.driver.JCudaDriver.cuDeviceGetName;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRelease;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRetain;
import static jcuda.driver.JCudaDriver.cuGraphDestroy;
import static jcuda.driver.JCudaDriver.cuGraphExecDestroy;
import static jcuda.driver.JCudaDriver.cuGraphInstantiate;
import static jcuda.driver.JCudaDriver.cuGraphLaunch;
import static jcuda.driver.JCudaDriver.cuInit;
import static jcuda.driver.JCudaDriver.cuLaunchKernel;
import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemAllocHost;
import static jcuda.driver.JCudaDriver.cuMemFree;
import static jcuda.driver.JCudaDriver.cuMemFreeHost;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoDAsync;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoHAsync;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoDAsync;
import static jcuda.driver.JCudaDriver.cuModuleGetFunction;
import static jcuda.driver.JCudaDriver.cuModuleLoadData;
import static jcuda.driver.JCudaDriver.cuModuleUnload;
import static jcuda.driver.JCudaDriver.cuStreamBeginCapture;
import static jcuda.driver.JCudaDriver.cuStreamCreate;
import static jcuda.driver.JCudaDriver.cuStreamDestroy;
import static jcuda.driver.JCudaDriver.cuStreamEndCapture;
import static jcuda.driver.JCudaDriver.cuStreamSynchronize;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Map;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import jcuda.driver.CUgraph;
import jcuda.driver.CUgraphExec;
import jcuda.driver.CUmodule;
import jcuda.driver.CUstream;
import jcuda.driver.CUstreamCaptureMode;
import jcuda.driver.JCudaDriver;
import org.vit4j.Vit4jException;
import org.vit4j.backend.Backend;
import org.vit4j.backend.DeviceBuffer;
import org.vit4j.backend.Epilogue;
import org.vit4j.backend.OpChecks;
import org.vit4j.backend.PatchEmbedShape;
import org.vit4j.memory.BufferPool;
import org.vit4j.memory.DeviceAllocator;
import org.vit4j.memory.PoolStats;
import org.vit4j.memory.SegmentAllocator;

/**
 * The ViT ops as hand-written CUDA kernels (kernels/cuda/*.cu, built into fatbins that ship in the
 * jar), launched through JCuda's driver API on one stream. Device memory comes from a caching
 * {@link BufferPool} over a {@link SegmentAllocator} (small blocks split from 2 MiB segments); host transfers go through one pinned staging buffer; {@link #run} records a
 * whole forward pass as a CUDA graph the first time per key and replays it after, so a pass is one
 * launch from Java. Launch geometry and argument lists are {@link CudaKernels}'. Not thread-safe.
 */
public final class CudaBackend implements Backend {
    static final String FATBIN_ROOT = "/org/vit4j/kernels/cuda/";

    private final CUdevice device = new CUdevice();
    private final CUcontext context = new CUcontext();
    private final CUstream stream = new CUstream();
    private final String deviceName;
    private final Map<String, CUmodule> modules = new HashMap<>();
    private final Map<String, CUfunction> functions = new HashMap<>();
    private final Map<Object, CUgraphExec> graphs = new IdentityHashMap<>();
    private final Map<Object, CUgraph> graphSources = new IdentityHashMap<>();
    private final BufferPool<CUdeviceptr> pool;
    private Pointer staging = new Pointer();
    private long stagingBytes;
    private boolean capturing;
    private boolean closed;
    /** cuBLAS for the linear layers where asked for and loadable (see {@link #GEMM_PROPERTY}), else null. */
    private CublasGemm cublas;
    private CUdeviceptr cublasWorkspace;
    /** The linear layers' [M, 3D] result before the head-layout scatter, on the cuBLAS path. */
    private DeviceBuffer qkvScratch;
    private final java.util.List<DeviceBuffer> retiredScratch = new java.util.ArrayList<>();

    /**
     * Which GEMM runs the linear layers: "vit4j" (the default: kernels/cuda/linear.cu) or "cublas";
     * the system property wins over the environment variable {@code VIT4J_CUDA_GEMM}.
     */
    public static final String GEMM_PROPERTY = "vit4j.cuda.gemm";
    private static final long CUBLAS_WORKSPACE_BYTES = 32L << 20;

    /** True where every kernel module is in the jar (built with nvcc). */
    public static boolean kernelsBuilt() {
        for (String module : CudaKernels.KERNELS.keySet()) {
            if (CudaBackend.class.getResource(FATBIN_ROOT + module + ".fatbin") == null) return false;
        }
        return true;
    }

    public CudaBackend(int index) {
        JCudaDriver.setExceptionsEnabled(true);
        cuInit(0);
        cuDeviceGet(device, index);
        byte[] name = new byte[256];
        cuDeviceGetName(name, name.length, device);
        int n = 0;
        while (n < name.length && name[n] != 0) n++;
        deviceName = new String(name, 0, n, StandardCharsets.UTF_8);
        cuDevicePrimaryCtxRetain(context, device);
        cuCtxSetCurrent(context);
        cuStreamCreate(stream, 0);
        // Small buffers (biases, norms) are carved from 2 MiB segments; larger ones are their own.
        DeviceAllocator<CUdeviceptr> device = new DeviceAllocator<>() {
            @Override
            public CUdeviceptr allocate(long bytes) {
                CUdeviceptr p = new CUdeviceptr();
                cuMemAlloc(p, bytes);
                return p;
            }

            @Override
            public void free(CUdeviceptr handle) {
                cuMemFree(handle);
            }
        };
        pool = new BufferPool<>(new SegmentAllocator<>(device, (p, off) -> p.withByteOffset(off), 2L << 20, 256L << 10),
                "cuda " + deviceName);
        try {
            for (Map.Entry<String, java.util.List<String>> m : CudaKernels.KERNELS.entrySet()) {
                CUmodule module = new CUmodule();
                cuModuleLoadData(module, fatbin(m.getKey()));
                modules.put(m.getKey(), module);
                for (String k : m.getValue()) {
                    CUfunction f = new CUfunction();
                    cuModuleGetFunction(f, module, k);
                    functions.put(m.getKey() + "/" + k, f);
                }
            }
            String gemm = System.getProperty(GEMM_PROPERTY, System.getenv().getOrDefault("VIT4J_CUDA_GEMM", "vit4j"));
            if (gemm.equalsIgnoreCase("cublas")) {
                cublasWorkspace = pool.acquire(CUBLAS_WORKSPACE_BYTES);
                cublas = CublasGemm.tryCreate(stream, cublasWorkspace, CUBLAS_WORKSPACE_BYTES);
            } else if (!gemm.equalsIgnoreCase("vit4j")) {
                throw new Vit4jException("cuda: unknown GEMM provider '" + gemm + "'; expected vit4j or cublas");
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** "cublas" where cuBLAS runs the linear layers, else "vit4j". */
    public String gemmProvider() {
        return cublas != null ? "cublas" : "vit4j";
    }

    private static byte[] fatbin(String module) {
        try (InputStream in = CudaBackend.class.getResourceAsStream(FATBIN_ROOT + module + ".fatbin")) {
            if (in == null) {
                throw new Vit4jException("cuda: kernels not built: " + module + ".fatbin is not in the jar "
                        + "(build on a machine with nvcc: scripts/build-cuda-kernels.sh)");
            }
            byte[] bytes = in.readAllBytes();
            return java.util.Arrays.copyOf(bytes, bytes.length + 1); // the driver wants it NUL-terminated
        } catch (IOException e) {
            throw new Vit4jException("cuda: cannot read " + module + ".fatbin: " + e.getMessage(), e);
        }
    }

    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public String deviceName() {
        return deviceName;
    }

    @Override
    public PoolStats memoryStats() {
        return pool.stats();
    }

    private void checkOpen() {
        if (closed) throw new IllegalStateException("cuda backend used after close");
    }

    private void launch(CudaKernels.Launch l) {
        CUfunction f = functions.get(l.module() + "/" + l.kernelName());
        if (f == null) throw new IllegalStateException("cuda: no kernel " + l.module() + "/" + l.kernelName());
        cuLaunchKernel(f, l.grid()[0], l.grid()[1], l.grid()[2], l.block()[0], l.block()[1], l.block()[2],
                l.sharedBytes(), stream, l.args(), null);
    }

    private static CUdeviceptr p(DeviceBuffer b) {
        return b == null ? null : ((CudaBuffer) b).ptr();
    }

    // ---- memory ----

    @Override
    public DeviceBuffer allocate(long length) {
        checkOpen();
        if (length < 0 || length > Integer.MAX_VALUE) {
            throw new Vit4jException("cuda: cannot allocate " + length + " floats (kernels index with int)");
        }
        return new CudaBuffer(this, pool.acquire(length * Float.BYTES), length);
    }

    @Override
    public DeviceBuffer upload(float[] host) {
        if (host == null) throw new Vit4jException("upload: host array is null");
        DeviceBuffer b = allocate(host.length);
        write(host, b);
        return b;
    }

    /** The pinned staging buffer, grown to at least {@code bytes}; waits for the stream before reuse. */
    private FloatBuffer staging(long bytes) {
        cuStreamSynchronize(stream);
        if (bytes > stagingBytes) {
            if (stagingBytes > 0) cuMemFreeHost(staging);
            staging = new Pointer();
            cuMemAllocHost(staging, bytes);
            stagingBytes = bytes;
        }
        return staging.getByteBuffer(0, bytes).order(ByteOrder.nativeOrder()).asFloatBuffer();
    }

    @Override
    public void write(float[] src, DeviceBuffer dst) {
        checkOpen();
        OpChecks.hostTransfer(this, "write", dst, src);
        if (src.length == 0) return;
        long bytes = (long) src.length * Float.BYTES;
        staging(bytes).put(src);
        cuMemcpyHtoDAsync(p(dst), staging, bytes, stream);
    }

    @Override
    public void download(DeviceBuffer src, float[] dst) {
        checkOpen();
        OpChecks.hostTransfer(this, "download", src, dst);
        if (dst.length == 0) return;
        long bytes = (long) dst.length * Float.BYTES;
        FloatBuffer host = staging(bytes);
        cuMemcpyDtoHAsync(staging, p(src), bytes, stream);
        cuStreamSynchronize(stream);
        host.get(dst);
    }

    @Override
    public void copy(DeviceBuffer src, DeviceBuffer dst, long n) {
        checkOpen();
        OpChecks.elementwise(this, "copy", n, new String[] {"src", "dst"}, src, dst);
        cuMemcpyDtoDAsync(p(dst), p(src), n * Float.BYTES, stream);
    }

    void release(CUdeviceptr ptr) {
        if (closed) return; // the pool freed everything at close
        pool.release(ptr);
    }

    // ---- ops ----

    @Override
    public void patchEmbed(PatchEmbedShape s, DeviceBuffer images, DeviceBuffer weight, DeviceBuffer bias,
            DeviceBuffer clsToken, DeviceBuffer posEmbed, DeviceBuffer out) {
        checkOpen();
        OpChecks.patchEmbed(this, s, images, weight, bias, clsToken, posEmbed, out);
        launch(CudaKernels.patchEmbed(s, p(images), p(weight), p(bias), p(clsToken), p(posEmbed), p(out)));
    }

    @Override
    public void layerNorm(DeviceBuffer x, DeviceBuffer gamma, DeviceBuffer beta, DeviceBuffer out, int rows, int dim,
            float eps) {
        checkOpen();
        OpChecks.layerNorm(this, x, gamma, beta, out, rows, dim, eps);
        launch(CudaKernels.layerNorm(p(x), p(gamma), p(beta), p(out), rows, dim, eps));
    }

    @Override
    public void addLayerNorm(DeviceBuffer x, DeviceBuffer residual, DeviceBuffer sum, DeviceBuffer normed,
            DeviceBuffer gamma, DeviceBuffer beta, int rows, int dim, float eps) {
        checkOpen();
        OpChecks.layerNorm(this, x, gamma, beta, normed, rows, dim, eps);
        OpChecks.buffer(this, "addLayerNorm", "residual", residual, (long) rows * dim);
        OpChecks.buffer(this, "addLayerNorm", "sum", sum, (long) rows * dim);
        launch(CudaKernels.addLayerNorm(p(x), p(residual), p(sum), p(normed), p(gamma), p(beta), rows, dim, eps));
    }

    @Override
    public void linear(DeviceBuffer x, DeviceBuffer weight, DeviceBuffer bias, DeviceBuffer out, int rows,
            int inFeatures, int outFeatures, Epilogue epilogue, DeviceBuffer residual) {
        checkOpen();
        OpChecks.linear(this, x, weight, bias, out, rows, inFeatures, outFeatures, epilogue, residual);
        if (cublas == null) {
            launch(CudaKernels.linear(p(x), p(weight), p(bias), p(out), rows, inFeatures, outFeatures, epilogue,
                    p(residual)));
            return;
        }
        boolean accumulate = epilogue == Epilogue.BIAS_RESIDUAL;
        if (accumulate && residual != out) copy(residual, out, (long) rows * outFeatures);
        cublas.gemm(p(x), p(weight), p(out), rows, inFeatures, outFeatures, accumulate);
        if (bias != null) launch(CudaKernels.biasRows(p(out), p(bias), rows, outFeatures, epilogue == Epilogue.BIAS_GELU));
    }

    @Override
    public void linearQkv(DeviceBuffer x, DeviceBuffer weight, DeviceBuffer bias, DeviceBuffer qkv, int batch,
            int tokens, int dim, int heads) {
        checkOpen();
        OpChecks.linearQkv(this, x, weight, bias, qkv, batch, tokens, dim, heads);
        if (cublas == null) {
            launch(CudaKernels.linearQkv(p(x), p(weight), p(bias), p(qkv), batch, tokens, dim, heads));
            return;
        }
        long n = 3L * batch * tokens * dim;
        if (qkvScratch == null || qkvScratch.length() < n) {
            // A smaller scratch stays allocated till close: a recorded graph may still read it.
            if (qkvScratch != null) retiredScratch.add(qkvScratch);
            qkvScratch = allocate(n);
        }
        cublas.gemm(p(x), p(weight), p(qkvScratch), batch * tokens, dim, 3 * dim, false);
        launch(CudaKernels.qkvScatter(p(qkvScratch), p(bias), p(qkv), batch, tokens, dim, heads));
    }

    @Override
    public void attention(DeviceBuffer qkv, DeviceBuffer out, int batch, int tokens, int heads, int headDim,
            float scale) {
        checkOpen();
        OpChecks.attention(this, qkv, out, batch, tokens, heads, headDim, scale);
        launch(CudaKernels.attention(p(qkv), p(out), batch, tokens, heads, headDim, scale));
    }

    @Override
    public void gelu(DeviceBuffer x, DeviceBuffer out, long n) {
        checkOpen();
        OpChecks.elementwise(this, "gelu", n, new String[] {"x", "out"}, x, out);
        launch(CudaKernels.gelu(p(x), p(out), n));
    }

    @Override
    public void add(DeviceBuffer a, DeviceBuffer b, DeviceBuffer out, long n) {
        checkOpen();
        OpChecks.elementwise(this, "add", n, new String[] {"a", "b", "out"}, a, b, out);
        launch(CudaKernels.add(p(a), p(b), p(out), n));
    }

    @Override
    public void selectToken(DeviceBuffer x, DeviceBuffer out, int batch, int tokens, int dim, int token) {
        checkOpen();
        OpChecks.selectToken(this, x, out, batch, tokens, dim, token);
        launch(CudaKernels.selectToken(p(x), p(out), batch, tokens, dim, token));
    }

    // ---- graphs ----

    /**
     * Records {@code body} into a CUDA graph the first time per {@code key} (stream capture: the
     * kernels are not run while recording) and launches the graph, then and on every later call:
     * one driver call for a whole pass.
     */
    @Override
    public void run(Object key, Runnable body) {
        checkOpen();
        if (capturing) {
            body.run(); // nested: part of the recording already under way
            return;
        }
        CUgraphExec exec = graphs.get(key);
        if (exec == null) {
            CUgraph graph = new CUgraph();
            capturing = true;
            // Relaxed: a first pass may still grow a scratch buffer (cuMemAlloc) while it is recorded.
            cuStreamBeginCapture(stream, CUstreamCaptureMode.CU_STREAM_CAPTURE_MODE_RELAXED);
            try {
                body.run();
            } finally {
                capturing = false;
                cuStreamEndCapture(stream, graph);
            }
            exec = new CUgraphExec();
            cuGraphInstantiate(exec, graph, 0);
            graphs.put(key, exec);
            graphSources.put(key, graph);
        }
        cuGraphLaunch(exec, stream);
    }

    @Override
    public void forget(Object key) {
        CUgraphExec exec = graphs.remove(key);
        if (exec != null) cuGraphExecDestroy(exec);
        CUgraph graph = graphSources.remove(key);
        if (graph != null) cuGraphDestroy(graph);
    }

    @Override
    public void synchronize() {
        checkOpen();
        cuStreamSynchronize(stream);
    }

    @Override
    public void close() {
        if (closed) return;
        try {
            cuStreamSynchronize(stream);
        } finally {
            closed = true;
            for (Object key : graphs.keySet().toArray()) forget(key);
            if (cublas != null) cublas.close();
            pool.close();
            if (stagingBytes > 0) cuMemFreeHost(staging);
            modules.values().forEach(m -> cuModuleUnload(m));
            cuStreamDestroy(stream);
            cuDevicePrimaryCtxRelease(device);
        }
    }
}
