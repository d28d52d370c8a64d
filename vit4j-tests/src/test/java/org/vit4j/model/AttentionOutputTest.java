package org.vit4j.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SortedMap;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.vit4j.ElementType;
import org.vit4j.Golden;
import org.vit4j.HostTensor;
import org.vit4j.Numerics;
import org.vit4j.Vit4jException;
import org.vit4j.backend.Backend;
import org.vit4j.backend.DevicesUnderTest;
import org.vit4j.backend.cpu.CpuBackend;
import org.vit4j.io.checkpoint.CheckpointLoader;
import org.vit4j.io.checkpoint.ConfigOverrides;
import org.vit4j.io.checkpoint.LoadedModel;
import org.vit4j.io.checkpoint.SafetensorsFile;
import org.vit4j.model.analysis.AttentionRollout;
import org.vit4j.model.analysis.MeanAttentionDistance;
import org.vit4j.model.analysis.PositionEmbeddingSimilarity;

/**
 * Issue 14 end to end: the attention probabilities a forward pass returns on request, on every device,
 * and the rollout, mean attention distance and position-embedding similarity computed from them,
 * against PyTorch's float64 (nn.MultiheadAttention's own weights on the golden checkpoints,
 * scripts/python/make_attention_golden.py) within 1e-5 relative L2: vit-odd (30 px, 5 x 5 grid of
 * patch 6, 3 heads of 24) and vit-tiny at 48 px (its position embedding resized from 4 x 4 to 6 x 6).
 */
class AttentionOutputTest {
    private static final double BUDGET = 1e-5;

    /** case, image size (null: the checkpoint's), input name, golden file. */
    private static final String[][] CASES = {
        {"vit-odd", null, "io.safetensors", "input", "attention.safetensors"},
        {"vit-tiny", "48", "io-resized.safetensors", "input48", "attention-48.safetensors"},
    };

    private static final CpuBackend CPU = new CpuBackend();

    /** The cpu backend (the reference itself, also held to PyTorch here) and every device under test. */
    static List<Named<Supplier<Backend>>> withCpu() {
        List<Named<Supplier<Backend>>> all = new ArrayList<>();
        all.add(Named.of("cpu", () -> CPU));
        all.addAll(DevicesUnderTest.all());
        return all;
    }

    static Stream<Arguments> devicesAndCases() {
        List<Arguments> out = new ArrayList<>();
        for (Named<Supplier<Backend>> b : withCpu()) {
            for (String[] c : CASES) out.add(Arguments.of(b, c[0], c[1], c[2], c[3], c[4]));
        }
        return out.stream();
    }

    private static LoadedModel load(String caseName, String size) {
        return CheckpointLoader.load(Golden.file(caseName, "model.safetensors"), null,
                size == null ? ConfigOverrides.NONE : new ConfigOverrides(null, Integer.parseInt(size), null));
    }

    private static void close(String what, float[] got, float[] want) {
        double err = Numerics.relativeL2(got, want);
        assertTrue(err <= BUDGET, what + ": relative L2 " + err + " > " + BUDGET);
    }

    /** Each row of {@code tokens} probabilities sums to 1 within 1e-6 (summed in double). */
    static void assertRowsSumToOne(String who, float[] probs, int tokens) {
        double worst = 0;
        for (int r = 0; r < probs.length / tokens; r++) {
            double sum = 0;
            for (int s = 0; s < tokens; s++) sum += probs[r * tokens + s];
            worst = Math.max(worst, Math.abs(sum - 1));
        }
        assertTrue(worst <= 1e-6, who + ": a probability row sums to 1 +- " + worst + " (budget 1e-6)");
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("devicesAndCases")
    void attentionsAndAnalysesMatchPyTorch(Supplier<Backend> device, String caseName, String size, String ioFile,
            String inputName, String goldenFile) {
        Backend be = device.get();
        LoadedModel model = load(caseName, size);
        VitConfig c = model.config();
        try (SafetensorsFile io = SafetensorsFile.open(Golden.file(caseName, ioFile));
                SafetensorsFile golden = SafetensorsFile.open(Golden.file(caseName, goldenFile));
                VisionTransformer vit = new VisionTransformer(model.weights(), be)) {
            HostTensor input = io.read(inputName);
            VitOutput plain = vit.forward(input);
            assertTrue(plain.attentions().isEmpty(), "a default pass returns no attentions");
            VitOutput out = vit.forward(input, ForwardOptions.attentions());
            assertEquals(c.depth(), out.attentions().size());
            int n = c.tokens();
            for (int i = 0; i < c.depth(); i++) {
                HostTensor a = out.attention(i);
                assertArrayEquals(new int[] {input.dim(0), c.heads(), n, n}, a.shape());
                assertEquals(ElementType.F32, a.dtype());
                close(be.name() + " " + caseName + " attentions." + i, a.data(), golden.readFloats("attentions." + i));
                assertRowsSumToOne(be.name(), a.data(), n);
            }
            // asking for the probabilities changes nothing else
            assertArrayEquals(plain.logits().data(), out.logits().data(), be.name() + ": logits with and without attentions");
            HostTensor rollout = AttentionRollout.of(out, c);
            assertArrayEquals(new int[] {input.dim(0), c.gridSize(), c.gridSize()}, rollout.shape());
            close(be.name() + " " + caseName + " attention_rollout", rollout.data(), golden.readFloats("attention_rollout"));
            SortedMap<Integer, double[]> distance = MeanAttentionDistance.of(out, c);
            float[] flat = new float[c.depth() * c.heads()];
            distance.forEach((block, perHead) -> {
                for (int h = 0; h < perHead.length; h++) flat[block * c.heads() + h] = (float) perHead[h];
            });
            close(be.name() + " " + caseName + " mean_attention_distance", flat, golden.readFloats("mean_attention_distance"));
            HostTensor sim = PositionEmbeddingSimilarity.of(model.weights());
            assertArrayEquals(new int[] {c.gridSize() * c.gridSize(), c.gridSize(), c.gridSize()}, sim.shape());
            close(caseName + " pos_embed_similarity", sim.data(), golden.readFloats("pos_embed_similarity"));
            // chosen blocks only, and the same values
            VitOutput one = vit.forward(input, ForwardOptions.attentions(c.depth() - 1));
            assertEquals(List.of(c.depth() - 1), List.copyOf(one.attentions().keySet()));
            assertArrayEquals(out.attention(c.depth() - 1).data(), one.attention(c.depth() - 1).data());
        }
    }

    static Stream<Arguments> halfCases() {
        List<Arguments> out = new ArrayList<>();
        for (Named<Supplier<Backend>> b : withCpu()) {
            for (ElementType t : new ElementType[] {ElementType.BF16, ElementType.F16}) out.add(Arguments.of(b, t));
        }
        return out.stream();
    }

    /** In bf16 and fp16 the probabilities still come back float32, rows summing to 1, near PyTorch's float64. */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("halfCases")
    void halfPrecisionModelsReturnFloat32Probabilities(Supplier<Backend> device, ElementType type) {
        Backend be = device.get();
        if (!be.supports(type)) return; // which backends run which types: HalfKernelParityTest
        LoadedModel model = load("vit-odd", null);
        try (SafetensorsFile io = SafetensorsFile.open(Golden.file("vit-odd", "io.safetensors"));
                SafetensorsFile golden = SafetensorsFile.open(Golden.file("vit-odd", "attention.safetensors"));
                VisionTransformer vit = new VisionTransformer(model.weights(), be, type)) {
            VitOutput out = vit.forward(io.read("input"), ForwardOptions.attentions());
            double budget = type == ElementType.BF16 ? 5e-2 : 1e-2;
            for (int i = 0; i < model.config().depth(); i++) {
                HostTensor a = out.attention(i);
                assertEquals(ElementType.F32, a.dtype());
                assertRowsSumToOne(be.name() + " " + type.label(), a.data(),
                        model.config().tokens());
                double err = Numerics.relativeL2(a.data(), golden.readFloats("attentions." + i));
                assertTrue(err <= budget && err > 0, be.name() + " " + type.label() + " attentions." + i + ": " + err);
            }
        }
    }

    @Test
    void askingForABlockThatDoesNotExistIsAOneLineError() {
        LoadedModel model = load("vit-odd", null);
        try (SafetensorsFile io = SafetensorsFile.open(Golden.file("vit-odd", "io.safetensors"));
                CpuBackend cpu = new CpuBackend();
                VisionTransformer vit = new VisionTransformer(model.weights(), cpu)) {
            HostTensor input = io.read("input");
            Vit4jException e = assertThrows(Vit4jException.class, () -> vit.forward(input, ForwardOptions.attentions(0, 2)));
            assertEquals("attentions: block 2 does not exist: the model has 2 blocks (0 to 1)", e.getMessage());
            assertThrows(Vit4jException.class, () -> ForwardOptions.attentions(-1));
            assertThrows(Vit4jException.class, () -> ForwardOptions.attentions(new int[0]));
            VitOutput out = vit.forward(input, ForwardOptions.attentions(1));
            Vit4jException notAsked = assertThrows(Vit4jException.class, () -> out.attention(0));
            assertTrue(notAsked.getMessage().contains("block 0 was not asked for"), notAsked.getMessage());
            Vit4jException rollout = assertThrows(Vit4jException.class, () -> AttentionRollout.of(out, model.config()));
            assertTrue(rollout.getMessage().contains("block 0 is missing"), rollout.getMessage());
        }
    }
}
