package org.vit4j.backend.opencl;

import java.util.EnumMap;
import java.util.Map;
import org.jocl.cl_kernel;
import org.vit4j.ElementType;
import org.vit4j.Vit4jException;
import org.vit4j.backend.Epilogue;

/**
 * The linear layers and the QKV projection (kernels/opencl/linear.cl). Which kernel runs is the
 * tuning value GEMM_VARIANT: 1 the naive baseline; 2 register-blocked vector dot products (no local
 * memory, no barriers: what PoCL runs well); 3 the local-memory tiled kernel for GPUs (the GPU
 * default); 4 version 2 with a transposing lane-sum and a vector epilogue (the CPU default). Tile
 * and vector sizes are the GEMM_V{n}_* tuning values of the chosen version. Each (storage type,
 * epilogue) is its own build of the chosen kernel, made on first use.
 */
final class LinearOps {
    static final TuningParam VARIANT = new TuningParam("GEMM_VARIANT", 3, 4,
            "linear kernel: 1 naive, 2 register-blocked vectors, 3 local-memory tiles (GPU),"
                    + " 4 register-blocked vectors with a vector epilogue (CPU)");

    static final TuningParam WG = new TuningParam("GEMM_WG", 16, 8, "work-group side of linear_v1");

    static final TuningParam V2_RM = new TuningParam("GEMM_V2_RM", 4, 4, "linear_v2: rows of C per work-item");
    static final TuningParam V2_RN = new TuningParam("GEMM_V2_RN", 4, 4, "linear_v2: columns of C per work-item");
    static final TuningParam V2_VW = new TuningParam("GEMM_V2_VW", 4, 16,
            "linear_v2: vector width along K (2, 4, 8 or 16)");
    static final TuningParam V2_WGX = new TuningParam("GEMM_V2_WGX", 16, 4,
            "linear_v2: work-group size along N (in work-items)");
    static final TuningParam V2_WGY = new TuningParam("GEMM_V2_WGY", 4, 4,
            "linear_v2: work-group size along M (in work-items)");

    static final TuningParam V4_RM = new TuningParam("GEMM_V4_RM", 4, 4, "linear_v4: rows of C per work-item");
    static final TuningParam V4_RN = new TuningParam("GEMM_V4_RN", 4, 4,
            "linear_v4: columns of C per work-item (a power of two, 2 .. GEMM_V4_VW)");
    static final TuningParam V4_VW = new TuningParam("GEMM_V4_VW", 4, 16,
            "linear_v4: vector width along K (4, 8 or 16)");
    static final TuningParam V4_WGX = new TuningParam("GEMM_V4_WGX", 16, 4,
            "linear_v4: work-group size along N (in work-items)");
    static final TuningParam V4_WGY = new TuningParam("GEMM_V4_WGY", 4, 4,
            "linear_v4: work-group size along M (in work-items)");

    static final TuningParam V3_TM = new TuningParam("GEMM_V3_TM", 64, 32, "linear_v3: tile rows (M)");
    static final TuningParam V3_TN = new TuningParam("GEMM_V3_TN", 64, 32, "linear_v3: tile columns (N)");
    static final TuningParam V3_TK = new TuningParam("GEMM_V3_TK", 16, 16, "linear_v3: tile depth (K)");
    static final TuningParam V3_RM = new TuningParam("GEMM_V3_RM", 4, 4, "linear_v3: rows of C per work-item");
    static final TuningParam V3_RN = new TuningParam("GEMM_V3_RN", 4, 4, "linear_v3: columns of C per work-item");

    private final ClRuntime rt;
    private final Tuning tuning;
    private final int variant;
    private final String name;
    private final String defines;
    private final Map<ElementType, Map<Epilogue, cl_kernel>> built = new EnumMap<>(ElementType.class);

    LinearOps(ClRuntime rt, Tuning tuning) {
        this.rt = rt;
        this.tuning = tuning;
        this.variant = tuning.get(VARIANT);
        switch (variant) {
            case 1 -> defines = tuning.defines(WG);
            case 2 -> {
                int vw = tuning.get(V2_VW);
                if (vw != 2 && vw != 4 && vw != 8 && vw != 16) {
                    throw new Vit4jException("GEMM_V2_VW must be 2, 4, 8 or 16, not " + vw);
                }
                positive(V2_RM, V2_RN, V2_WGX, V2_WGY);
                defines = tuning.defines(V2_RM, V2_RN, V2_VW);
            }
            case 3 -> {
                positive(V3_TM, V3_TN, V3_TK, V3_RM, V3_RN);
                if (tuning.get(V3_TM) % tuning.get(V3_RM) != 0 || tuning.get(V3_TN) % tuning.get(V3_RN) != 0) {
                    throw new Vit4jException("GEMM_V3_TM/TN must be multiples of GEMM_V3_RM/RN");
                }
                defines = tuning.defines(V3_TM, V3_TN, V3_TK, V3_RM, V3_RN);
            }
            case 4 -> {
                int vw = tuning.get(V4_VW), rn = tuning.get(V4_RN);
                if (vw != 4 && vw != 8 && vw != 16) {
                    throw new Vit4jException("GEMM_V4_VW must be 4, 8 or 16, not " + vw);
                }
                if (Integer.bitCount(rn) != 1 || rn < 2 || rn > vw) {
                    throw new Vit4jException("GEMM_V4_RN must be a power of two from 2 to GEMM_V4_VW, not " + rn);
                }
                positive(V4_RM, V4_WGX, V4_WGY);
                defines = tuning.defines(V4_RM, V4_RN, V4_VW);
            }
            default -> throw new Vit4jException("GEMM_VARIANT must be 1, 2, 3 or 4, not " + variant);
        }
        this.name = "linear_v" + variant;
    }

    private void positive(TuningParam... ps) {
        for (TuningParam p : ps) {
            if (tuning.get(p) <= 0) throw new Vit4jException(p.name() + " must be positive, not " + tuning.get(p));
        }
    }

    private cl_kernel kernel(ElementType type, Epilogue e) {
        // EPILOGUE takes linear.cl's EPI_* codes, which are Epilogue.code() (EpilogueCodesTest).
        return built.computeIfAbsent(type, t -> new EnumMap<>(Epilogue.class))
                .computeIfAbsent(e, x -> rt.kernel("linear", name, "-D EPILOGUE=" + x.code() + defines, type));
    }

    void linear(ClBuffer x, ClBuffer w, ClBuffer bias, ClBuffer out, int rows, int in, int outFeatures,
            Epilogue epilogue, ClBuffer residual) {
        launch(x, w, bias, out, rows, in, outFeatures, epilogue, residual, 1, 0);
    }

    void linearQkv(ClBuffer x, ClBuffer w, ClBuffer bias, ClBuffer qkv, int batch, int tokens, int dim, int heads) {
        launch(x, w, bias, qkv, batch * tokens, dim, 3 * dim, bias == null ? Epilogue.NONE : Epilogue.BIAS, null,
                tokens, heads);
    }

    private static long roundUp(long x, long to) {
        return (x + to - 1) / to * to;
    }

    private void launch(ClBuffer x, ClBuffer w, ClBuffer bias, ClBuffer out, int m, int k, int n, Epilogue e,
            ClBuffer residual, int tokens, int heads) {
        long[] global;
        long[] local;
        switch (variant) {
            case 1 -> {
                int wg = tuning.get(WG);
                global = new long[] {roundUp(n, wg), roundUp(m, wg)};
                local = new long[] {wg, wg};
            }
            case 2 -> {
                int rm = tuning.get(V2_RM), rn = tuning.get(V2_RN), wgx = tuning.get(V2_WGX), wgy = tuning.get(V2_WGY);
                global = new long[] {roundUp((n + rn - 1) / rn, wgx), roundUp((m + rm - 1) / rm, wgy)};
                local = new long[] {wgx, wgy};
            }
            case 4 -> {
                int rm = tuning.get(V4_RM), rn = tuning.get(V4_RN), wgx = tuning.get(V4_WGX), wgy = tuning.get(V4_WGY);
                global = new long[] {roundUp((n + rn - 1) / rn, wgx), roundUp((m + rm - 1) / rm, wgy)};
                local = new long[] {wgx, wgy};
            }
            default -> {
                int tm = tuning.get(V3_TM), tn = tuning.get(V3_TN);
                int wgx = tn / tuning.get(V3_RN), wgy = tm / tuning.get(V3_RM);
                global = new long[] {(n + tn - 1) / tn * (long) wgx, (m + tm - 1) / tm * (long) wgy};
                local = new long[] {wgx, wgy};
            }
        }
        rt.launch(kernel(x.dtype(), e), name, global, local, x, w, bias, residual, out, m, n, k, tokens, heads);
    }
}
