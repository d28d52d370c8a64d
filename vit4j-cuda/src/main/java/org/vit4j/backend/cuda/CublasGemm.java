package org.vit4j.backend.cuda;

import static jcuda.jcublas.cublasOperation.CUBLAS_OP_N;
import static jcuda.jcublas.cublasOperation.CUBLAS_OP_T;

import jcuda.Pointer;
import jcuda.driver.CUstream;
import jcuda.jcublas.JCublas2;
import jcuda.jcublas.cublasHandle;
import jcuda.runtime.cudaStream_t;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * cuBLAS as the provider of the linear layers' GEMMs ({@code --gemm cublas}), through JCublas 12.6,
 * which needs {@code libcublas.so.12}: on CUDA 13 systems, which ship only {@code libcublas.so.13},
 * {@link #tryCreate} says so in one line and returns null, and vit4j's own GEMM runs instead.
 *
 * <p>Row-major C[M, N] = A[M, K] W[N, K]^T is, read column-major, C^T = W A^T: one
 * {@code cublasSgemm(OP_T, OP_N, N, M, K)} with no copies. A residual is added by cuBLAS itself
 * (beta = 1 on an output that holds it); bias and GELU, and the QKV head layout, by the kernels of
 * epilogue.cu. Math mode stays cuBLAS's default: fp32, no TF32 unless the environment asks.
 */
final class CublasGemm implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(CublasGemm.class);

    private final cublasHandle handle = new cublasHandle();

    private CublasGemm() {}

    /** A cuBLAS handle on {@code stream}, or null (with the reason logged once) where cuBLAS 12 cannot load. */
    static CublasGemm tryCreate(CUstream stream, long workspace, long workspaceBytes) {
        CublasGemm g = new CublasGemm();
        try {
            JCublas2.setExceptionsEnabled(true);
            JCublas2.cublasCreate(g.handle);
        } catch (LinkageError | RuntimeException e) {
            String m = String.valueOf(e.getMessage());
            System.err.println("vit4j: --gemm cublas: cuBLAS 12 (libcublas.so.12) could not be loaded ("
                    + m.lines().findFirst().orElse(m) + "); using vit4j's own GEMM");
            return null;
        }
        JCublas2.cublasSetStream(g.handle, new cudaStream_t(stream));
        // A workspace of our own: cuBLAS must not allocate while a CUDA graph is being recorded.
        JCublas2.cublasSetWorkspace(g.handle, JCudaDriver.ptr(workspace), workspaceBytes);
        LOG.info("linear layers through cuBLAS");
        return g;
    }

    /** c = a . w^T (+ c where {@code accumulate}), all row-major: a [m, k], w [n, k], c [m, n]. */
    void gemm(long a, long w, long c, int m, int k, int n, boolean accumulate) {
        Pointer one = Pointer.to(new float[] {1f});
        Pointer beta = Pointer.to(new float[] {accumulate ? 1f : 0f});
        JCublas2.cublasSgemm(handle, CUBLAS_OP_T, CUBLAS_OP_N, n, m, k, one, JCudaDriver.ptr(w), k, JCudaDriver.ptr(a), k,
                beta, JCudaDriver.ptr(c), n);
    }

    @Override
    public void close() {
        JCublas2.cublasDestroy(handle);
    }
}
