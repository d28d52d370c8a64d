package org.vit4j.spark;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.vit4j.HostTensor;
import org.vit4j.Vit4jException;
import org.vit4j.io.image.ImagePreprocessor;
import org.vit4j.model.Predictions;
import org.vit4j.model.VitOutput;

/**
 * One partition of {@link VitInference#transform}: reads its rows a batch at a time, decodes and
 * preprocesses each image on its own (a bad one becomes an error row, or with fail-fast the task's
 * failure), runs the readable ones through the executor's model in one forward pass, and hands the rows
 * back in input order. Holds one batch at a time, never the whole partition.
 */
final class PartitionRunner implements MapPartitionsFunction<Row, Row> {
    private static final long serialVersionUID = 1L;
    private static final AtomicLong TEMP_NAMES = new AtomicLong();
    private static Path tempDir;

    private final VitInference vit;
    private final int inputWidth;
    private final int contentIndex;
    private final int pathIndex;

    PartitionRunner(VitInference vit, int inputWidth, int contentIndex, int pathIndex) {
        this.vit = vit;
        this.inputWidth = inputWidth;
        this.contentIndex = contentIndex;
        this.pathIndex = pathIndex;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> rows) {
        DeviceChoice device = DeviceChoice.forCurrentTask(vit.backend);
        return new Iterator<>() {
            private final ArrayDeque<Row> ready = new ArrayDeque<>();
            private ExecutorModels.Loaded model;

            @Override
            public boolean hasNext() {
                while (ready.isEmpty() && rows.hasNext()) {
                    List<Row> batch = new ArrayList<>(vit.batchSize);
                    while (batch.size() < vit.batchSize && rows.hasNext()) batch.add(rows.next());
                    if (model == null) model = ExecutorModels.get(vit.modelKey(device));
                    ready.addAll(run(model, batch));
                }
                return !ready.isEmpty();
            }

            @Override
            public Row next() {
                if (!hasNext()) throw new NoSuchElementException();
                return ready.poll();
            }
        };
    }

    /** The output rows of one batch, in its order. */
    List<Row> run(ExecutorModels.Loaded m, List<Row> batch) {
        int n = batch.size();
        HostTensor[] images = new HostTensor[n];
        String[] errors = new String[n];
        int good = 0;
        for (int i = 0; i < n; i++) {
            try {
                images[i] = preprocess(m, batch.get(i));
                good++;
            } catch (RuntimeException e) {
                String message = oneLine(e);
                if (vit.failFast) throw new Vit4jException(message, e);
                errors[i] = message;
            }
        }
        float[] logits = null;
        float[] preLogits = null;
        int classes = 0;
        int width = 0;
        List<Predictions> top = null;
        if (good > 0) {
            int[] shape = images[firstGood(images)].shape().clone();
            int per = images[firstGood(images)].elementCount();
            float[] data = new float[Math.multiplyExact(per, good)];
            for (int i = 0, at = 0; i < n; i++) {
                if (images[i] == null) continue;
                System.arraycopy(images[i].data(), 0, data, at, per);
                at += per;
            }
            shape[0] = good;
            VitOutput out = m.model().forward(new HostTensor(data, shape));
            logits = out.logits().toFloats();
            preLogits = out.preLogits().toFloats();
            classes = out.logits().dim(1);
            width = out.preLogits().dim(1);
            if (vit.topK > 0) top = Predictions.topK(logits, good, classes, vit.topK, m.checkpoint().labels());
        }
        List<Row> out = new ArrayList<>(n);
        for (int i = 0, g = 0; i < n; i++) {
            Row in = batch.get(i);
            List<Object> values = new ArrayList<>(inputWidth + 5);
            for (int c = 0; c < inputWidth; c++) if (c != contentIndex) values.add(in.get(c));
            boolean ok = images[i] != null;
            if (vit.topK > 0) {
                if (ok) {
                    List<Predictions.Prediction> best = top.get(g).top();
                    String[] labels = new String[best.size()];
                    double[] probabilities = new double[best.size()];
                    for (int k = 0; k < labels.length; k++) {
                        labels[k] = best.get(k).label();
                        probabilities[k] = best.get(k).probability();
                    }
                    values.add(labels);
                    values.add(probabilities);
                } else {
                    values.add(null);
                    values.add(null);
                }
            }
            if (vit.embeddings) values.add(ok ? slice(preLogits, g, width) : null);
            if (vit.logits) values.add(ok ? slice(logits, g, classes) : null);
            values.add(errors[i]);
            if (ok) g++;
            out.add(RowFactory.create(values.toArray()));
        }
        return out;
    }

    private static int firstGood(HostTensor[] images) {
        for (int i = 0; i < images.length; i++) if (images[i] != null) return i;
        throw new IllegalStateException("no readable image");
    }

    private static float[] slice(float[] rows, int row, int width) {
        float[] out = new float[width];
        System.arraycopy(rows, row * width, out, 0, width);
        return out;
    }

    /**
     * The image of {@code row} as [1, C, H, W], preprocessed exactly as {@code ImagePreprocessor.loadBatch}
     * does for the plain Java API (it is that call). Bytes are written to a private temporary file first: the
     * image reader takes files (it checks a file's size against the pixels its header claims), and its
     * messages then name the temporary file, which {@link #oneLine} puts back to the image's own name.
     */
    private HostTensor preprocess(ExecutorModels.Loaded m, Row row) {
        String name = pathIndex >= 0 ? row.getString(pathIndex) : null;
        if (contentIndex >= 0) {
            byte[] bytes = row.isNullAt(contentIndex) ? null : (byte[]) row.get(contentIndex);
            if (bytes == null) throw new Vit4jException(name + ": no image bytes (null content)");
            return viaTempFile(m, name, tmp -> Files.write(tmp, bytes),
                    (e, tmp) -> new UncheckedIOException("cannot write a temporary copy of " + name + " to " + tmp, e));
        }
        if (name == null) throw new Vit4jException("null path: expected an image file path");
        Path local = localPath(name);
        if (local != null) return ImagePreprocessor.loadBatch(List.of(local), m.checkpoint().preprocessing());
        // another file system (hdfs://, s3a://, ...): through Hadoop's, which Spark brings, into a temporary file
        return viaTempFile(m, name, tmp -> {
            org.apache.hadoop.fs.Path hp = new org.apache.hadoop.fs.Path(name);
            try (InputStream in = hp.getFileSystem(new org.apache.hadoop.conf.Configuration()).open(hp)) {
                Files.copy(in, tmp, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
        }, (e, tmp) -> new Vit4jException(name + ": cannot read (" + e.getMessage() + "), expected a readable image file", e));
    }

    /** Writes an image into a file. */
    @FunctionalInterface
    private interface Fill {
        void into(Path tmp) throws IOException;
    }

    /**
     * {@code fill}s a private temporary file and preprocesses it; an I/O error becomes {@code ioError}'s
     * exception, any other names the image instead of the file ({@link #renamed}); the file is deleted.
     */
    private HostTensor viaTempFile(ExecutorModels.Loaded m, String name, Fill fill,
            java.util.function.BiFunction<IOException, Path, RuntimeException> ioError) {
        Path tmp = tempFile();
        try {
            fill.into(tmp);
            return ImagePreprocessor.loadBatch(List.of(tmp), m.checkpoint().preprocessing());
        } catch (IOException e) {
            throw ioError.apply(e, tmp);
        } catch (RuntimeException e) {
            throw renamed(e, tmp, name);
        } finally {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // the directory goes at exit
            }
        }
    }

    /** A local file for {@code name} (a plain path or a file: URI), or null for another file system. */
    static Path localPath(String name) {
        int colon = name.indexOf(':');
        int slash = name.indexOf('/');
        if (colon < 0 || (slash >= 0 && slash < colon)) return Path.of(name);
        if (name.startsWith("file:")) return Path.of(URI.create(name));
        return null;
    }

    private static RuntimeException renamed(RuntimeException e, Path tmp, String name) {
        String msg = e.getMessage() == null ? e.toString() : e.getMessage();
        return new Vit4jException(msg.replace(tmp.toString(), String.valueOf(name)), e);
    }

    private static synchronized Path tempFile() {
        try {
            if (tempDir == null || !Files.isDirectory(tempDir)) {
                tempDir = Files.createTempDirectory("vit4j-spark-images");
                tempDir.toFile().deleteOnExit();
            }
            return tempDir.resolve("image-" + TEMP_NAMES.incrementAndGet());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a temporary directory for image bytes", e);
        }
    }

    /** The exception's message on one line (the first line; the class name where it has none). */
    static String oneLine(Throwable e) {
        String msg = e.getMessage();
        if (msg == null || msg.isBlank()) return e.getClass().getName();
        int nl = msg.indexOf('\n');
        return nl < 0 ? msg : msg.substring(0, nl);
    }
}
