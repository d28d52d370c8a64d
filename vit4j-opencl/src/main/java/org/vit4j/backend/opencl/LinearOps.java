package org.vit4j.backend.opencl;

import java.util.Map;
import org.jocl.cl_kernel;
import org.vit4j.ElementType;
import org.vit4j.Vit4jException;
import org.vit4j.backend.Epilogue;

/**
 * The linear layers and the QKV projection (kernels/opencl/linear.cl). Which kernel runs is the
 * tuning value GEMM_VARIANT: 1 the naive baseline; 2 register-blocked vector dot products (no local
 * memory, no barriers: what PoCL runs well); 3 the local-memory tiled kernel for GPUs (the GPU
 * default); 4 version 2 with a transposing lane-sum and a vector epilogue; 5 an outer-product
 * micro-kernel over weights packed into column panels (the CPU default). Tile and vector sizes are
 * the GEMM_V{n}_* tuning values of the chosen version. Each (storage type, epilogue) is its own build
 * of the chosen kernel, made on first use.
 *
 * <p>Version 5's packed weights: the first time a buffer is used as a weight, linear_pack_v5 copies
 * it once into the panel layout the micro-kernel streams (a second buffer of the pool, owned by the
 * backend and closed with the weight, {@link ClBuffer#packed}); later calls reuse the copy as long as
 * the weight's contents have not changed since ({@link ClBuffer#writes}: a host write or an op
 * writing the buffer makes it stale, and the next call packs again). The model code does not know:
 * it uploads weights and calls linear as before. The cost is the weights' memory twice on the device.
 */
final class LinearOps {
    static final TuningParam VARIANT = new TuningParam("GEMM_VARIANT", 3, 5,
            "linear kernel: 1 naive, 2 register-blocked vectors, 3 local-memory tiles (GPU),"
                    + " 4 register-blocked vectors with a vector epilogue, 5 packed-weight outer products (CPU)");

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

    static final TuningParam V5_VW = new TuningParam("GEMM_V5_VW", 0, 0,
            "linear_v5: vector width of the micro-kernel (4, 8 or 16; 0: the device's native float width)");
    static final TuningParam V5_MR = new TuningParam("GEMM_V5_MR", 0, 0,
            "linear_v5: rows of C per work-item (0: from the vector width, 8 at 16, 6 at 8, 4 below)");
    static final TuningParam V5_NR = new TuningParam("GEMM_V5_NR", 0, 0,
            "linear_v5: columns of C per work-item = width of a packed weight panel, a multiple of"
                    + " GEMM_V5_VW (0: two vectors)");
    static final TuningParam V5_WGX = new TuningParam("GEMM_V5_WGX", 0, 0,
            "linear_v5: work-items per work-group, down M (they share one weight panel in cache); 0: per shape,"
                    + " the largest of 8, 4, 2, 1 that makes GEMM_V5_GROUPS_PER_CU work-groups per compute unit (v5Wgx)");
    static final TuningParam V5_GROUPS_PER_CU = new TuningParam("GEMM_V5_GROUPS_PER_CU", 16, 16,
            "linear_v5 with GEMM_V5_WGX = 0: the work-groups per compute unit below which work-groups shrink");

    static final TuningParam V5_GROUP = new TuningParam("GEMM_V5_GROUP", 0, 0,
            "linear_v5: row work-groups walked through every panel before the next ones (0: by v5Group's"
                    + " estimate of the bytes from beyond L2)");
    static final TuningParam V5_PREFETCH_NEXT = new TuningParam("GEMM_V5_PREFETCH_NEXT", -1, -1,
            "linear_v5: whether a work-group brings the next weight panel in while its tiles run on this one"
                    + " (linear.cl): 0 never, 1-3 always (the prefetch's locality), -1 per shape (v5PrefetchNext)");
    /** The prefetch's locality where v5PrefetchNext turns it on: 2, into L2 (prefetcht1). */
    static final int V5_PREFETCH_LOCALITY = 2;
    /** The most rows of A (M) for which v5PrefetchNext turns it on: between 6 and 8 images of 197 tokens. */
    static final int V5_PREFETCH_MAX_ROWS = 1280;
    /** The share of a core's L2 that a group of rows of A may fill (v5Group): a quarter of 1 MiB. */
    static final long V5_GROUP_BYTES = 256 << 10;

    static final TuningParam V3_TM = new TuningParam("GEMM_V3_TM", 64, 32, "linear_v3: tile rows (M)");
    static final TuningParam V3_TN = new TuningParam("GEMM_V3_TN", 64, 32, "linear_v3: tile columns (N)");
    static final TuningParam V3_TK = new TuningParam("GEMM_V3_TK", 16, 16, "linear_v3: tile depth (K)");
    static final TuningParam V3_RM = new TuningParam("GEMM_V3_RM", 4, 4, "linear_v3: rows of C per work-item");
    static final TuningParam V3_RN = new TuningParam("GEMM_V3_RN", 4, 4, "linear_v3: columns of C per work-item");

    static final TuningParam AUTOTUNE = new TuningParam("GEMM_AUTOTUNE", 0, 1,
            "1: where GEMM_VARIANT and GEMM_V5_* are not set, choose the linear kernel and its sizes by timing"
                    + " candidates on the device at first use (LinearAutotune; cached per device and linear.cl);"
                    + " 0: the defaults");

    private final ClRuntime rt;
    // Not final: a first-use autotune (LinearAutotune) replaces them with the winning candidate's.
    private Tuning tuning;
    private int variant;
    private String name;
    private String defines;
    /** One build of the kernel: its storage type, epilogue and (linear_v5) GEMM_V5_PREFETCH_NEXT. */
    private record Build(ElementType type, Epilogue epilogue, int prefetchNext) {}

    private final Map<Build, cl_kernel> built = new java.util.HashMap<>();
    private final AttentionOps.Allocator allocate;
    /** linear_v5's sizes in force (resolved from the device where the tuning values say 0), else 0. */
    private int v5Vw, v5Mr, v5Nr;
    /** Pending: the autotune runs on the first launch. */
    private boolean autotunePending;
    /** How the kernel in force was chosen, for {@link #describe}. */
    private String chosenBy = "tuning defaults";

    /** A weight packed for linear_v5: the copy, the weight's {@link ClBuffer#writes} when made, its shape and panel width. */
    record Packed(ClBuffer buffer, long writes, int n, int k, int nr) {}

    LinearOps(ClRuntime rt, Tuning tuning, AttentionOps.Allocator allocate) {
        this.rt = rt;
        this.tuning = tuning;
        this.allocate = allocate;
        int v5vw = 0, mr = 0, nr = 0;
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
            case 5 -> {
                int vw = tuning.get(V5_VW);
                if (vw == 0) vw = Integer.highestOneBit(Math.max(4, Math.min(16, rt.device.nativeFloatWidth())));
                if (vw != 4 && vw != 8 && vw != 16) {
                    throw new Vit4jException("GEMM_V5_VW must be 4, 8 or 16 (or 0: the device's), not " + vw);
                }
                v5vw = vw;
                mr = tuning.get(V5_MR);
                if (mr == 0) mr = vw >= 16 ? 8 : vw == 8 ? 6 : 4;
                nr = tuning.get(V5_NR);
                if (nr == 0) nr = 2 * vw;
                if (mr < 0 || nr < 0 || nr % vw != 0) {
                    throw new Vit4jException("GEMM_V5_MR must be positive and GEMM_V5_NR a positive multiple of"
                            + " GEMM_V5_VW (" + vw + "), not " + mr + " and " + nr);
                }
                positive(V5_GROUPS_PER_CU);
                if (tuning.get(V5_WGX) < 0) {
                    throw new Vit4jException("GEMM_V5_WGX must be 0 (chosen per shape) or positive, not " + tuning.get(V5_WGX));
                }
                if (tuning.get(V5_GROUP) < 0) {
                    throw new Vit4jException("GEMM_V5_GROUP must be 0 (chosen per shape) or positive, not " + tuning.get(V5_GROUP));
                }
                int prefetch = tuning.get(V5_PREFETCH_NEXT);
                if (prefetch < -1 || prefetch > 3) {
                    throw new Vit4jException("GEMM_V5_PREFETCH_NEXT must be -1 (per shape), 0 (never) or a locality"
                            + " 1 to 3, not " + prefetch);
                }
                defines = " -D GEMM_V5_VW=" + vw + " -D GEMM_V5_MR=" + mr + " -D GEMM_V5_NR=" + nr;
            }
            default -> throw new Vit4jException("GEMM_VARIANT must be 1, 2, 3, 4 or 5, not " + variant);
        }
        this.v5Vw = v5vw;
        this.v5Mr = mr;
        this.v5Nr = nr;
        this.name = "linear_v" + variant;
        this.autotunePending = tuning.get(AUTOTUNE) == 1 && !tuning.isOverridden(VARIANT) && !tuning.isOverridden(V5_VW)
                && !tuning.isOverridden(V5_MR) && !tuning.isOverridden(V5_NR);
        if (tuning.isOverridden(VARIANT)) chosenBy = "GEMM_VARIANT set";
    }

    /**
     * The linear_v5 tuning values an autotune candidate takes from this backend rather than from the
     * candidate (its work-group size and work order), as "GEMM_V5_GROUP=0, GEMM_V5_WGX=8": part of the
     * autotune's cache key, since the timings depend on them.
     */
    String inheritedTuning() {
        return V5_GROUP.name() + "=" + tuning.get(V5_GROUP) + ", " + V5_WGX.name() + "=" + tuning.get(V5_WGX)
                + ", " + V5_PREFETCH_NEXT.name() + "=" + tuning.get(V5_PREFETCH_NEXT)
                + (tuning.get(V5_WGX) == 0 ? ", " + V5_GROUPS_PER_CU.name() + "=" + tuning.get(V5_GROUPS_PER_CU) : "");
    }

    /** A LinearOps of the same device with more tuning values set (an autotune candidate); never autotunes. */
    LinearOps candidate(Map<String, Integer> overrides) {
        Map<String, Integer> all = new java.util.HashMap<>(overrides);
        all.put(AUTOTUNE.name(), 0);
        return new LinearOps(rt, tuning.with(all), allocate);
    }

    /** Takes over the kernel choice of {@code other} (the autotune's winner), built kernels included. */
    void adopt(LinearOps other, String how) {
        tuning = other.tuning;
        variant = other.variant;
        name = other.name;
        defines = other.defines;
        v5Vw = other.v5Vw;
        v5Mr = other.v5Mr;
        v5Nr = other.v5Nr;
        built.clear();
        built.putAll(other.built);
        autotunePending = false;
        chosenBy = how;
    }

    ClRuntime runtime() {
        return rt;
    }

    private void positive(TuningParam... ps) {
        for (TuningParam p : ps) {
            if (tuning.get(p) <= 0) throw new Vit4jException(p.name() + " must be positive, not " + tuning.get(p));
        }
    }

    /** The variant and sizes in force, e.g. "linear_v5 VW=16 MR=8 NR=32 WGX=8" (bench prints it). */
    String describe() {
        return name + switch (variant) {
            case 5 -> " VW=" + v5Vw + " MR=" + v5Mr + " NR=" + v5Nr + " WGX="
                    + (tuning.get(V5_WGX) > 0 ? String.valueOf(tuning.get(V5_WGX)) : "8..1 per shape");
            case 4 -> " VW=" + tuning.get(V4_VW) + " RM=" + tuning.get(V4_RM) + " RN=" + tuning.get(V4_RN);
            case 3 -> " TM=" + tuning.get(V3_TM) + " TN=" + tuning.get(V3_TN) + " TK=" + tuning.get(V3_TK);
            case 2 -> " VW=" + tuning.get(V2_VW) + " RM=" + tuning.get(V2_RM) + " RN=" + tuning.get(V2_RN);
            default -> " WG=" + tuning.get(WG);
        } + " (" + chosenBy + ")";
    }

    /** The candidate's kernel and sizes without how they were chosen: what the autotune cache stores. */
    String shortDescription() {
        String d = describe();
        return d.substring(0, d.indexOf(" ("));
    }

    private ClBuffer packed(ClBuffer w, int n, int k) {
        return packed(rt, allocate, w, n, k, v5Vw, v5Mr, v5Nr);
    }

    /**
     * The weight [n, k] in linear_v5's panel layout of width {@code nr} (linear_pack_v5, built with
     * these sizes): the copy made earlier if the weight has not been written since and has that panel
     * width, else a new one (the stale copy closed). Shared with patch_embed_v4, whose weight is a
     * linear's.
     */
    static ClBuffer packed(ClRuntime rt, AttentionOps.Allocator allocate, ClBuffer w, int n, int k, int vw, int mr,
            int nr) {
        Packed p = w.packed;
        if (p != null && p.writes() == w.writes && p.n() == n && p.k() == k && p.nr() == nr) return p.buffer();
        if (p != null) {
            w.packed = null;
            p.buffer().close();
        }
        long panels = (n + nr - 1) / nr;
        ClBuffer copy = allocate.allocate(w.dtype(), panels * nr * k);
        try {
            if (k > 0) { // K = 0: nothing to copy (the kernel never reads the panels)
                cl_kernel pack = rt.kernel("linear", "linear_pack_v5", "-D EPILOGUE=0 -D GEMM_V5_VW=" + vw
                        + " -D GEMM_V5_MR=" + mr + " -D GEMM_V5_NR=" + nr, w.dtype());
                rt.launch(pack, "linear_pack_v5", new long[] {k, panels * nr}, null, w, copy, n, k);
            }
        } catch (RuntimeException e) {
            copy.close();
            throw e;
        }
        w.packed = new Packed(copy, w.writes, n, k, nr);
        return copy;
    }

    private cl_kernel kernel(ElementType type, Epilogue e) {
        return kernel(type, e, 0);
    }

    private cl_kernel kernel(ElementType type, Epilogue e, int prefetchNext) {
        // EPILOGUE takes linear.cl's EPI_* codes, which are Epilogue.code() (EpilogueCodesTest).
        return built.computeIfAbsent(new Build(type, e, prefetchNext), b -> rt.kernel("linear", name, "-D EPILOGUE="
                + e.code() + defines + (variant == 5 ? " -D " + V5_PREFETCH_NEXT.name() + "=" + prefetchNext : ""), type));
    }

    /**
     * linear_v5's GEMM_V5_PREFETCH_NEXT for a call where the tuning leaves it per shape (-1): the prefetch
     * up to {@link #V5_PREFETCH_MAX_ROWS} rows of A, none past them. A weight panel serves M / MR row tiles
     * and comes from DRAM (a pass's weights, 85 MB at ViT-S, stay in no cache), so the first tile to touch
     * it waits for it; the fewer the tiles, the more of the call that is. In one process, pass by pass
     * (bench/cpu/TuningAB.java, Zen 5, 2026-12-04; bench/results/2026-12-04-prefetch-next-panel-zen5.txt),
     * with the prefetch: ViT-S at batch 1, 2, 4 and 6 (197 to 1182 rows) 2.2, 1.7, 2.0 and 1.2% faster,
     * ViT-B at 1 and 4 3.5 and 0.7%; ViT-S at batch 8 (1576 rows) 0.3-0.7% slower.
     */
    static int v5PrefetchNext(int tuned, int m) {
        return tuned >= 0 ? tuned : m <= V5_PREFETCH_MAX_ROWS ? V5_PREFETCH_LOCALITY : 0;
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

    /**
     * linear_v5's work order (its argument {@code group}): how many row work-groups to walk through every
     * weight panel before the next ones. Grouped, those rows of A stay in L2 across the panels and W is
     * read once per group; in the plain order ({@code rowGroups}) every panel meets all of A and A is read
     * once per panel. The grouped order is taken where a group of at least one row work-group fits
     * {@code budget} bytes and moves fewer bytes from beyond L2: {@code aBytes + wBytes * ceil(rowGroups /
     * group)} against {@code aBytes * panels + wBytes}. ViT-S b8 (K = 384): grouped; batch 1, where W is
     * the larger operand, and K = 1536 at b8, where a row work-group of A fills L2: plain.
     */
    static int v5Group(int rowGroups, int panels, long aBytesPerRowGroup, long aBytes, long wBytes, long budget) {
        long fit = budget / aBytesPerRowGroup;
        if (fit < 1 || fit >= rowGroups) return rowGroups;
        int group = (int) fit;
        long grouped = aBytes + wBytes * ((rowGroups + group - 1) / group), plain = aBytes * panels + wBytes;
        return grouped < plain ? group : rowGroups;
    }

    /**
     * linear_v5's work-group size for a shape (GEMM_V5_WGX = 0): the largest of 8, 4, 2 and 1 row tiles
     * (work-items) that still makes at least {@code perUnit} work-groups per compute unit, else 1. PoCL
     * hands whole work-groups to its threads, so a call ends when its last work-groups do: with few large
     * ones a thread idles at the end while another finishes, and a row group past M's last full tile (M =
     * 197 rows is 33 tiles of 6: four groups of 8 and one of 1) is as uneven as work-groups get. At ViT-Ti
     * b1's projection (33 row tiles, 3 panels) 8 made 15 work-groups for 2 threads; smaller groups lose
     * only the reuse of a panel among a group's work-items, which at such sizes stays in L2 anyway. Large
     * calls keep 8 (ViT-S b8's QKV: 594 work-groups).
     */
    static int v5Wgx(int rowTiles, int panels, int computeUnits, int perUnit) {
        long want = (long) perUnit * Math.max(1, computeUnits);
        for (int wgx = 8; wgx > 1; wgx /= 2) {
            if ((long) ((rowTiles + wgx - 1) / wgx) * panels >= want) return wgx;
        }
        return 1;
    }

    private void launch(ClBuffer x, ClBuffer w, ClBuffer bias, ClBuffer out, int m, int k, int n, Epilogue e,
            ClBuffer residual, int tokens, int heads) {
        if (autotunePending) {
            autotunePending = false; // once, even if it fails: then the defaults stay
            LinearAutotune.choose(this, allocate);
        }
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
            case 5 -> {
                int rowTiles = (m + v5Mr - 1) / v5Mr, panels = (n + v5Nr - 1) / v5Nr;
                int wgx = tuning.get(V5_WGX) > 0 ? tuning.get(V5_WGX)
                        : v5Wgx(rowTiles, panels, rt.device.computeUnits(), tuning.get(V5_GROUPS_PER_CU));
                w = packed(w, n, k);
                int rowGroups = (rowTiles + wgx - 1) / wgx;
                long row = (long) k * x.dtype().bytes(); // bytes of one row of A, and of one column of W
                int group = tuning.get(V5_GROUP) > 0 ? Math.min(tuning.get(V5_GROUP), rowGroups)
                        : v5Group(rowGroups, panels, wgx * v5Mr * row, m * row, panels * v5Nr * row, V5_GROUP_BYTES);
                rt.launch(kernel(x.dtype(), e, v5PrefetchNext(tuning.get(V5_PREFETCH_NEXT), m)), name,
                        new long[] {(long) rowGroups * wgx, panels},
                        new long[] {wgx, 1}, x, w, bias, residual, out, m, n, k, tokens, heads, group);
                return;
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
