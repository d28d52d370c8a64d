package org.vit4j.backend.opencl;

import org.jocl.cl_kernel;
import org.vit4j.ElementType;
import org.vit4j.Vit4jException;

/**
 * LayerNorm and the residual add fused with it (kernels/opencl/layernorm.cl). {@link #VARIANT}
 * picks the kernel shape: a work-group per row with local-memory reductions (GPUs), or a work-item
 * per row with float vectors (CPU devices). v1, the naive baseline, has no fused form; with it the
 * fused op runs the vector kernel's fused form. Kernels are built per storage type on first use.
 */
final class LayerNormOps {
    static final TuningParam VARIANT = new TuningParam("LN_VARIANT", 2, 3,
            "1 = layernorm_v1 (naive), 2 = layernorm_v2 (work-group per row), 3 = layernorm_v3 (work-item per row)");
    static final TuningParam WG = new TuningParam("LN_WG", 64, 8, "work-group size of layernorm_v1");
    static final TuningParam GPU_WG = new TuningParam("LN_GPU_WG", 256, 256,
            "work-items per row of layernorm_v2 (a power of two)");
    static final TuningParam CPU_VW = new TuningParam("LN_CPU_VW", 16, 16, "vector width of layernorm_v3 (4, 8, 16)");
    static final TuningParam CPU_WG = new TuningParam("LN_CPU_WG", 8, 8, "rows (work-items) per work-group of layernorm_v3");

    private final ClRuntime rt;
    private final Tuning tuning;
    private final int variant;

    LayerNormOps(ClRuntime rt, Tuning tuning) {
        this.rt = rt;
        this.tuning = tuning;
        this.variant = tuning.get(VARIANT);
        if (variant < 1 || variant > 3) throw new Vit4jException("LN_VARIANT must be 1, 2 or 3, got " + variant);
        int wg = tuning.get(GPU_WG);
        if (wg < 1 || Integer.bitCount(wg) != 1) throw new Vit4jException("LN_GPU_WG must be a power of two, got " + wg);
    }

    private cl_kernel gpu(String name, ElementType type) {
        return rt.kernel("layernorm", name, tuning.defines(GPU_WG), type);
    }

    private cl_kernel cpu(String name, ElementType type) {
        return rt.kernel("layernorm", name, tuning.defines(CPU_VW), type);
    }

    void layerNorm(ClBuffer x, ClBuffer gamma, ClBuffer beta, ClBuffer out, int rows, int dim, float eps) {
        if (variant == 1) {
            int wg = tuning.get(WG);
            rt.launch(rt.kernel("layernorm", "layernorm_v1", tuning.defines(WG), x.dtype()), "layernorm_v1",
                    new long[] {(rows + wg - 1) / wg * (long) wg}, new long[] {wg}, x, gamma, beta, out, rows, dim, eps);
        } else if (variant == 2) {
            int wg = tuning.get(GPU_WG);
            rt.launch(gpu("layernorm_v2", x.dtype()), "layernorm_v2", new long[] {(long) rows * wg}, new long[] {wg}, x, gamma,
                    beta, out, dim, eps);
        } else {
            int wg = tuning.get(CPU_WG);
            rt.launch(cpu("layernorm_v3", x.dtype()), "layernorm_v3", new long[] {(rows + wg - 1) / wg * (long) wg},
                    new long[] {wg}, x, gamma, beta, out, rows, dim, eps);
        }
    }

    /** sum = x + residual; normed = layerNorm(sum), in one pass over memory. */
    void addLayerNorm(ClBuffer x, ClBuffer residual, ClBuffer sum, ClBuffer normed, ClBuffer gamma, ClBuffer beta,
            int rows, int dim, float eps) {
        if (variant == 2) {
            int wg = tuning.get(GPU_WG);
            rt.launch(gpu("add_layernorm_v2", x.dtype()), "add_layernorm_v2", new long[] {(long) rows * wg}, new long[] {wg}, x,
                    residual, sum, normed, gamma, beta, dim, eps);
        } else {
            int wg = tuning.get(CPU_WG);
            rt.launch(cpu("add_layernorm_v3", x.dtype()), "add_layernorm_v3", new long[] {(rows + wg - 1) / wg * (long) wg},
                    new long[] {wg}, x, residual, sum, normed, gamma, beta, rows, dim, eps);
        }
    }
}
