package org.vit4j.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.vit4j.HostTensor;
import org.vit4j.Vit4jException;
import org.vit4j.backend.Backend;
import org.vit4j.backend.BackendProvider;
import org.vit4j.backend.Backends;
import org.vit4j.digits.EmbeddedDefaultModel;
import org.vit4j.io.checkpoint.LoadedModel;
import org.vit4j.io.image.ImagePreprocessor;
import org.vit4j.model.Predictions;
import org.vit4j.model.VisionTransformer;
import org.vit4j.model.VitOutput;

/**
 * Images through Spark (local[2], several partitions, batches that cut across them) give what the plain
 * Java API gives for the same files on the same backend, bit for bit: logits, pre-logits embedding, top-k.
 * A corrupt image (and a file that is no image) lands in the error column and the job succeeds; with
 * fail-fast it fails with one line naming the file.
 */
class VitInferenceTest {
    static final int IMAGES = 210;

    @TempDir
    static Path tmp;
    static Path dir;
    static List<Path> images;
    static Path corrupt;
    static Path text;

    @BeforeAll
    static void writeImages() throws IOException {
        dir = Files.createDirectory(tmp.resolve("in"));
        images = TestImages.write(dir, IMAGES, 40, 1515);
        corrupt = TestImages.corrupt(dir, "broken.png");
        text = Files.writeString(dir.resolve("notes.txt"), "not an image\n");
    }

    /** What the plain Java API computes for every readable image, by file name. */
    record Expected(float[] logits, float[] preLogits, Predictions top) {}

    static Map<String, Expected> javaApi(String backend, List<Path> files, int k) {
        LoadedModel m = EmbeddedDefaultModel.load(EmbeddedDefaultModel.extract());
        Map<String, Expected> out = new HashMap<>();
        try (Backend b = Backends.open(backend); VisionTransformer vit = new VisionTransformer(m.weights(), b)) {
            for (int from = 0; from < files.size(); from += 64) {
                List<Path> chunk = files.subList(from, Math.min(files.size(), from + 64));
                HostTensor x = ImagePreprocessor.loadBatch(chunk, m.preprocessing());
                VitOutput o = vit.forward(x);
                int classes = o.logits().dim(1), width = o.preLogits().dim(1);
                List<Predictions> top = o.topK(k, m.labels());
                for (int i = 0; i < chunk.size(); i++) {
                    float[] l = new float[classes], e = new float[width];
                    System.arraycopy(o.logits().data(), i * classes, l, 0, classes);
                    System.arraycopy(o.preLogits().data(), i * width, e, 0, width);
                    out.put(chunk.get(i).getFileName().toString(), new Expected(l, e, top.get(i)));
                }
            }
        }
        return out;
    }

    /** Skips a backend this machine lacks, except where CI requires it (VIT4J_REQUIRE_OPENCL=1). */
    static void requireBackend(String name) {
        if (name.equals("cpu")) return;
        BackendProvider p = Backends.all().stream().filter(x -> x.name().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no backend " + name + " on the class path"));
        BackendProvider.Probe probe = p.probe();
        if (!probe.available() && "1".equals(System.getenv("VIT4J_REQUIRE_OPENCL"))) {
            throw new AssertionError("VIT4J_REQUIRE_OPENCL=1 but " + name + " is unavailable: " + probe.reason());
        }
        Assumptions.assumeTrue(probe.available(), () -> name + " unavailable: " + probe.reason());
    }

    static String fileName(String path) {
        return path.substring(path.lastIndexOf('/') + 1);
    }

    static float[] floats(Row r, String column) {
        List<Float> l = r.getList(r.fieldIndex(column));
        float[] out = new float[l.size()];
        for (int i = 0; i < out.length; i++) out[i] = l.get(i);
        return out;
    }

    static void assertBitwise(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            assertEquals(Float.floatToRawIntBits(expected[i]), Float.floatToRawIntBits(actual[i]),
                    () -> what + ": element differs");
        }
    }

    /** Checks one output row of a readable image against the Java API's results. */
    static void assertSame(Expected exp, Row r, String name, int k) {
        assertNull(r.getAs(VitInference.ERROR), name);
        assertBitwise(exp.logits(), floats(r, VitInference.LOGITS), name + " logits");
        assertBitwise(exp.preLogits(), floats(r, VitInference.EMBEDDING), name + " embedding");
        List<String> labels = r.getList(r.fieldIndex(VitInference.LABELS));
        List<Double> probabilities = r.getList(r.fieldIndex(VitInference.PROBABILITIES));
        assertEquals(k, labels.size(), name);
        for (int j = 0; j < k; j++) {
            assertEquals(exp.top().top().get(j).label(), labels.get(j), name + " label " + j);
            assertEquals(exp.top().top().get(j).probability(), probabilities.get(j), 0.0, name + " probability " + j);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"cpu", "opencl"})
    void sparkGivesTheJavaApisLogitsAndEmbeddingsBitForBit(String backend) {
        requireBackend(backend);
        SparkSession spark = SharedSpark.get();
        Map<String, Expected> expected = javaApi(backend, images, 3);
        // 5 partitions of about 42 images in batches of 16: batches differ from the Java API's (64) and
        // end at partition boundaries; each image's row must not depend on its neighbours.
        Dataset<Row> in = spark.read().format("binaryFile").load(dir.toString()).repartition(5);
        VitInference vit = VitInference.builder().backend(backend).topK(3).embeddings(true).logits(true).batchSize(16).build();
        Dataset<Row> out = vit.transform(in);
        assertFalse(List.of(out.columns()).contains("content"), "the image bytes are dropped");
        List<Row> rows = out.collectAsList();
        assertEquals(IMAGES + 2, rows.size());
        Set<String> seen = new HashSet<>();
        for (Row r : rows) {
            String name = fileName(r.getAs("path"));
            assertTrue(seen.add(name), name + " twice");
            if (name.equals("broken.png") || name.equals("notes.txt")) {
                String error = r.getAs(VitInference.ERROR);
                assertNotNull(error, name);
                assertTrue(error.contains(name) && !error.contains("\n") && !error.contains("vit4j-spark-images"),
                        "one line naming the input file, not a temporary copy: " + error);
                for (String c : List.of(VitInference.LABELS, VitInference.PROBABILITIES, VitInference.EMBEDDING, VitInference.LOGITS)) {
                    assertTrue(r.isNullAt(r.fieldIndex(c)), name + " " + c);
                }
            } else {
                assertSame(expected.get(name), r, name, 3);
            }
        }
        assertEquals(expected.keySet().size() + 2, seen.size());
    }

    @Test
    void aColumnOfPathsWorksLikeTheBytesAndKeepsTheOtherColumns() {
        SparkSession spark = SharedSpark.get();
        List<Path> some = images.subList(0, 23);
        Map<String, Expected> expected = javaApi("cpu", some, 2);
        List<Row> input = new ArrayList<>();
        for (int i = 0; i < some.size(); i++) input.add(RowFactory.create(i, some.get(i).toString()));
        input.add(RowFactory.create(-1, corrupt.toUri().toString())); // a file: URI
        input.add(RowFactory.create(-2, tmp.resolve("missing.png").toString()));
        StructType schema = new StructType().add("id", DataTypes.IntegerType).add("path", DataTypes.StringType);
        Dataset<Row> in = spark.createDataFrame(input, schema).repartition(3);
        VitInference vit = VitInference.builder().backend("cpu").topK(2).embeddings(true).logits(true).batchSize(4).build();
        List<Row> rows = vit.transform(in).collectAsList();
        assertEquals(some.size() + 2, rows.size());
        for (Row r : rows) {
            int id = r.getAs("id");
            String name = fileName(r.getAs("path"));
            if (id < 0) {
                String error = r.getAs(VitInference.ERROR);
                assertTrue(error != null && error.contains(name), name + ": " + error);
            } else {
                assertEquals(some.get(id).getFileName().toString(), name, "the id stays with its path");
                assertSame(expected.get(name), r, name, 2);
            }
        }
    }

    @Test
    void failFastFailsTheJobWithOneLineNamingTheFile() {
        SparkSession spark = SharedSpark.get();
        Dataset<Row> in = spark.read().format("binaryFile").load(dir.toString());
        VitInference vit = VitInference.builder().backend("cpu").failFast(true).build();
        Exception e = assertThrows(Exception.class, () -> vit.transform(in).collectAsList());
        String line = SparkJob.describe(e);
        assertFalse(line.contains("\n"), line);
        assertTrue(line.contains("broken.png") || line.contains("notes.txt"), line);
    }

    @Test
    void wrongInputsAreOneLineErrors() {
        SparkSession spark = SharedSpark.get();
        Dataset<Row> noImages = spark.range(3).toDF("id");
        VitInference vit = VitInference.builder().build();
        Vit4jException e = assertThrows(Vit4jException.class, () -> vit.transform(noImages));
        assertTrue(e.getMessage().contains("'content'") && e.getMessage().contains("'path'"), e.getMessage());
        Dataset<Row> numericPath = spark.range(3).toDF("path");
        e = assertThrows(Vit4jException.class, () -> vit.transform(numericPath));
        assertTrue(e.getMessage().contains("expected string"), e.getMessage());
        Dataset<Row> clash = spark.read().format("binaryFile").load(dir.toString()).withColumn("error", org.apache.spark.sql.functions.lit(1));
        e = assertThrows(Vit4jException.class, () -> vit.transform(clash));
        assertTrue(e.getMessage().contains("'error'"), e.getMessage());
        e = assertThrows(Vit4jException.class, () -> VitInference.builder().topK(0).build());
        assertTrue(e.getMessage().contains("nothing to compute"), e.getMessage());
        assertThrows(Vit4jException.class, () -> VitInference.builder().batchSize(0));
    }

    @Test
    void oneModelPerJvmSharedByTasks() {
        SparkSession spark = SharedSpark.get();
        VitInference vit = VitInference.builder().backend("cpu").topK(1).build();
        vit.transform(spark.read().format("binaryFile").load(dir.toString()).repartition(6)).collectAsList();
        int before = ExecutorModels.size();
        vit.transform(spark.read().format("binaryFile").load(dir.toString()).repartition(6)).collectAsList();
        assertEquals(before, ExecutorModels.size(), "a second job (6 more tasks) opened no model");
        assertTrue(before >= 1);
    }
}
