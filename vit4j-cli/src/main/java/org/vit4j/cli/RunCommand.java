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
import org.vit4j.model.VisionTransformer;
import org.vit4j.model.VitOutput;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The parity entry point: tensor {@code input} [B, C, H, W] float32 in, {@code logits}
 * [B, classes] and {@code pre_logits} [B, D] float32 out. Keep it exactly so: other tools drive it.
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
            VitOutput out = vit.forward(images);
            Map<String, HostTensor> tensors = new LinkedHashMap<>();
            if (out.logits() != null) tensors.put("logits", out.logits());
            tensors.put("pre_logits", out.preLogits());
            SafetensorsWriter.write(output, tensors, Map.of("backend", backend.name(), "weights", String.valueOf(model.weights)));
            System.err.printf("vit4j run: %d images through %s on %s -> %s%n", images.dim(0), loaded.source(),
                    backend.name(), output);
        }
        return 0;
    }
}
