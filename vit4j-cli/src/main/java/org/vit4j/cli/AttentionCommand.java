package org.vit4j.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import org.vit4j.HostTensor;
import org.vit4j.Vit4jException;
import org.vit4j.backend.Backend;
import org.vit4j.digits.EmbeddedDefaultModel;
import org.vit4j.io.checkpoint.LoadedModel;
import org.vit4j.io.image.ImagePreprocessor;
import org.vit4j.io.image.Preprocessing;
import org.vit4j.model.ForwardOptions;
import org.vit4j.model.Predictions;
import org.vit4j.model.VisionTransformer;
import org.vit4j.model.VitConfig;
import org.vit4j.model.VitOutput;
import org.vit4j.model.analysis.AttentionRollout;
import org.vit4j.model.analysis.MeanAttentionDistance;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * Attention pictures: for each image a PNG of the preprocessed image, its attention rollout (over the
 * image and alone, with a colour scale) and the class token's attention in each head of the last block;
 * and one PNG of the mean attention distance per block and head over all the images.
 */
@Command(name = "attention", mixinStandardHelpOptions = true,
        description = {"Draw attention maps: for each image IMAGE-attention.png (the preprocessed image, the attention "
                + "rollout over it and alone with its colour scale, and the class token's attention per head of the last "
                + "block), and mean-attention-distance.png (pixels per block and head, over all the images). With no "
                + "--weights, the embedded digits model (and, with no images, its shipped samples)."})
final class AttentionCommand implements Callable<Integer> {
    /** Images per forward pass (each keeps every block's [B, heads, N, N] probabilities on the host). */
    private static final int CHUNK = 16;

    @Mixin
    ModelOptions model;

    @Option(names = "--out", paramLabel = "DIR", defaultValue = ".",
            description = "folder for the PNGs, created if missing (default: the current folder)")
    Path out;

    @Parameters(paramLabel = "IMAGE", arity = "0..*", description = "PNG or JPEG files, or directories of them")
    List<Path> images = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        Fonts.require("attention"); // before the model runs: the pictures' labels need a font
        boolean embedded = model.weights == null;
        List<ImageInputs.Input> inputs;
        if (embedded) {
            Path extracted = EmbeddedDefaultModel.extract();
            model.weights = extracted.resolve("model.safetensors");
            inputs = images.isEmpty() ? EmbeddedDefaultModel.samples(extracted).stream()
                    .map(p -> new ImageInputs.Input(p, p.getFileName().toString(), null)).toList()
                    : ImageInputs.expand(images);
        } else {
            if (images.isEmpty()) throw new Vit4jException("attention: no IMAGE given (expected PNG or JPEG files)");
            inputs = ImageInputs.expand(images);
        }
        if (inputs.isEmpty()) throw new Vit4jException("attention: no images in " + images + " (expected PNG or JPEG files)");
        LoadedModel loaded = PosEmbedCommand.loadWithGrid(model, "attention maps");
        VitConfig c = loaded.config();
        Preprocessing pre = loaded.preprocessing();
        int per = c.channels() * c.imageHeight() * c.imageWidth();
        List<float[]> pixels = new ArrayList<>();
        for (ImageInputs.Input in : inputs) {
            if (in.error() != null) throw new Vit4jException(in.display() + ": " + in.error());
            try {
                pixels.add(ImagePreprocessor.toTensor(in.path(), pre));
            } catch (Vit4jException e) { // an unreadable image: its one-line error, saying what was expected
                String m = String.valueOf(e.getMessage());
                throw new Vit4jException(m.contains("expected") ? m : m + ", expected a PNG or JPEG image");
            }
        }
        Files.createDirectories(out);
        int patches = c.numPatches(), heads = c.heads(), last = c.depth() - 1, n = 1 + patches;
        SortedMap<Integer, double[]> distance = new TreeMap<>();
        Set<String> used = new HashSet<>();
        try (Backend backend = model.openBackend();
                VisionTransformer vit = new VisionTransformer(loaded.weights(), backend, model.precision())) {
            for (int start = 0; start < inputs.size(); start += CHUNK) {
                int b = Math.min(CHUNK, inputs.size() - start);
                float[] batch = new float[b * per];
                for (int i = 0; i < b; i++) System.arraycopy(pixels.get(start + i), 0, batch, i * per, per);
                VitOutput o = vit.forward(new HostTensor(batch, new int[] {b, c.channels(), c.imageHeight(), c.imageWidth()}),
                        ForwardOptions.attentions());
                float[] rollout = AttentionRollout.of(o, c).toFloats();
                float[] lastProbs = o.attention(last).toFloats();
                final int weight = b;
                MeanAttentionDistance.of(o, c).forEach((block, perHead) -> {
                    double[] sum = distance.computeIfAbsent(block, k -> new double[heads]);
                    for (int h = 0; h < heads; h++) sum[h] += perHead[h] * weight;
                });
                List<Predictions> preds = o.logits() == null ? null : o.topK(1, loaded.labels());
                for (int i = 0; i < b; i++) {
                    ImageInputs.Input in = inputs.get(start + i);
                    float[] shown = pixels.get(start + i).clone();
                    int plane = c.imageHeight() * c.imageWidth();
                    for (int k = 0; k < shown.length; k++) {
                        int ch = k / plane;
                        shown[k] = shown[k] * pre.std()[ch] + pre.mean()[ch];
                    }
                    float[] headMaps = new float[heads * patches];
                    for (int h = 0; h < heads; h++) {
                        int row = ((i * heads + h) * n) * n; // query 0: the class token
                        System.arraycopy(lastProbs, row + 1, headMaps, h * patches, patches);
                    }
                    float[] roll = java.util.Arrays.copyOfRange(rollout, i * patches, (i + 1) * patches);
                    String title = in.display();
                    if (preds != null) {
                        Predictions.Prediction top = preds.get(i).best();
                        title += String.format(Locale.ROOT, ": predicted %s (%.3f)", top.label(), top.probability());
                    }
                    Path png = out.resolve(unique(stem(in.path()) + "-attention", used) + ".png");
                    AttentionPictures.attention(png, title, shown, c.channels(), c.imageHeight(), c.imageWidth(),
                            c.gridHeight(), c.gridWidth(), roll, last, headMaps, heads);
                    System.out.println(png);
                }
            }
        }
        for (double[] sum : distance.values()) for (int h = 0; h < heads; h++) sum[h] /= inputs.size();
        Path png = out.resolve("mean-attention-distance.png");
        AttentionPictures.distance(png, String.format(Locale.ROOT, "Mean attention distance, %s (%d images, patch %d px)",
                embedded ? "embedded digits model" : loaded.source(), inputs.size(), c.patchSize()), distance, heads);
        System.out.println(png);
        return 0;
    }

    private static String stem(Path p) {
        String name = p.getFileName().toString();
        int dot = name.lastIndexOf('.');
        return dot > 0 ? name.substring(0, dot) : name;
    }

    private static String unique(String name, Set<String> used) {
        String s = name;
        for (int k = 2; !used.add(s); k++) s = name + "-" + k;
        return s;
    }
}
