package org.vit4j.backend.cuda;

import java.util.stream.IntStream;

/**
 * Host-side work over a large array, in chunks on the common fork-join pool: a batch's input (256 images:
 * 38.5M floats, 154 MB) rounded to bf16 and copied into the pinned staging buffer on one core took ~27 ms on
 * a Zen 5 core (2026-12-04; 12-13 ms on its 2 cores in chunks: bench/cpu/InputHostCost.java,
 * bench/results/2026-12-04-input-host-cost-zen5.txt), against ~50 ms for all of a ViT-B/16 b256 pass's kernels
 * on an H200, which wait for it; done on the H200 host's cores in parallel, the pass went from 1393 to 4332 img/s.
 */
final class HostChunks {
    private HostChunks() {}

    /** Elements per chunk. */
    static final int CHUNK = 1 << 20;

    /** Elements per block of a chunk that is converted through a scratch array (16 KiB of floats in L1). */
    static final int BLOCK = 1 << 12;

    /** What a chunk does with its range [from, to). */
    interface Range {
        void run(int from, int to);
    }

    /** Runs {@code body} over [0, n) in chunks of {@link #CHUNK}, in parallel where there is more than one. */
    static void forEach(int n, Range body) {
        if (n < 0) throw new IllegalArgumentException("n = " + n + ": expected >= 0");
        int chunks = (int) (((long) n + CHUNK - 1) / CHUNK); // long: n may be near Integer.MAX_VALUE
        if (chunks <= 1) {
            body.run(0, n);
            return;
        }
        IntStream.range(0, chunks).parallel()
                .forEach(c -> body.run(c * CHUNK, (int) Math.min(n, (long) (c + 1) * CHUNK)));
    }
}
