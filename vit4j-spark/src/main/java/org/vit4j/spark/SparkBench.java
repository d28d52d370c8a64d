package org.vit4j.spark;

import java.awt.image.BufferedImage;
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
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import javax.imageio.ImageIO;
import org.apache.spark.sql.SparkSession;
import org.vit4j.HostTensor;
import org.vit4j.Vit4jException;
import org.vit4j.bench.RandomWeights;
import org.vit4j.digits.EmbeddedDefaultModel;
import org.vit4j.io.checkpoint.CheckpointLoader;
import org.vit4j.io.checkpoint.LoadedModel;
import org.vit4j.io.checkpoint.SafetensorsFile;
import org.vit4j.io.checkpoint.SafetensorsWriter;
import org.vit4j.model.VitConfig;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code vit4j spark-bench}: images/s of {@link VitInference} under several local masters (local[1] against
 * local[2] by default), in one JVM, alternating masters round by round; each round a fresh session over
 * the same images and the same warm model (the JVM's, opened by a first untimed run). Timed: the Spark job
 * that reads the image files, preprocesses, runs the model and hands every row to Spark's no-op sink;
 * not timed: starting and stopping the session. Images: the embedded digits model's held-out digits written
 * back as 8x8 PNGs, or random 224x224 RGB PNGs for ViT-S/16 with random weights (RandomWeights, written
 * once as a safetensors checkpoint).
 */
@Command(name = "vit4j spark-bench", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Images/s of the Spark job under local[1] and local[2] (or other masters), in one JVM.")
public final class SparkBench implements Callable<Integer> {
    @Option(names = "--model", defaultValue = "digits", paramLabel = "digits|vit-s16", description = "Default ${DEFAULT-VALUE}.")
    String model;

    @Option(names = "--images", paramLabel = "N", description = "Images (default: 2048 digits, 64 for vit-s16).")
    Integer images;

    @Option(names = "--masters", defaultValue = "local[1],local[2]", split = ",", paramLabel = "M,M", description = "Default ${DEFAULT-VALUE}.")
    List<String> masters;

    @Option(names = "--rounds", defaultValue = "3", paramLabel = "R", description = "Timed runs per master (default ${DEFAULT-VALUE}).")
    int rounds;

    @Option(names = "--backend", defaultValue = "opencl", paramLabel = "B", description = "Default ${DEFAULT-VALUE}.")
    String backend;

    @Option(names = "--batch", paramLabel = "N", description = "Images per forward pass (default: 32 digits, 8 vit-s16).")
    Integer batch;

    @Option(names = "--partitions", defaultValue = "8", paramLabel = "N", description = "Input partitions (default ${DEFAULT-VALUE}).")
    int partitions;

    public static void main(String[] args) {
        CommandLine cl = new CommandLine(new SparkBench());
        cl.setExecutionExceptionHandler((e, line, parsed) -> {
            System.err.println("vit4j spark-bench: " + SparkJob.describe(e));
            return 1;
        });
        System.exit(cl.execute(args));
    }

    @Override
    public Integer call() throws IOException {
        boolean vitS = switch (model) {
            case "digits" -> false;
            case "vit-s16" -> true;
            default -> throw new Vit4jException("--model " + model + ": expected digits or vit-s16");
        };
        int n = images != null ? images : vitS ? 64 : 2048;
        int b = batch != null ? batch : vitS ? 8 : 32;
        Path work = Files.createTempDirectory("vit4j-spark-bench");
        Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(work))); // ~100 MB for vit-s16
        Path dir = Files.createDirectory(work.resolve("images"));
        String weights = null;
        if (vitS) {
            weights = randomVitS(work).toString();
            randomRgb(dir, n, 224);
        } else {
            heldOutDigits(dir, n);
        }
        VitInference vit = VitInference.builder().weights(weights).backend(backend).topK(5).batchSize(b).build();
        System.out.printf(Locale.ROOT, "# %s, %d images in %d partitions, batch %d, backend %s, %d rounds per master, load average %s%n",
                vitS ? "ViT-S/16 (random weights, 224x224 RGB PNGs)" : "embedded digits model (8x8 PNGs of its held-out digits)",
                n, partitions, b, backend, rounds, loadAverage());
        time("local[2]", vit, dir, n); // opens the model, warms the JIT: not counted
        Map<String, List<Double>> rates = new LinkedHashMap<>();
        for (int r = 0; r < rounds; r++) {
            for (String m : masters) rates.computeIfAbsent(m, k -> new ArrayList<>()).add(n / time(m, vit, dir, n));
        }
        double first = -1;
        for (Map.Entry<String, List<Double>> e : rates.entrySet()) {
            double best = e.getValue().stream().mapToDouble(Double::doubleValue).max().orElseThrow();
            if (first < 0) first = best;
            int slots = slots(e.getKey()), firstSlots = slots(masters.get(0));
            double ideal = slots > 0 && firstSlots > 0 ? slots / (double) firstSlots : Double.NaN;
            System.out.printf(Locale.ROOT, "%-10s best %8.2f images/s  (rounds: %s)  %.2fx %s%s%n", e.getKey(), best,
                    Arrays.toString(e.getValue().stream().mapToDouble(x -> Math.round(x * 100) / 100.0).toArray()),
                    best / first, masters.get(0), Double.isNaN(ideal) || ideal == 1 ? ""
                            : String.format(Locale.ROOT, ", scaling efficiency %.0f%% (ideal %.2fx)", 100 * best / first / ideal, ideal));
        }
        System.out.printf(Locale.ROOT, "# load average %s at the end%n", loadAverage());
        return 0;
    }

    /** Seconds of one job on a fresh session of {@code master} (the session's start and stop not counted). */
    private double time(String master, VitInference vit, Path dir, int n) {
        SparkSession spark = SparkJob.session(master);
        try {
            long t0 = System.nanoTime();
            var in = spark.read().format("binaryFile").load(dir.toString()).repartition(partitions);
            long rows = vit.transform(in).filter("error is null").count();
            double s = (System.nanoTime() - t0) / 1e9;
            if (rows != n) throw new Vit4jException(master + ": " + rows + " of " + n + " images classified");
            return s;
        } finally {
            spark.stop();
        }
    }

    private static int slots(String master) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("local\\[(\\d+)\\]").matcher(master);
        return m.matches() ? Integer.parseInt(m.group(1)) : -1;
    }

    private static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }

    /** ViT-S/16 with RandomWeights (seed 16) and its config.json, read back to check it is that model. */
    static Path randomVitS(Path work) throws IOException {
        VitConfig c = VitConfig.preset("vit-s16");
        Path dir = Files.createDirectory(work.resolve("vit-s16-random"));
        Map<String, HostTensor> tensors = new LinkedHashMap<>(RandomWeights.of(c, 16).all());
        SafetensorsWriter.write(dir.resolve("model.safetensors"), tensors, Map.of());
        Files.writeString(dir.resolve("config.json"), """
                {"model_type": "vit", "image_size": 224, "patch_size": 16, "num_channels": 3, "hidden_size": 384,
                 "num_hidden_layers": 12, "num_attention_heads": 6, "intermediate_size": 1536, "hidden_act": "gelu",
                 "layer_norm_eps": 1e-06, "qkv_bias": true, "num_classes": 1000}
                """);
        LoadedModel back = CheckpointLoader.load(dir.resolve("model.safetensors"));
        if (!back.config().equals(c)) {
            throw new Vit4jException("the random ViT-S/16 checkpoint reads back as " + back.config() + ", expected " + c);
        }
        return dir.resolve("model.safetensors");
    }

    static void randomRgb(Path dir, int n, int size) {
        SplittableRandom r = new SplittableRandom(224);
        for (int i = 0; i < n; i++) {
            BufferedImage img = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
            for (int y = 0; y < size; y++) for (int x = 0; x < size; x++) img.setRGB(x, y, r.nextInt());
            write(img, dir.resolve(String.format("rgb-%05d.png", i)));
        }
    }

    /** The held-out digits (normalised floats) back to 8-bit grey PNGs, cycled to {@code n} files. */
    static void heldOutDigits(Path dir, int n) {
        Path extracted = EmbeddedDefaultModel.extract();
        LoadedModel m = EmbeddedDefaultModel.load(extracted);
        float mean = m.preprocessing().mean()[0], std = m.preprocessing().std()[0];
        try (SafetensorsFile test = SafetensorsFile.open(extracted.resolve("digits-test.safetensors"))) {
            HostTensor t = test.read("images");
            int count = t.dim(0), h = t.dim(2), w = t.dim(3);
            float[] x = t.toFloats();
            for (int i = 0; i < n; i++) {
                int src = i % count;
                BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY);
                for (int y = 0; y < h; y++) {
                    for (int xx = 0; xx < w; xx++) {
                        int v = Math.round((x[src * h * w + y * w + xx] * std + mean) * 255f);
                        int g = Math.max(0, Math.min(255, v));
                        img.setRGB(xx, y, 0xff000000 | g << 16 | g << 8 | g);
                    }
                }
                write(img, dir.resolve(String.format("digit-%05d.png", i)));
            }
        }
    }

    private static void deleteTree(Path root) {
        try (var all = Files.walk(root)) {
            all.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException | RuntimeException e) {
            // a temporary directory: left to the system
        }
    }

    private static void write(BufferedImage img, Path p) {
        try {
            if (!ImageIO.write(img, "png", p.toFile())) throw new IOException("no PNG writer");
        } catch (IOException e) {
            throw new UncheckedIOException(p.toString(), e);
        }
    }
}
