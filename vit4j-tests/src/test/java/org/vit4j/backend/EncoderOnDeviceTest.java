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
import org.vit4j.io.checkpoint.CheckpointLoader;
import org.vit4j.io.checkpoint.LoadedModel;
import org.vit4j.io.checkpoint.SafetensorsFile;
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

    static Stream<Arguments> halfCases() {
        String[][] cases = {
            {"vit-tiny", "model.safetensors"}, {"vit-odd", "model.safetensors"},
            {"vit-odd", "model-torchvision.safetensors"}, {"vit-odd", "model-hf.safetensors"},
            {"vit-ti16-224", "model.safetensors"}, {"timm-vit-odd", "model.safetensors"},
            {"hf-vit-odd", "model.safetensors"},
        };
        List<Arguments> out = new java.util.ArrayList<>();
        for (Named<Supplier<Backend>> b : DevicesUnderTest.all()) {
            if (b.getName().contains("(")) continue; // one per backend name, as goldenCases
            for (String precision : new String[] {"bf16", "fp16"}) {
                // Each backend runs the half types it supports; HalfKernelParityTest fails an OpenCL one
                // that supports neither.
                if (!HalfKernelParityTest.supports(b, org.vit4j.ElementType.parse(precision))) continue;
                for (String[] c : cases) out.add(Arguments.of(b.getName(), precision, c[0], c[1]));
            }
        }
        return out.stream();
    }

    /**
     * {@code vit4j run --precision bf16|fp16} through the parity entry point: logits and pre-logits
     * within 2e-2 (bf16) / 5e-3 (fp16) relative L2 of PyTorch's float64 outputs (issue 11's budget,
     * as PrecisionTest holds the cpu half path to), and within half that, 1e-2 / 2.5e-3, of the cpu
     * backend's own run in the same precision (measured on PoCL: at most 5.0e-3 / 1.0e-3; two half
     * paths that round at the same points but sum in different orders part by about as much as
     * either is from float64, and on vit-tiny and hf-vit-odd in bf16 opencl equals cpu bit for bit).
     * An error below 1e-5 would mean nothing was rounded: that fails too.
     */
    @ParameterizedTest(name = "vit4j run --backend {0} --precision {1}: {2}/{3}")
    @MethodSource("halfCases")
    void runInHalfPrecisionMatchesPyTorchAndTheCpuHalfPath(String backend, String precision, String caseName,
            String weights) {
        double budget = precision.equals("bf16") ? 2e-2 : 5e-3;
        double againstCpu = budget / 2;
        Path dev = dir.resolve("dev.safetensors"), cpu = dir.resolve("cpu.safetensors");
        for (String[] run : new String[][] {{backend, dev.toString()}, {"cpu", cpu.toString()}}) {
            int status = Main.execute("run", "--backend", run[0], "--precision", precision, "--weights",
                    Golden.file(caseName, weights).toString(), "--input", Golden.file(caseName, "io.safetensors").toString(),
                    "--output", run[1]);
            assertEquals(0, status, "vit4j run --backend " + run[0] + " --precision " + precision);
        }
        try (SafetensorsFile got = SafetensorsFile.open(dev); SafetensorsFile ref = SafetensorsFile.open(cpu);
                SafetensorsFile want = SafetensorsFile.open(Golden.file(caseName, "io.safetensors"))) {
            for (String name : new String[] {"pre_logits", "logits"}) {
                String what = backend + " " + precision + " " + caseName + " " + name;
                float[] g = got.read(name).toFloats();
                double err = Numerics.relativeL2(g, want.read(name).toFloats());
                assertTrue(err <= budget, what + ": relative L2 error against PyTorch float64 " + err + " > " + budget);
                assertTrue(err > 1e-5, what + ": error " + err + " is fp32-sized: was anything rounded?");
                Numerics.assertClose(g, ref.read(name).toFloats(), againstCpu, what + " against the cpu backend's " + precision);
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
