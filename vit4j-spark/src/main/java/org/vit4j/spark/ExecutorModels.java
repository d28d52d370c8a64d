package org.vit4j.spark;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.SparkFiles;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.vit4j.ElementType;
import org.vit4j.Vit4jException;
import org.vit4j.backend.Backend;
import org.vit4j.backend.Backends;
import org.vit4j.digits.EmbeddedDefaultModel;
import org.vit4j.io.checkpoint.CheckpointLoader;
import org.vit4j.io.checkpoint.LoadedModel;
import org.vit4j.model.VisionTransformer;

/**
 * The models of this JVM (a Spark executor, or the driver in local mode): one per (weights, backend,
 * device, precision), opened by the first task that needs it and shared by every later task and every
 * task slot (a model runs one pass at a time and is safe to call from any thread), closed with its
 * backend when the JVM exits. Loading a checkpoint and uploading its weights is the expensive part, so it
 * happens once per executor, not once per partition.
 */
final class ExecutorModels {
    private static final Logger LOG = LoggerFactory.getLogger(ExecutorModels.class);
    private static final Map<Key, Loaded> MODELS = new HashMap<>();
    private static boolean hookInstalled;

    private ExecutorModels() {}

    record Key(String weights, String backend, int device, ElementType precision) {}

    /** A model on its device, with the checkpoint's labels and preprocessing. */
    record Loaded(LoadedModel checkpoint, Backend backend, VisionTransformer model) {}

    /** The model for {@code key}, opened now if this JVM has none yet. */
    static synchronized Loaded get(Key key) {
        Loaded m = MODELS.get(key);
        if (m != null) return m;
        if (!hookInstalled) {
            Runtime.getRuntime().addShutdownHook(new Thread(ExecutorModels::closeAll, "vit4j-spark-models-close"));
            hookInstalled = true;
        }
        long t0 = System.nanoTime();
        LoadedModel checkpoint = key.weights() == null ? EmbeddedDefaultModel.load(EmbeddedDefaultModel.extract())
                : CheckpointLoader.load(locate(key.weights()));
        Backend backend = Backends.open(key.backend(), key.device());
        try {
            m = new Loaded(checkpoint, backend, new VisionTransformer(checkpoint.weights(), backend, key.precision()));
        } catch (RuntimeException | Error e) {
            backend.close();
            throw e;
        }
        MODELS.put(key, m);
        LOG.info("vit4j: opened {} on {} device {} ({}) in {} ms", checkpoint.source(), backend.name(), key.device(),
                backend.deviceName(), (System.nanoTime() - t0) / 1_000_000);
        return m;
    }

    /**
     * {@code weights} as a local path: as given where it exists here, else a file of that name shipped with
     * {@code spark-submit --files} (SparkFiles). Otherwise the loader's own error names the path.
     */
    static Path locate(String weights) {
        Path p = Path.of(weights);
        if (Files.exists(p)) return p;
        try {
            Path shipped = Path.of(SparkFiles.get(p.getFileName().toString()));
            if (Files.exists(shipped)) return shipped;
        } catch (RuntimeException notInSpark) {
            // no SparkEnv (outside an executor): only the path as given
        }
        if (!Files.exists(p)) {
            throw new Vit4jException("--weights " + weights + ": no such file or directory on this executor ("
                    + hostName() + "), nor shipped with spark-submit --files; expected a safetensors checkpoint every executor can read");
        }
        return p;
    }

    private static String hostName() {
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            return "unknown host";
        }
    }

    /** Closes every model and its backend (the shutdown hook; tests call it to check nothing leaks). */
    static synchronized void closeAll() {
        List<Loaded> all = new ArrayList<>(MODELS.values());
        MODELS.clear();
        for (Loaded m : all) {
            try {
                m.model().close();
            } finally {
                m.backend().close();
            }
        }
    }

    /** How many models this JVM holds (tests). */
    static synchronized int size() {
        return MODELS.size();
    }
}
