package org.vit4j.io.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vit4j.Golden;
import org.vit4j.HostTensor;
import org.vit4j.Vit4jException;
import org.vit4j.backend.cpu.CpuBackend;
import org.vit4j.model.VisionTransformer;
import org.vit4j.io.image.ImageException;
import org.vit4j.io.image.ImageLoader;
import org.vit4j.io.image.Preprocessing;

/**
 * Checkpoints that are wrong in one way each: every error names the file and the tensor or key at
 * fault and what was expected. Built from the vit-tiny golden weights (D 64, 2 blocks, 4 heads).
 */
class CheckpointLoaderTest {
    @TempDir
    Path dir;

    private Map<String, HostTensor> tensors;

    @BeforeEach
    void readGoldenWeights() {
        tensors = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(Golden.file("vit-tiny", "model.safetensors"))) {
            for (String n : f.names()) tensors.put(n, f.read(n));
        }
    }

    private Path write(Map<String, HostTensor> t) {
        Path p = dir.resolve("model.safetensors");
        SafetensorsWriter.write(p, t, Map.of());
        return p;
    }

    private Path config(String json) throws IOException {
        return Files.writeString(dir.resolve("config.json"), json);
    }

    private static final String HEADS = "{\"num_attention_heads\": 4}";

    private CheckpointException fails(Path weights) {
        return assertThrows(CheckpointException.class, () -> CheckpointLoader.load(weights));
    }

    private static void says(Exception e, String... parts) {
        for (String p : parts) assertTrue(e.getMessage().contains(p), "'" + p + "' not in: " + e.getMessage());
    }

    @Test
    void loadsWithShapesInferredAndHeadsFromConfig() throws IOException {
        config(HEADS);
        LoadedModel m = CheckpointLoader.load(write(tensors));
        assertEquals(64, m.config().hiddenSize());
        assertEquals(2, m.config().depth());
        assertEquals(4, m.config().heads());
        assertEquals(128, m.config().mlpSize());
        assertEquals(32, m.config().imageSize());
        assertEquals(8, m.config().patchSize());
        assertEquals(10, m.config().numClasses());
        assertEquals("class_3", m.labels().get(3));
    }

    @Test
    void headsAreRequiredWhenNothingStatesThem() {
        says(fails(write(tensors)), "model.safetensors", "attention heads", "--heads");
    }

    @Test
    void headsFromTheCommandLineWork() {
        LoadedModel m = CheckpointLoader.load(write(tensors), null, new ConfigOverrides(4, null, null));
        assertEquals(4, m.config().heads());
    }

    @Test
    void hiddenSizeNotDivisibleByHeads() {
        Vit4jException e = assertThrows(Vit4jException.class,
                () -> CheckpointLoader.load(write(tensors), null, new ConfigOverrides(3, null, null)));
        says(e, "D = 64", "heads = 3");
    }

    @Test
    void missingTensor() throws IOException {
        config(HEADS);
        tensors.remove("blocks.1.mlp.fc2.bias");
        says(fails(write(tensors)), "model.safetensors", "missing tensor 'blocks.1.mlp.fc2.bias'", "[64]");
    }

    @Test
    void misshapenTensor() throws IOException {
        config(HEADS);
        tensors.put("blocks.0.attn.proj.weight", new HostTensor(new float[64 * 63], new int[] {64, 63}));
        says(fails(write(tensors)), "model.safetensors", "'blocks.0.attn.proj.weight'", "[64, 63]", "expected [64, 64]");
    }

    @Test
    void misshapenTensorIsNamedInTheCheckpointsOwnNaming() {
        Map<String, HostTensor> hf = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(Golden.file("vit-odd", "model-hf.safetensors"))) {
            for (String n : f.names()) hf.put(n, f.read(n));
        }
        hf.put("classifier.weight", new HostTensor(new float[7 * 71], new int[] {7, 71}));
        says(assertThrows(CheckpointException.class,
                () -> CheckpointLoader.load(write(hf), null, new ConfigOverrides(3, null, null))),
                "model.safetensors", "'classifier.weight'", "[7, 71]", "expected [7, 72]");
        hf.remove("vit.encoder.layer.1.attention.attention.key.bias");
        hf.remove("classifier.weight");
        says(assertThrows(CheckpointException.class,
                () -> CheckpointLoader.load(write(hf), null, new ConfigOverrides(3, null, null))),
                "model.safetensors", "missing tensor 'vit.encoder.layer.1.attention.attention.key.bias'");
    }

    @Test
    void misshapenPositionEmbedding() throws IOException {
        config(HEADS);
        tensors.put("pos_embed", new HostTensor(new float[18 * 64], new int[] {1, 18, 64}));
        says(fails(write(tensors)), "model.safetensors", "'pos_embed'", "18 tokens");
    }

    @Test
    void blocksWithAGap() throws IOException {
        config(HEADS);
        Map<String, HostTensor> renamed = new LinkedHashMap<>();
        tensors.forEach((k, v) -> renamed.put(k.replace("blocks.1.", "blocks.2."), v));
        says(fails(write(renamed)), "model.safetensors", "block 1 is absent");
    }

    @Test
    void unknownTensorIsNotIgnored() throws IOException {
        config(HEADS);
        tensors.put("blocks.0.ls1.gamma", new HostTensor(new float[64], new int[] {64}));
        says(fails(write(tensors)), "model.safetensors", "blocks.0.ls1.gamma", "refusing to ignore");
    }

    @Test
    void notAViTCheckpoint() {
        Path p = write(Map.of("conv1.weight", new HostTensor(new float[4], new int[] {4})));
        says(fails(p), "model.safetensors", "not a ViT checkpoint", "patch_embed.proj.weight");
    }

    @Test
    void configThatDisagreesWithTheTensors() throws IOException {
        config("{\"num_attention_heads\": 4, \"hidden_size\": 768}");
        says(fails(write(tensors)), "config.json", "hidden_size is 768", "64");
        config("{\"num_attention_heads\": 4, \"num_hidden_layers\": 12}");
        says(fails(write(tensors)), "config.json", "num_hidden_layers is 12", "2");
    }

    @Test
    void configThatIsNotJson() throws IOException {
        config("{\"num_attention_heads\": 4,");
        says(fails(write(tensors)), "config.json", "cannot read config");
        config("{\"num_attention_heads\": \"four\"}");
        says(fails(write(tensors)), "config.json", "'num_attention_heads' should be an integer");
    }

    @Test
    void labelCountMustMatchTheHead() throws IOException {
        config("{\"num_attention_heads\": 4, \"id2label\": {\"0\": \"cat\", \"1\": \"dog\"}}");
        says(fails(write(tensors)), "config.json", "number of labels is 2", "10");
    }

    @Test
    void missingFiles() {
        says(fails(dir.resolve("nope.safetensors")), "nope.safetensors", "not found");
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> CheckpointLoader.load(write(tensors), dir.resolve("none.json"), ConfigOverrides.NONE));
        says(e, "none.json", "not found");
    }

    @Test
    void inputOfTheWrongSize() throws IOException {
        config(HEADS);
        LoadedModel m = CheckpointLoader.load(write(tensors));
        try (CpuBackend cpu = new CpuBackend(); VisionTransformer vit = new VisionTransformer(m.weights(), cpu)) {
            Vit4jException e = assertThrows(Vit4jException.class,
                    () -> vit.forward(new HostTensor(new float[2 * 3 * 31 * 31], new int[] {2, 3, 31, 31})));
            says(e, "input", "[B, 3, 32, 32]", "[2, 3, 31, 31]");
            e = assertThrows(Vit4jException.class,
                    () -> vit.forward(new HostTensor(new float[32 * 32], new int[] {1, 1, 32, 32})));
            says(e, "[1, 1, 32, 32]");
            assertEquals(m.weights().all().size(), cpu.liveBuffers(), "a refused input allocates nothing");
        }
    }

    @Test
    void preprocessingFromTimmPretrainedCfg() throws IOException {
        config("{\"architecture\": \"vit_tiny_patch16_224\", \"num_attention_heads\": 4, \"pretrained_cfg\": "
                + "{\"mean\": [0.485, 0.456, 0.406], \"std\": [0.229, 0.224, 0.225], \"crop_pct\": 0.875, "
                + "\"interpolation\": \"bilinear\"}}");
        Preprocessing p = CheckpointLoader.load(write(tensors)).preprocessing();
        assertEquals(0.875, p.cropPct());
        assertEquals(0.229f, p.std()[0]);
        assertEquals(Preprocessing.Interpolation.BILINEAR, p.interpolation());
        assertEquals(Preprocessing.ResizeMode.SHORTEST_SIDE_CENTER_CROP, p.resizeMode());
    }

    @Test
    void preprocessingFromHuggingFaceProcessorConfig() throws IOException {
        config(HEADS);
        Files.writeString(dir.resolve("preprocessor_config.json"),
                "{\"image_mean\": [0.5, 0.5, 0.5], \"image_std\": [0.25, 0.25, 0.25], \"resample\": 2}");
        Preprocessing p = CheckpointLoader.load(write(tensors)).preprocessing();
        assertEquals(0.25f, p.std()[2]);
        assertEquals(Preprocessing.Interpolation.BILINEAR, p.interpolation());
        assertEquals(Preprocessing.ResizeMode.DIRECT, p.resizeMode());
    }

    // ---- values checked (issue 12): non-finite weights, a qkv bias missing in one block, non-finite pixels ----

    @Test
    void aNonFiniteWeightIsAnErrorNamingTensorAndElementUnlessAllowed() throws IOException {
        config(HEADS);
        float[] fc1 = tensors.get("blocks.1.mlp.fc1.weight").data().clone();
        fc1[37] = Float.NaN;
        tensors.put("blocks.1.mlp.fc1.weight", new HostTensor(fc1, tensors.get("blocks.1.mlp.fc1.weight").shape()));
        Path p = write(tensors);
        says(fails(p), "model.safetensors", "blocks.1.mlp.fc1.weight", "NaN at element 37", "--allow-non-finite-weights");
        LoadedModel m = CheckpointLoader.load(p, null, ConfigOverrides.NONE.withNonFiniteWeightsAllowed());
        assertTrue(Float.isNaN(m.weights().get("blocks.1.mlp.fc1.weight").data()[37]));
    }

    @Test
    void anInfinityInABf16CheckpointIsFoundWithoutWideningIt() throws IOException {
        config(HEADS);
        float[] head = tensors.get("head.weight").data().clone();
        head[5] = Float.NEGATIVE_INFINITY;
        tensors.put("head.weight", new HostTensor(head, tensors.get("head.weight").shape()));
        Path p = dir.resolve("model.safetensors");
        SafetensorsWriter.write(p, tensors, Map.of(), org.vit4j.ElementType.BF16);
        says(fails(p), "head.weight", "-Infinity at element 5");
    }

    @Test
    void aQkvBiasMissingInOneBlockIsAnError() throws IOException {
        config(HEADS);
        tensors.remove("blocks.1.attn.qkv.bias");
        says(fails(write(tensors)), "blocks.1.attn.qkv.bias", "1 of 2 blocks have a qkv bias");
        tensors.remove("blocks.0.attn.qkv.bias"); // none at all is timm's qkv_bias=False: fine
        assertEquals(2, CheckpointLoader.load(write(tensors)).config().depth());
    }

    @Test
    void aNonFinitePixelIsAnErrorNamingWhereItIs() throws IOException {
        config(HEADS);
        LoadedModel m = CheckpointLoader.load(write(tensors));
        float[] px = new float[2 * 3 * 32 * 32];
        java.util.Arrays.fill(px, 0.25f);
        px[1 * 3 * 32 * 32 + 2 * 32 * 32 + 5 * 32 + 7] = Float.POSITIVE_INFINITY;
        try (org.vit4j.backend.cpu.CpuBackend cpu = new org.vit4j.backend.cpu.CpuBackend();
                org.vit4j.model.VisionTransformer vit = new org.vit4j.model.VisionTransformer(m.weights(), cpu)) {
            org.vit4j.Vit4jException e = assertThrows(org.vit4j.Vit4jException.class,
                    () -> vit.forward(new HostTensor(px, new int[] {2, 3, 32, 32})));
            says(e, "input: Infinity at image 1, channel 2, y 5, x 7");
            // NaN and -infinity too (the check's first pass is a max of magnitudes, where NaN must not get lost)
            px[1 * 3 * 32 * 32 + 2 * 32 * 32 + 5 * 32 + 7] = 0.25f;
            px[3 * 32 + 31] = Float.NaN;
            e = assertThrows(org.vit4j.Vit4jException.class, () -> vit.forward(new HostTensor(px, new int[] {2, 3, 32, 32})));
            says(e, "input: NaN at image 0, channel 0, y 3, x 31");
            px[3 * 32 + 31] = 0.25f;
            px[2 * 3 * 32 * 32 - 1] = Float.NEGATIVE_INFINITY;
            e = assertThrows(org.vit4j.Vit4jException.class, () -> vit.forward(new HostTensor(px, new int[] {2, 3, 32, 32})));
            says(e, "input: -Infinity at image 1, channel 2, y 31, x 31");
            // A batch past 1M values (700 images, 2.15M) is checked in parallel chunks: a NaN in the last
            // chunk and one in the middle chunk are found, the first of them named
            float[] big = new float[700 * 3 * 32 * 32];
            java.util.Arrays.fill(big, 0.5f);
            big[big.length - 2] = Float.NaN;
            e = assertThrows(org.vit4j.Vit4jException.class, () -> vit.forward(new HostTensor(big, new int[] {700, 3, 32, 32})));
            says(e, "input: NaN at image 699, channel 2, y 31, x 30");
            big[1_500_000] = Float.POSITIVE_INFINITY; // image 488: 1_500_000 - 488 * 3072 = 864 = channel 0, y 27, x 0
            e = assertThrows(org.vit4j.Vit4jException.class, () -> vit.forward(new HostTensor(big, new int[] {700, 3, 32, 32})));
            says(e, "input: Infinity at image 488, channel 0, y 27, x 0");
        }
    }

    // ---- the probes of issue 12 that ended in a stack trace: now one-line errors ----

    @Test
    void aBlockIndexPastIntIsAnErrorNotANumberFormatException() throws IOException {
        config(HEADS);
        tensors.put("blocks.2147483648.norm1.weight", tensors.get("norm.weight"));
        says(fails(write(tensors)), "block index 2147483648", "expected 0..99999");
    }

    @Test
    void aScalarPartOfASplitTensorIsAnError() throws IOException {
        Map<String, HostTensor> hf = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(Golden.file("vit-odd", "model-hf.safetensors"))) {
            for (String n : f.names()) hf.put(n, f.read(n));
        }
        String q = hf.keySet().stream().filter(n -> n.endsWith("attention.attention.query.bias")).findFirst().orElseThrow();
        hf.put(q, new HostTensor(new float[] {1f}, new int[0]));
        Files.copy(Golden.file("vit-odd", "config.json"), dir.resolve("config.json"));
        says(fails(write(hf)), q, "is a scalar (shape [])");
    }

    @Test
    void anImageSizeThatWouldOverflowIsAnError() throws IOException {
        config(HEADS);
        Path p = write(tensors);
        org.vit4j.Vit4jException e = assertThrows(org.vit4j.Vit4jException.class,
                () -> CheckpointLoader.load(p, null, new ConfigOverrides(null, 65536, null)));
        says(e, "image size 65536", "tokens", "more than vit4j runs");
    }

    @Test
    void outOfRangeConfigValuesAreErrors() throws IOException {
        config("{\"num_attention_heads\": 4, \"layer_norm_eps\": 1e308}");
        says(assertThrows(org.vit4j.Vit4jException.class, () -> CheckpointLoader.load(write(tensors))),
                "layerNormEps must be in (0, 1]");
        for (String crop : new String[] {"1e-4", "1e-9"}) {
            config("{\"num_attention_heads\": 4, \"crop_pct\": " + crop + "}");
            says(assertThrows(org.vit4j.Vit4jException.class, () -> CheckpointLoader.load(write(tensors))),
                    "cropPct is " + Double.parseDouble(crop), "[0.05, 4]");
        }
        config("{\"num_attention_heads\": 4, \"image_std\": [1e-45, 0.5, 0.5]}");
        says(assertThrows(org.vit4j.Vit4jException.class, () -> CheckpointLoader.load(write(tensors))), "std");
    }

    /** A named pipe as weights or as an image: an error at once, not a read that waits forever. */
    @Test
    void aNamedPipeIsAnErrorNotAHang() throws Exception {
        Path fifo = dir.resolve("pipe");
        org.junit.jupiter.api.Assumptions.assumeTrue(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor() == 0,
                "mkfifo is not available");
        org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(10), () -> {
            says(assertThrows(CheckpointException.class, () -> CheckpointLoader.load(fifo)), "pipe", "not a regular file");
            says(assertThrows(ImageException.class, () -> ImageLoader.read(fifo)), "pipe", "not a regular file");
            says(assertThrows(CheckpointException.class, () -> ModelConfigFile.read(fifo)), "pipe", "not a regular file");
        });
    }
}
