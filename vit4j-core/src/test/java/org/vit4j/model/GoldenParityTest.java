package org.vit4j.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vit4j.Golden.FP32_TOLERANCE;
import static org.vit4j.Numerics.assertClose;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.vit4j.Golden;
import org.vit4j.HostTensor;
import org.vit4j.Numerics;
import org.vit4j.backend.cpu.CpuBackend;
import org.vit4j.io.checkpoint.CheckpointLoader;
import org.vit4j.io.checkpoint.ConfigOverrides;
import org.vit4j.io.checkpoint.LoadedModel;
import org.vit4j.io.checkpoint.SafetensorsFile;

/**
 * The CPU reference against torchvision's ViT run in float64 on the same random weights
 * (scripts/python/make_golden.py): the embeddings, block 0's output, pre-logits and logits, through
 * checkpoints in each naming, and with the position embedding resized to other image sizes.
 */
class GoldenParityTest {

    @ParameterizedTest(name = "{0}/{1}")
    @CsvSource({
        "vit-tiny, model.safetensors",
        "vit-odd, model.safetensors",
        "vit-odd, model-torchvision.safetensors",
        "vit-odd, model-hf.safetensors",
        "vit-ti16-224, model.safetensors",
        // Written by the real timm and transformers (scripts/python/make_golden_timm_hf.py), their own names.
        "timm-vit-odd, model.safetensors",
        "hf-vit-odd, model.safetensors",
    })
    void referenceMatchesPyTorch(String caseName, String weights) {
        LoadedModel model = CheckpointLoader.load(Golden.file(caseName, weights));
        Map<String, HostTensor> seen = new HashMap<>();
        Map<String, HostTensor> expected = new HashMap<>();
        try (SafetensorsFile io = SafetensorsFile.open(Golden.file(caseName, "io.safetensors"));
                CpuBackend cpu = new CpuBackend();
                VisionTransformer vit = new VisionTransformer(model.weights(), cpu)) {
            for (String name : io.names()) expected.put(name, io.read(name));
            long weightsOnly = cpu.liveBuffers();
            vit.forward(expected.get("input"), seen::put);
            long afterOne = cpu.liveBuffers();
            vit.forward(expected.get("input"));
            assertEquals(afterOne, cpu.liveBuffers(), "a second pass allocates nothing");
            assertTrue(afterOne > weightsOnly);
            vit.close();
            assertEquals(0, cpu.liveBuffers(), "closing the model releases its weights");
        }
        Map<String, String> observed = Map.of("embeddings", "embeddings", "block0", "blocks.0",
                "pre_logits", "pre_logits", "logits", "logits");
        int compared = 0;
        for (Map.Entry<String, String> e : observed.entrySet()) {
            if (!expected.containsKey(e.getKey())) continue; // the timm/HF cases hold only the outputs
            compare(seen.get(e.getValue()), expected.get(e.getKey()), caseName + " " + e.getKey());
            compared++;
        }
        assertTrue(compared >= 2, "pre_logits and logits at least");
    }

    @ParameterizedTest(name = "vit-tiny at {0} px")
    @CsvSource({"48", "24"})
    void resizedPositionEmbeddingMatchesTimm(int size) {
        LoadedModel model = CheckpointLoader.load(Golden.file("vit-tiny", "model.safetensors"), null,
                new ConfigOverrides(null, size, null));
        assertEquals(size, model.config().imageSize());
        try (SafetensorsFile io = SafetensorsFile.open(Golden.file("vit-tiny", "io-resized.safetensors"));
                CpuBackend cpu = new CpuBackend();
                VisionTransformer vit = new VisionTransformer(model.weights(), cpu)) {
            compare(model.weights().get("pos_embed"), io.read("pos_embed" + size), "resized pos_embed");
            VitOutput out = vit.forward(io.read("input" + size));
            compare(out.preLogits(), io.read("pre_logits" + size), "pre_logits at " + size);
            compare(out.logits(), io.read("logits" + size), "logits at " + size);
        }
    }

    private static void compare(HostTensor actual, HostTensor expected, String what) {
        assertArrayEquals(expected.shape(), actual.shape(), what + " shape");
        System.out.printf("golden %-24s relative L2 error %.2e%n", what, Numerics.relativeL2(actual.data(), expected.data()));
        assertClose(actual.data(), expected.data(), FP32_TOLERANCE, what);
    }
}
