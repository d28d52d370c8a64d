package org.vit4j.digits;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.vit4j.HostTensor;
import org.vit4j.Vit4jException;
import org.vit4j.model.VisionTransformer;
import org.vit4j.io.checkpoint.CheckpointLoader;
import org.vit4j.io.checkpoint.LoadedModel;
import org.vit4j.io.checkpoint.SafetensorsFile;

/**
 * The model shipped inside the jar, so that vit4j shows real output with no download: a small ViT
 * trained by {@code scripts/python/train_digits.py} on scikit-learn's 8x8 handwritten digits, with
 * its held-out test split and one sample image per digit.
 */
public final class EmbeddedDefaultModel {
    private static final String ROOT = "/org/vit4j/default-model/";
    private static final String[] FILES = {"model.safetensors", "config.json", "digits-test.safetensors"};

    private EmbeddedDefaultModel() {}

    /** The resources copied to a private temporary folder (the reader memory-maps files). */
    public static Path extract() {
        try {
            Path dir = Files.createTempDirectory("vit4j-default-model");
            dir.toFile().deleteOnExit();
            for (String f : FILES) copy(ROOT + f, dir.resolve(f));
            Path samples = Files.createDirectory(dir.resolve("samples"));
            samples.toFile().deleteOnExit();
            for (int digit = 0; digit <= 9; digit++) {
                copy(ROOT + "samples/" + sampleName(digit), samples.resolve(sampleName(digit)));
            }
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot extract the embedded default model", e);
        }
    }

    private static String sampleName(int digit) {
        return "digit-" + digit + ".png";
    }

    private static void copy(String resource, Path to) throws IOException {
        try (InputStream in = EmbeddedDefaultModel.class.getResourceAsStream(resource)) {
            if (in == null) throw new Vit4jException("the jar lacks resource " + resource + ": a broken build");
            Files.copy(in, to, StandardCopyOption.REPLACE_EXISTING);
        }
        to.toFile().deleteOnExit();
    }

    public static LoadedModel load(Path extracted) {
        return CheckpointLoader.load(extracted.resolve("model.safetensors"));
    }

    /** The shipped sample images, digit-0.png to digit-9.png. */
    public static List<Path> samples(Path extracted) {
        try (var s = Files.list(extracted.resolve("samples"))) {
            List<Path> out = new ArrayList<>(s.toList());
            out.sort(Comparator.comparing(Path::toString));
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Accuracy on the held-out digits, recomputed by running {@code model} on all of them. */
    public static Accuracy heldOutAccuracy(Path extracted, VisionTransformer model) {
        try (SafetensorsFile test = SafetensorsFile.open(extracted.resolve("digits-test.safetensors"))) {
            HostTensor images = test.read("images");
            float[] labels = test.readFloats("labels");
            float[] logits = model.forward(images).logits().data();
            int classes = model.config().numClasses();
            int correct = 0;
            for (int i = 0; i < labels.length; i++) {
                int best = 0;
                for (int c = 1; c < classes; c++) if (logits[i * classes + c] > logits[i * classes + best]) best = c;
                if (best == (int) labels[i]) correct++;
            }
            return new Accuracy(correct, labels.length);
        }
    }

    public record Accuracy(int correct, int total) {
        public double fraction() {
            return (double) correct / total;
        }
    }
}
