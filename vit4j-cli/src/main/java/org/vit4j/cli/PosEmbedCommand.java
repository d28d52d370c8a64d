package org.vit4j.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.vit4j.HostTensor;
import org.vit4j.Vit4jException;
import org.vit4j.digits.EmbeddedDefaultModel;
import org.vit4j.io.checkpoint.LoadedModel;
import org.vit4j.model.VitConfig;
import org.vit4j.model.analysis.PositionEmbeddingSimilarity;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** The similarity of the learned position embeddings as the ViT paper draws it (Fig. 7 centre). */
@Command(name = "posembed", mixinStandardHelpOptions = true,
        description = {"Draw the cosine similarity of the position embeddings (the paper's Fig. 7, centre): one tile per "
                + "patch position, its similarity with every other position, one colour scale for all tiles. With no "
                + "--weights, the embedded digits model. Needs no backend: the embeddings are read from the checkpoint "
                + "(resized first with --image-size)."})
final class PosEmbedCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model;

    @Option(names = "--out", paramLabel = "F.png", defaultValue = "posembed.png",
            description = "the PNG to write (default: ${DEFAULT-VALUE})")
    Path out;

    @Override
    public Integer call() throws Exception {
        Fonts.require("posembed"); // before the model runs: the pictures' labels need a font
        boolean embedded = model.weights == null;
        if (embedded) model.weights = EmbeddedDefaultModel.extract().resolve("model.safetensors");
        LoadedModel loaded = loadWithGrid(model, "position-embedding pictures");
        VitConfig c = loaded.config();
        HostTensor sim = PositionEmbeddingSimilarity.of(loaded.weights());
        Path parent = out.toAbsolutePath().getParent();
        if (parent != null) Files.createDirectories(parent);
        AttentionPictures.posEmbed(out, String.format(Locale.ROOT, "Position embedding similarity, %s (%d x %d patches)",
                embedded ? "embedded digits model" : loaded.source(), c.gridHeight(), c.gridWidth()),
                sim.toFloats(), c.gridHeight(), c.gridWidth());
        System.out.println(out);
        return 0;
    }

    /**
     * The model the options name, checked to have a position embedding of a patch grid; the loader's own
     * error about {@code pos_embed} (missing, not a grid) is prefixed with what the pictures need.
     */
    static LoadedModel loadWithGrid(ModelOptions model, String what) {
        LoadedModel loaded;
        try {
            loaded = model.load();
        } catch (Vit4jException e) {
            String m = String.valueOf(e.getMessage());
            if (!m.contains("pos_embed")) throw e;
            throw new Vit4jException(what + " need a position embedding of a patch grid, expected pos_embed "
                    + "[1, 1 + gridH * gridW, D] (a class token and the patches; square, or as config.json's image_size "
                    + "[height, width] states): " + m);
        }
        checkGrid(loaded, what);
        return loaded;
    }

    /** The checkpoint's position embedding, checked to be a class token's and a patch grid's. */
    static HostTensor checkGrid(LoadedModel loaded, String what) {
        VitConfig c = loaded.config();
        HostTensor pe = loaded.weights().get("pos_embed");
        int[] want = {1, 1 + c.gridHeight() * c.gridWidth(), c.hiddenSize()};
        if (pe == null || !Arrays.equals(pe.shape(), want)) {
            throw new Vit4jException(loaded.source() + ": " + what + " need a position embedding of a patch grid: "
                    + "expected pos_embed " + Arrays.toString(want) + " (a class token and a " + c.gridHeight() + " x "
                    + c.gridWidth() + " grid), got " + (pe == null ? "none" : Arrays.toString(pe.shape())));
        }
        return pe;
    }
}
