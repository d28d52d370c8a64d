package org.vit4j.backend.opencl;

import java.util.EnumMap;
import java.util.Map;
import org.jocl.cl_kernel;
import org.vit4j.ElementType;

/**
 * GELU, add and class-token selection (kernels/opencl/elementwise.cl), built per storage type on
 * the first op in that type.
 */
final class ElementwiseOps {
    static final TuningParam WORK_GROUP = new TuningParam("EW_WG", 256, 64, "work-group size of elementwise kernels");

    private final ClRuntime rt;
    private final int wg;
    private final String options;
    private final Map<ElementType, Kernels> byType = new EnumMap<>(ElementType.class);

    private record Kernels(cl_kernel gelu, cl_kernel add, cl_kernel select) {}

    ElementwiseOps(ClRuntime rt, Tuning tuning) {
        this.rt = rt;
        this.wg = tuning.get(WORK_GROUP);
        this.options = tuning.defines(WORK_GROUP);
    }

    private Kernels kernels(ElementType type) {
        return byType.computeIfAbsent(type, t -> new Kernels(rt.kernel("elementwise", "gelu", options, t),
                rt.kernel("elementwise", "add", options, t), rt.kernel("elementwise", "select_token", options, t)));
    }

    private long[] global(long n) {
        return new long[] {(n + wg - 1) / wg * wg};
    }

    void gelu(ClBuffer x, ClBuffer out, int n) {
        rt.launch(kernels(x.dtype()).gelu(), "gelu", global(n), new long[] {wg}, x, out, n);
    }

    void add(ClBuffer a, ClBuffer b, ClBuffer out, int n) {
        rt.launch(kernels(a.dtype()).add(), "add", global(n), new long[] {wg}, a, b, out, n);
    }

    void selectToken(ClBuffer x, ClBuffer out, int batch, int tokens, int dim, int token) {
        rt.launch(kernels(x.dtype()).select(), "select_token", global((long) batch * dim), new long[] {wg}, x, out,
                batch, tokens, dim, token);
    }
}
