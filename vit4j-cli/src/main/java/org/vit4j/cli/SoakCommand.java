package org.vit4j.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.vit4j.HostTensor;
import org.vit4j.Vit4jException;
import org.vit4j.backend.Backend;
import org.vit4j.digits.EmbeddedDefaultModel;
import org.vit4j.io.checkpoint.LoadedModel;
import org.vit4j.io.checkpoint.SafetensorsFile;
import org.vit4j.memory.PoolStats;
import org.vit4j.model.VisionTransformer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * A soak: many forward passes on one model, cycling through batch sizes, sampling the process's
 * resident memory, the backend's pool, open file descriptors and threads as it goes, and saying
 * whether they stayed flat (issue 12). Each pass's logits are checked against the first pass at
 * the same batch size, bit for bit.
 */
@Command(name = "soak", mixinStandardHelpOptions = true,
        description = {"Run many forward passes on one model (default: the embedded digits model on its held-out "
                + "digits), cycling batch sizes, and sample process RSS, the pool, file descriptors and threads.",
                "Flat when, over the samples after the warm-up: the pool's device bytes are the same in every one, "
                        + "file descriptors and threads do not grow, and RSS's least-squares slope, projected over "
                        + "those passes, is under --rss-slack. Exit status 0 when flat, 3 when not."})
final class SoakCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model;

    @Option(names = "--forwards", paramLabel = "N", defaultValue = "10000", description = "forward passes (default: ${DEFAULT-VALUE})")
    int forwards;

    @Option(names = "--samples", paramLabel = "S", defaultValue = "20", description = "samples over the run (default: ${DEFAULT-VALUE})")
    int samples;

    @Option(names = "--batches", paramLabel = "LIST", split = ",", defaultValue = "1,2,3,4",
            description = "batch sizes, cycled pass by pass (default: ${DEFAULT-VALUE})")
    List<Integer> batches;

    @Option(names = "--warmup-fraction", paramLabel = "F", defaultValue = "0.1",
            description = "the first F of the passes are warm-up, not judged (default: ${DEFAULT-VALUE})")
    double warmupFraction;

    @Option(names = "--rss-slack", paramLabel = "MIB", defaultValue = "16",
            description = "the most RSS may grow over the judged passes, by its least-squares slope (default: ${DEFAULT-VALUE})")
    double rssSlackMiB;

    /** One sample, after {@code forwards} passes. */
    record Sample(int forwards, double seconds, long rssKiB, long heapUsedKiB, PoolStats pool, long fds, int threads) {}

    @Override
    public Integer call() {
        if (forwards < 1 || samples < 2 || samples > forwards) {
            throw new Vit4jException("soak: expected --forwards >= 1 and 2 <= --samples <= --forwards");
        }
        if (!(warmupFraction >= 0 && warmupFraction < 1)) throw new Vit4jException("soak: --warmup-fraction must be in [0, 1)");
        for (int b : batches) if (b < 1) throw new Vit4jException("soak: batch sizes must be >= 1, got " + b);
        if (forwards % batches.size() != 0 || samples - 1 > forwards / batches.size()) {
            throw new Vit4jException("soak: --forwards must be a whole number of cycles of the " + batches.size()
                    + " batch sizes, with at least one cycle between samples");
        }
        try (Backend backend = model.openBackend()) {
            Path extracted = EmbeddedDefaultModel.extract();
            if (model.weights == null) model.weights = extracted.resolve("model.safetensors");
            LoadedModel loaded = model.load();
            HostTensor pool = testImages(extracted, loaded);
            int n = pool.dim(0);
            int per = pool.elementCount() / n;
            try (VisionTransformer vit = new VisionTransformer(loaded.weights(), backend, model.precision())) {
                List<HostTensor> inputs = new ArrayList<>();
                for (int b : batches) {
                    if (b > n) throw new Vit4jException("soak: batch " + b + " is more than the " + n + " test images");
                    int[] shape = pool.shape().clone();
                    shape[0] = b;
                    inputs.add(new HostTensor(Arrays.copyOf(pool.data(), b * per), shape));
                }
                float[][] first = new float[batches.size()][];
                System.out.printf(Locale.ROOT, "vit4j soak: %d forwards on %s (%s), %s, batch sizes %s cycled, %d samples;"
                        + " max heap %d MiB%n", forwards, backend.name(), backend.deviceName(), loaded.source(), batches,
                        samples, Runtime.getRuntime().maxMemory() >> 20);
                System.out.printf(Locale.ROOT, "%9s %8s %9s %9s %12s %12s %12s %9s %9s %5s %7s%n", "forwards", "seconds",
                        "rss_kib", "heap_kib", "pool_device", "pool_in_use", "pool_cached", "hits", "misses", "fds",
                        "threads");
                List<Sample> taken = new ArrayList<>();
                long start = System.nanoTime();
                int differ = 0;
                int next = 0;
                for (int i = 0; i <= forwards; i++) {
                    // At whole cycles of the batch sizes, so that every sample holds the same activations.
                    int cycle = batches.size();
                    int point = (int) ((long) next * forwards / (samples - 1)) / cycle * cycle;
                    if (i == point && next < samples) {
                        Sample s = sample(i, (System.nanoTime() - start) / 1e9, backend.memoryStats());
                        taken.add(s);
                        print(s);
                        next++;
                    }
                    if (i == forwards) break;
                    int which = i % batches.size();
                    float[] logits = vit.forward(inputs.get(which)).logits().data();
                    if (first[which] == null) first[which] = logits;
                    else if (!Arrays.equals(first[which], logits)) differ++;
                }
                return verdict(taken, differ);
            }
        }
    }

    private int verdict(List<Sample> taken, int differ) {
        int from = (int) Math.ceil(warmupFraction * forwards);
        List<Sample> judged = taken.stream().filter(s -> s.forwards() >= from).toList();
        Sample a = judged.get(0), z = judged.get(judged.size() - 1);
        // Least-squares slope of RSS against passes, projected over the judged span.
        double mx = 0, my = 0;
        for (Sample s : judged) {
            mx += s.forwards();
            my += s.rssKiB();
        }
        mx /= judged.size();
        my /= judged.size();
        double sxy = 0, sxx = 0;
        for (Sample s : judged) {
            sxy += (s.forwards() - mx) * (s.rssKiB() - my);
            sxx += (s.forwards() - mx) * (s.forwards() - mx);
        }
        double slopeKiB = sxx == 0 ? 0 : sxy / sxx;
        double projectedMiB = slopeKiB * (z.forwards() - a.forwards()) / 1024;
        long rssMin = judged.stream().mapToLong(Sample::rssKiB).min().orElseThrow();
        long rssMax = judged.stream().mapToLong(Sample::rssKiB).max().orElseThrow();
        boolean poolFlat = judged.stream().allMatch(s -> s.pool().deviceBytes() == a.pool().deviceBytes()
                && s.pool().bytesInUse() == a.pool().bytesInUse());
        boolean fdsFlat = z.fds() <= a.fds();
        boolean threadsFlat = z.threads() <= a.threads();
        boolean rssFlat = projectedMiB < rssSlackMiB;
        boolean flat = poolFlat && fdsFlat && threadsFlat && rssFlat && differ == 0;
        System.out.printf(Locale.ROOT, "judged: %d samples from forward %d (after %.0f%% warm-up)%n", judged.size(),
                a.forwards(), 100 * warmupFraction);
        System.out.printf(Locale.ROOT, "rss: %.1f -> %.1f MiB (range %.1f MiB), least-squares slope %.3f KiB per forward ="
                + " %+.2f MiB over %d forwards (criterion < %.0f MiB): %s%n", a.rssKiB() / 1024.0, z.rssKiB() / 1024.0,
                (rssMax - rssMin) / 1024.0, slopeKiB, projectedMiB, z.forwards() - a.forwards(), rssSlackMiB,
                rssFlat ? "flat" : "GROWS");
        System.out.printf(Locale.ROOT, "pool: device %d -> %d bytes, in use %d -> %d bytes, %d -> %d misses (criterion: "
                + "device and in-use bytes the same in every judged sample): %s%n", a.pool().deviceBytes(),
                z.pool().deviceBytes(), a.pool().bytesInUse(), z.pool().bytesInUse(), a.pool().misses(),
                z.pool().misses(), poolFlat ? "flat" : "CHANGES");
        System.out.printf(Locale.ROOT, "fds %d -> %d, threads %d -> %d: %s%n", a.fds(), z.fds(), a.threads(), z.threads(),
                fdsFlat && threadsFlat ? "flat" : "GROW");
        System.out.printf(Locale.ROOT, "logits: %s%n", differ == 0 ? "every pass equal to the first at its batch size, bit "
                + "for bit" : differ + " passes DIFFER from the first at their batch size");
        System.out.println("verdict: " + (flat ? "FLAT" : "NOT FLAT"));
        return flat ? 0 : 3;
    }

    private static HostTensor testImages(Path extracted, LoadedModel loaded) {
        try (SafetensorsFile test = SafetensorsFile.open(extracted.resolve("digits-test.safetensors"))) {
            HostTensor images = test.read("images");
            int[] s = images.shape();
            var c = loaded.config();
            if (s.length != 4 || s[1] != c.channels() || s[2] != c.imageHeight() || s[3] != c.imageWidth()) {
                throw new Vit4jException("soak: the held-out digits are " + Arrays.toString(s) + " but " + loaded.source()
                        + " takes [B, " + c.channels() + ", " + c.imageHeight() + ", " + c.imageWidth() + "]");
            }
            return images;
        }
    }

    private static Sample sample(int forwards, double seconds, PoolStats pool) {
        long rss = -1;
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) rss = Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        } catch (IOException | RuntimeException e) {
            throw new Vit4jException("soak: cannot read /proc/self/status (" + e + "); the soak needs Linux");
        }
        long fds;
        try (var s = Files.list(Path.of("/proc/self/fd"))) {
            fds = s.count();
        } catch (IOException e) {
            fds = -1;
        }
        Runtime rt = Runtime.getRuntime();
        return new Sample(forwards, seconds, rss, (rt.totalMemory() - rt.freeMemory()) >> 10, pool, fds,
                Thread.activeCount());
    }

    private static void print(Sample s) {
        System.out.printf(Locale.ROOT, "%9d %8.1f %9d %9d %12d %12d %12d %9d %9d %5d %7d%n", s.forwards(), s.seconds(),
                s.rssKiB(), s.heapUsedKiB(), s.pool().deviceBytes(), s.pool().bytesInUse(), s.pool().bytesCached(),
                s.pool().hits(), s.pool().misses(), s.fds(), s.threads());
        System.out.flush();
    }
}
