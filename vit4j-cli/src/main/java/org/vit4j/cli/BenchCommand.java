package org.vit4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.vit4j.HostTensor;
import org.vit4j.backend.Backend;
import org.vit4j.backend.Backends;
import org.vit4j.backend.KernelTimeline;
import org.vit4j.bench.DevicePeaks;
import org.vit4j.bench.ProfilingBackend;
import org.vit4j.model.ForwardOptions;
import org.vit4j.bench.RandomWeights;
import org.vit4j.model.VisionTransformer;
import org.vit4j.model.VitConfig;
import org.vit4j.model.VitWeights;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import org.vit4j.bench.ThroughputChart;
import org.vit4j.bench.TimelineSummary;

/**
 * Times the encoder end to end (median of many passes, after warm-up) and each op on its own (a
 * profiled pass that synchronises around every op), with each op's GFLOP/s and GB/s from its FLOP
 * count and least bytes, held against the device's measured roofline ({@link DevicePeaks}).
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Benchmark the encoder and each kernel on a backend: images/s, per-op GFLOP/s and GB/s.")
final class BenchCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model;

    @Option(names = "--model", paramLabel = "PRESET", defaultValue = "vit-s16",
            description = "a preset with random weights (vit-ti16, vit-s16, vit-b16, ...), unless --weights (default: ${DEFAULT-VALUE})")
    String preset;

    @Option(names = "--batch", paramLabel = "B", defaultValue = "8", description = "images per pass (default: ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--warmup", defaultValue = "2", description = "untimed passes first (default: ${DEFAULT-VALUE})")
    int warmup;

    @Option(names = "--warmup-seconds", paramLabel = "S", defaultValue = "1",
            description = "after the --warmup passes, more untimed passes until S seconds of warm-up have passed, so that"
                    + " the JVM has compiled the host code before the timed passes (a small model at batch 1 otherwise"
                    + " times the JIT: ViT-Ti/16 b1 26 ms a pass after 2 passes, 18 after 30); 0: exactly --warmup"
                    + " passes (default: ${DEFAULT-VALUE})")
    double warmupSeconds;

    @Option(names = "--iterations", defaultValue = "10", description = "timed passes (default: ${DEFAULT-VALUE})")
    int iterations;

    @Option(names = "--profile-passes", defaultValue = "2", description = "passes timed op by op (default: ${DEFAULT-VALUE})")
    int profilePasses;

    @Option(names = "--timeline-passes", defaultValue = "0", description = "plain passes recorded with the device's own "
            + "kernel timestamps (OpenCL event profiling), nothing synchronised between ops: kernels' time, the device idle "
            + "between kernels, and how much of that the host was late (default: ${DEFAULT-VALUE})")
    int timelinePasses;

    @Option(names = "--paired-peak", description = "with --timeline-passes: measure the FMA peak again right before each "
            + "recorded pass, and give each op's share of it pass by pass (the median over the passes) beside the share of "
            + "the peak measured once: on a shared host the cores' speed drifts between the two measurements")
    boolean pairedPeak;

    @Option(names = "--json", paramLabel = "FILE", description = "also write the results as JSON")
    Path json;

    @Option(names = "--logits", paramLabel = "FILE", description = "write the logits of the input batch (safetensors), to compare with a peer")
    Path logitsOut;

    @Option(names = "--input", paramLabel = "IN", description = "safetensors file with tensor 'input' to run instead of random images")
    Path input;


    @Option(names = "--remeasure-peaks", description = "measure the device's copy bandwidth and GEMM rate again "
            + "instead of using the cached figures")
    boolean remeasurePeaks;

    @Option(names = "--batches", paramLabel = "LIST", split = ",",
            description = "a sweep of batch sizes (e.g. 1,2,4,8) instead of --batch; with --chart, throughput against batch")
    List<Integer> batches;

    @Option(names = "--csv", paramLabel = "FILE", description = "also write one row per (backend, batch) as CSV")
    Path csv;

    @Option(names = "--chart", paramLabel = "FILE.png", description = "draw images/s against batch size per backend (PNG)")
    Path chart;

    @Option(names = "--input-on-device", description = "time passes on images uploaded once before timing "
            + "(VisionTransformer.forward(DeviceBuffer, batch)), as PyTorch's figures are taken; by default each "
            + "timed pass uploads its images")
    boolean inputOnDevice;

    @Option(names = "--threads", paramLabel = "N", defaultValue = "1",
            description = "also run N client threads on the one model, each --iterations passes, and report their "
                    + "images/s against 1 thread's, alternating in the same run (best of 2 rounds each), and whether "
                    + "every client's logits equal the serial pass's (default: ${DEFAULT-VALUE}: not measured)")
    int threads;

    @Option(names = "--attentions", description = "also time passes that return every block's attention probabilities "
            + "(ForwardOptions.attentions()), alternating with plain passes, and profile those (the per-op table then "
            + "lists attention_probs)")
    boolean attentions;

    @Option(names = "--devices", paramLabel = "all|N",
            description = "instead of the usual bench: every device of the backend (all) or its first N, one model "
                    + "replica each behind one MultiDeviceModel, against device 0 alone, alternating in the same run "
                    + "(best of 2 rounds each); images/s, scaling efficiency, per-device throughput, and whether the "
                    + "logits equal one device's bit for bit")
    String devices;

    /** Client threads on one model against one thread, in the same run. */
    record Threads(int clients, double oneThreadImagesPerSecond, double imagesPerSecond, double ratio,
            int passesPerClient, boolean logitsEqual) {}

    /** One timed (backend, batch) point. */
    record Run(String backend, String device, int batch, double medianMs, double minMs, double maxMs, double imagesPerSecond,
            double gflopsPerSecond) {}

    @Override
    public Integer call() {
        if (threads < 1) throw new org.vit4j.Vit4jException("bench: --threads must be >= 1, got " + threads);
        if (batch < 1 || iterations < 1 || warmup < 0 || profilePasses < 0 || timelinePasses < 0 || !(warmupSeconds >= 0 && warmupSeconds <= 3600)) {
            throw new org.vit4j.Vit4jException("bench: --batch and --iterations must be >= 1, --warmup, --profile-passes and --timeline-passes >= 0,"
                    + " --warmup-seconds between 0 and 3600");
        }
        if (chart != null) Fonts.require("bench: --chart " + chart); // before minutes of benchmarks, not after
        org.vit4j.ElementType precision = model.precision();
        List<Integer> sizes = batches == null || batches.isEmpty() ? List.of(batch) : batches;
        for (int s : sizes) if (s < 1) throw new org.vit4j.Vit4jException("bench: batch sizes must be >= 1, got " + s);
        VitWeights weights = model.weights != null ? model.load().weights()
                : RandomWeights.of(model.imageSize() != null
                        ? VitConfig.preset(preset).withImageSize(model.imageSize()[0], model.imageSize()[1])
                        : VitConfig.preset(preset), 1);
        VitConfig c = weights.config();
        HostTensor given = input != null ? readInput(input) : null;
        if (given != null) sizes = List.of(given.dim(0));
        String label = model.weights != null ? model.weights.getFileName().toString() : preset;
        if (devices != null) return devices(weights, label, sizes, given, precision);
        List<Run> runs = new ArrayList<>();
        Map<String, Object> result = new LinkedHashMap<>();
        for (String backendName : model.backend.split(",")) {
            try (Backend backend = Backends.open(backendName.trim(), model.device, model.backendOptions());
                    VisionTransformer vit = new VisionTransformer(weights, backend, precision)) {
                HostTensor logits = null;
                HostTensor images = null;
                for (int b : sizes) {
                    images = given != null ? given : RandomWeights.images(c, b, 2);
                    System.out.printf(Locale.ROOT, "vit4j bench: %s (D=%d, depth %d, %d heads, %s px, patch %d), batch %d, "
                            + "%s on %s, %s%s%n", label, c.hiddenSize(), c.depth(), c.heads(), c.imageSizeText(), c.patchSize(), b,
                            backend.name(), backend.deviceName(), precision.label(),
                            inputOnDevice ? ", input on the device (uploaded once, not timed)" : "");
                    final HostTensor warm = images;
                    final int batchSize = b;
                    long[] nanos = new long[iterations];
                    int warmed;
                    try (org.vit4j.backend.DeviceBuffer onDevice = inputOnDevice ? backend.upload(images, precision) : null) {
                        java.util.function.Supplier<org.vit4j.model.VitOutput> pass =
                                onDevice != null ? () -> vit.forward(onDevice, batchSize) : () -> vit.forward(warm);
                        warmed = warmUp(pass::get);
                        for (int i = 0; i < iterations; i++) {
                            long start = System.nanoTime();
                            logits = pass.get().logits();
                            nanos[i] = System.nanoTime() - start;
                        }
                    }
                    Arrays.sort(nanos);
                    double median = nanos[iterations / 2] / 1e6;
                    double flopsPerImage = 2.0 * c.macsPerImage();
                    double imgPerSec = b / (median / 1e3);
                    System.out.printf(Locale.ROOT, "encoder: median %.1f ms per batch (min %.1f, max %.1f; %d runs after %d "
                            + "warm-up) = %.2f img/s, %.1f GFLOP/s (%.2f GFLOP per image)%n", median, nanos[0] / 1e6,
                            nanos[iterations - 1] / 1e6, iterations, warmed, imgPerSec, flopsPerImage * imgPerSec / 1e9,
                            flopsPerImage / 1e9);
                    if (attentions) result.put("attentions", attentionCost(vit, images));
                    runs.add(new Run(backend.name(), backend.deviceName(), b, median, nanos[0] / 1e6,
                            nanos[iterations - 1] / 1e6, imgPerSec, flopsPerImage * imgPerSec / 1e9));
                    if (threads > 1) {
                        Threads t = threads(vit, images, logits);
                        System.out.printf(Locale.ROOT, "threads: %d clients on one model %.2f img/s against 1 thread "
                                + "%.2f img/s = %.2fx (best of 2 alternating rounds, %d passes per client); every "
                                + "client's logits %s%n", t.clients(), t.imagesPerSecond(), t.oneThreadImagesPerSecond(),
                                t.ratio(), t.passesPerClient(), t.logitsEqual() ? "equal the serial pass's bit for bit"
                                        : "DIFFER from the serial pass's");
                        result.put("threads", t);
                    }
                }
                Run last = runs.get(runs.size() - 1);
                result.put("model", label);
                result.put("backend", backend.name());
                result.put("device", backend.deviceName());
                result.put("graphs", !model.noGraph);
                result.put("input_on_device", inputOnDevice);
                result.put("precision", precision.label());
                result.put("batch", last.batch());
                result.put("encoder_ms", Map.of("median", last.medianMs(), "min", last.minMs(), "max", last.maxMs(),
                        "runs", iterations));
                result.put("images_per_second", last.imagesPerSecond());
                result.put("gflops_per_second", last.gflopsPerSecond());
                if (profilePasses > 0) { // the peaks serve only the per-op table
                    DevicePeaks peaks = DevicePeaks.of(backend, precision, remeasurePeaks);
                    System.out.printf(Locale.ROOT, "device peaks (measured %s): copy %.1f GB/s (read + write), %s GEMM %.1f "
                            + "GFLOP/s (vit4j's linear, best of large shapes up to %d^3), fp32 FMA %.1f GFLOP/s "
                            + "(independent FMA chains)%n", peaks.measured(), peaks.copyGBs(), peaks.precision(),
                            peaks.gemmGflops(), peaks.gemmSize(), peaks.fmaGflops());
                    result.put("peaks", peaks);
                    if (!backend.kernelChoices().isEmpty()) {
                        System.out.println("kernels: " + backend.kernelChoices());
                        result.put("kernels", backend.kernelChoices());
                    }
                    result.put("ops", profile(vit, weights, backend, images, peaks, precision, result));
                }
                if (timelinePasses > 0) result.put("timeline", timeline(vit, backend, images, precision, result));
                System.out.println("device memory: " + backend.memoryStats());
                result.put("memory", backend.memoryStats().toString());
                if (logitsOut != null && logits != null) {
                    org.vit4j.io.checkpoint.SafetensorsWriter.write(logitsOut, Map.of("logits", logits), Map.of("backend", backend.name()));
                }
            }
        }
        if (runs.size() > 1) result.put("runs", runs);
        if (json != null) write(json, result);
        if (csv != null) writeCsv(csv, label, runs);
        if (chart != null) ThroughputChart.write(chart, label + ": images/s against batch size",
                runs.stream().map(r -> new ThroughputChart.Point(r.backend(), r.batch(), r.imagesPerSecond())).toList());
        return 0;
    }

    /** One device against several, alternating: {@code --devices all|N}. */
    private int devices(VitWeights weights, String label, List<Integer> sizes, HostTensor given,
            org.vit4j.ElementType precision) {
        VitConfig c = weights.config();
        Map<String, Object> result = new LinkedHashMap<>();
        List<Map<String, Object>> points = new ArrayList<>();
        for (String backendName : model.backend.split(",")) {
            List<Backend> all = Backends.openAll(backendName.trim(), model.backendOptions());
            try {
                int n;
                try {
                    n = devices.equals("all") ? all.size() : Integer.parseInt(devices);
                } catch (NumberFormatException e) {
                    throw new org.vit4j.Vit4jException("bench: --devices takes all or a number, got '" + devices + "'");
                }
                if (n < 1 || n > all.size()) {
                    throw new org.vit4j.Vit4jException("bench: --devices " + devices + ", but backend '"
                            + backendName.trim() + "' has " + all.size() + " device(s)");
                }
                List<Backend> used = all.subList(0, n);
                try (org.vit4j.model.MultiDeviceModel one = new org.vit4j.model.MultiDeviceModel(weights, used.subList(0, 1), precision);
                        org.vit4j.model.MultiDeviceModel many = new org.vit4j.model.MultiDeviceModel(weights, used, precision)) {
                    for (int b : sizes) {
                        HostTensor images = given != null ? given : RandomWeights.images(c, b, 2);
                        System.out.printf(Locale.ROOT, "vit4j bench --devices %s: %s (D=%d, depth %d, %d heads, %s px, patch %d), "
                                + "batch %d, %s, %s, %d of %d device(s):%n", devices, label, c.hiddenSize(), c.depth(), c.heads(),
                                c.imageSizeText(), c.patchSize(), b, all.get(0).name(), precision.label(), n, all.size());
                        for (int d = 0; d < n; d++) System.out.println("  device " + d + ": " + used.get(d).deviceName());
                        for (int i = 0; i < warmup; i++) {
                            one.forward(images);
                            many.forward(images);
                        }
                        HostTensor ref = one.forward(images).logits();
                        boolean equal = Arrays.equals(ref.data(), many.forward(images).logits().data());
                        double bestOne = Double.MAX_VALUE, bestMany = Double.MAX_VALUE;
                        List<org.vit4j.model.MultiDeviceModel.DeviceStats> before = many.stats();
                        lastEqual = true;
                        for (int round = 0; round < 2; round++) {
                            bestOne = Math.min(bestOne, medianMs(one, images, ref));
                            bestMany = Math.min(bestMany, medianMs(many, images, ref));
                        }
                        equal &= lastEqual;
                        double ipsOne = b / (bestOne / 1e3), ipsMany = b / (bestMany / 1e3);
                        System.out.printf(Locale.ROOT, "1 device:  median %.1f ms per batch = %.2f img/s%n", bestOne, ipsOne);
                        System.out.printf(Locale.ROOT, "%d device(s): median %.1f ms per batch = %.2f img/s = %.2fx one device, "
                                + "scaling efficiency %.0f%% (best of 2 alternating rounds of %d passes after %d warm-up)%n",
                                n, bestMany, ipsMany, ipsMany / ipsOne, 100 * ipsMany / ipsOne / n, iterations, warmup);
                        List<Map<String, Object>> perDevice = new ArrayList<>();
                        List<org.vit4j.model.MultiDeviceModel.DeviceStats> after = many.stats();
                        for (int d = 0; d < n; d++) {
                            var s0 = before.get(d);
                            var s1 = after.get(d);
                            long images1 = s1.images() - s0.images();
                            double busy = (s1.busyNanos() - s0.busyNanos()) / 1e9;
                            System.out.printf(Locale.ROOT, "  device %d: %d images in %d chunks, %.2f s busy, %.2f img/s while busy%n",
                                    d, images1, s1.chunks() - s0.chunks(), busy, busy == 0 ? 0 : images1 / busy);
                            perDevice.add(Map.of("device", d, "images", images1, "busy_seconds", busy,
                                    "images_per_second_busy", busy == 0 ? 0 : images1 / busy));
                        }
                        System.out.println("logits of " + n + " device(s) " + (equal ? "equal one device's bit for bit" : "DIFFER from one device's"));
                        Map<String, Object> point = new LinkedHashMap<>();
                        point.put("backend", all.get(0).name());
                        point.put("batch", b);
                        point.put("devices", n);
                        point.put("one_device_images_per_second", ipsOne);
                        point.put("images_per_second", ipsMany);
                        point.put("scaling_efficiency", ipsMany / ipsOne / n);
                        point.put("per_device", perDevice);
                        point.put("logits_equal", equal);
                        points.add(point);
                        if (!equal) return 1;
                    }
                }
            } finally {
                for (Backend b : all) b.close();
            }
        }
        result.put("model", label);
        result.put("precision", precision.label());
        result.put("points", points);
        if (json != null) write(json, result);
        return 0;
    }

    private boolean lastEqual = true;

    /** Median ms of {@code iterations} passes of {@code images}; notes in lastEqual whether every pass equalled {@code ref}. */
    private double medianMs(org.vit4j.model.MultiDeviceModel m, HostTensor images, HostTensor ref) {
        long[] nanos = new long[iterations];
        for (int i = 0; i < iterations; i++) {
            long t0 = System.nanoTime();
            HostTensor l = m.forward(images).logits();
            nanos[i] = System.nanoTime() - t0;
            lastEqual &= Arrays.equals(l.data(), ref.data());
        }
        Arrays.sort(nanos);
        return nanos[iterations / 2] / 1e6;
    }

    /**
     * {@code threads} clients on one model, each running {@code iterations} passes of {@code images},
     * against one client running as many passes, alternating in two rounds (best of each, so that
     * drift on a shared machine hits both alike); each client checks its logits against {@code serial}.
     */
    private Threads threads(VisionTransformer vit, HostTensor images, HostTensor serial) {
        int b = images.dim(0);
        double one = 0, many = 0;
        boolean equal = true;
        for (int round = 0; round < 2; round++) {
            double[] r1 = clients(vit, images, serial, 1);
            double[] rn = clients(vit, images, serial, threads);
            one = Math.max(one, r1[0] * b);
            many = Math.max(many, rn[0] * b);
            equal &= r1[1] == 0 && rn[1] == 0;
        }
        return new Threads(threads, one, many, many / one, iterations, equal);
    }

    /** {passes per second, passes whose logits differed from serial} of n clients started together. */
    private double[] clients(VisionTransformer vit, HostTensor images, HostTensor serial, int n) {
        java.util.concurrent.CyclicBarrier start = new java.util.concurrent.CyclicBarrier(n + 1);
        java.util.concurrent.atomic.AtomicInteger differ = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(n);
        try {
            List<java.util.concurrent.Future<?>> done = new ArrayList<>();
            for (int t = 0; t < n; t++) {
                done.add(pool.submit(() -> {
                    start.await();
                    for (int i = 0; i < iterations; i++) {
                        HostTensor l = vit.forward(images).logits();
                        if (serial != null && !Arrays.equals(l.data(), serial.data())) differ.incrementAndGet();
                    }
                    return null;
                }));
            }
            start.await();
            long t0 = System.nanoTime();
            for (java.util.concurrent.Future<?> f : done) f.get();
            double seconds = (System.nanoTime() - t0) / 1e9;
            return new double[] {(double) n * iterations / seconds, differ.get()};
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            throw new IllegalStateException(e.getCause());
        } catch (InterruptedException | java.util.concurrent.BrokenBarrierException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("bench --threads interrupted", e);
        } finally {
            pool.shutdownNow();
        }
    }

    private static void writeCsv(Path path, String model, List<Run> runs) {
        StringBuilder s = new StringBuilder("model,backend,device,batch,median_ms,min_ms,max_ms,images_per_second,gflops_per_second\n");
        for (Run r : runs) {
            s.append(String.format(Locale.ROOT, "%s,%s,\"%s\",%d,%.3f,%.3f,%.3f,%.3f,%.2f%n", model, r.backend(),
                    r.device().replace("\"", "'"), r.batch(), r.medianMs(), r.minMs(), r.maxMs(), r.imagesPerSecond(),
                    r.gflopsPerSecond()));
        }
        try {
            Files.writeString(path, s);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + path, e);
        }
    }

    /** The --warmup passes, then more until --warmup-seconds have passed since the first began; how many ran. */
    private int warmUp(Runnable pass) {
        long until = System.nanoTime() + (long) (warmupSeconds * 1e9);
        int n = 0;
        while (n < warmup || System.nanoTime() < until) {
            pass.run();
            n++;
        }
        return n;
    }

    /**
     * Passes with every block's attention probabilities against plain ones, alternating (so that the
     * load of a shared machine falls on both alike), --iterations each after --warmup of each.
     */
    private Map<String, Object> attentionCost(VisionTransformer vit, HostTensor images) {
        ForwardOptions all = ForwardOptions.attentions();
        for (int i = 0; i < warmup; i++) {
            vit.forward(images, all);
            vit.forward(images);
        }
        long[] with = new long[iterations], without = new long[iterations];
        for (int i = 0; i < iterations; i++) {
            long start = System.nanoTime();
            vit.forward(images);
            without[i] = System.nanoTime() - start;
            start = System.nanoTime();
            vit.forward(images, all);
            with[i] = System.nanoTime() - start;
        }
        Arrays.sort(with);
        Arrays.sort(without);
        double w = with[iterations / 2] / 1e6, wo = without[iterations / 2] / 1e6;
        System.out.printf(Locale.ROOT, "attentions: median %.1f ms per batch with every block's probabilities against "
                + "%.1f ms without, alternating (%d runs each): +%.1f ms, %.2fx%n", w, wo, iterations, w - wo, w / wo);
        return Map.of("with_ms", w, "without_ms", wo, "runs", iterations);
    }

    /** {@code --timeline-passes}: plain passes with the device's kernel timestamps ({@link TimelineSummary}). */
    private Object timeline(VisionTransformer vit, Backend backend, HostTensor images, org.vit4j.ElementType precision,
            Map<String, Object> result) {
        KernelTimeline recorder = backend.kernelTimeline().orElse(null);
        if (recorder == null) {
            System.out.println("device timeline: the " + backend.name() + " backend keeps no kernel timestamps");
            return "unavailable on " + backend.name();
        }
        List<List<KernelTimeline.Kernel>> passes = new ArrayList<>();
        // The host's own clock around each pass too: wall - span is what the pass spends outside the device's
        // kernels (the input's upload, the outputs' download, the wake-ups around them). Two clocks, but each
        // difference is taken within one pass, so their offset cancels.
        long[] wall = new long[timelinePasses], outside = new long[timelinePasses];
        double[] passPeak = new double[timelinePasses]; // --paired-peak: the FMA peak just before each pass
        for (int i = 0; i < timelinePasses; i++) {
            if (pairedPeak) passPeak[i] = backend.measureFmaPeakGflops();
            recorder.start();
            long start = System.nanoTime();
            try {
                vit.forward(images);
            } finally {
                wall[i] = System.nanoTime() - start;
                List<KernelTimeline.Kernel> ks = recorder.stop();
                passes.add(ks);
                if (!ks.isEmpty()) outside[i] = wall[i] - (ks.get(ks.size() - 1).endNs() - ks.get(0).startNs());
            }
        }
        TimelineSummary t = TimelineSummary.of(passes);
        Arrays.sort(wall);
        Arrays.sort(outside);
        double wallMs = wall[timelinePasses / 2] / 1e6, outsideMs = outside[timelinePasses / 2] / 1e6;
        System.out.printf(Locale.ROOT, "device timeline (%d plain passes, the device's timestamps of each kernel, nothing "
                + "synchronised between them; medians per pass): %d kernels, %.2f ms from the first one's start to the last "
                + "one's end: running %.2f ms (%.1f%%), idle between kernels %.2f ms (%.1f%%; median gap %.1f us), of which "
                + "the host had not yet queued the next kernel %.2f ms%n", t.passes(), t.kernels(), t.spanMs(), t.runningMs(),
                100 * t.runningMs() / t.spanMs(), t.idleMs(), 100 * t.idleMs() / t.spanMs(), t.medianGapUs(), t.hostLateMs());
        System.out.printf(Locale.ROOT, "host clock: %.2f ms a pass (median), of which %.2f ms outside the kernels' span (the "
                + "input's upload, the outputs' download and the wake-ups around them; median of wall - span)%n", wallMs, outsideMs);
        result.put("timeline_host", Map.of("wall_ms", wallMs, "outside_span_ms", outsideMs));
        System.out.printf(Locale.ROOT, "  %-34s %6s %10s %10s %6s %14s%n", "kernel [global size]", "calls", "median us",
                "us/pass", "share", "gap before us");
        for (TimelineSummary.Row r : t.rows()) {
            System.out.printf(Locale.ROOT, "  %-34s %6.0f %10.1f %10.1f %5.1f%% %14s%n", r.kernel(), r.calls(), r.medianUs(),
                    r.usPerPass(), 100 * r.share(), Double.isNaN(r.medianGapUs()) ? "-" : String.format(Locale.ROOT, "%.1f",
                            r.medianGapUs()));
        }
        // The same passes op by op: the op's kernels from the first one's start to the last one's end, against the
        // device's FMA peak (the per-op profile's measure, without its synchronisation after every op).
        // The per-op profile's peaks where it ran (measured once, even with --remeasure-peaks), else the cache's.
        DevicePeaks peaks = result.get("peaks") instanceof DevicePeaks p ? p : DevicePeaks.of(backend, precision, remeasurePeaks);
        result.put("peaks", peaks);
        System.out.printf(Locale.ROOT, "per op from the same timestamps (median call; fp32 FMA peak %.1f GFLOP/s, measured %s):%n",
                peaks.fmaGflops(), peaks.measured());
        List<Map<String, Object>> paired = new ArrayList<>();
        if (pairedPeak) {
            double[] sorted = passPeak.clone();
            Arrays.sort(sorted);
            System.out.printf(Locale.ROOT, "paired FMA peak (measured right before each recorded pass): median %.1f GFLOP/s, "
                    + "min %.1f, max %.1f; \"paired\": each op's median call in a pass against that pass's peak, the median "
                    + "over the passes%n", sorted[sorted.length / 2], sorted[0], sorted[sorted.length - 1]);
        }
        System.out.printf(Locale.ROOT, "  %-20s %-28s %6s %10s %10s %9s %8s%s%n", "op", "shape", "calls", "median us", "us/pass",
                "GFLOP/s", "of FMA", pairedPeak ? "   paired" : "");
        for (TimelineSummary.OpRow o : t.ops()) {
            double fma = o.flops() > 0 ? peaks.ofFmaPeak(o.gflops()) : Double.NaN;
            double pairedFma = pairedPeak ? TimelineSummary.pairedFmaShare(passes, passPeak, o.op(), o.shape()) : Double.NaN;
            if (!Double.isNaN(pairedFma)) paired.add(Map.of("op", o.op(), "shape", o.shape(), "of_fma_paired", pairedFma));
            System.out.printf(Locale.ROOT, "  %-20s %-28s %6.0f %10.1f %10.1f %9.1f %8s%s%n", o.op(), o.shape(), o.calls(),
                    o.medianUs(), o.usPerPass(), o.gflops(), Double.isNaN(fma) ? "-" : String.format(Locale.ROOT, "%.0f%%", 100 * fma),
                    !pairedPeak ? "" : Double.isNaN(pairedFma) ? "        -" : String.format(Locale.ROOT, "%8.0f%%", 100 * pairedFma));
        }
        if (pairedPeak) result.put("timeline_paired_fma", Map.of("pass_peaks_gflops", passPeak, "ops", paired));
        return t;
    }

    private List<Map<String, Object>> profile(VisionTransformer plain, VitWeights weights, Backend backend, HostTensor images,
            DevicePeaks peaks, org.vit4j.ElementType precision, Map<String, Object> result) {
        List<Map<String, Object>> rows = new ArrayList<>();
        if (profilePasses == 0) return rows;
        ProfilingBackend prof = new ProfilingBackend(backend);
        ForwardOptions options = attentions ? ForwardOptions.attentions() : ForwardOptions.DEFAULT;
        // Each profiled pass alternates with a plain one, and both are timed whole (wall and the
        // process's CPU time), so the per-op sum can be held against passes run in the same minute:
        // on a shared machine the load moves by the second, and a pass median taken before the
        // profile is not comparable with it (issue 16: a "35% between ops" that was mostly that).
        long[] plainWall = new long[profilePasses], plainCpu = new long[profilePasses];
        long[] profWall = new long[profilePasses], profCpu = new long[profilePasses], profOps = new long[profilePasses];
        long[] plainWait = new long[profilePasses];
        try (VisionTransformer vit = new VisionTransformer(weights, prof, precision)) {
            // One pass untimed first: this model's weights are new buffers, and a backend may prepare
            // them on first use (OpenCL's linear_v5 packs each weight once), which is not an op's time.
            vit.forward(images, options);
            prof.reset();
            for (int i = 0; i < profilePasses; i++) {
                long w0 = runQueueWaitNanos(), c0 = processCpuNanos(), t0 = System.nanoTime();
                plain.forward(images, options);
                long t1 = System.nanoTime(), c1 = processCpuNanos(), w1 = runQueueWaitNanos();
                plainWait[i] = w1 - w0;
                long before = opNanos(prof);
                vit.forward(images, options);
                long t2 = System.nanoTime(), c2 = processCpuNanos();
                plainWall[i] = t1 - t0;
                plainCpu[i] = c1 - c0;
                profWall[i] = t2 - t1;
                profCpu[i] = c2 - c1;
                profOps[i] = opNanos(prof) - before;
            }
        }
        double pq = median(plainWait);
        double pw = median(plainWall), pc = median(plainCpu), fw = median(profWall), fc = median(profCpu), fo = median(profOps);
        System.out.printf(Locale.ROOT, "pass accounting (%d plain and %d profiled passes alternating, medians; load %.2f): plain "
                + "pass %.1f ms wall, %.1f ms process CPU (%.2f cores busy), its threads %.1f ms runnable but waiting for a core; profiled pass %.1f ms wall, %.1f ms CPU (%.2f "
                + "cores), of which ops %.1f ms, outside ops %.1f ms (%.1f%%); plain pass - op sum %.1f ms%n", profilePasses,
                profilePasses, java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage(),
                pw / 1e6, pc / 1e6, pc / pw, pq / 1e6, fw / 1e6, fc / 1e6, fc / fw, fo / 1e6, (fw - fo) / 1e6, 100 * (fw - fo) / fw,
                (pw - fo) / 1e6);
        // The pass's first step alone, which every kernel of the pass waits for: the batch's images
        // rounded to the model's precision and copied to the device (PyTorch peers time a model on an
        // input already on the device).
        double upload = inputUploadNanos(backend, images, precision);
        System.out.printf(Locale.ROOT, "input upload (the batch's %s images written to the device as %s, alone; median of 5): "
                + "%.1f ms%n", images.dim(0), precision.label(), upload / 1e6);
        Map<String, Object> acc = new LinkedHashMap<>();
        acc.put("passes", profilePasses);
        acc.put("input_upload_ms", upload / 1e6);
        acc.put("plain_wall_ms", pw / 1e6);
        acc.put("plain_cpu_ms", pc / 1e6);
        acc.put("plain_run_queue_wait_ms", pq / 1e6);
        acc.put("profiled_wall_ms", fw / 1e6);
        acc.put("profiled_cpu_ms", fc / 1e6);
        acc.put("op_sum_ms", fo / 1e6);
        result.put("pass_accounting", acc);
        double passTotal = 0;
        for (ProfilingBackend.OpTimes t : prof.times()) passTotal += sum(t.nanos) / profilePasses;
        System.out.printf(Locale.ROOT, "per op (%d profiled passes after an untimed one, each op synchronised and timed alone; sum %.1f ms "
                + "per pass):%n", profilePasses, passTotal / 1e6);
        System.out.printf(Locale.ROOT, "  %-20s %-28s %6s %10s %10s %9s %8s %6s %8s %8s %s%n", "op", "shape", "calls",
                "median ms", "ms/pass", "GFLOP/s", "GB/s", "share", "of roof", "of FMA", "bound");
        for (ProfilingBackend.OpTimes t : prof.times()) {
            long[] sorted = t.nanos.stream().mapToLong(Long::longValue).sorted().toArray();
            double med = sorted[sorted.length / 2] / 1e9;
            double perPass = sum(t.nanos) / profilePasses;
            int calls = t.nanos.size() / profilePasses;
            double gflops = t.flops / med / 1e9, gbs = t.bytes / med / 1e9;
            double roof = t.flops > 0 ? gflops / peaks.attainableGflops(t.flops, t.bytes) : gbs / peaks.copyGBs();
            String bound = t.flops > 0 ? peaks.bound(t.flops, t.bytes) : "memory";
            double fma = t.flops > 0 ? peaks.ofFmaPeak(gflops) : Double.NaN;
            System.out.printf(Locale.ROOT, "  %-20s %-28s %6d %10.3f %10.2f %9.1f %8.1f %5.1f%% %7.0f%% %8s %s%n", t.op, t.shape,
                    calls, med * 1e3, perPass / 1e6, gflops, gbs, 100 * perPass / passTotal, 100 * roof,
                    Double.isNaN(fma) ? "-" : String.format(Locale.ROOT, "%.0f%%", 100 * fma), bound);
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("op", t.op);
            row.put("shape", t.shape);
            row.put("calls_per_pass", calls);
            row.put("median_ms", med * 1e3);
            row.put("ms_per_pass", perPass / 1e6);
            row.put("gflops_per_second", gflops);
            row.put("gbytes_per_second", gbs);
            row.put("flops", t.flops);
            row.put("least_bytes", t.bytes);
            row.put("fraction_of_roofline", roof);
            if (!Double.isNaN(fma)) row.put("fraction_of_fma_peak", fma);
            row.put("bound", bound);
            rows.add(row);
        }
        return rows;
    }

    /** Wall time of writing {@code images} to a device buffer of {@code type} and waiting for it; median of 5. */
    private static long inputUploadNanos(Backend backend, HostTensor images, org.vit4j.ElementType type) {
        float[] values = images.toFloats();
        long[] nanos = new long[5];
        try (org.vit4j.backend.DeviceBuffer buffer = backend.allocate(type, values.length)) {
            for (int i = 0; i < nanos.length; i++) {
                backend.synchronize();
                long t0 = System.nanoTime();
                backend.write(values, buffer);
                backend.synchronize();
                nanos[i] = System.nanoTime() - t0;
            }
        }
        return (long) median(nanos);
    }

    /** This process's CPU time, all threads (a backend's worker threads included); 0 where the JVM cannot say. */
    private static long processCpuNanos() {
        if (java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                instanceof com.sun.management.OperatingSystemMXBean os) {
            return Math.max(0, os.getProcessCpuTime());
        }
        return 0;
    }

    /**
     * The time this process's threads spent runnable but not running (Linux: the second field of each
     * /proc/self/task/N/schedstat): a shared machine's other processes holding the cores. 0 elsewhere.
     */
    private static long runQueueWaitNanos() {
        long total = 0;
        try (java.util.stream.Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path t : (Iterable<Path>) tasks::iterator) {
                try {
                    String[] f = Files.readString(t.resolve("schedstat")).trim().split("\\s+");
                    if (f.length >= 2) total += Long.parseLong(f[1]);
                } catch (IOException | NumberFormatException e) {
                    // a thread that ended meanwhile, or no schedstat: leave it out
                }
            }
        } catch (IOException | RuntimeException e) {
            return 0;
        }
        return total;
    }

    private static long opNanos(ProfilingBackend prof) {
        long s = 0;
        for (ProfilingBackend.OpTimes t : prof.times()) for (long x : t.nanos) s += x;
        return s;
    }

    private static double median(long[] xs) {
        long[] s = xs.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    private static double sum(List<Long> xs) {
        double s = 0;
        for (long x : xs) s += x;
        return s;
    }

    private static HostTensor readInput(Path path) {
        try (org.vit4j.io.checkpoint.SafetensorsFile f = org.vit4j.io.checkpoint.SafetensorsFile.open(path)) {
            if (!f.contains("input")) {
                throw new org.vit4j.io.checkpoint.CheckpointException(path + ": no tensor named 'input' (expected [B, C, H, W])");
            }
            return f.read("input");
        }
    }

    private static void write(Path path, Object value) {
        try {
            Files.writeString(path, new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(value));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + path, e);
        }
    }
}
