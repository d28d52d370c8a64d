package org.vit4j.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.vit4j.Golden;
import org.vit4j.HostTensor;
import org.vit4j.Numerics;
import org.vit4j.backend.cpu.CpuBackend;
import org.vit4j.io.checkpoint.CheckpointLoader;
import org.vit4j.io.checkpoint.LoadedModel;
import org.vit4j.model.VisionTransformer;

/**
 * Several threads on one model, and several models on one backend, give exactly the serial results
 * (issue 12: threads on one OpenCL backend crashed the JVM; threads on one cpu model returned wrong
 * logits silently). 8 threads x 100 forwards of mixed batch sizes (1 to 3) on the vit-tiny golden
 * model, on the cpu backend and every device backend CI runs.
 */
class ConcurrencyTest {
    private static final int THREADS = 8, CALLS = 100;

    static Stream<Arguments> backends() {
        List<Arguments> out = new ArrayList<>();
        out.add(Arguments.of(Named.<Supplier<Backend>>of("cpu", CpuBackend::new), true));
        for (Named<Supplier<Backend>> b : DevicesUnderTest.all()) out.add(Arguments.of(b, false));
        return out.stream();
    }

    private static HostTensor images(int batch, long seed) {
        return new HostTensor(Numerics.randn(new Random(seed), batch * 3 * 32 * 32, 1), new int[] {batch, 3, 32, 32});
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void threadsOnOneModelAndModelsOnOneBackendEqualSerialCalls(Supplier<Backend> open, boolean owned) throws Exception {
        LoadedModel m = CheckpointLoader.load(Golden.file("vit-tiny", "model.safetensors"));
        Backend be = open.get();
        try {
            HostTensor[] inputs = {images(1, 1), images(2, 2), images(3, 3)};
            float[][] serial = new float[inputs.length][];
            try (VisionTransformer vit = new VisionTransformer(m.weights(), be)) {
                for (int i = 0; i < inputs.length; i++) serial[i] = vit.forward(inputs[i]).logits().data();
            }
            ExecutorService pool = Executors.newFixedThreadPool(THREADS);
            try {
                // One model, many threads, batch sizes changing from call to call.
                try (VisionTransformer shared = new VisionTransformer(m.weights(), be)) {
                    List<Future<Integer>> done = new ArrayList<>();
                    for (int t = 0; t < THREADS; t++) {
                        int thread = t;
                        done.add(pool.submit(() -> {
                            for (int c = 0; c < CALLS; c++) {
                                int which = (thread + c) % inputs.length;
                                float[] got = shared.forward(inputs[which]).logits().data();
                                assertArrayEquals(serial[which], got, "thread " + thread + " call " + c + " batch "
                                        + inputs[which].dim(0));
                            }
                            return CALLS;
                        }));
                    }
                    int calls = 0;
                    for (Future<Integer> f : done) calls += f.get();
                    assertEquals(THREADS * CALLS, calls);
                }
                // A model per thread, one backend.
                List<Future<Integer>> done = new ArrayList<>();
                for (int t = 0; t < THREADS; t++) {
                    int thread = t;
                    done.add(pool.submit(() -> {
                        try (VisionTransformer own = new VisionTransformer(m.weights(), be)) {
                            for (int c = 0; c < CALLS / 4; c++) {
                                int which = (thread * 7 + c) % inputs.length;
                                assertArrayEquals(serial[which], own.forward(inputs[which]).logits().data(),
                                        "model of thread " + thread + " call " + c);
                            }
                        }
                        return CALLS / 4;
                    }));
                }
                for (Future<Integer> f : done) f.get();
            } finally {
                pool.shutdownNow();
            }
        } finally {
            if (owned) be.close();
        }
    }

    /** A batch that does not fit the device memory cap is a clean error, and the model still runs smaller batches. */
    @org.junit.jupiter.api.Test
    void aBatchPastTheMemoryCapIsACleanErrorOnOpenCl() {
        org.junit.jupiter.api.Assumptions.assumeTrue(new org.vit4j.backend.opencl.OpenClProvider().probe().available()
                || !"1".equals(System.getenv("VIT4J_REQUIRE_OPENCL")), "OpenCL required");
        BackendProvider.Probe probe = new org.vit4j.backend.opencl.OpenClProvider().probe();
        if (!probe.available()) throw new AssertionError("no OpenCL: " + probe.reason());
        LoadedModel m = CheckpointLoader.load(Golden.file("vit-tiny", "model.safetensors"));
        try (Backend be = Backends.open("opencl", 0, BackendOptions.DEFAULT.withMemoryCap(2L << 20));
                VisionTransformer vit = new VisionTransformer(m.weights(), be)) {
            float[] one = vit.forward(images(1, 1)).logits().data();
            org.vit4j.Vit4jException e = org.junit.jupiter.api.Assertions.assertThrows(org.vit4j.Vit4jException.class,
                    () -> vit.forward(images(300, 2)));
            org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("memory cap") && e.getMessage().contains("smaller batch"),
                    e.getMessage());
            assertArrayEquals(one, vit.forward(images(1, 1)).logits().data(), "the model still runs after the refusal");
        }
    }
}
