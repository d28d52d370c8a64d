package org.vit4j.backend.opencl;

import org.jocl.cl_kernel;

/** LayerNorm (kernels/opencl/layernorm.cl). */
final class LayerNormOps {
    static final TuningParam WG = new TuningParam("LN_WG", 64, 8, "work-group size of layernorm_v1");

    private final ClRuntime rt;
    private final int wg;
    private final cl_kernel kernel;

    LayerNormOps(ClRuntime rt, Tuning tuning) {
        this.rt = rt;
        this.wg = tuning.get(WG);
        this.kernel = rt.kernel("layernorm", "layernorm_v1", tuning.defines(WG));
    }

    void layerNorm(ClBuffer x, ClBuffer gamma, ClBuffer beta, ClBuffer out, int rows, int dim, float eps) {
        rt.launch(kernel, "layernorm_v1", new long[] {(rows + wg - 1) / wg * (long) wg}, new long[] {wg}, x, gamma,
                beta, out, rows, dim, eps);
    }
}
