package org.vit4j.backend.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * linear_v5's work order (LinearOps.v5Group) at ViT shapes, fp32, AVX-512 sizes (MR 6, NR 64, WGX 8) and
 * the 256 KiB budget: grouped where A is read once per panel and a group of its rows fits, plain where W
 * is the larger operand or one row work-group of A is past the budget. (Which order is faster was measured
 * on the kernel: linear.cl's comment; KernelParityTest's "GROUP 2" device checks the grouped order's
 * results.)
 */
class LinearWorkOrderTest {
    private static final int WGX = 8, MR = 6, NR = 64, F32 = 4;

    private static int group(int m, int k, int n) {
        int rowGroups = ((m + MR - 1) / MR + WGX - 1) / WGX, panels = (n + NR - 1) / NR;
        return LinearOps.v5Group(rowGroups, panels, (long) WGX * MR * k * F32, (long) m * k * F32,
                (long) panels * NR * k * F32, LinearOps.V5_GROUP_BYTES);
    }

    @Test
    void vitSBatch8LayersOfK384AreGroupedThreeRowWorkGroupsAtATime() {
        // 33 row work-groups of 73,728 bytes of A each: 3 fit 256 KiB; A 2.4 MB x 18 panels against W 1.8 MB x 11
        assertEquals(3, group(1576, 384, 1152)); // QKV
        assertEquals(3, group(1576, 384, 1536)); // fc1
        assertEquals(3, group(1576, 384, 384)); // proj
    }

    @Test
    void aRowWorkGroupPastTheBudgetKeepsThePlainOrder() {
        assertEquals(33, group(1576, 1536, 384)); // ViT-S b8 fc2: 294,912 bytes a row work-group
    }

    @Test
    void whereWIsTheLargerOperandThePlainOrderStays() {
        // ViT-B b1 QKV: 5 row work-groups, 1 fits; A 0.6 MB x 36 panels = 21.8 MB + W 7.1 MB against 0.6 + 7.1 x 5
        assertEquals(5, group(197, 768, 2304));
        assertEquals(5, group(197, 3072, 768)); // fc2: past the budget
    }

    @Test
    void whenEveryRowWorkGroupFitsTheOrdersAreOne() {
        assertEquals(4, LinearOps.v5Group(4, 10, 1000, 4000, 100_000, 1 << 20));
        assertEquals(1, LinearOps.v5Group(1, 10, 1 << 30, 1 << 30, 1 << 30, 1 << 20));
    }

    /**
     * The work-group size per shape (GEMM_V5_WGX = 0, 16 work-groups per compute unit), on 2 compute units:
     * 8 where that makes 32 work-groups, else halved. Measured on a Zen 4, 2026-12-03, 6 x 64 tiles both ways
     * (bench/results/2026-12-03-opencl-wgx-per-shape-ab-zen4.txt): ViT-Ti/16 b1 3-5% faster than with 8 everywhere.
     */
    @Test
    void smallCallsTakeSmallerWorkGroupsSoThatEveryThreadHasSome() {
        assertEquals(2, LinearOps.v5Wgx(33, 3, 2, 16)); // ViT-Ti b1 proj and fc2: 15, 27 work-groups at 8, 4; 51 at 2
        assertEquals(8, LinearOps.v5Wgx(33, 9, 2, 16)); // ViT-Ti b1 QKV: 45
        assertEquals(4, LinearOps.v5Wgx(33, 6, 2, 16)); // ViT-S b1 proj and fc2: 30 at 8, 54 at 4
        assertEquals(8, LinearOps.v5Wgx(33, 12, 2, 16)); // ViT-B b1 proj and fc2: 60
        assertEquals(8, LinearOps.v5Wgx(263, 6, 2, 16)); // ViT-S b8 proj (1576 rows): 198
        assertEquals(2, LinearOps.v5Wgx(263, 6, 32, 16)); // ... on 32 compute units: 198 at 8, 396 at 4 (512 wanted), 792 at 2
        assertEquals(1, LinearOps.v5Wgx(1, 1, 2, 16)); // one tile: nothing to share
        assertEquals(1, LinearOps.v5Wgx(3, 2, 0, 16)); // a device reporting no compute units counts as one
    }

    /**
     * The next weight panel is prefetched where a panel serves few row tiles (up to 1280 rows: batch 1 to 6
     * at 197 tokens, 1.2-3.5% faster in the pass on a Zen 5), not at ViT-S b8's 1576 rows (0.3-0.7% slower);
     * a tuned value holds for every shape.
     */
    @Test
    void theNextPanelIsPrefetchedWhereAPanelServesFewRowTiles() {
        assertEquals(2, LinearOps.v5PrefetchNext(-1, 197)); // batch 1
        assertEquals(2, LinearOps.v5PrefetchNext(-1, 1182)); // batch 6
        assertEquals(2, LinearOps.v5PrefetchNext(-1, 1280));
        assertEquals(0, LinearOps.v5PrefetchNext(-1, 1281));
        assertEquals(0, LinearOps.v5PrefetchNext(-1, 1576)); // batch 8
        assertEquals(0, LinearOps.v5PrefetchNext(0, 197)); // never
        assertEquals(3, LinearOps.v5PrefetchNext(3, 1576)); // always, at that locality
    }
}
