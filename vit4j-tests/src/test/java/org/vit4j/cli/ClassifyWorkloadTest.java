package org.vit4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vit4j.cli.CliTest.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vit4j.backend.Backend;
import org.vit4j.backend.Backends;
import org.vit4j.io.checkpoint.CheckpointLoader;
import org.vit4j.digits.EmbeddedDefaultModel;
import org.vit4j.io.image.ImagePreprocessor;
import org.vit4j.io.checkpoint.LoadedModel;
import org.vit4j.model.VisionTransformer;

/** Issue 12, item 6: classify on directories, one record per image in jsonl or csv, errors as records. */
class ClassifyWorkloadTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private static List<Path> samples;

    /** The embedded digits model's ten samples, as files (extracted once). */
    private static synchronized List<Path> samples() {
        if (samples == null) samples = EmbeddedDefaultModel.samples(EmbeddedDefaultModel.extract());
        return samples;
    }

    private Path digit(int d) {
        return samples().stream().filter(p -> p.getFileName().toString().equals("digit-" + d + ".png")).findFirst()
                .orElseThrow();
    }

    /**
     * A tree: top/ with digits 0-2, top/b/ with 3 and a corrupt .jpg, top/a/ with 4 (upper-case .PNG) and a
     * text file that is not picked up, top/a-z/ with 5 (name-by-name order puts a/ before a-z/).
     */
    private Path tree() throws IOException {
        Path top = Files.createDirectories(dir.resolve("top"));
        for (int d = 0; d <= 2; d++) Files.copy(digit(d), top.resolve("digit-" + d + ".png"));
        Files.createDirectories(top.resolve("b"));
        Files.copy(digit(3), top.resolve("b/three.png"));
        Files.writeString(top.resolve("b/broken.jpg"), "not a jpeg at all");
        Files.createDirectories(top.resolve("a"));
        Files.copy(digit(4), top.resolve("a/FOUR.PNG"));
        Files.writeString(top.resolve("a/notes.txt"), "not an image, not picked up");
        Files.createDirectories(top.resolve("a-z"));
        Files.copy(digit(5), top.resolve("a-z/five.jpeg.png"));
        return top;
    }

    /** The "done when": classify DIR --batch-size 4 --format jsonl prints one JSON line per image. */
    @Test
    void aDirectoryInJsonlIsOneLinePerImageWithAnErrorLineForTheCorruptOne() throws IOException {
        Path top = tree();
        CliTest.Result r = cli("classify", top.toString(), "--batch-size", "4", "--format", "jsonl", "--backend", "cpu");
        List<String> lines = r.out().lines().toList();
        // Sorted by relative path, name by name: a/ < a-z/ < b/ < digit-*.png.
        List<String> expected = List.of("a/FOUR.PNG", "a-z/five.jpeg.png", "b/broken.jpg", "b/three.png",
                "digit-0.png", "digit-1.png", "digit-2.png");
        assertEquals(expected.size(), lines.size(), r.out() + r.err());
        int[] digits = {4, 5, -1, 3, 0, 1, 2};
        for (int i = 0; i < lines.size(); i++) {
            JsonNode rec = JSON.readTree(lines.get(i));
            assertEquals(top.resolve(expected.get(i)).toString(), rec.get("path").asText(), lines.get(i));
            if (digits[i] < 0) {
                assertTrue(rec.get("error").asText().contains("not a PNG or JPEG image"), lines.get(i));
                assertFalse(rec.has("top"), lines.get(i));
            } else {
                assertFalse(rec.has("error"), lines.get(i));
                JsonNode best = rec.get("top");
                assertEquals(3, best.size(), lines.get(i));
                assertEquals(String.valueOf(digits[i]), best.get(0).get("label").asText(), lines.get(i));
                assertEquals(digits[i], best.get(0).get("index").asInt(), lines.get(i));
                assertTrue(best.get(0).get("probability").asDouble() >= best.get(1).get("probability").asDouble());
            }
        }
        // Some image failed: exit 2, and one line saying so on stderr; no progress bar where stderr is no terminal.
        assertEquals(2, r.status(), r.err());
        assertEquals("vit4j: error: 1 of 7 images could not be classified (see their records)", r.err().strip());
        assertFalse(r.err().contains("\r"), r.err());
        // The batch size changes nothing in the records.
        CliTest.Result one = cli("classify", top.toString(), "--batch-size", "1", "--format", "jsonl", "--backend", "cpu");
        CliTest.Result auto = cli("classify", top.toString(), "--format", "jsonl", "--backend", "cpu");
        assertEquals(r.out(), one.out());
        assertEquals(r.out(), auto.out());
        // Nor the number of threads reading images ahead: records stay in input order.
        for (String t : new String[] {"1", "5"}) {
            CliTest.Result threads = cli("classify", top.toString(), "--batch-size", "2", "--read-threads", t,
                    "--format", "jsonl", "--backend", "cpu");
            assertEquals(r.out(), threads.out(), "--read-threads " + t);
        }
    }

    @Test
    void allClassifiedIsExitZeroAndFilesKeepTheOrderGiven() {
        CliTest.Result r = cli("classify", digit(7).toString(), digit(2).toString(), "--format", "jsonl", "--top", "1",
                "--backend", "cpu");
        assertEquals(0, r.status(), r.err());
        List<String> lines = r.out().lines().toList();
        assertEquals(2, lines.size(), r.out());
        assertTrue(lines.get(0).startsWith("{\"path\":" + quoteJson(digit(7).toString()) + ",\"top\":[{\"label\":\"7\""),
                lines.get(0));
        assertTrue(lines.get(1).contains("\"label\":\"2\""), lines.get(1));
        assertEquals("", r.err());
        // Text: errors on stderr, one line each, the other images classified.
        CliTest.Result t = cli("classify", digit(7).toString(), dir.resolve("missing.png").toString(), "--backend", "cpu",
                "--weights", EmbeddedDefaultModel.extract().resolve("model.safetensors").toString());
        assertEquals(2, t.status());
        assertTrue(t.out().startsWith(digit(7) + ": 7 ("), t.out());
        assertEquals("vit4j: error: " + dir.resolve("missing.png") + ": no such file, expected a PNG or JPEG image",
                t.err().strip());
    }

    private static String quoteJson(String s) {
        try {
            return JSON.writeValueAsString(s);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    /** File names with a comma, quotes and a line break come back intact through an RFC 4180 reader. */
    @Test
    void csvQuotesOddFileNames() throws IOException {
        Path top = Files.createDirectories(dir.resolve("odd"));
        List<String> names = List.of("a,b.png", "say \"cheese\".png", "two\nlines.png", "plain.png");
        for (int i = 0; i < names.size(); i++) Files.copy(digit(i), top.resolve(names.get(i)));
        Files.writeString(top.resolve("x,\"y\".png"), "corrupt");
        CliTest.Result r = cli("classify", top.toString(), "--format", "csv", "--top", "2", "--backend", "cpu");
        assertEquals(2, r.status(), r.err());
        List<List<String>> rows = parseCsv(r.out());
        assertEquals(List.of("path", "label_1", "probability_1", "label_2", "probability_2", "error"), rows.get(0));
        // Sorted by name (String order): a,b < plain < say < two < x.
        List<String> sorted = List.of("a,b.png", "plain.png", "say \"cheese\".png", "two\nlines.png", "x,\"y\".png");
        int[] digits = {0, 3, 1, 2, -1};
        assertEquals(sorted.size() + 1, rows.size(), r.out());
        for (int i = 0; i < sorted.size(); i++) {
            List<String> row = rows.get(i + 1);
            assertEquals(6, row.size(), row.toString());
            assertEquals(top.resolve(sorted.get(i)).toString(), row.get(0));
            if (digits[i] >= 0) {
                assertEquals(String.valueOf(digits[i]), row.get(1), row.toString());
                double p1 = Double.parseDouble(row.get(2)), p2 = Double.parseDouble(row.get(4));
                assertTrue(p1 >= p2 && p1 <= 1 && p2 > 0, row.toString());
                assertEquals("", row.get(5));
            } else {
                assertEquals(List.of("", "", "", ""), row.subList(1, 5));
                assertTrue(row.get(5).startsWith("not a PNG or JPEG image"), row.get(5));
            }
        }
    }

    /** An RFC 4180 reader written for this test (quoted fields, doubled quotes, line breaks in quotes). */
    static List<List<String>> parseCsv(String text) {
        List<List<String>> rows = new ArrayList<>();
        List<String> row = new ArrayList<>();
        StringBuilder field = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < text.length(); i++) {
            char ch = text.charAt(i);
            if (quoted) {
                if (ch == '"' && i + 1 < text.length() && text.charAt(i + 1) == '"') {
                    field.append('"');
                    i++;
                } else if (ch == '"') {
                    quoted = false;
                } else {
                    field.append(ch);
                }
            } else if (ch == '"') {
                assertEquals(0, field.length(), "a quote inside an unquoted field at " + i);
                quoted = true;
            } else if (ch == ',') {
                row.add(field.toString());
                field.setLength(0);
            } else if (ch == '\n') {
                row.add(field.toString());
                field.setLength(0);
                rows.add(row);
                row = new ArrayList<>();
            } else {
                field.append(ch);
            }
        }
        assertFalse(quoted, "unterminated quote");
        assertTrue(row.isEmpty() && field.length() == 0, "the last line ends with LF");
        return rows;
    }

    /** The probabilities classify prints are the softmax of the logits, computed here another way. */
    @Test
    void topKEqualsASoftmaxComputedHere() throws IOException {
        Path weights = EmbeddedDefaultModel.extract().resolve("model.safetensors");
        List<Path> images = List.of(digit(3), digit(8), digit(9));
        float[] logits;
        LoadedModel m = CheckpointLoader.load(weights);
        try (Backend cpu = Backends.open("cpu"); VisionTransformer vit = new VisionTransformer(m.weights(), cpu)) {
            logits = vit.forward(ImagePreprocessor.loadBatch(images, m.preprocessing())).logits().data();
        }
        int classes = m.config().numClasses();
        CliTest.Result r = cli("classify", images.get(0).toString(), images.get(1).toString(), images.get(2).toString(),
                "--weights", weights.toString(), "--format", "jsonl", "--top", "10", "--backend", "cpu");
        assertEquals(0, r.status(), r.err());
        List<String> lines = r.out().lines().toList();
        assertEquals(3, lines.size());
        for (int b = 0; b < 3; b++) {
            // log-sum-exp with the terms summed in ascending order, in BigDecimal-free double: p_c = exp(l_c - lse)
            double[] l = new double[classes];
            for (int c = 0; c < classes; c++) l[c] = logits[b * classes + c];
            double[] sortedL = l.clone();
            java.util.Arrays.sort(sortedL);
            double top = sortedL[classes - 1], s = 0;
            for (double x : sortedL) s += Math.exp(x - top);
            double lse = top + Math.log(s);
            JsonNode recs = JSON.readTree(lines.get(b)).get("top");
            assertEquals(classes, recs.size(), "--top 10 on 10 classes lists all");
            double previous = 2;
            double total = 0;
            for (JsonNode rec : recs) {
                int c = rec.get("index").asInt();
                double p = rec.get("probability").asDouble();
                assertEquals(Math.exp(l[c] - lse), p, 1e-12, "image " + b + ", class " + c);
                assertEquals(m.labels().get(c), rec.get("label").asText());
                assertTrue(p <= previous, "most probable first");
                previous = p;
                total += p;
            }
            assertEquals(1.0, total, 1e-12);
        }
    }

    @Test
    void formatAndDirectoryErrors() throws IOException {
        CliTest.Result r = cli("classify", "--format", "xml", "--backend", "cpu");
        assertEquals(2, r.status());
        assertTrue(r.err().startsWith("vit4j: error: --format: unknown format 'xml'; expected text, jsonl or csv"), r.err());
        Path empty = Files.createDirectories(dir.resolve("empty"));
        Files.writeString(empty.resolve("readme.txt"), "no images here");
        r = cli("classify", empty.toString(), "--backend", "cpu");
        assertEquals(2, r.status());
        assertTrue(r.err().startsWith("vit4j: error: classify: no images in [" + empty + "]"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
    }

    /** --progress forces the bar even where stderr is no terminal (it waits a second before drawing). */
    @Test
    void progressBarGoesToStderrOnlyWhenAsked() {
        ProgressBar.class.getName(); // the class that draws it
        java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
        java.io.PrintStream err = new java.io.PrintStream(buf, true, java.nio.charset.StandardCharsets.UTF_8);
        try (ProgressBar bar = new ProgressBar(err, 10, true)) {
            bar.update(5, 1); // within the first second: nothing
            assertEquals("", buf.toString());
            sleep(1100);
            bar.update(10, 1);
        }
        String drawn = buf.toString(java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(drawn.startsWith("\r[##############################] 10/10 images, 1 failed, "), drawn);
        assertTrue(drawn.endsWith("\n"), drawn);
        buf.reset();
        try (ProgressBar off = new ProgressBar(err, 10, false)) {
            sleep(1100);
            off.update(10, 0);
        }
        assertEquals("", buf.toString());
        assertFalse(ProgressBar.stderrIsTerminal(), "the test's stderr is a pipe or a file");
        CliTest.Result help = cli("classify", "--help");
        assertTrue(help.out().contains("--[no-]progress") && help.out().contains("--format"), help.out());
        assertTrue(help.out().contains("sized to the device"), help.out());
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    /**
     * --weights takes a Hugging Face hub directory, sharded or not: run writes the logits the single
     * file gives, bit for bit, and classify labels its records from the directory's config.json.
     */
    @Test
    void weightsMayBeAHubDirectorySharded() throws IOException {
        Path single = org.vit4j.Golden.file("hf-vit-odd", "model.safetensors");
        Path hub = dir.resolve("hub");
        org.vit4j.io.checkpoint.ShardedCheckpointTest.shard(org.vit4j.io.checkpoint.ShardedCheckpointTest.tensors(single),
                2, hub, org.vit4j.ElementType.F32);
        Files.writeString(hub.resolve("config.json"), Files.readString(org.vit4j.Golden.file("hf-vit-odd", "config.json"))
                .replace("\"class_3\"", "\"tabby, cat\""));
        String io = org.vit4j.Golden.file("hf-vit-odd", "io.safetensors").toString();
        Path a = dir.resolve("a.safetensors"), b = dir.resolve("b.safetensors");
        CliTest.Result one = cli("run", "--weights", single.toString(), "--input", io, "--output", a.toString(),
                "--backend", "cpu");
        CliTest.Result sharded = cli("run", "--weights", hub.toString(), "--input", io, "--output", b.toString(),
                "--backend", "cpu");
        assertEquals(0, one.status(), one.err());
        assertEquals(0, sharded.status(), sharded.err());
        try (var fa = org.vit4j.io.checkpoint.SafetensorsFile.open(a);
                var fb = org.vit4j.io.checkpoint.SafetensorsFile.open(b)) {
            org.junit.jupiter.api.Assertions.assertArrayEquals(fa.readFloats("logits"), fb.readFloats("logits"));
        }
        // classify: 3-channel 30 px model on a digit sample (grey, resized), all 7 classes, labels from id2label.
        CliTest.Result r = cli("classify", digit(0).toString(), "--weights", hub.toString(), "--format", "jsonl",
                "--top", "7", "--backend", "cpu");
        assertEquals(0, r.status(), r.err());
        JsonNode top = JSON.readTree(r.out().strip()).get("top");
        assertEquals(7, top.size(), r.out());
        boolean renamed = false;
        for (JsonNode c : top) {
            assertEquals(c.get("index").asInt() == 3 ? "tabby, cat" : "class_" + c.get("index").asInt(),
                    c.get("label").asText());
            renamed |= c.get("index").asInt() == 3;
        }
        assertTrue(renamed, r.out());
    }

    /** The default batch size: what fits in half the memory, up to 64. */
    @Test
    void defaultBatchSizeIsSizedToTheMemory() {
        LoadedModel m = CheckpointLoader.load(EmbeddedDefaultModel.extract().resolve("model.safetensors"));
        try (Backend cpu = Backends.open("cpu"); VisionTransformer vit = new VisionTransformer(m.weights(), cpu)) {
            long perImage = VisionTransformer.bytesPerImage(m.config(), org.vit4j.ElementType.F32);
            long weights = m.weights().parameterCount() * 4;
            assertEquals(64, vit.batchSizeFor(Long.MAX_VALUE, 64));
            assertEquals(64, vit.batchSizeFor(cpu.memoryCapacity(), 64), "the test heap holds 64 digits");
            assertEquals(5, vit.batchSizeFor(2 * (weights + 5 * perImage + perImage / 2), 64));
            assertEquals(1, vit.batchSizeFor(1000, 64), "at least one");
            assertEquals(Runtime.getRuntime().maxMemory(), cpu.memoryCapacity(), "cpu: the Java heap");
        }
        // A device backend's capacity is its pool's cap where one is set.
        for (String name : new String[] {"opencl", "cuda-cpu"}) {
            if (!Backends.all().stream().anyMatch(p -> p.name().equals(name) && p.probe().available())) continue;
            try (Backend b = Backends.open(name, 0, org.vit4j.backend.BackendOptions.DEFAULT.withMemoryCap(3L << 20))) {
                assertEquals(3L << 20, b.memoryCapacity(), name);
            }
            try (Backend b = Backends.open(name, 0, org.vit4j.backend.BackendOptions.DEFAULT)) {
                assertTrue(b.memoryCapacity() > 64L << 20, name + ": " + b.memoryCapacity());
            }
        }
    }
}
