package org.vit4j.backend.opencl;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.jocl.cl_kernel;
import org.vit4j.ElementType;
import org.vit4j.Vit4jException;
import org.vit4j.backend.PatchEmbedShape;

/**
 * The fused patch-embedding GEMM (kernels/opencl/patch_embed.cl). PE_VARIANT picks the kernel: 1
 * the naive baseline, 2 register-blocked dot products, 3 local-memory tiles (GPUs), 4 linear_v5's
 * outer product over the weight packed into its panels (CPU devices; the packed copy is made by
 * {@link LinearOps#packed} and kept with the weight buffer). Built per storage type on first use.
 */
final class PatchEmbedOps {
    static final TuningParam VARIANT = new TuningParam("PE_VARIANT", 3, 4,
            "patch embedding kernel: 1 naive, 2 register-blocked dot products, 3 local-memory tiles (GPU), 4 packed"
                    + " weights and outer products (CPU)");

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

    static final TuningParam V4_VW = new TuningParam("PE_V4_VW", 0, 0,
            "patch_embed_v4: vector width (4, 8 or 16; 0: the device's native float width)");
    static final TuningParam V4_MR = new TuningParam("PE_V4_MR", 0, 0,
            "patch_embed_v4: patches per work-item (0: 6 at vector width 16, 4 below)");
    static final TuningParam V4_NR = new TuningParam("PE_V4_NR", 0, 0,
            "patch_embed_v4: channels per work-item = packed panel width, a multiple of PE_V4_VW (0: 4 vectors at"
                    + " width 16, 3 below)");
    static final TuningParam V4_WGX = new TuningParam("PE_V4_WGX", 8, 8, "patch_embed_v4: work-items per work-group, down the patches");
    static final TuningParam V4_GROUP = new TuningParam("PE_V4_GROUP", 0, 0,
            "patch_embed_v4: row work-groups walked through every panel before the next ones (0: by LinearOps.v5Group's"
                    + " estimate of the bytes from beyond L2)");

    private final ClRuntime rt;
    private final AttentionOps.Allocator allocate;
    /** patch_embed_v4's resolved sizes, else 0. */
    private int v4Vw, v4Mr, v4Nr;
    private final Tuning tuning;
    private final int variant;
    private final String name;
    private final String defines;
    private final Map<ElementType, cl_kernel> byType = new EnumMap<>(ElementType.class);

    /** @param allocate buffers from the backend's pool, for v4's packed weight */
    PatchEmbedOps(ClRuntime rt, Tuning tuning, AttentionOps.Allocator allocate) {
        this.rt = rt;
        this.tuning = tuning;
        this.allocate = allocate;
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
            case 4 -> {
                int vw = tuning.get(V4_VW);
                if (vw == 0) vw = Integer.highestOneBit(Math.max(4, Math.min(16, rt.device.nativeFloatWidth())));
                if (vw != 4 && vw != 8 && vw != 16) throw new Vit4jException("PE_V4_VW must be 4, 8 or 16 (or 0: the device's), not " + vw);
                int mr = tuning.get(V4_MR) != 0 ? tuning.get(V4_MR) : vw >= 16 ? 6 : 4;
                int nr = tuning.get(V4_NR) != 0 ? tuning.get(V4_NR) : (vw >= 16 ? 4 : 3) * vw;
                if (mr <= 0 || nr <= 0 || nr % vw != 0) {
                    throw new Vit4jException("PE_V4_MR must be positive and PE_V4_NR a positive multiple of PE_V4_VW ("
                            + vw + "), not " + mr + " and " + nr);
                }
                positive(V4_WGX);
                if (tuning.get(V4_GROUP) < 0) {
                    throw new Vit4jException("PE_V4_GROUP must be 0 (chosen per shape) or positive, not " + tuning.get(V4_GROUP));
                }
                v4Vw = vw;
                v4Mr = mr;
                v4Nr = nr;
                yield " -D PE_V4_VW=" + vw + " -D PE_V4_MR=" + mr + " -D PE_V4_NR=" + nr;
            }
            default -> throw new Vit4jException("PE_VARIANT must be 1, 2, 3 or 4, not " + variant);
        };
        this.name = "patch_embed_v" + variant;
    }

    /** The kernel in force, e.g. "patch_embed_v4 VW=16 MR=6 NR=64" (vit4j bench prints it). */
    String describe() {
        return variant == 4 ? name + " VW=" + v4Vw + " MR=" + v4Mr + " NR=" + v4Nr : name;
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
        int group = 0; // patch_embed_v4's work-group order (its last argument); 0: the kernel has none
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
            case 4 -> {
                int wgx = tuning.get(V4_WGX), k = s.channels() * s.patch() * s.patch();
                w = LinearOps.packed(rt, allocate, w, s.dim(), k, v4Vw, v4Mr, v4Nr);
                int rowGroups = (int) ((patches + v4Mr - 1) / v4Mr + wgx - 1) / wgx, panels = (s.dim() + v4Nr - 1) / v4Nr;
                long row = (long) k * images.dtype().bytes(); // bytes of one patch, and of one column of the weight
                // The patches' bytes count twice: they are gathered from the image in runs of P pixels a
                // row apart, which cost more a byte than the packed weight's contiguous panels. Measured on a
                // Zen 4 at ViT-S b8 (2026-12-03, the pass's timeline, 2 runs each): plain order 8.8-9.5 ms,
                // groups of one 6.9-7.2 ms on AVX-512 (which the bytes at face value would not pick), and on
                // the AVX2 path 13-21 ms plain, 8.5-8.7 grouped; at b1, 1.1-1.3 ms either way.
                group = tuning.get(V4_GROUP) > 0 ? Math.min(tuning.get(V4_GROUP), rowGroups)
                        : LinearOps.v5Group(rowGroups, panels, wgx * v4Mr * row, 2 * patches * row, panels * v4Nr * row,
                                LinearOps.V5_GROUP_BYTES);
                global = new long[] {(long) rowGroups * wgx, panels};
                local = new long[] {wgx, 1};
            }
            default -> {
                int tm = tuning.get(V3_TM), tn = tuning.get(V3_TN);
                int wgx = tn / tuning.get(V3_RN), wgy = tm / tuning.get(V3_RM);
                global = new long[] {(s.dim() + tn - 1) / tn * (long) wgx, (patches + tm - 1) / tm * wgy};
                local = new long[] {wgx, wgy};
            }
        }
        cl_kernel kernel = byType.computeIfAbsent(images.dtype(), t -> rt.kernel("patch_embed", name, defines, t));
        List<Object> args = new ArrayList<>(List.of(images, w, bias, cls, pos, out, s.batch(), s.channels(), s.height(),
                s.width(), s.patch(), s.dim()));
        if (group > 0) args.add(group);
        rt.launch(kernel, name, global, local, args.toArray());
    }
}
