package org.vit4j.cli;

import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.vit4j.HostTensor;
import org.vit4j.Vit4jException;
import org.vit4j.backend.Backend;
import org.vit4j.digits.EmbeddedDefaultModel;
import org.vit4j.io.image.ImagePreprocessor;
import org.vit4j.io.image.Preprocessing;
import org.vit4j.io.checkpoint.LoadedModel;
import org.vit4j.model.Predictions;
import org.vit4j.model.VisionTransformer;
import org.vit4j.model.VitConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * Classifies images, files or whole directories, and writes one record per image with its top
 * classes and their softmax probabilities ({@link Records}). An image that cannot be read is a
 * record with its error, and the rest still run; the exit status is then 2.
 */
@Command(name = "classify", mixinStandardHelpOptions = true,
        description = {"Classify PNG or JPEG images: files, and directories searched recursively for *.png, *.jpg and "
                + "*.jpeg (any case), each directory's images in sorted order (by relative path, name by name). With no "
                + "--weights, the embedded digits model (and, with no images, its shipped samples) and its held-out "
                + "accuracy.",
                "One record per image: its top K classes with softmax probabilities, or why it could not be read; "
                        + "the other images still run. Exit status: 0 when every image was classified, 2 when any "
                        + "could not be (its record says why) or the run itself could not start."})
final class ClassifyCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model;

    @Option(names = "--top", paramLabel = "K", defaultValue = "3", description = "classes per image (default: ${DEFAULT-VALUE})")
    int top;

    @Option(names = "--batch-size", paramLabel = "N",
            description = "images per forward pass; the images are read and run N at a time, so memory stays bounded "
                    + "however many are given (default: sized to the device: the most images, up to "
                    + VisionTransformer.MAX_SUGGESTED_BATCH + ", whose activations with the weights fit in half of the "
                    + "backend's memory: --memory-cap, else the memory the OpenCL or CUDA device reports, the Java heap for cpu)")
    Integer batchSize;

    @Option(names = "--format", paramLabel = "F", defaultValue = "text",
            description = "text (PATH: LABEL (P), ...; errors on stderr), jsonl (one JSON object per image: path and top "
                    + "[{label, index, probability}], or path and error) or csv (path,label_1,probability_1,...,error; "
                    + "RFC 4180 quoting) (default: ${DEFAULT-VALUE})")
    String format;

    @Option(names = "--progress", negatable = true,
            description = "a progress bar on stderr (default: only where stderr is a terminal, and after a second)")
    Boolean progress;

    @Option(names = "--read-threads", paramLabel = "T",
            description = "threads that read and prepare images, a batch ahead of the one running (default: the "
                    + "number of CPUs); the records come in input order whatever the number")
    Integer readThreads;

    @Parameters(paramLabel = "IMAGE", arity = "0..*", description = "PNG or JPEG files, or directories of them")
    List<Path> images = new ArrayList<>();

    @Override
    public Integer call() {
        if (top < 1) throw new Vit4jException("--top must be >= 1, got " + top);
        if (readThreads != null && readThreads < 1) {
            throw new Vit4jException("--read-threads must be >= 1, got " + readThreads);
        }
        if (batchSize != null && batchSize < 1) throw new Vit4jException("--batch-size must be >= 1, got " + batchSize);
        Records.Format fmt = Records.Format.parse(format);
        try (Backend backend = model.openBackend()) {
            boolean embedded = model.weights == null;
            Path extracted = embedded ? EmbeddedDefaultModel.extract() : null;
            List<ImageInputs.Input> inputs;
            if (embedded) model.weights = extracted.resolve("model.safetensors");
            if (embedded && images.isEmpty()) { // the samples by file name, as the README shows them
                inputs = EmbeddedDefaultModel.samples(extracted).stream()
                        .map(p -> new ImageInputs.Input(p, p.getFileName().toString(), null)).toList();
            } else {
                inputs = ImageInputs.expand(images);
            }
            if (images.isEmpty() && !embedded) throw new Vit4jException("classify: no IMAGE given");
            if (inputs.isEmpty()) {
                throw new Vit4jException("classify: no images in " + images + " (directories are searched for "
                        + String.join(", ", ImageInputs.EXTENSIONS.stream().map(e -> "*." + e).toList()) + ")");
            }
            LoadedModel loaded = model.load();
            if (loaded.config().numClasses() == 0) {
                throw new Vit4jException(loaded.source() + ": this checkpoint has no classification head; use "
                        + "'vit4j run' for its embeddings");
            }
            try (VisionTransformer vit = new VisionTransformer(loaded.weights(), backend, model.precision())) {
                int batch = batchSize != null ? batchSize
                        : vit.batchSizeFor(backend.memoryCapacity(), VisionTransformer.MAX_SUGGESTED_BATCH);
                int k = Math.min(top, loaded.config().numClasses());
                Records out = Records.of(fmt, System.out, System.err, k);
                int failed;
                try (ProgressBar bar = new ProgressBar(System.err, inputs.size(),
                        progress != null ? progress : ProgressBar.stderrIsTerminal())) {
                    failed = classify(inputs, vit, loaded, batch, k, out, bar,
                            readThreads != null ? readThreads : Runtime.getRuntime().availableProcessors());
                }
                out.finish();
                if (embedded && fmt == Records.Format.TEXT) {
                    EmbeddedDefaultModel.Accuracy acc = EmbeddedDefaultModel.heldOutAccuracy(extracted, vit);
                    VitConfig c = vit.config();
                    System.out.printf(Locale.ROOT, "model: embedded default, a ViT (%d blocks, D=%d, %d heads, patch %d)"
                            + " trained on scikit-learn's 8x8 digits%nheld-out accuracy: %.1f%% (%d of %d test digits),"
                            + " computed now on %s%n", c.depth(), c.hiddenSize(), c.heads(), c.patchSize(),
                            100 * acc.fraction(), acc.correct(), acc.total(),
                            backend.name() + (vit.precision() == org.vit4j.ElementType.F32 ? "" : " in " + vit.precision().label()));
                }
                if (failed > 0 && fmt != Records.Format.TEXT) {
                    System.err.println("vit4j: error: " + failed + " of " + inputs.size() + " images could not be "
                            + "classified (see their records)");
                }
                return failed > 0 ? Main.EXIT_BAD_INPUT : 0;
            }
        }
    }

    /** An image read and prepared, or why it could not be. */
    private record Read(float[] pixels, String error) {}

    private static Read read(ImageInputs.Input in, Preprocessing p) {
        if (in.error() != null) return new Read(null, in.error());
        try {
            return new Read(ImagePreprocessor.toTensor(in.path(), p), null);
        } catch (Vit4jException | UncheckedIOException e) {
            return new Read(null, e.getMessage() == null ? e.toString() : e.getMessage());
        }
    }

    /**
     * Reads the images on {@code readThreads} threads, a batch and a few ahead of the one running,
     * runs them {@code batch} at a time and writes their records in input order; an image that
     * cannot be read or prepared is an error record. Returns how many failed.
     */
    private static int classify(List<ImageInputs.Input> inputs, VisionTransformer vit, LoadedModel loaded, int batch,
            int k, Records out, ProgressBar bar, int readThreads) {
        VitConfig c = loaded.config();
        int per = c.channels() * c.imageHeight() * c.imageWidth();
        float[] pixels = new float[Math.multiplyExact(per, batch)];
        List<ImageInputs.Input> pending = new ArrayList<>(); // in input order: read images and failed ones
        List<String> errors = new ArrayList<>();             // per pending input: null where it was read
        int ready = 0, failed = 0, done = 0;
        ExecutorService readers = Executors.newFixedThreadPool(readThreads, r -> {
            Thread t = new Thread(r, "vit4j-classify-reader");
            t.setDaemon(true);
            return t;
        });
        Deque<Future<Read>> ahead = new ArrayDeque<>();
        int submitted = 0, lookahead = batch + readThreads;
        try {
            for (int i = 0; i < inputs.size(); i++) {
                while (submitted < inputs.size() && ahead.size() < lookahead) {
                    ImageInputs.Input next = inputs.get(submitted++);
                    ahead.add(readers.submit(() -> read(next, loaded.preprocessing())));
                }
                ImageInputs.Input in = inputs.get(i);
                Read r = ahead.remove().get();
                String error = r.error();
                if (error == null) System.arraycopy(r.pixels(), 0, pixels, ready++ * per, per);
                pending.add(in);
                errors.add(error);
                if (error != null) failed++;
                // Run a full batch; write failures at once where no read image waits before them.
                if (ready == batch || i == inputs.size() - 1 || ready == 0) {
                    List<Predictions> preds = ready == 0 ? List.of() : vit.forward(new HostTensor(
                            ready == batch ? pixels : java.util.Arrays.copyOf(pixels, ready * per),
                            new int[] {ready, c.channels(), c.imageHeight(), c.imageWidth()})).topK(k, loaded.labels());
                    if (errors.stream().anyMatch(e -> e != null)) bar.clear(); // error lines may go to stderr
                    int next = 0;
                    for (int j = 0; j < pending.size(); j++) {
                        if (errors.get(j) == null) out.image(pending.get(j).display(), preds.get(next++));
                        else out.error(pending.get(j).display(), errors.get(j));
                    }
                    done += pending.size();
                    pending.clear();
                    errors.clear();
                    ready = 0;
                    bar.update(done, failed);
                }
            }
        } catch (ExecutionException e) { // not one of the documented errors: a fault, reported as such
            if (e.getCause() instanceof RuntimeException re) throw re;
            if (e.getCause() instanceof Error err) throw err;
            throw new IllegalStateException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Vit4jException("classify: interrupted");
        } finally {
            readers.shutdownNow();
        }
        return failed;
    }
}
