package org.vit4j.backend.opencl;

import org.jocl.cl_kernel;

/** GELU, add and class-token selection (kernels/opencl/elementwise.cl). */
final class ElementwiseOps {
    static final TuningParam WORK_GROUP = new TuningParam("EW_WG", 256, 64, "work-group size of elementwise kernels");

    private final ClRuntime rt;
    private final int wg;
    private final cl_kernel gelu;
    private final cl_kernel add;
    private final cl_kernel select;

    ElementwiseOps(ClRuntime rt, Tuning tuning) {
        this.rt = rt;
        this.wg = tuning.get(WORK_GROUP);
        String options = tuning.defines(WORK_GROUP);
        this.gelu = rt.kernel("elementwise", "gelu", options);
        this.add = rt.kernel("elementwise", "add", options);
        this.select = rt.kernel("elementwise", "select_token", options);
    }

    private long[] global(long n) {
        return new long[] {(n + wg - 1) / wg * wg};
    }

    void gelu(ClBuffer x, ClBuffer out, int n) {
        rt.launch(gelu, "gelu", global(n), new long[] {wg}, x, out, n);
    }

    void add(ClBuffer a, ClBuffer b, ClBuffer out, int n) {
        rt.launch(add, "add", global(n), new long[] {wg}, a, b, out, n);
    }

    void selectToken(ClBuffer x, ClBuffer out, int batch, int tokens, int dim, int token) {
        rt.launch(select, "select_token", global((long) batch * dim), new long[] {wg}, x, out, batch, tokens, dim, token);
    }
}
