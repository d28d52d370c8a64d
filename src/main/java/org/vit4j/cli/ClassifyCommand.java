package org.vit4j.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.vit4j.Vit4jException;
import org.vit4j.backend.Backend;
import org.vit4j.io.EmbeddedDefaultModel;
import org.vit4j.io.ImagePreprocessor;
import org.vit4j.io.LoadedModel;
import org.vit4j.model.VisionTransformer;
import org.vit4j.model.VitConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** Classifies images and prints the top classes with their softmax probabilities. */
@Command(name = "classify", mixinStandardHelpOptions = true,
        description = "Classify PNG or JPEG images. With no --weights, the embedded digits model (and, with no "
                + "images, its shipped samples) and its held-out accuracy.")
final class ClassifyCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model;

    @Option(names = "--top", paramLabel = "K", defaultValue = "3", description = "classes to print per image (default: ${DEFAULT-VALUE})")
    int top;

    @Option(names = "--batch-size", paramLabel = "N", defaultValue = "16",
            description = "images per forward pass; the images are read and run N at a time, so memory stays bounded "
                    + "however many are given (default: ${DEFAULT-VALUE})")
    int batchSize;

    @Parameters(paramLabel = "IMAGE", arity = "0..*", description = "PNG or JPEG files")
    List<Path> images = new ArrayList<>();

    @Override
    public Integer call() {
        if (top < 1) throw new Vit4jException("--top must be >= 1, got " + top);
        if (batchSize < 1) throw new Vit4jException("--batch-size must be >= 1, got " + batchSize);
        try (Backend backend = model.openBackend()) {
            boolean embedded = model.weights == null;
            Path extracted = embedded ? EmbeddedDefaultModel.extract() : null;
            if (embedded) {
                model.weights = extracted.resolve("model.safetensors");
                if (images.isEmpty()) images = EmbeddedDefaultModel.samples(extracted);
            }
            if (images.isEmpty()) throw new Vit4jException("classify: no IMAGE given");
            LoadedModel loaded = model.load();
            if (loaded.config().numClasses() == 0) {
                throw new Vit4jException(loaded.source() + ": this checkpoint has no classification head; use "
                        + "'vit4j run' for its embeddings");
            }
            try (VisionTransformer vit = new VisionTransformer(loaded.weights(), backend, model.precision())) {
                int classes = loaded.config().numClasses();
                for (int from = 0; from < images.size(); from += batchSize) {
                    List<Path> part = images.subList(from, Math.min(images.size(), from + batchSize));
                    float[] logits = vit.forward(ImagePreprocessor.loadBatch(part, loaded.preprocessing())).logits().data();
                    for (int i = 0; i < part.size(); i++) {
                        System.out.println(part.get(i).getFileName() + ": "
                                + topClasses(logits, i * classes, classes, loaded.labels()));
                    }
                }
                if (embedded) {
                    EmbeddedDefaultModel.Accuracy acc = EmbeddedDefaultModel.heldOutAccuracy(extracted, vit);
                    VitConfig c = vit.config();
                    System.out.printf(Locale.ROOT, "model: embedded default, a ViT (%d blocks, D=%d, %d heads, patch %d)"
                            + " trained on scikit-learn's 8x8 digits%nheld-out accuracy: %.1f%% (%d of %d test digits),"
                            + " computed now on %s%n", c.depth(), c.hiddenSize(), c.heads(), c.patchSize(),
                            100 * acc.fraction(), acc.correct(), acc.total(),
                            backend.name() + (vit.precision() == org.vit4j.ElementType.F32 ? "" : " in " + vit.precision().label()));
                }
            }
        }
        return 0;
    }

    private String topClasses(float[] logits, int offset, int classes, List<String> labels) {
        // Softmax in double, shifted by the max so that exp cannot overflow.
        double max = Double.NEGATIVE_INFINITY;
        for (int c = 0; c < classes; c++) max = Math.max(max, logits[offset + c]);
        double[] p = new double[classes];
        double total = 0;
        for (int c = 0; c < classes; c++) total += p[c] = Math.exp(logits[offset + c] - max);
        Integer[] order = new Integer[classes];
        for (int c = 0; c < classes; c++) order[c] = c;
        java.util.Arrays.sort(order, (a, b) -> Double.compare(p[b], p[a]));
        StringBuilder s = new StringBuilder();
        for (int k = 0; k < Math.min(top, classes); k++) {
            if (k > 0) s.append(", ");
            s.append(String.format(Locale.ROOT, "%s (%.3f)", labels.get(order[k]), p[order[k]] / total));
        }
        return s.toString();
    }
}
