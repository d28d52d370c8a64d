package org.vit4j.backend;

import java.util.stream.IntStream;

/**
 * Host-side work over a large array, in chunks on the common fork-join pool: a batch's input (256 images:
 * 38.5M floats, 154 MB) is checked for NaN (VisionTransformer) and, on a GPU, rounded to bf16 and copied into
 * the pinned staging buffer (JCudaDriver) in front of every pass, and the device waits for both. On one Zen 5
 * core the copy took ~27 ms and the check ~7.5 ms; in chunks on its 2 cores 12-13 and ~4 ms (2026-12-04:
 * bench/cpu/InputHostCost.java, bench/results/2026-12-04-input-host-cost-zen5.txt), against ~50 ms for all of
 * a ViT-B/16 b256 pass's kernels on an H200; done on the H200 host's cores in parallel, the pass went from
 * 1393 to 4332 img/s.
 */
public final class HostChunks {
    private HostChunks() {}

    /** Elements per chunk. */
    public static final int CHUNK = 1 << 20;

    /** What a chunk does with its range [from, to). */
    public interface Range {
        void run(int from, int to);
    }

    /** What a chunk finds in its range [from, to). */
    public interface RangeValue {
        double of(int from, int to);
    }

    /** Runs {@code body} over [0, n) in chunks of {@link #CHUNK}, in parallel where there is more than one. */
    public static void forEach(int n, Range body) {
        int chunks = chunks(n);
        if (chunks <= 1) {
            body.run(0, n);
            return;
        }
        IntStream.range(0, chunks).parallel().forEach(c -> body.run(from(c), to(c, n)));
    }

    /** The largest of {@code body}'s values over the chunks of [0, n) (NaN if one is NaN), as {@link #forEach}. */
    public static double max(int n, RangeValue body) {
        int chunks = chunks(n);
        if (chunks <= 1) return body.of(0, n);
        return IntStream.range(0, chunks).parallel().mapToDouble(c -> body.of(from(c), to(c, n))).max().orElse(0);
    }

    private static int chunks(int n) {
        if (n < 0) throw new IllegalArgumentException("n = " + n + ": expected >= 0");
        return (int) (((long) n + CHUNK - 1) / CHUNK); // long: n may be near Integer.MAX_VALUE
    }

    private static int from(int chunk) {
        return chunk * CHUNK;
    }

    private static int to(int chunk, int n) {
        return (int) Math.min(n, (long) (chunk + 1) * CHUNK);
    }
}
