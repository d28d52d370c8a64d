package org.vit4j.backend.cuda;

import java.util.HashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.vit4j.ElementType;
import org.vit4j.Vit4jException;

/**
 * cuBLAS as the provider of the linear layers' GEMMs ({@code --gemm cublas}), through vit4j's own
 * binding ({@link CudaNative}, libvit4j_cuda.so) of whichever cuBLAS the host has:
 * {@code libcublas.so.13} on CUDA 13, else {@code libcublas.so.12}. (JCublas 12.6, used before, is
 * linked against libcublas.so.12 and so could not run on CUDA 13 hosts.) Where neither loads,
 * {@link #tryCreate} says why in one line and returns null, and vit4j's own GEMM runs instead.
 *
 * <p>Row-major C[M, N] = A[M, K] W[N, K]^T is, read column-major, C^T = W A^T: one
 * {@code cublasGemmEx(OP_T, OP_N, N, M, K, W, lda = K, A, ldb = K, C, ldc = N)} with no copies. fp32
 * operands use {@code CUBLAS_COMPUTE_32F} (no TF32 unless {@code allowTf32}); bf16 and fp16 operands
 * are multiplied on tensor cores with fp32 accumulation ({@code CUBLAS_COMPUTE_32F}), into an fp32 or
 * a half-precision C. A residual is added by cuBLAS itself (beta = 1 on an output that holds it);
 * bias and GELU, and the QKV head layout, by the kernels of epilogue.cu. Where cuBLASLt loads too, a
 * linear layer whose epilogue is a bias (+ residual) is one {@code cublasLtMatmul} with
 * {@code CUBLASLT_EPILOGUE_BIAS} and the residual as C ({@link #gemmBias}); GELU is never left to
 * cuBLASLt (see {@link CudaNative}). The handles work on the backend's stream with a workspace of
 * their own, so that cuBLAS never allocates while a CUDA graph is being recorded.
 *
 * <p>cuBLASLt's matmul descriptor, matrix layouts and heuristic algorithm are made once per problem
 * ({@link PlanKey}: shape, types, compute type, epilogue, the bias pointer's alignment, workspace and
 * stream) and kept for the life of the handle: making them and asking the heuristic again at every
 * call was host work on every linear layer of every pass outside a CUDA graph. A ViT has a few linear
 * shapes per batch size, so the cache stays small; {@link #close} destroys each plan once.
 * {@link #gemmBias} and {@link #close} are synchronized: a plan's bias pointer is set at each call, and
 * a plan must not be freed while a call uses it.
 */
final class CublasGemm implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(CublasGemm.class);

    private final CudaNative.Cublas lib;
    private final long handle;
    private final boolean allowTf32;
    /** cuBLASLt and its handle, or null and 0 where it is not bound. */
    private final CudaNative.CublasLt lt;
    private final long ltHandle;
    private final long stream;
    private final long workspace;
    private final long workspaceBytes;
    /** cuBLASLt plans (native LtPlan pointers) by problem; destroyed by {@link #close}. */
    private final Map<PlanKey, Long> plans = new HashMap<>();
    private boolean closed;

    /**
     * Everything a cuBLASLt plan depends on. The bias pointer's alignment (its lowest set bit, capped at
     * 256 bytes) is in it because cublasLtMatmulAlgoGetHeuristic reads the bias pointer to know what
     * alignment it may assume (cublasLt.h, CUBLASLT_MATMUL_DESC_BIAS_POINTER): a plan made for a
     * 256-byte-aligned bias must not run with a less aligned one. (A, B, C and D are assumed 256-byte
     * aligned by the heuristic's default preferences whatever the pointers, as before caching.)
     */
    record PlanKey(int transa, int transb, int m, int n, int k, int atype, int lda, int btype, int ldb, int ctype, int ldc,
            int ldd, int compute, boolean bias, int biasAlignment, long workspaceBytes, long stream) {}

    /** The alignment a pointer guarantees, in bytes: its lowest set bit, at most 256 (0 for none). */
    static int alignment(long pointer) {
        return pointer == 0 ? 0 : (int) Math.min(256, Long.lowestOneBit(pointer));
    }

    private CublasGemm(CudaNative.Cublas lib, long handle, boolean allowTf32, CudaNative.CublasLt lt, long ltHandle,
            long stream, long workspace, long workspaceBytes) {
        this.lib = lib;
        this.handle = handle;
        this.allowTf32 = allowTf32;
        this.lt = lt;
        this.ltHandle = ltHandle;
        this.stream = stream;
        this.workspace = workspace;
        this.workspaceBytes = workspaceBytes;
    }

    /**
     * A cuBLAS handle on the raw CUstream {@code stream} with the given workspace, or null (with the
     * reason said once on stderr) where cuBLAS cannot be bound.
     */
    static CublasGemm tryCreate(long stream, long workspace, long workspaceBytes) {
        CudaNative.Bound<CudaNative.Cublas> b = CudaNative.cublas();
        if (b.value() == null) {
            System.err.println("vit4j: --gemm cublas: cuBLAS is unavailable (" + b.problem() + "); using vit4j's own GEMM");
            return null;
        }
        CudaNative.Bound<CudaNative.CublasLt> lt = CudaNative.cublasLt();
        if (lt.value() == null) {
            System.err.println("vit4j: --gemm cublas: cuBLASLt is unavailable (" + lt.problem()
                    + "); bias epilogues run in vit4j's kernels after cublasGemmEx");
        }
        CublasGemm g = create(b.value(), lt.value(), stream, workspace, workspaceBytes, false);
        LOG.info("linear layers through cuBLAS ({}{})", b.value().file, lt.value() != null ? ", " + lt.value().file : "");
        return g;
    }

    /** Handles from the bound libraries (tests bind fakes); {@code lt} may be null (no cuBLASLt). */
    static CublasGemm create(CudaNative.Cublas lib, CudaNative.CublasLt lt, long stream, long workspace,
            long workspaceBytes, boolean allowTf32) {
        long h = lib.create(stream, workspace, workspaceBytes);
        long ltHandle = 0;
        if (lt != null) {
            try {
                ltHandle = lt.create();
            } catch (RuntimeException e) {
                lib.destroy(h);
                throw e;
            }
        }
        return new CublasGemm(lib, h, allowTf32, lt, ltHandle, stream, workspace, workspaceBytes);
    }

    /** True where {@link #gemmBias} runs (cuBLASLt is bound). */
    boolean fusesBias() {
        return lt != null;
    }

    /**
     * out = a . w^T + bias (+ residual, 0 for none; it may be out itself), all row-major of {@code type}:
     * a [m, k], w [n, k], bias [n], residual and out [m, n]; one cublasLtMatmul with
     * CUBLASLT_EPILOGUE_BIAS, accumulated in fp32 and rounded once to {@code type}. Column-major, as
     * for {@link #gemm}: D^T = W A^T + bias broadcast over D^T's columns (its rows are our features).
     * Only where {@link #fusesBias()}.
     */
    synchronized void gemmBias(long a, long w, long bias, long residual, long out, ElementType type, int m, int k, int n) {
        if (closed) throw new IllegalStateException("cuBLAS handle used after close");
        if (lt == null) throw new IllegalStateException("gemmBias without cuBLASLt");
        if (m < 1 || k < 1 || n < 1) {
            throw new Vit4jException("cublasLt gemm: m, k, n must be positive, got " + m + ", " + k + ", " + n);
        }
        if (bias == 0) throw new Vit4jException("cublasLt gemm: the bias epilogue needs a bias");
        int t = dataType(type);
        int compute = type == ElementType.F32 && allowTf32 ? CudaNative.Cublas.COMPUTE_32F_FAST_TF32
                : CudaNative.Cublas.COMPUTE_32F;
        PlanKey key = new PlanKey(CudaNative.Cublas.OP_T, CudaNative.Cublas.OP_N, n, m, k, t, k, t, k, t, n, n, compute, true,
                alignment(bias), workspaceBytes, stream);
        long plan = plan(key, bias);
        lt.matmul(ltHandle, plan, 1f, w, a, residual != 0 ? 1f : 0f, residual != 0 ? residual : out, out, bias, workspace,
                workspaceBytes, stream);
    }

    /** The plan of {@code key}, made (with {@code bias} as the heuristic's bias pointer) on first use. */
    private long plan(PlanKey key, long bias) {
        Long plan = plans.get(key);
        if (plan != null) return plan;
        // A failing creation throws and has freed what it made: nothing is cached, the next call tries again.
        long made = lt.createPlan(ltHandle, key.transa(), key.transb(), key.m(), key.n(), key.k(), key.atype(), key.lda(),
                key.btype(), key.ldb(), key.ctype(), key.ldc(), key.ldd(), key.compute(), key.bias() ? bias : 0,
                key.workspaceBytes());
        plans.put(key, made);
        return made;
    }

    /** How many cuBLASLt plans are cached (tests). */
    synchronized int planCount() {
        return plans.size();
    }

    private static int dataType(ElementType t) {
        return switch (t) {
            case F32 -> CudaNative.Cublas.R_32F;
            case BF16 -> CudaNative.Cublas.R_16BF;
            case F16 -> CudaNative.Cublas.R_16F;
        };
    }

    /** c = a . w^T (+ c where {@code accumulate}), all fp32 and row-major: a [m, k], w [n, k], c [m, n]. */
    void gemm(long a, long w, long c, int m, int k, int n, boolean accumulate) {
        gemm(a, w, ElementType.F32, c, ElementType.F32, m, k, n, accumulate);
    }

    /**
     * c = a . w^T (+ c where {@code accumulate}), row-major: a [m, k] and w [n, k] of {@code in}, c [m, n]
     * of {@code out} (fp32, or {@code in} itself), accumulated in fp32.
     */
    void gemm(long a, long w, ElementType in, long c, ElementType out, int m, int k, int n, boolean accumulate) {
        if (closed) throw new IllegalStateException("cuBLAS handle used after close");
        if (m < 1 || k < 1 || n < 1) {
            throw new Vit4jException("cublas gemm: m, k, n must be positive, got " + m + ", " + k + ", " + n);
        }
        if (out != ElementType.F32 && out != in) {
            throw new Vit4jException("cublas gemm: output " + out.label() + " with " + in.label() + " operands: the output is fp32 or "
                    + in.label());
        }
        int compute = in == ElementType.F32 && allowTf32 ? CudaNative.Cublas.COMPUTE_32F_FAST_TF32
                : CudaNative.Cublas.COMPUTE_32F;
        lib.gemmEx(handle, CudaNative.Cublas.OP_T, CudaNative.Cublas.OP_N, n, m, k, 1f, w, dataType(in), k, a,
                dataType(in), k, accumulate ? 1f : 0f, c, dataType(out), n, compute);
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        try {
            if (lt != null) {
                // The plans before the handle they were made with; each once (the map is emptied as it goes).
                for (var it = plans.values().iterator(); it.hasNext();) {
                    long plan = it.next();
                    it.remove();
                    lt.destroyPlan(plan);
                }
                lt.destroy(ltHandle);
            }
        } finally {
            lib.destroy(handle);
        }
    }
}
