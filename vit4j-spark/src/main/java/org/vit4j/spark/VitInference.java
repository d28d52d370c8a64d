package org.vit4j.spark;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.vit4j.ElementType;
import org.vit4j.Vit4jException;

/**
 * ViT inference over a Spark {@link Dataset}: one row per image in, the same row out (without the image
 * bytes) with the model's results added. The images come as bytes ({@code spark.read().format("binaryFile")}
 * gives {@code path} and {@code content}) or as paths (a string column, read on the executor).
 *
 * <pre>{@code
 * VitInference vit = VitInference.builder().weights("/models/vit-b16").topK(5).embeddings(true).build();
 * Dataset<Row> out = vit.transform(spark.read().format("binaryFile").load("images/"));
 * }</pre>
 *
 * <p>Each partition runs in batches of {@link Builder#batchSize} images ({@code mapPartitions}) on one
 * model per executor JVM, opened at its first batch and closed when the JVM exits ({@link ExecutorModels}),
 * on the task's GPU where Spark assigned one ({@link DeviceChoice}). Added columns, each present only
 * where asked for:
 * <ul>
 *   <li>{@code labels array<string>}, {@code probabilities array<double>}: the top k, most probable first
 *       (softmax of the logits in double, as {@code VitOutput.topK});</li>
 *   <li>{@code embedding array<float>}: the pre-logits (the final LayerNorm's class token, [D]);</li>
 *   <li>{@code logits array<float>}: the raw logits;</li>
 *   <li>{@code error string}: null, or the one-line reason the image could not be read (then the other
 *       added columns are null). With {@link Builder#failFast} the first such image fails the job instead.</li>
 * </ul>
 * The results equal {@code VisionTransformer.forward} on the same backend bit for bit (the kernels compute
 * each image's row on its own, whatever else is in the batch).
 *
 * <p>Immutable and serializable: Spark ships it to the executors inside the task.
 */
public final class VitInference implements Serializable {
    private static final long serialVersionUID = 1L;

    public static final String LABELS = "labels";
    public static final String PROBABILITIES = "probabilities";
    public static final String EMBEDDING = "embedding";
    public static final String LOGITS = "logits";
    public static final String ERROR = "error";

    final String weights;
    final String backend;
    final ElementType precision;
    final int topK;
    final boolean embeddings;
    final boolean logits;
    final int batchSize;
    final boolean failFast;
    final String contentColumn;
    final String pathColumn;

    private VitInference(Builder b) {
        this.weights = b.weights;
        this.backend = b.backend;
        this.precision = b.precision;
        this.topK = b.topK;
        this.embeddings = b.embeddings;
        this.logits = b.logits;
        this.batchSize = b.batchSize;
        this.failFast = b.failFast;
        this.contentColumn = b.contentColumn;
        this.pathColumn = b.pathColumn;
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * {@code input} with the image bytes column dropped and the result columns added. Reads the bytes
     * column ({@code content} by default) where the input has one, else the path column ({@code path}),
     * which then names files each executor can read (a local or shared file system, or any Hadoop file
     * system URI such as {@code hdfs://}). Lazy, like any transformation.
     */
    public Dataset<Row> transform(Dataset<Row> input) {
        StructType in = input.schema();
        List<String> names = Arrays.asList(in.fieldNames());
        int contentIndex = names.indexOf(contentColumn);
        int pathIndex = names.indexOf(pathColumn);
        if (contentIndex < 0 && pathIndex < 0) {
            throw new Vit4jException("VitInference: the input has neither an image bytes column '" + contentColumn
                    + "' nor a path column '" + pathColumn + "' (it has " + names
                    + "); expected spark.read().format(\"binaryFile\") or a string column of paths");
        }
        if (contentIndex >= 0 && !in.fields()[contentIndex].dataType().equals(DataTypes.BinaryType)) {
            throw new Vit4jException("VitInference: column '" + contentColumn + "' is " + in.fields()[contentIndex].dataType()
                    .simpleString() + ", expected binary (image file bytes)");
        }
        if (pathIndex >= 0 && !in.fields()[pathIndex].dataType().equals(DataTypes.StringType)) {
            throw new Vit4jException("VitInference: column '" + pathColumn + "' is " + in.fields()[pathIndex].dataType()
                    .simpleString() + ", expected string (an image file path)");
        }
        for (String added : resultColumns()) {
            if (names.contains(added)) {
                throw new Vit4jException("VitInference: the input already has a column '" + added
                        + "', which the results would replace; rename or drop it first");
            }
        }
        StructType out = outputSchema(in, contentIndex);
        PartitionRunner runner = new PartitionRunner(this, in.size(), contentIndex, pathIndex);
        return input.mapPartitions(runner, Encoders.row(out));
    }

    /** The names of the columns {@link #transform} adds, in order. */
    public List<String> resultColumns() {
        List<String> out = new ArrayList<>();
        if (topK > 0) {
            out.add(LABELS);
            out.add(PROBABILITIES);
        }
        if (embeddings) out.add(EMBEDDING);
        if (logits) out.add(LOGITS);
        out.add(ERROR);
        return out;
    }

    StructType outputSchema(StructType in, int contentIndex) {
        List<StructField> fields = new ArrayList<>();
        for (int i = 0; i < in.size(); i++) if (i != contentIndex) fields.add(in.fields()[i]);
        if (topK > 0) {
            fields.add(DataTypes.createStructField(LABELS, DataTypes.createArrayType(DataTypes.StringType, false), true));
            fields.add(DataTypes.createStructField(PROBABILITIES, DataTypes.createArrayType(DataTypes.DoubleType, false), true));
        }
        if (embeddings) {
            fields.add(DataTypes.createStructField(EMBEDDING, DataTypes.createArrayType(DataTypes.FloatType, false), true));
        }
        if (logits) {
            fields.add(DataTypes.createStructField(LOGITS, DataTypes.createArrayType(DataTypes.FloatType, false), true));
        }
        fields.add(DataTypes.createStructField(ERROR, DataTypes.StringType, true));
        return DataTypes.createStructType(fields);
    }

    /** The executor-side model this configuration names on {@code choice}'s device. */
    ExecutorModels.Key modelKey(DeviceChoice choice) {
        return new ExecutorModels.Key(weights, choice.backend(), choice.device(), precision);
    }

    @Override
    public String toString() {
        return "VitInference[weights=" + (weights == null ? "embedded digits model" : weights) + ", backend=" + backend
                + ", precision=" + precision.label() + ", top=" + topK + ", embeddings=" + embeddings + ", logits=" + logits
                + ", batch=" + batchSize + ", failFast=" + failFast + "]";
    }

    /** Settings of a {@link VitInference}; every one has a default. */
    public static final class Builder {
        private String weights;
        private String backend = "auto";
        private ElementType precision = ElementType.F32;
        private int topK = 5;
        private boolean embeddings;
        private boolean logits;
        private int batchSize = 32;
        private boolean failFast;
        private String contentColumn = "content";
        private String pathColumn = "path";

        private Builder() {}

        /**
         * A safetensors checkpoint (file or Hugging Face directory, config.json beside it) readable at this
         * path on every executor, or the name of a file shipped with {@code spark-submit --files}; null
         * (the default) for the embedded digits model.
         */
        public Builder weights(String weights) {
            this.weights = weights;
            return this;
        }

        /**
         * The backend ("auto", "cpu", "opencl", "cuda", "cuda-cpu") where Spark assigned the task no GPU;
         * where it did, "auto" and "cuda" run on that GPU (see {@link DeviceChoice}). Default "auto".
         */
        public Builder backend(String backend) {
            this.backend = Objects.requireNonNull(backend, "backend").toLowerCase(Locale.ROOT);
            return this;
        }

        /** Storage precision of weights and activations (default fp32). */
        public Builder precision(ElementType precision) {
            this.precision = Objects.requireNonNull(precision, "precision");
            return this;
        }

        /** The k most probable labels and their probabilities; 0 adds no such columns. Default 5. */
        public Builder topK(int k) {
            if (k < 0) throw new Vit4jException("VitInference: topK must be >= 0, got " + k);
            this.topK = k;
            return this;
        }

        /** Adds the pre-logits embedding column. Default off. */
        public Builder embeddings(boolean on) {
            this.embeddings = on;
            return this;
        }

        /** Adds the raw logits column. Default off. */
        public Builder logits(boolean on) {
            this.logits = on;
            return this;
        }

        /** Images per forward pass inside a partition (default 32). */
        public Builder batchSize(int n) {
            if (n < 1) throw new Vit4jException("VitInference: batchSize must be >= 1, got " + n);
            this.batchSize = n;
            return this;
        }

        /** Whether an unreadable image fails the job (its task) instead of giving an error row. Default off. */
        public Builder failFast(boolean on) {
            this.failFast = on;
            return this;
        }

        /** The binary column of image file bytes (default "content", as binaryFile names it). */
        public Builder contentColumn(String name) {
            this.contentColumn = Objects.requireNonNull(name, "contentColumn");
            return this;
        }

        /** The string column naming each image (default "path"); read as a file when there are no bytes. */
        public Builder pathColumn(String name) {
            this.pathColumn = Objects.requireNonNull(name, "pathColumn");
            return this;
        }

        public VitInference build() {
            if (topK == 0 && !embeddings && !logits) {
                throw new Vit4jException("VitInference: nothing to compute; expected topK >= 1, embeddings or logits");
            }
            return new VitInference(this);
        }
    }
}
