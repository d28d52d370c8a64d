package org.vit4j.backend.opencl;

import org.jocl.cl_kernel;
import org.vit4j.backend.Epilogue;

/** The linear layers and the QKV projection (kernels/opencl/gemm.cl). */
final class GemmOps {
    static final TuningParam WG = new TuningParam("GEMM_WG", 16, 8, "work-group side of linear_v1");

    private final ClRuntime rt;
    private final Tuning tuning;
    private final cl_kernel[] byEpilogue = new cl_kernel[Epilogue.values().length];

    GemmOps(ClRuntime rt, Tuning tuning) {
        this.rt = rt;
        this.tuning = tuning;
    }

    private cl_kernel kernel(Epilogue e) {
        cl_kernel k = byEpilogue[e.ordinal()];
        if (k == null) {
            k = rt.kernel("gemm", "linear_v1", "-D EPILOGUE=" + e.ordinal() + tuning.defines(WG));
            byEpilogue[e.ordinal()] = k;
        }
        return k;
    }

    void linear(ClBuffer x, ClBuffer w, ClBuffer bias, ClBuffer out, int rows, int in, int outFeatures,
            Epilogue epilogue, ClBuffer residual) {
        launch(x, w, bias, out, rows, in, outFeatures, epilogue, residual, 1, 0);
    }

    void linearQkv(ClBuffer x, ClBuffer w, ClBuffer bias, ClBuffer qkv, int batch, int tokens, int dim, int heads) {
        launch(x, w, bias, qkv, batch * tokens, dim, 3 * dim, bias == null ? Epilogue.NONE : Epilogue.BIAS, null,
                tokens, heads);
    }

    private void launch(ClBuffer x, ClBuffer w, ClBuffer bias, ClBuffer out, int m, int k, int n, Epilogue e,
            ClBuffer residual, int tokens, int heads) {
        int wg = tuning.get(WG);
        long[] global = {(n + wg - 1) / wg * (long) wg, (m + wg - 1) / wg * (long) wg};
        rt.launch(kernel(e), "linear_v1", global, new long[] {wg, wg}, x, w, bias, residual, out, m, n, k, tokens,
                heads);
    }
}
