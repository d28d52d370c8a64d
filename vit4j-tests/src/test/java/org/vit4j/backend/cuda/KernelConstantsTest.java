package org.vit4j.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * The launch plans' tile sizes come from the kernel sources in the jar: the values nvcc compiled
 * (checked here against the literal numbers the sources state today, so a parser that read nothing,
 * or read the wrong line, fails), derived constants evaluated, a missing name a clear error.
 */
class KernelConstantsTest {
    @Test
    void tileSizesAreTheKernelSources() {
        assertEquals(64, CudaKernels.Gemm.BM);
        assertEquals(16, CudaKernels.Gemm.BK);
        assertEquals((CudaKernels.Gemm.BM / CudaKernels.Gemm.TM) * (CudaKernels.Gemm.BN / CudaKernels.Gemm.TN),
                CudaKernels.Gemm.THREADS, "GEMM_THREADS = (GEMM_BM / GEMM_TM) * (GEMM_BN / GEMM_TN)");
        assertEquals(CudaKernels.Gemm.BM + 4, CudaKernels.Gemm.LDS, "GEMM_LDS = GEMM_BM + 4");
        assertEquals(CudaKernels.LayerNorm.WARPS * 32, CudaKernels.LayerNorm.THREADS);
        assertEquals(CudaKernels.Attention.BQ * CudaKernels.Attention.TPR, CudaKernels.Attention.THREADS);
        assertEquals(128, CudaKernels.Attention.HD_MAX);
        assertEquals(256, CudaKernels.Elementwise.THREADS);
        assertEquals(256, CudaKernels.EPILOGUE_THREADS);
        // gemm_tc.cuh: constexpr TC_* = VIT4J_TC_* (#define defaults), and expressions of them
        assertEquals(128, CudaKernels.TensorCoreGemm.BM);
        assertEquals(32, CudaKernels.TensorCoreGemm.BK);
        assertEquals(256, CudaKernels.TensorCoreGemm.THREADS, "TC_THREADS = TC_WARPS_M * TC_WARPS_N * 32");
        assertEquals(CudaKernels.TensorCoreGemm.STAGES * (CudaKernels.TensorCoreGemm.BM + CudaKernels.TensorCoreGemm.BN)
                * CudaKernels.TensorCoreGemm.BK * 2, CudaKernels.TensorCoreGemm.STATIC_SHARED_BYTES);
        assertEquals(8, CudaKernels.TensorCoreGemm.K_MULTIPLE);
        assertEquals(64, CudaKernels.TensorCoreAttention.BQ);
        assertEquals(128, CudaKernels.TensorCoreAttention.THREADS, "ATTN_TC_THREADS = ATTN_TC_WARPS * 32");
    }

    @Test
    void aNameTheSourceLacksIsAClearError() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> KernelConstants.get("linear.cu", "NO_SUCH"));
        assertTrue(e.getMessage().contains("kernels/cuda/linear.cu declares no 'constexpr int NO_SUCH'"), e.getMessage());
        e = assertThrows(IllegalStateException.class, () -> KernelConstants.get("nothing.cu", "X"));
        assertTrue(e.getMessage().contains("is not in the jar"), e.getMessage());
    }
}
