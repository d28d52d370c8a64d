package org.vit4j.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.vit4j.Golden;
import org.vit4j.HostTensor;
import org.vit4j.Numerics;
import org.vit4j.cli.Main;
import org.vit4j.io.CheckpointLoader;
import org.vit4j.io.LoadedModel;
import org.vit4j.io.SafetensorsFile;
import org.vit4j.memory.PoolStats;
import org.vit4j.model.VisionTransformer;

/** The whole encoder on each device backend: golden parity with PyTorch, and the memory pool at work. */
class EncoderOnDeviceTest {
    @TempDir
    Path dir;

    static Stream<Arguments> goldenCases() {
        String[][] cases = {
            {"vit-tiny", "model.safetensors"}, {"vit-odd", "model.safetensors"},
            {"vit-odd", "model-torchvision.safetensors"}, {"vit-odd", "model-hf.safetensors"},
            {"vit-ti16-224", "model.safetensors"}, {"timm-vit-odd", "model.safetensors"},
            {"hf-vit-odd", "model.safetensors"},
        };
        List<Named<Supplier<Backend>>> backends = DevicesUnderTest.all();
        // One per backend name (variants, in parentheses, share it): `vit4j run --backend` takes that name.
        return backends.stream().filter(b -> !b.getName().contains("("))
                .flatMap(b -> Stream.of(cases).map(c -> Arguments.of(b.getName(), c[0], c[1])));
    }

    /** Through the parity entry point, as an outside tool would drive it. */
    @ParameterizedTest(name = "vit4j run --backend {0}: {1}/{2}")
    @MethodSource("goldenCases")
    void runMatchesPyTorch(String backend, String caseName, String weights) {
        Path out = dir.resolve("out.safetensors");
        int status = Main.execute("run", "--backend", backend, "--weights", Golden.file(caseName, weights).toString(),
                "--input", Golden.file(caseName, "io.safetensors").toString(), "--output", out.toString());
        assertEquals(0, status);
        try (SafetensorsFile got = SafetensorsFile.open(out);
                SafetensorsFile want = SafetensorsFile.open(Golden.file(caseName, "io.safetensors"))) {
            for (String name : new String[] {"pre_logits", "logits"}) {
                Numerics.assertClose(got.read(name).data(), want.read(name).data(), Golden.FP32_TOLERANCE,
                        backend + " " + caseName + " " + name);
            }
        }
    }

    static List<Named<Supplier<Backend>>> backends() {
        return DevicesUnderTest.all();
    }

    /** After the first pass, a forward pass is served from the pool: no device allocation at all. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void hundredPassesAllocateNothingAfterTheFirst(Supplier<Backend> device) {
        Backend be = device.get();
        LoadedModel m = CheckpointLoader.load(Golden.file("vit-odd", "model.safetensors"));
        HostTensor input;
        try (SafetensorsFile io = SafetensorsFile.open(Golden.file("vit-odd", "io.safetensors"))) {
            input = io.read("input");
        }
        // A backend may keep scratch of its own between calls (OpenCL's K^T for attention): let it
        // reach its size first, so that what follows counts only the model's buffers.
        try (VisionTransformer warm = new VisionTransformer(m.weights(), be)) {
            warm.forward(input);
        }
        PoolStats beforeModel = be.memoryStats();
        try (VisionTransformer vit = new VisionTransformer(m.weights(), be)) {
            PoolStats weightsOnly = be.memoryStats();
            float[] first = vit.forward(input).logits().data();
            PoolStats afterFirst = be.memoryStats();
            for (int i = 0; i < 99; i++) {
                float[] again = vit.forward(input).logits().data();
                assertEquals(0, Numerics.relativeL2(again, first), "pass " + (i + 2) + " gives the same logits");
            }
            PoolStats after = be.memoryStats();
            assertEquals(afterFirst.misses(), after.misses(), "device allocations after the first pass");
            assertEquals(afterFirst.bytesInUse(), after.bytesInUse(), "passes hold the same buffers");
            assertTrue(after.bytesInUse() > weightsOnly.bytesInUse(), "activations are kept for the next pass");
            assertEquals(after.deviceBytes(), after.bytesInUse() + after.bytesCached(), "stats add up");
        }
        assertEquals(beforeModel.bytesInUse(), be.memoryStats().bytesInUse(), "closing the model returns everything");
    }

    @Test
    void useAfterCloseAndDoubleReleaseAreClearErrors() {
        Backend be = new org.vit4j.backend.opencl.OpenClProvider().probe().available()
                ? org.vit4j.backend.opencl.OpenClBackend.open(0, Map.of()) : null;
        org.junit.jupiter.api.Assumptions.assumeTrue(be != null, "no OpenCL device");
        DeviceBuffer a = be.upload(new float[] {1, 2, 3});
        DeviceBuffer b = be.allocate(3);
        a.close();
        IllegalStateException twice = assertThrows(IllegalStateException.class, a::close);
        assertTrue(twice.getMessage().contains("closed twice"), twice.getMessage());
        IllegalStateException used = assertThrows(IllegalStateException.class, () -> be.gelu(a, b, 3));
        assertTrue(used.getMessage().contains("closed"), used.getMessage());
        be.close();
        assertEquals(0, be.memoryStats().deviceBytes(), "close frees every block, held ones too");
        IllegalStateException afterClose = assertThrows(IllegalStateException.class, () -> be.allocate(4));
        assertTrue(afterClose.getMessage().contains("after close"), afterClose.getMessage());
        assertThrows(IllegalStateException.class, () -> be.download(b, new float[3]));
    }
}
