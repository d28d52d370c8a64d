package org.vit4j.backend.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vit4j.Numerics;
import org.vit4j.backend.Backend;
import org.vit4j.backend.DeviceBuffer;
import org.vit4j.backend.Epilogue;
import org.vit4j.backend.cpu.CpuBackend;

/**
 * GEMM_AUTOTUNE on a CPU device: the first linear call of a backend times the candidates and adopts
 * one of them (reported by kernelChoices), the choice is cached per device, a second backend reads it
 * without measuring, and the adopted kernel computes the oracle's result. Which candidate wins is the
 * machine's business; that each candidate is correct is KernelParityTest's (DevicesUnderTest's GEMM
 * variants).
 */
class LinearAutotuneTest {
    @TempDir
    Path cache;
    private String cacheDirBefore;
    private final java.util.function.LongSupplier realCpuClock = LinearAutotune.processCpuNanos;

    /** Each test caches in its own directory; the CPU clock a test replaces is put back. */
    @BeforeEach
    void ownCacheDirectory() {
        cacheDirBefore = System.getProperty("vit4j.cacheDir");
        System.setProperty("vit4j.cacheDir", cache.toString());
    }

    @AfterEach
    void restore() {
        LinearAutotune.processCpuNanos = realCpuClock;
        if (cacheDirBefore == null) System.clearProperty("vit4j.cacheDir");
        else System.setProperty("vit4j.cacheDir", cacheDirBefore);
    }

    @Test
    void firstUseMeasuresAndCachesSecondBackendReadsTheCache() {
        Assumptions.assumeTrue(new OpenClProvider().probe().available(), "no OpenCL device");
        // a CPU clock that says the process had every core, so that a busy test machine does not stop the caching
        LinearAutotune.processCpuNanos = () -> System.nanoTime() * 256;
        String first;
        try (OpenClBackend b = OpenClBackend.open(0, Map.of(), ClDevice.Kind.CPU)) {
            assertTrue(b.kernelChoices().contains("tuning defaults"), b.kernelChoices());
            checkLinear(b);
            first = b.kernelChoices();
            assertTrue(first.contains("autotuned on this device") && !first.contains("cached"), first);
            assertTrue(first.contains("GFLOP/s"), "the candidates' rates are reported: " + first);
        }
        assertTrue(Files.isRegularFile(LinearAutotune.cacheFile()), "no cache file " + LinearAutotune.cacheFile());
        try (OpenClBackend b = OpenClBackend.open(0, Map.of(), ClDevice.Kind.CPU)) {
            checkLinear(b);
            String second = b.kernelChoices();
            assertTrue(second.contains(", cached)"), second);
            assertEquals(first.substring(0, first.indexOf(" (")), second.substring(0, second.indexOf(" (")),
                    "the cached choice is the measured one");
        }
        // Set by the caller: no autotune.
        try (OpenClBackend b = OpenClBackend.open(0, Map.of("GEMM_VARIANT", 4), ClDevice.Kind.CPU)) {
            checkLinear(b);
            assertTrue(b.kernelChoices().startsWith("linear_v4") && b.kernelChoices().contains("GEMM_VARIANT set"),
                    b.kernelChoices());
        }
    }

    /**
     * The timings depend on the tuning the candidates inherit (linear_v5's work-group size and order), so a
     * backend with other such values neither reads nor overwrites another's cached choice.
     */
    @Test
    void aChoiceMeasuredWithOtherWorkGroupsIsNotReadFromTheCache() {
        Assumptions.assumeTrue(new OpenClProvider().probe().available(), "no OpenCL device");
        LinearAutotune.processCpuNanos = () -> System.nanoTime() * 256;
        try (OpenClBackend b = OpenClBackend.open(0, Map.of("GEMM_V5_WGX", 4), ClDevice.Kind.CPU)) {
            checkLinear(b);
            assertTrue(b.kernelChoices().contains("WGX=4") && !b.kernelChoices().contains(", cached)"), b.kernelChoices());
        }
        try (OpenClBackend b = OpenClBackend.open(0, Map.of(), ClDevice.Kind.CPU)) {
            checkLinear(b);
            assertTrue(b.kernelChoices().contains("WGX=8..1 per shape") && !b.kernelChoices().contains(", cached)"),
                    "measured with its own work-groups, not read from the WGX 4 backend's: " + b.kernelChoices());
        }
        try (OpenClBackend b = OpenClBackend.open(0, Map.of("GEMM_V5_WGX", 4), ClDevice.Kind.CPU)) {
            checkLinear(b);
            assertTrue(b.kernelChoices().contains(", cached)"), "the WGX 4 choice stays cached: " + b.kernelChoices());
        }
    }

    /**
     * A measurement during which the process got too little CPU (here: a CPU clock that does not move,
     * as if every core were taken by others) is adopted but not cached, so the next backend measures
     * again; with the real clock the next one caches it.
     */
    @Test
    void aMeasurementOnABusyMachineIsNotCached() {
        Assumptions.assumeTrue(new OpenClProvider().probe().available(), "no OpenCL device");
        LinearAutotune.processCpuNanos = () -> 42L;
        try (OpenClBackend b = OpenClBackend.open(0, Map.of(), ClDevice.Kind.CPU)) {
            checkLinear(b);
            String choice = b.kernelChoices();
            assertTrue(choice.contains("autotuned on this device") && choice.contains("not cached: the process got 0.00 of "),
                    choice);
        }
        assertTrue(!Files.exists(LinearAutotune.cacheFile()), "cached although busy: " + LinearAutotune.cacheFile());
        LinearAutotune.processCpuNanos = realCpuClock;
        try (OpenClBackend b = OpenClBackend.open(0, Map.of(), ClDevice.Kind.CPU)) {
            checkLinear(b);
            assertTrue(b.kernelChoices().contains("autotuned on this device") && !b.kernelChoices().contains(", cached)"),
                    "measured again, not read from a cache: " + b.kernelChoices());
        }
    }

    /** Within the tie margin the largest register tile wins; past it the fastest does. */
    @Test
    void withinTheNoiseTheLargerRegisterTileWins() {
        var cands = LinearAutotune.candidates(16); // 8 x 32, 6 x 64, 4 x 64, 12 x 16, then linear_v4
        assertEquals(Map.of("GEMM_VARIANT", 5, "GEMM_V5_VW", 16, "GEMM_V5_MR", 6, "GEMM_V5_NR", 64), cands.get(1));
        // 4 x 64 fastest, 6 x 64 1% slower: 6 x 64 (384 accumulator lanes against 256)
        assertEquals(1, LinearAutotune.pick(Map.of(0, 1.00, 1, 1.005, 2, 0.995, 3, 1.05, 4, 1.2), cands));
        // 6 x 64 3% slower (an autotune in a noisy minute, 2026-12-03: 183 against 188 GFLOP/s): still 6 x 64
        assertEquals(1, LinearAutotune.pick(Map.of(0, 1.00, 1, 1.025, 2, 0.995, 3, 1.05, 4, 1.2), cands));
        // 6 x 64 7.5% slower and 12 x 16 5.5%: out; of the equal tiles left (8 x 32, 4 x 64) the faster
        assertEquals(2, LinearAutotune.pick(Map.of(0, 1.00, 1, 1.07, 2, 0.995, 3, 1.05, 4, 1.2), cands));
        // equal tiles (8 x 32 and 4 x 64) within the margin: the faster of them
        assertEquals(2, LinearAutotune.pick(Map.of(0, 1.00, 2, 0.995, 4, 1.2), cands));
        assertEquals(0, LinearAutotune.pick(Map.of(0, 0.99, 2, 0.995, 4, 1.2), cands));
        // only linear_v4 left
        assertEquals(4, LinearAutotune.pick(Map.of(4, 1.2), cands));
    }

    /**
     * Costs are each round's times over that round's fastest, the median over rounds: a burst of other
     * work that slows a whole round, or one candidate in a minority of rounds, does not decide the choice.
     */
    @Test
    void aBurstOfOtherWorkDoesNotDecideTheChoice() {
        // A truly 3% faster than B; round 2 slowed all (x 2), round 3 hit only A, round 5 only B
        Map<Integer, java.util.List<Double>> t = Map.of(
                0, java.util.List.of(1.00, 2.00, 1.80, 1.00, 1.00),
                1, java.util.List.of(1.03, 2.06, 1.03, 1.03, 1.90));
        Map<Integer, Double> cost = LinearAutotune.relativeMedians(t);
        assertEquals(1.0, cost.get(0), 1e-12);
        assertEquals(1.03, cost.get(1), 1e-12);
        // an even number of rounds: the mean of the middle two ratios
        Map<Integer, Double> even = LinearAutotune.relativeMedians(Map.of(0, java.util.List.of(1.0, 1.2), 1, java.util.List.of(1.1, 1.0)));
        assertEquals((1.0 + 1.2) / 2, even.get(0), 1e-12); // ratios 1.0 and 1.2
        assertEquals((1.1 + 1.0) / 2, even.get(1), 1e-12);
    }

    /** The cache key is the same in every JVM (it once held Map.of's per-JVM iteration order). */
    @Test
    void theCacheKeyIsTheSameInAnotherJvm() throws Exception {
        Assumptions.assumeTrue(new OpenClProvider().probe().available(), "no OpenCL device");
        String here = LinearAutotune.candidatesKey(16);
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process p = new ProcessBuilder(java.toString(), "-cp", System.getProperty("java.class.path"),
                KeyMain.class.getName()).redirectErrorStream(true).start();
        String there = new String(p.getInputStream().readAllBytes()).trim();
        assertEquals(0, p.waitFor(), there);
        assertEquals(here, there);
    }

    /** Prints the candidates' key part in a fresh JVM. */
    public static final class KeyMain {
        public static void main(String[] args) {
            System.out.println(LinearAutotune.candidatesKey(16));
        }
    }

    /** One linear with bias against the CPU oracle (relative L2 <= 1e-5), output poisoned with NaN. */
    private static void checkLinear(Backend b) {
        int m = 29, k = 70, n = 45;
        java.util.Random r = new java.util.Random();
        float[] x = Numerics.randn(r, m * k, 1), w = Numerics.randn(r, n * k, 0.1), bias = Numerics.randn(r, n, 0.5);
        float[] nan = new float[m * n];
        java.util.Arrays.fill(nan, Float.NaN);
        CpuBackend cpu = new CpuBackend();
        float[] want = new float[m * n], got = new float[m * n];
        try (DeviceBuffer cx = cpu.upload(x); DeviceBuffer cw = cpu.upload(w); DeviceBuffer cb = cpu.upload(bias);
                DeviceBuffer cy = cpu.upload(nan); DeviceBuffer dx = b.upload(x); DeviceBuffer dw = b.upload(w);
                DeviceBuffer db = b.upload(bias); DeviceBuffer dy = b.upload(nan)) {
            cpu.linear(cx, cw, cb, cy, m, k, n, Epilogue.BIAS, null);
            b.linear(dx, dw, db, dy, m, k, n, Epilogue.BIAS, null);
            cpu.download(cy, want);
            b.download(dy, got);
        }
        double err = Numerics.relativeL2(got, want);
        assertTrue(err <= 1e-5, b.kernelChoices() + ": relative L2 error " + err);
    }
}
