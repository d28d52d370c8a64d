package org.vit4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.vit4j.ElementType;
import org.vit4j.Golden;
import org.vit4j.HostTensor;
import org.vit4j.Numerics;
import org.vit4j.backend.DevicesUnderTest;
import org.vit4j.io.checkpoint.SafetensorsFile;
import org.vit4j.io.checkpoint.SafetensorsWriter;

/**
 * {@code vit4j run --output-attentions} (issue 14): every tensor it adds, float32 and of the documented
 * shape, against PyTorch's float64 (scripts/python/make_attention_golden.py) within 1e-5 relative L2, on
 * every backend the tests run (one per name), for vit-odd and for vit-tiny at 48 px (position embedding
 * resized, 6 x 6 grid).
 */
class RunOutputAttentionsTest {
    @TempDir
    Path dir;

    static Stream<Arguments> backendsAndCases() {
        return Stream.concat(Stream.of("cpu"), DevicesUnderTest.all().stream().map(b -> b.getName())
                .filter(name -> !name.contains("(")))
                .flatMap(name -> Stream.of(Arguments.of(name, "vit-odd"), Arguments.of(name, "vit-tiny")));
    }

    @ParameterizedTest(name = "vit4j run --backend {0} --output-attentions: {1}")
    @MethodSource("backendsAndCases")
    void outputsMatchPyTorch(String backend, String caseName) {
        boolean resized = caseName.equals("vit-tiny");
        Path input;
        if (resized) { // run reads the tensor 'input': the 48 px golden input under that name
            input = dir.resolve("in48.safetensors");
            try (SafetensorsFile io = SafetensorsFile.open(Golden.file(caseName, "io-resized.safetensors"))) {
                SafetensorsWriter.write(input, Map.of("input", io.read("input48")), Map.of());
            }
        } else {
            input = Golden.file(caseName, "io.safetensors");
        }
        Path out = dir.resolve("out.safetensors");
        String[] args = {"run", "--backend", backend, "--weights", Golden.file(caseName, "model.safetensors").toString(),
                "--input", input.toString(), "--output", out.toString(), "--output-attentions"};
        if (resized) {
            args = Stream.concat(Stream.of(args), Stream.of("--image-size", "48")).toArray(String[]::new);
        }
        CliTest.Result r = CliTest.cli(args);
        assertEquals(0, r.status(), r.err());
        int batch = resized ? 2 : 3, heads = resized ? 4 : 3, grid = resized ? 6 : 5, n = 1 + grid * grid, depth = 2;
        try (SafetensorsFile got = SafetensorsFile.open(out);
                SafetensorsFile want = SafetensorsFile.open(
                        Golden.file(caseName, resized ? "attention-48.safetensors" : "attention.safetensors"))) {
            Set<String> names = new TreeSet<>(Set.of("logits", "pre_logits", "attentions.0", "attentions.1",
                    "attention_rollout", "mean_attention_distance", "pos_embed_similarity"));
            assertEquals(names, got.names());
            Map<String, int[]> shapes = Map.of("attentions.0", new int[] {batch, heads, n, n},
                    "attentions.1", new int[] {batch, heads, n, n}, "attention_rollout", new int[] {batch, grid, grid},
                    "mean_attention_distance", new int[] {depth, heads},
                    "pos_embed_similarity", new int[] {grid * grid, grid, grid});
            for (Map.Entry<String, int[]> e : shapes.entrySet()) {
                String name = e.getKey();
                assertEquals(org.vit4j.io.checkpoint.DType.F32, got.info(name).dtype(), name);
                HostTensor g = got.read(name);
                assertEquals(ElementType.F32, g.dtype());
                assertArrayEquals(e.getValue(), g.shape(), name);
                double err = Numerics.relativeL2(g.data(), want.readFloats(name));
                assertTrue(err <= Golden.FP32_TOLERANCE, backend + " " + caseName + " " + name + ": relative L2 " + err);
            }
        }
    }

    /** In bf16 the added tensors are still float32, each probability row sums to 1, near PyTorch's float64. */
    @Test
    void halfPrecisionRunsStillWriteFloat32() {
        Path out = dir.resolve("bf16.safetensors");
        CliTest.Result r = CliTest.cli("run", "--backend", "cpu", "--precision", "bf16", "--weights",
                Golden.file("vit-odd", "model.safetensors").toString(), "--input",
                Golden.file("vit-odd", "io.safetensors").toString(), "--output", out.toString(), "--output-attentions");
        assertEquals(0, r.status(), r.err());
        try (SafetensorsFile got = SafetensorsFile.open(out);
                SafetensorsFile want = SafetensorsFile.open(Golden.file("vit-odd", "attention.safetensors"))) {
            for (String name : new String[] {"attentions.0", "attentions.1", "attention_rollout",
                    "mean_attention_distance", "pos_embed_similarity"}) {
                assertEquals(org.vit4j.io.checkpoint.DType.F32, got.info(name).dtype(), name);
                double err = Numerics.relativeL2(got.readFloats(name), want.readFloats(name));
                assertTrue(err <= 5e-2, "bf16 " + name + ": relative L2 " + err);
            }
            float[] p = got.readFloats("attentions.1");
            int n = 26;
            for (int row = 0; row < p.length / n; row++) {
                double sum = 0;
                for (int s = 0; s < n; s++) sum += p[row * n + s];
                assertEquals(1.0, sum, 1e-6, "row " + row);
            }
        }
    }

    @Test
    void withoutTheFlagRunWritesExactlyLogitsAndPreLogits() {
        Path out = dir.resolve("plain.safetensors");
        CliTest.Result r = CliTest.cli("run", "--backend", "cpu", "--weights",
                Golden.file("vit-odd", "model.safetensors").toString(), "--input",
                Golden.file("vit-odd", "io.safetensors").toString(), "--output", out.toString());
        assertEquals(0, r.status(), r.err());
        try (SafetensorsFile got = SafetensorsFile.open(out)) {
            assertEquals(Set.of("logits", "pre_logits"), got.names());
        }
    }
}
