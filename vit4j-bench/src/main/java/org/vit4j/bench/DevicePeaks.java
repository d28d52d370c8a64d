package org.vit4j.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.vit4j.ElementType;
import org.vit4j.backend.Backend;
import org.vit4j.backend.DeviceBuffer;
import org.vit4j.backend.Epilogue;

/**
 * What a device can do, measured on it rather than read off a datasheet: the bandwidth of a large
 * device-to-device copy (bytes read plus written), the rate of a large square GEMM through the
 * backend's own linear op, the best of a few large shapes ("GEMM" here is vit4j's best GEMM on the
 * device, the roofline its other ops are held to), and the device's fp32 FMA rate from a kernel of
 * independent FMA chains ({@link Backend#measureFmaPeakGflops}; NaN where the backend has none): the
 * arithmetic ceiling, which the fp32 GEMMs themselves are held to. The GEMM runs in the precision
 * asked for: a bf16 pass is held to the device's bf16 GEMM rate (tensor cores on a GPU), not to its
 * fp32 rate. Cached per device, precision and kernel build in {@code ~/.cache/vit4j/peaks.json}.
 */
public record DevicePeaks(String device, String precision, double copyGBs, double gemmGflops, int gemmSize,
        double fmaGflops, String measured) {

    private static final ObjectMapper JSON = new ObjectMapper();

    static Path cacheFile() {
        return Path.of(System.getProperty("user.home"), ".cache", "vit4j", "peaks.json");
    }

    /** The cached fp32 figures for this backend's device, or new measurements (then cached). */
    public static DevicePeaks of(Backend backend, boolean remeasure) {
        return of(backend, ElementType.F32, remeasure);
    }

    /**
     * The cached figures for this backend's device with its GEMM in {@code precision}, or new
     * measurements (then cached).
     */
    public static DevicePeaks of(Backend backend, ElementType precision, boolean remeasure) {
        if (!backend.supports(precision)) {
            throw new IllegalArgumentException(backend.name() + " does not run " + precision.label());
        }
        String key = backend.name() + ": " + backend.deviceName() + " | " + precision.label() + " | kernels "
                + kernelsFingerprint();
        Path file = cacheFile();
        ObjectNode all = JSON.createObjectNode();
        try {
            if (Files.isRegularFile(file)) all = (ObjectNode) JSON.readTree(file.toFile());
            if (!remeasure && all.has(key)) return JSON.treeToValue(all.get(key), DevicePeaks.class);
        } catch (IOException | ClassCastException | IllegalArgumentException e) {
            all = JSON.createObjectNode(); // a damaged cache is measured anew
        }
        DevicePeaks p = measure(backend, precision, key);
        if (!plausible(precision, p.gemmGflops(), p.fmaGflops())) return p; // not cached: see measure
        try {
            Files.createDirectories(file.getParent());
            all.set(key, JSON.valueToTree(p));
            JSON.writerWithDefaultPrettyPrinter().writeValue(file.toFile(), all);
        } catch (IOException e) {
            // Not being able to cache only costs the next run a measurement.
        }
        return p;
    }

    /** A hash of the shipped kernels: new kernels make old figures stale. */
    static String kernelsFingerprint() {
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        String[] files = {"opencl/linear.cl", "opencl/elementwise.cl", "opencl/peak.cl", "cuda/linear.fatbin", "cuda/elementwise.fatbin"};
        for (String f : files) {
            try (var in = DevicePeaks.class.getResourceAsStream("/org/vit4j/kernels/" + f)) {
                if (in != null) crc.update(in.readAllBytes());
            } catch (IOException e) {
                // an unreadable resource just does not count
            }
        }
        return Long.toHexString(crc.getValue());
    }

    static DevicePeaks measure(Backend be, ElementType type, String key) {
        boolean reference = be.name().equals("cpu");
        int copyFloats = reference ? 1 << 23 : 1 << 25;
        int n = reference ? 384 : 2048;
        SplittableRandom r = new SplittableRandom(5);
        float[] host = new float[copyFloats];
        for (int i = 0; i < host.length; i++) host[i] = (float) (r.nextDouble() - 0.5);
        double copy;
        try (DeviceBuffer a = be.upload(host); DeviceBuffer b = be.allocate(copyFloats)) {
            copy = 2.0 * copyFloats * Float.BYTES / best(be, 7, () -> be.copy(a, b, copyFloats)) / 1e9;
        }
        // The best of a few large shapes (M, N, K): a single shape can sit badly with the tiling.
        int[][] shapes = reference ? new int[][] {{n, n, n}} : new int[][] {{n, n, n}, {n, n / 2, n / 2}, {2 * n, n / 4, n / 4}};
        double gemm = 0;
        for (int[] s : shapes) {
            int mm = s[0], nn = s[1], kk = s[2];
            try (DeviceBuffer x = be.upload(Arrays.copyOf(host, mm * kk), type);
                    DeviceBuffer w = be.upload(Arrays.copyOf(host, nn * kk), type);
                    DeviceBuffer y = be.allocate(type, (long) mm * nn)) {
                double t = best(be, 3, () -> be.linear(x, w, null, y, mm, kk, nn, Epilogue.NONE, null));
                gemm = Math.max(gemm, 2.0 * mm * nn * (double) kk / t / 1e9);
            }
        }
        double fma = be.measureFmaPeakGflops();
        // An fp32 FMA rate below the fp32 GEMM's cannot be (the GEMM is FMAs): the chains ran while
        // something else had the cores (seen: 71.7 GFLOP/s against a 172 GFLOP/s GEMM on a 2-core AMD
        // EPYC whose FMA peak is ~200; 379 against ~460 on a Zen 5, 2026-12-04, where two tries in a row
        // were not enough). Measure again, a fifth of a second apart, for up to about 4 s; figures still
        // implausible are used, marked and not cached (bench/cpu-check.sh then refuses its verdict).
        for (int i = 0; i < RETRIES && !plausible(type, gemm, fma); i++) {
            if (i > 0) pause(200);
            fma = Math.max(fma, be.measureFmaPeakGflops());
        }
        String when = Instant.now().toString();
        if (!plausible(type, gemm, fma)) when += " (not cached: the FMA peak read below the GEMM rate, the machine was busy)";
        return new DevicePeaks(key, type.label(), copy, gemm, n, fma, when);
    }

    /** Further FMA-peak measurements after one that reads below the GEMM rate. */
    static final int RETRIES = 8;

    private static void pause(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * False where an fp32 pass's FMA peak reads below its GEMM rate (a disturbed measurement); a bf16 or
     * fp16 GEMM may beat the fp32 FMA chains (tensor cores), and a backend without an FMA kernel (NaN) passes.
     */
    static boolean plausible(ElementType type, double gemmGflops, double fmaGflops) {
        return type != ElementType.F32 || Double.isNaN(fmaGflops) || fmaGflops >= gemmGflops;
    }

    /** The fastest of {@code reps} timed runs after one warm-up, in seconds. */
    private static double best(Backend be, int reps, Runnable op) {
        op.run();
        be.synchronize();
        double best = Double.MAX_VALUE;
        for (int i = 0; i < reps; i++) {
            long t = System.nanoTime();
            op.run();
            be.synchronize();
            best = Math.min(best, (System.nanoTime() - t) / 1e9);
        }
        return best;
    }

    /**
     * The roofline: what an op of this cost ({@code flops} over its least {@code bytes}) could reach at
     * best, the smaller of the GEMM rate and bandwidth times its arithmetic intensity; and which of
     * the two bounds it.
     */
    public double attainableGflops(double flops, double bytes) {
        return Math.min(gemmGflops, copyGBs * flops / bytes);
    }

    /** An op's rate as a fraction of the measured FMA peak (NaN where there is none). */
    public double ofFmaPeak(double gflops) {
        return gflops / fmaGflops;
    }

    public String bound(double flops, double bytes) {
        return gemmGflops <= copyGBs * flops / bytes ? "compute" : "memory";
    }
}
