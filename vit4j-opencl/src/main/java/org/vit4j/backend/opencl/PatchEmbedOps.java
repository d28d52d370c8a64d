package org.vit4j.backend.opencl;

import java.util.EnumMap;
import java.util.Map;
import org.jocl.cl_kernel;
import org.vit4j.ElementType;
import org.vit4j.Vit4jException;
import org.vit4j.backend.PatchEmbedShape;

/**
 * The fused patch-embedding GEMM (kernels/opencl/patch_embed.cl). PE_VARIANT picks the kernel: 1
 * the naive baseline, 2 register-blocked vectors (CPU devices), 3 local-memory tiles (GPUs). Built
 * per storage type on first use.
 */
final class PatchEmbedOps {
    static final TuningParam VARIANT = new TuningParam("PE_VARIANT", 3, 2,
            "patch embedding kernel: 1 naive, 2 register-blocked vectors (CPU), 3 local-memory tiles (GPU)");

    static final TuningParam WG = new TuningParam("PE_WG", 16, 8, "work-group side of patch_embed_v1");

    static final TuningParam V2_RM = new TuningParam("PE_V2_RM", 4, 4, "patch_embed_v2: patches per work-item");
    static final TuningParam V2_RN = new TuningParam("PE_V2_RN", 4, 4, "patch_embed_v2: channels per work-item");
    static final TuningParam V2_VW = new TuningParam("PE_V2_VW", 4, 16,
            "patch_embed_v2: vector width along a patch row (2, 4, 8 or 16)");
    static final TuningParam V2_WGX = new TuningParam("PE_V2_WGX", 16, 16, "patch_embed_v2: work-group size along dim");
    static final TuningParam V2_WGY = new TuningParam("PE_V2_WGY", 4, 4, "patch_embed_v2: work-group size along patches");

    static final TuningParam V3_TM = new TuningParam("PE_V3_TM", 64, 32, "patch_embed_v3: tile rows (patches)");
    static final TuningParam V3_TN = new TuningParam("PE_V3_TN", 64, 32, "patch_embed_v3: tile columns (dim)");
    static final TuningParam V3_TK = new TuningParam("PE_V3_TK", 16, 16, "patch_embed_v3: tile depth (K)");
    static final TuningParam V3_RM = new TuningParam("PE_V3_RM", 4, 4, "patch_embed_v3: rows per work-item");
    static final TuningParam V3_RN = new TuningParam("PE_V3_RN", 4, 4, "patch_embed_v3: columns per work-item");

    private final ClRuntime rt;
    private final Tuning tuning;
    private final int variant;
    private final String name;
    private final String defines;
    private final Map<ElementType, cl_kernel> byType = new EnumMap<>(ElementType.class);

    PatchEmbedOps(ClRuntime rt, Tuning tuning) {
        this.rt = rt;
        this.tuning = tuning;
        this.variant = tuning.get(VARIANT);
        this.defines = switch (variant) {
            case 1 -> tuning.defines(WG);
            case 2 -> {
                int vw = tuning.get(V2_VW);
                if (vw != 2 && vw != 4 && vw != 8 && vw != 16) {
                    throw new Vit4jException("PE_V2_VW must be 2, 4, 8 or 16, not " + vw);
                }
                positive(V2_RM, V2_RN, V2_WGX, V2_WGY);
                yield tuning.defines(V2_RM, V2_RN, V2_VW);
            }
            case 3 -> {
                positive(V3_TM, V3_TN, V3_TK, V3_RM, V3_RN);
                if (tuning.get(V3_TM) % tuning.get(V3_RM) != 0 || tuning.get(V3_TN) % tuning.get(V3_RN) != 0) {
                    throw new Vit4jException("PE_V3_TM/TN must be multiples of PE_V3_RM/RN");
                }
                yield tuning.defines(V3_TM, V3_TN, V3_TK, V3_RM, V3_RN);
            }
            default -> throw new Vit4jException("PE_VARIANT must be 1, 2 or 3, not " + variant);
        };
        this.name = "patch_embed_v" + variant;
    }

    private void positive(TuningParam... ps) {
        for (TuningParam p : ps) {
            if (tuning.get(p) <= 0) throw new Vit4jException(p.name() + " must be positive, not " + tuning.get(p));
        }
    }

    private static long roundUp(long x, long to) {
        return (x + to - 1) / to * to;
    }

    void patchEmbed(PatchEmbedShape s, ClBuffer images, ClBuffer w, ClBuffer bias, ClBuffer cls, ClBuffer pos,
            ClBuffer out) {
        long patches = (long) s.batch() * (s.tokens() - 1);
        long[] global;
        long[] local;
        switch (variant) {
            case 1 -> {
                int wg = tuning.get(WG);
                global = new long[] {roundUp(s.dim(), wg), roundUp((long) s.batch() * s.tokens(), wg)};
                local = new long[] {wg, wg};
            }
            case 2 -> {
                int rm = tuning.get(V2_RM), rn = tuning.get(V2_RN), wgx = tuning.get(V2_WGX), wgy = tuning.get(V2_WGY);
                global = new long[] {roundUp((s.dim() + rn - 1) / rn, wgx), roundUp((patches + rm - 1) / rm, wgy)};
                local = new long[] {wgx, wgy};
            }
            default -> {
                int tm = tuning.get(V3_TM), tn = tuning.get(V3_TN);
                int wgx = tn / tuning.get(V3_RN), wgy = tm / tuning.get(V3_RM);
                global = new long[] {(s.dim() + tn - 1) / tn * (long) wgx, (patches + tm - 1) / tm * wgy};
                local = new long[] {wgx, wgy};
            }
        }
        cl_kernel kernel = byType.computeIfAbsent(images.dtype(), t -> rt.kernel("patch_embed", name, defines, t));
        rt.launch(kernel, name, global, local, images, w, bias, cls, pos, out, s.batch(), s.channels(),
                s.height(), s.width(), s.patch(), s.dim());
    }
}
