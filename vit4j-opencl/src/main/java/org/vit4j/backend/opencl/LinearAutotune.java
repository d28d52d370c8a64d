package org.vit4j.backend.opencl;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.SplittableRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.vit4j.ElementType;
import org.vit4j.backend.Epilogue;

/**
 * The per-device choice of linear kernel and sizes on CPU devices (GEMM_AUTOTUNE): at the first
 * linear call of a backend, each candidate (linear_v4 at its defaults; linear_v5 with micro-tiles of
 * about the register file, sized from the device's native float width) runs ViT-shaped GEMMs, fp32,
 * in alternating rounds, and the fastest wins (by {@link #relativeMedians}: each candidate's time against the
 * fastest of its round, the median over the rounds), except that among those
 * within {@link #TIE} of it the largest register tile (MR x NR) is taken (see {@link #pick}). The choice is cached
 * per device (name, driver version), linear.cl and candidate list in
 * {@code ~/.cache/vit4j/opencl-gemm.properties} (the system property {@code vit4j.cacheDir} moves
 * it), so later backends on the device read it instead of measuring; {@code vit4j bench} prints it.
 * Where the cache cannot be written the next backend measures again; where a candidate fails to
 * build or run it drops out, and where all do the defaults stay. A measurement taken while the
 * machine was busy is adopted but not cached: if the process got less than {@link #CACHE_MIN_CORES}
 * of the device's compute units over the timed rounds (its CPU time against the wall time), other
 * work shared the cores unevenly between the candidates, and a poor choice cached then would stay
 * for good (on these 2-core machines a second busy process halves what two threads get).
 */
final class LinearAutotune {
    private static final Logger LOG = LoggerFactory.getLogger(LinearAutotune.class);
    /** Timed shapes (M, K, N): a ViT-S/16 batch of 2's QKV projection and second MLP layer. */
    private static final int[][] SHAPES = {{394, 384, 1152}, {394, 1536, 384}};
    private static final int ROUNDS = 7;
    /**
     * Candidates this close to the fastest (relative) count as tied: the timing noise of a shared 2-core host.
     * 2% until 2026-12-03, when an autotune in a noisy minute read 6 x 64 at 183 GFLOP/s and 4 x 64 at 188
     * (2.7% apart; 217 and 211 in a quiet one) and cached 4 x 64 for good.
     */
    static final double TIE = 0.05;
    /** Share of the compute units the process must have had while timing for the choice to be cached. */
    static final double CACHE_MIN_CORES = 0.75;
    /** The process's CPU time in ns, or -1 where the JVM cannot tell (the check is then skipped); replaceable by tests. */
    static java.util.function.LongSupplier processCpuNanos = LinearAutotune::processCpuNanos;

    private LinearAutotune() {}

    static Path cacheFile() {
        String dir = System.getProperty("vit4j.cacheDir");
        return dir != null ? Path.of(dir, "opencl-gemm.properties")
                : Path.of(System.getProperty("user.home"), ".cache", "vit4j", "opencl-gemm.properties");
    }

    /** The candidates for a device of native float width {@code vw}: tuning overrides by name. */
    static List<Map<String, Integer>> candidates(int vw) {
        int w = Integer.highestOneBit(Math.max(4, Math.min(16, vw)));
        List<Map<String, Integer>> out = new ArrayList<>();
        // (MR, vectors per row): accumulators MR * NV plus NV panel vectors and a broadcast fit the
        // register file (32 zmm with AVX-512, 16 ymm with AVX2).
        int[][] tiles = w >= 16 ? new int[][] {{8, 2}, {6, 4}, {4, 4}, {12, 1}} : new int[][] {{6, 2}, {4, 3}, {3, 4}, {8, 1}};
        for (int[] t : tiles) {
            out.add(Map.of("GEMM_VARIANT", 5, "GEMM_V5_VW", w, "GEMM_V5_MR", t[0], "GEMM_V5_NR", t[1] * w));
        }
        out.add(Map.of("GEMM_VARIANT", 4));
        return out;
    }

    /**
     * The winner among the measured candidates ({@code cost}: candidate index to its cost, a time or
     * {@link #relativeMedians}' ratio): the
     * fastest, or among those within {@link #TIE} of it the one with the largest linear_v5 register tile
     * (GEMM_V5_MR x GEMM_V5_NR; linear_v4 counts 0), the fastest of equals first. A larger tile loads fewer
     * bytes per FMA, so it loses less when the memory system is shared; within the noise the timing
     * cannot tell them apart (on a Zen 4, 2026-12-02: 6 x 64 and 4 x 64 read 216 and 215 GFLOP/s in one
     * autotune, 208 and 208 in another, which took 4 x 64, and ViT-B b1 ran about 5% slower with it; see
     * {@link #TIE} for the day 2% was not enough).
     */
    static int pick(Map<Integer, Double> cost, List<Map<String, Integer>> cands) {
        double fastest = cost.values().stream().min(Double::compare).orElseThrow();
        int win = -1;
        for (var e : cost.entrySet()) {
            if (e.getValue() > fastest * (1 + TIE)) continue;
            if (win < 0) {
                win = e.getKey();
                continue;
            }
            int a = tile(cands.get(e.getKey())), b = tile(cands.get(win));
            if (a > b || (a == b && e.getValue() < cost.get(win))) win = e.getKey();
        }
        return win;
    }

    /**
     * Each candidate's cost from its time in every round ({@code perRound}: candidate to its times, round
     * by round): its time over the fastest time of that round, the median over the rounds. The candidates
     * of a round run back to back, so a burst of other work on the machine that spans a round slows them
     * alike and drops out of the ratios, and one that hits a candidate in a minority of rounds drops out of
     * its median. Best times alone did not survive that: on a Zen 4 shared with noisy tenants, 2026-12-03,
     * a 5-round autotune read 6 x 64 at 146 GFLOP/s and 4 x 64 at 178, where alone and alternating the two
     * read 206-220 and 206-215.
     */
    static Map<Integer, Double> relativeMedians(Map<Integer, List<Double>> perRound) {
        int rounds = perRound.values().stream().mapToInt(List::size).min().orElse(0);
        Map<Integer, List<Double>> ratios = new LinkedHashMap<>();
        for (int r = 0; r < rounds; r++) {
            final int round = r;
            double fastest = perRound.values().stream().mapToDouble(t -> t.get(round)).min().orElseThrow();
            perRound.forEach((c, t) -> ratios.computeIfAbsent(c, key -> new ArrayList<>()).add(t.get(round) / fastest));
        }
        Map<Integer, Double> out = new LinkedHashMap<>();
        ratios.forEach((c, x) -> {
            List<Double> sorted = x.stream().sorted().toList();
            int n = sorted.size();
            out.put(c, n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2);
        });
        return out;
    }

    private static int tile(Map<String, Integer> c) {
        return c.getOrDefault("GEMM_V5_MR", 0) * c.getOrDefault("GEMM_V5_NR", 0);
    }

    /** The candidates as the cache key names them, each sorted by parameter name (Map.of's order varies by JVM). */
    static String candidatesKey(int vw) {
        return candidates(vw).stream().map(java.util.TreeMap::new).toList().toString();
    }

    static void choose(LinearOps ops, AttentionOps.Allocator allocate) {
        ClDevice d = ops.runtime().device;
        List<Map<String, Integer>> cands = candidates(d.nativeFloatWidth());
        // The candidates sorted by name: Map.of's iteration order differs from one JVM to the next.
        // ... and the tuning the candidates inherit from this backend (a measurement with the work-groups
        // of a GEMM_V5_WGX override was once cached and then read by backends with the default)
        String key = (d.name() + " | " + d.version() + " | linear.cl " + linearSourceCrc() + " | "
                + candidatesKey(d.nativeFloatWidth()) + " | " + ops.inheritedTuning()
                // ... and the rule that picked from the timings: a choice made by an older rule is measured again
                + " | median of " + ROUNDS + " rounds relative, ties within " + TIE)
                .replaceAll("[^A-Za-z0-9_.|{}=, -]", "_");
        Properties cache = read();
        String hit = cache.getProperty(key);
        if (hit != null) {
            String[] parts = hit.split(";", 2);
            int i = Integer.parseInt(parts[0]);
            if (i >= 0 && i < cands.size()) {
                ops.adopt(ops.candidate(cands.get(i)), "autotuned on this device " + parts[1] + ", cached");
                return;
            }
        }
        long start = System.nanoTime();
        long cpu0 = -1, wall0 = 0;
        Map<Integer, LinearOps> built = new LinkedHashMap<>();
        Map<Integer, List<Double>> perRound = new LinkedHashMap<>(); // candidate -> its time in each round
        List<ClBuffer> buffers = new ArrayList<>();
        try {
            SplittableRandom r = new SplittableRandom(7);
            List<ClBuffer[]> io = new ArrayList<>();
            for (int[] s : SHAPES) {
                ClBuffer x = filled(allocate, (long) s[0] * s[1], r, ops, buffers);
                ClBuffer b = filled(allocate, s[2], r, ops, buffers);
                ClBuffer y = (ClBuffer) allocate.allocate(ElementType.F32, (long) s[0] * s[2]);
                buffers.add(y);
                io.add(new ClBuffer[] {x, b, y});
            }
            // Each candidate its own weights: v5 packs per panel width, and sharing would repack every call.
            Map<Integer, List<ClBuffer>> weights = new LinkedHashMap<>();
            for (int i = 0; i < cands.size(); i++) {
                try {
                    LinearOps c = ops.candidate(cands.get(i));
                    List<ClBuffer> ws = new ArrayList<>();
                    for (int[] s : SHAPES) ws.add(filled(allocate, (long) s[2] * s[1], r, ops, buffers));
                    run(c, io, ws); // builds the kernel and packs the weights, untimed
                    built.put(i, c);
                    weights.put(i, ws);
                } catch (RuntimeException e) {
                    LOG.debug("linear autotune: candidate {} dropped: {}", cands.get(i), e.getMessage());
                }
            }
            cpu0 = processCpuNanos.getAsLong();
            wall0 = System.nanoTime();
            for (int round = 0; round < ROUNDS; round++) {
                for (var e : built.entrySet()) {
                    long t = System.nanoTime();
                    run(e.getValue(), io, weights.get(e.getKey()));
                    ops.runtime().finish();
                    double s = (System.nanoTime() - t) / 1e9;
                    perRound.computeIfAbsent(e.getKey(), c -> new ArrayList<>()).add(s);
                }
            }
        } catch (RuntimeException e) {
            LOG.warn("linear autotune failed, keeping the defaults: {}", e.getMessage());
            return;
        } finally {
            for (ClBuffer b : buffers) b.close();
        }
        if (perRound.isEmpty()) return;
        long cpu1 = processCpuNanos.getAsLong();
        double cores = cpu0 < 0 || cpu1 < 0 ? Double.NaN : (cpu1 - cpu0) / (double) (System.nanoTime() - wall0);
        boolean busy = cores < CACHE_MIN_CORES * d.computeUnits(); // NaN: unknown, cached as before
        int win = pick(relativeMedians(perRound), cands);
        double flops = 0;
        for (int[] s : SHAPES) flops += 2.0 * s[0] * s[1] * s[2];
        StringBuilder how = new StringBuilder(Instant.now().toString()).append(" of");
        for (var e : perRound.entrySet()) { // each candidate's best round
            how.append(' ').append(built.get(e.getKey()).shortDescription().replace(' ', '/'))
                    .append(String.format(java.util.Locale.ROOT, " %.0f GFLOP/s,", flops / java.util.Collections.min(e.getValue()) / 1e9));
        }
        how.setLength(how.length() - 1);
        how.append(String.format(java.util.Locale.ROOT, "; %.1f s", (System.nanoTime() - start) / 1e9));
        if (busy) {
            String why = String.format(java.util.Locale.ROOT, "; not cached: the process got %.2f of %d cores while timing",
                    cores, d.computeUnits());
            LOG.info("linear autotune: the machine was busy (the process got {} of {} cores while timing): the choice"
                    + " holds for this backend only, not cached", String.format(java.util.Locale.ROOT, "%.2f", cores),
                    d.computeUnits());
            ops.adopt(built.get(win), "autotuned on this device " + how + why);
            return;
        }
        ops.adopt(built.get(win), "autotuned on this device " + how);
        cache.setProperty(key, win + ";" + how);
        write(cache);
    }

    private static long processCpuNanos() {
        java.lang.management.OperatingSystemMXBean os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        return os instanceof com.sun.management.OperatingSystemMXBean sun ? sun.getProcessCpuTime() : -1;
    }

    private static void run(LinearOps c, List<ClBuffer[]> io, List<ClBuffer> ws) {
        for (int i = 0; i < SHAPES.length; i++) {
            int[] s = SHAPES[i];
            ClBuffer[] b = io.get(i);
            c.linear(b[0], ws.get(i), b[1], b[2].written(), s[0], s[1], s[2], Epilogue.BIAS, null);
        }
    }

    /** Random values (never zeros or stale pool memory: denormals or NaN could change the speed). */
    private static ClBuffer filled(AttentionOps.Allocator allocate, long n, SplittableRandom r, LinearOps ops,
            List<ClBuffer> keep) {
        ClBuffer b = allocate.allocate(ElementType.F32, n);
        keep.add(b);
        float[] host = new float[(int) n];
        for (int i = 0; i < host.length; i++) host[i] = (float) (r.nextDouble() - 0.5);
        ops.runtime().write(b.mem(), host);
        b.written();
        return b;
    }

    private static String linearSourceCrc() {
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        crc.update(ClRuntime.source("linear").getBytes(java.nio.charset.StandardCharsets.UTF_8));
        return Long.toHexString(crc.getValue());
    }

    private static Properties read() {
        Properties p = new Properties();
        Path f = cacheFile();
        if (Files.isRegularFile(f)) {
            try (InputStream in = Files.newInputStream(f)) {
                p.load(in);
            } catch (IOException | IllegalArgumentException e) {
                // a damaged cache is measured anew
            }
        }
        return p;
    }

    /** Written to a temporary file and moved into place, so a reader in another JVM never sees half a file. */
    private static void write(Properties p) {
        Path f = cacheFile();
        try {
            Files.createDirectories(f.getParent());
            Path tmp = Files.createTempFile(f.getParent(), "opencl-gemm", ".tmp");
            try (OutputStream out = Files.newOutputStream(tmp)) {
                p.store(out, "vit4j: linear kernel chosen per OpenCL device by timing (LinearAutotune)");
            }
            Files.move(tmp, f, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            LOG.debug("linear autotune: cannot cache the choice in {}: {}", f, e.getMessage());
        }
    }
}
