package org.vit4j.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The job behind {@code vit4j spark}, run in this JVM on the shared local[2] session. */
class SparkJobTest {
    @TempDir
    static Path tmp;
    static Path in;
    static List<Path> images;

    @BeforeAll
    static void writeImages() throws IOException {
        in = Files.createDirectory(tmp.resolve("in"));
        images = TestImages.write(Files.createDirectory(in.resolve("sub")), 40, 30, 77); // read recursively
        TestImages.corrupt(in, "broken.png");
        SharedSpark.get();
    }

    record Result(int status, String out, String err) {}

    static Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int status = SparkJob.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void jsonLinesWithTopKEmbeddingsAndAnErrorRow() {
        Path out = tmp.resolve("out-jsonl");
        Result r = run("--input", in.toString(), "--output", out.toString(), "--master", "local[2]", "--format", "jsonl",
                "--top", "2", "--embeddings", "--logits", "--backend", "cpu", "--batch", "7");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("41 images (1 unreadable)"), r.out());
        SparkSession spark = SharedSpark.get();
        List<Row> rows = spark.read().json(out.toString()).collectAsList();
        assertEquals(41, rows.size());
        Map<String, VitInferenceTest.Expected> expected = VitInferenceTest.javaApi("cpu", images, 2);
        int errors = 0;
        for (Row row : rows) {
            String name = VitInferenceTest.fileName(row.getAs("path"));
            if (name.equals("broken.png")) {
                errors++;
                String error = row.getAs("error");
                assertTrue(error != null && error.contains("broken.png"), error);
                continue;
            }
            VitInferenceTest.Expected exp = expected.get(name);
            assertNotNull(exp, name);
            // JSON holds the shortest decimal that reads back as the same float (Spark writes floats that way)
            List<Double> logits = row.getList(row.fieldIndex("logits"));
            for (int i = 0; i < exp.logits().length; i++) {
                assertEquals(Float.floatToRawIntBits(exp.logits()[i]), Float.floatToRawIntBits(logits.get(i).floatValue()), name);
            }
            assertEquals(exp.preLogits().length, row.getList(row.fieldIndex("embedding")).size(), name);
            List<String> labels = row.getList(row.fieldIndex("labels"));
            assertEquals(exp.top().best().label(), labels.get(0), name);
        }
        assertEquals(1, errors);
    }

    @Test
    void parquetByDefaultWithTheSparkSchema() {
        Path out = tmp.resolve("out-parquet");
        Result r = run("--input", in.toString(), "--output", out.toString(), "--backend", "cpu");
        assertEquals(0, r.status(), r.err());
        var df = SharedSpark.get().read().parquet(out.toString());
        assertEquals(List.of("path", "labels", "probabilities", "error"), List.of(df.columns()));
        assertEquals("array<double>", df.schema().apply("probabilities").dataType().simpleString());
        assertEquals(41, df.count());
        assertEquals(5, df.filter("error is null").first().getList(1).size(), "--top defaults to 5");
    }

    @Test
    void failFastExitsOneWithOneLineNamingTheFile() {
        Result r = run("--input", in.toString(), "--output", tmp.resolve("out-ff").toString(), "--backend", "cpu", "--fail-fast");
        assertEquals(1, r.status(), r.out());
        String[] lines = r.err().strip().split("\n");
        assertEquals(1, lines.length, r.err());
        assertTrue(lines[0].startsWith("vit4j spark: ") && lines[0].contains("broken.png"), lines[0]);
        assertFalse(Files.exists(tmp.resolve("out-ff").resolve("_SUCCESS")));
    }

    @Test
    void badArgumentsAreOneLineErrors() {
        Path out = tmp.resolve("out-twice");
        assertEquals(0, run("--input", in.toString(), "--output", out.toString(), "--backend", "cpu", "--top", "1").status());
        Result again = run("--input", in.toString(), "--output", out.toString(), "--backend", "cpu");
        assertEquals(1, again.status());
        assertTrue(again.err().contains("already exists") && again.err().strip().lines().count() == 1, again.err());
        assertEquals(0, run("--input", in.toString(), "--output", out.toString(), "--backend", "cpu", "--overwrite").status());

        Result format = run("--input", in.toString(), "--output", tmp.resolve("x").toString(), "--format", "csv");
        assertEquals(1, format.status());
        assertTrue(format.err().contains("--format csv: expected parquet or jsonl"), format.err());

        Result missing = run("--input", tmp.resolve("nowhere").toString(), "--output", tmp.resolve("y").toString());
        assertEquals(1, missing.status());
        assertTrue(missing.err().contains("nowhere") && missing.err().strip().lines().count() == 1, missing.err());

        Result weights = run("--input", in.toString(), "--output", tmp.resolve("z").toString(), "--backend", "cpu",
                "--weights", tmp.resolve("no-model.safetensors").toString());
        assertEquals(1, weights.status());
        assertTrue(weights.err().contains("no-model.safetensors") && weights.err().strip().lines().count() == 1, weights.err());

        assertEquals(2, run("--output", "x").status(), "--input is required");
    }
}
