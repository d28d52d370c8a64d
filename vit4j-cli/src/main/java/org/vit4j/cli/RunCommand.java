package org.vit4j.cli;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import org.vit4j.HostTensor;
import org.vit4j.backend.Backend;
import org.vit4j.io.checkpoint.CheckpointException;
import org.vit4j.io.checkpoint.LoadedModel;
import org.vit4j.io.checkpoint.SafetensorsFile;
import org.vit4j.io.checkpoint.SafetensorsWriter;
import org.vit4j.model.ForwardOptions;
import org.vit4j.model.VisionTransformer;
import org.vit4j.model.VitConfig;
import org.vit4j.model.VitOutput;
import org.vit4j.model.analysis.AttentionRollout;
import org.vit4j.model.analysis.MeanAttentionDistance;
import org.vit4j.model.analysis.PositionEmbeddingSimilarity;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The parity entry point: tensor {@code input} [B, C, H, W] float32 in, {@code logits}
 * [B, classes] and {@code pre_logits} [B, D] float32 out. Keep it exactly so: other tools drive it.
 * With {@code --output-attentions} it adds, all float32: {@code attentions.{i}} [B, heads, N, N] for every
 * block i (0-based), {@code attention_rollout} [B, grid, grid], {@code mean_attention_distance}
 * [depth, heads] (pixels) and {@code pos_embed_similarity} [grid * grid, grid, grid].
 */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = "Run a checkpoint on the tensor 'input' of a safetensors file; write 'logits' and 'pre_logits'.")
final class RunCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model;

    @Option(names = "--input", required = true, paramLabel = "IN", description = "safetensors file with tensor 'input' [B,C,H,W]")
    Path input;

    @Option(names = "--output", required = true, paramLabel = "OUT", description = "safetensors file to write")
    Path output;

    @Option(names = "--output-attentions", description = "also write attentions.{i} [B,H,N,N] for every block, "
            + "attention_rollout [B,grid,grid], mean_attention_distance [depth,heads] and pos_embed_similarity "
            + "[grid*grid,grid,grid], float32")
    boolean outputAttentions;

    @Override
    public Integer call() {
        if (model.weights == null) {
            throw new CheckpointException("run: --weights is required (the parity entry point runs a given checkpoint)");
        }
        LoadedModel loaded = model.load();
        HostTensor images;
        try (SafetensorsFile in = SafetensorsFile.open(input)) {
            if (!in.contains("input")) {
                throw new CheckpointException(input + ": no tensor named 'input' (expected [B, C, H, W] float32); has "
                        + in.names());
            }
            images = in.read("input");
        }
        try (Backend backend = model.openBackend();
                VisionTransformer vit = new VisionTransformer(loaded.weights(), backend, model.precision())) {
            VitOutput out = vit.forward(images, outputAttentions ? ForwardOptions.attentions() : ForwardOptions.DEFAULT);
            Map<String, HostTensor> tensors = new LinkedHashMap<>();
            if (out.logits() != null) tensors.put("logits", out.logits());
            tensors.put("pre_logits", out.preLogits());
            if (outputAttentions) {
                VitConfig c = loaded.config();
                out.attentions().forEach((block, a) -> tensors.put("attentions." + block, a));
                tensors.put("attention_rollout", AttentionRollout.of(out, c));
                float[] distance = new float[c.depth() * c.heads()];
                MeanAttentionDistance.of(out, c).forEach((block, perHead) -> {
                    for (int h = 0; h < perHead.length; h++) distance[block * c.heads() + h] = (float) perHead[h];
                });
                tensors.put("mean_attention_distance", new HostTensor(distance, new int[] {c.depth(), c.heads()}));
                tensors.put("pos_embed_similarity", PositionEmbeddingSimilarity.of(loaded.weights()));
            }
            SafetensorsWriter.write(output, tensors, Map.of("backend", backend.name(), "weights", String.valueOf(model.weights)));
            System.err.printf("vit4j run: %d images through %s on %s -> %s%n", images.dim(0), loaded.source(),
                    backend.name(), output);
        }
        return 0;
    }
}
