package org.vit4j.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.vit4j.ElementType;
import org.vit4j.Golden;
import org.vit4j.HostTensor;
import org.vit4j.Numerics;
import org.vit4j.Vit4jException;
import org.vit4j.backend.BackendOptions;
import org.vit4j.backend.BackendProvider;
import org.vit4j.backend.DeviceBuffer;
import org.vit4j.backend.DevicesUnderTest;
import org.vit4j.backend.cpu.Gelu;
import org.vit4j.cli.Main;
import org.vit4j.io.checkpoint.CheckpointLoader;
import org.vit4j.io.checkpoint.LoadedModel;
import org.vit4j.io.checkpoint.SafetensorsFile;
import org.vit4j.memory.PoolStats;
import org.vit4j.model.VisionTransformer;

/**
 * What only the CUDA backend has: its graphs (recorded once, replayed, and a failure while recording),
 * its transfers, its memory pool under a recorded pass, its use from other threads than the one
 * that made it, and running without graphs. Each runs on a GPU where there is one and always on
 * cuda-cpu, the same kernels on the CPU, whose driver also checks what a GPU would reject (a context
 * not current on the calling thread, a launch whose arguments do not fit the kernel). (Every op's
 * parity runs in KernelParityTest and EncoderOnDeviceTest, on both too.) Where neither can run these
 * skip and say why; with {@code VIT4J_REQUIRE_CUDA_CPU=1} a missing cuda-cpu fails instead.
 */
class CudaBackendTest {
    @TempDir
    Path dir;

    /** Opens a fresh backend of one kind with the given options. */
    interface Target extends Function<BackendOptions, CudaBackend> {}

    static List<Named<Target>> targets() {
        List<Named<Target>> out = new ArrayList<>();
        BackendProvider.Probe gpu = new CudaProvider().probe();
        if (gpu.available()) out.add(Named.of("cuda", o -> new CudaBackend(new JCudaDriver(0), o)));
        BackendProvider.Probe cpu = new CudaCpuProvider().probe();
        if (cpu.available()) {
            out.add(Named.of("cuda-cpu", o -> CudaCpuProvider.open(CpuCudaDriver.Options.DEFAULT, o)));
        } else if (DevicesUnderTest.requireCudaCpu()) {
            throw new AssertionError("VIT4J_REQUIRE_CUDA_CPU=1 but cuda-cpu is unavailable: " + cpu.reason());
        }
        Assumptions.assumeFalse(out.isEmpty(), "CUDA tests skipped: cuda: " + gpu.reason() + "; cuda-cpu: "
                + cpu.reason());
        return out;
    }

    /** cuda-cpu alone, for what only its driver checks. */
    static CudaBackend cudaCpu() {
        BackendProvider.Probe cpu = new CudaCpuProvider().probe();
        if (!cpu.available() && DevicesUnderTest.requireCudaCpu()) {
            throw new AssertionError("VIT4J_REQUIRE_CUDA_CPU=1 but cuda-cpu is unavailable: " + cpu.reason());
        }
        Assumptions.assumeTrue(cpu.available(), "cuda-cpu tests skipped: " + cpu.reason());
        return CudaCpuProvider.open(CpuCudaDriver.Options.DEFAULT, BackendOptions.DEFAULT);
    }

    private static boolean onCpu(CudaBackend b) {
        return b.driver() instanceof CpuCudaDriver;
    }

    private record Case(LoadedModel model, HostTensor input, float[] logits) {
        static Case of(String name) {
            try (SafetensorsFile io = SafetensorsFile.open(Golden.file(name, "io.safetensors"))) {
                return new Case(CheckpointLoader.load(Golden.file(name, "model.safetensors")), io.read("input"),
                        io.readFloats("logits"));
            }
        }
    }

    /**
     * A replayed graph computes anew: replays alternate the batch's two images, which must swap the
     * logits' rows (a replay that ran nothing would leave the last pass's logits). They allocate nothing.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("targets")
    void graphReplayComputesEachPassAndAllocatesNothing(Target target) {
        Case c = Case.of("vit-ti16-224");
        int[] shape = c.input().shape();
        assertEquals(2, shape[0], "the golden case has two images");
        HostTensor swapped = new HostTensor(swapHalves(c.input().data()), shape);
        float[] swappedLogits = swapHalves(c.logits());
        try (CudaBackend cuda = target.apply(BackendOptions.DEFAULT);
                VisionTransformer vit = new VisionTransformer(c.model().weights(), cuda)) {
            float[] first = vit.forward(c.input()).logits().data(); // recorded, then launched
            Numerics.assertClose(first, c.logits(), Golden.FP32_TOLERANCE, cuda.name() + " graph logits vs PyTorch");
            assertEquals(1, cuda.recordedGraphs(), "one graph for the pass");
            PoolStats after = cuda.memoryStats();
            int replays = onCpu(cuda) ? 4 : 20;
            for (int i = 0; i < replays; i++) {
                boolean swap = i % 2 == 0;
                float[] again = vit.forward(swap ? swapped : c.input()).logits().data(); // replayed
                assertEquals(0, Numerics.relativeL2(again, swap ? swapHalves(first) : first), "replay " + i);
            }
            Numerics.assertClose(swapHalves(first), swappedLogits, Golden.FP32_TOLERANCE, "swapped vs PyTorch");
            PoolStats end = cuda.memoryStats();
            assertEquals(after.misses(), end.misses(), "device allocations during replays");
            assertTrue(end.hits() >= after.hits(), "stats only grow");
            assertEquals(after.bytesInUse(), end.bytesInUse(), "replays hold the same buffers");
            assertEquals(end.deviceBytes(), end.bytesInUse() + end.bytesCached(), "stats add up");
            assertEquals(1, cuda.recordedGraphs(), "replays record nothing new");
        }
    }

    /** The two halves of {@code x} (a batch of two) exchanged. */
    private static float[] swapHalves(float[] x) {
        int h = x.length / 2;
        float[] y = new float[x.length];
        System.arraycopy(x, h, y, 0, h);
        System.arraycopy(x, 0, y, h, h);
        return y;
    }

    /**
     * --gemm cublas: cuBLAS where libcublas.so.13 or .12 loads on a GPU, else vit4j's GEMM; the same logits
     * either way. On cuda-cpu there is no cuBLAS, so this is the fallback, and it must say so.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("targets")
    void cublasProviderOrItsFallbackMatchesPyTorch(Target target) {
        Case c = Case.of("vit-odd");
        try (CudaBackend cuda = target.apply(BackendOptions.DEFAULT.withGemm(BackendOptions.Gemm.CUBLAS));
                VisionTransformer vit = new VisionTransformer(c.model().weights(), cuda)) {
            System.out.println(cuda.name() + " GEMM provider: " + cuda.gemmProvider());
            if (onCpu(cuda)) assertEquals("vit4j", cuda.gemmProvider(), "cuda-cpu has no cuBLAS: the fallback");
            for (int pass = 0; pass < 3; pass++) { // recorded, then replayed
                Numerics.assertClose(vit.forward(c.input()).logits().data(), c.logits(), Golden.FP32_TOLERANCE,
                        cuda.gemmProvider() + " logits vs PyTorch, pass " + pass);
            }
        }
    }

    /**
     * bf16 and fp16 through the same machinery as fp32: every type is supported, a half pass is
     * recorded as one graph and replayed to the bit, its model buffers take half the fp32 bytes, and
     * with --gemm cublas a half pass runs on cuBLAS where it loads (logits within the same bounds of
     * PyTorch's) and otherwise on vit4j's GEMM (the same logits as without, bit for bit). (Per-op parity
     * is HalfKernelParityTest's, encoder parity EncoderOnDeviceTest's.)
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("targets")
    void halfPrecisionPassesRecordReplayAndHalveTheMemory(Target target) {
        Case c = Case.of("vit-odd");
        long fp32Bytes;
        try (CudaBackend cuda = target.apply(BackendOptions.DEFAULT)) {
            for (ElementType t : ElementType.values()) assertTrue(cuda.supports(t), t.label());
            long before = cuda.memoryStats().bytesInUse();
            try (VisionTransformer vit = new VisionTransformer(c.model().weights(), cuda, ElementType.F32)) {
                vit.forward(c.input());
                fp32Bytes = cuda.memoryStats().bytesInUse() - before;
            }
        }
        for (ElementType t : new ElementType[] {ElementType.BF16, ElementType.F16}) {
            float[] plain;
            try (CudaBackend cuda = target.apply(BackendOptions.DEFAULT);
                    VisionTransformer vit = new VisionTransformer(c.model().weights(), cuda, t)) {
                long before = cuda.memoryStats().bytesInUse();
                plain = vit.forward(c.input()).logits().data(); // recorded, then launched
                long bytes = cuda.memoryStats().bytesInUse() - before;
                assertEquals(1, cuda.recordedGraphs(), t.label());
                float[] again = vit.forward(c.input()).logits().data(); // replayed
                assertEquals(0, Numerics.relativeL2(again, plain), t.label() + " replay");
                double err = Numerics.relativeL2(plain, c.logits());
                assertTrue(err > 1e-5 && err < (t == ElementType.BF16 ? 2e-2 : 5e-3),
                        t.label() + " logits vs PyTorch: " + err);
                // weights and activations: half the bytes, give or take the pool's size classes
                assertTrue(bytes < 0.6 * fp32Bytes, t.label() + " pass holds " + bytes + " bytes, fp32 " + fp32Bytes);
            }
            try (CudaBackend cuda = target.apply(BackendOptions.DEFAULT.withGemm(BackendOptions.Gemm.CUBLAS));
                    VisionTransformer vit = new VisionTransformer(c.model().weights(), cuda, t)) {
                float[] logits = vit.forward(c.input()).logits().data();
                if (cuda.gemmProvider().equals("cublas")) {
                    double err = Numerics.relativeL2(logits, c.logits());
                    assertTrue(err < (t == ElementType.BF16 ? 2e-2 : 5e-3), t.label() + " on cuBLAS vs PyTorch: " + err);
                } else {
                    assertEquals(0, Numerics.relativeL2(logits, plain), t.label() + " with --gemm cublas runs vit4j's GEMM");
                }
            }
        }
    }

    /**
     * ElementType's rounding point of the fused add + LayerNorm, bit for bit: in every type,
     * addLayerNorm's sum and normed equal add then layerNorm (the sum rounded as stored, the rounded
     * sum normalised), on the register-cached path (dim % 4 == 0) and the generic one. A kernel that
     * normalised the unrounded sum passes a 2-ulp budget often enough; it fails here.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("targets")
    void fusedAddLayerNormIsAddThenLayerNormBitForBit(Target target) {
        java.util.Random random = new java.util.Random(11);
        try (CudaBackend cuda = target.apply(BackendOptions.DEFAULT)) {
            for (ElementType t : ElementType.values()) {
                for (int dim : new int[] {384, 385}) {
                    int rows = 9, n = rows * dim;
                    DeviceBuffer x = cuda.upload(Numerics.randn(random, n, 1), t);
                    DeviceBuffer r = cuda.upload(Numerics.randn(random, n, 3), t);
                    DeviceBuffer g = cuda.upload(Numerics.randn(random, dim, 1), t);
                    DeviceBuffer b = cuda.upload(Numerics.randn(random, dim, 1), t);
                    DeviceBuffer sum = cuda.allocate(t, n), normed = cuda.allocate(t, n);
                    DeviceBuffer sum2 = cuda.allocate(t, n), normed2 = cuda.allocate(t, n);
                    cuda.addLayerNorm(x, r, sum, normed, g, b, rows, dim, 1e-6f);
                    cuda.add(x, r, sum2, n);
                    cuda.layerNorm(sum2, g, b, normed2, rows, dim, 1e-6f);
                    String what = t.label() + " dim " + dim;
                    org.junit.jupiter.api.Assertions.assertArrayEquals(floats(cuda, sum2), floats(cuda, sum), what + " sum");
                    org.junit.jupiter.api.Assertions.assertArrayEquals(floats(cuda, normed2), floats(cuda, normed),
                            what + " normed");
                    for (DeviceBuffer buf : new DeviceBuffer[] {x, r, g, b, sum, normed, sum2, normed2}) buf.close();
                }
            }
        }
    }

    private static float[] floats(CudaBackend cuda, DeviceBuffer b) {
        float[] out = new float[(int) b.length()];
        cuda.download(b, out);
        return out;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("targets")
    void roundTripAndErrors(Target target) {
        try (CudaBackend cuda = target.apply(BackendOptions.DEFAULT)) {
            float[] x = Numerics.randn(new java.util.Random(3), 100_003, 1);
            DeviceBuffer b = cuda.upload(x);
            float[] back = new float[x.length];
            cuda.download(b, back);
            assertEquals(0, Numerics.relativeL2(back, x));
            DeviceBuffer c = cuda.allocate(x.length);
            cuda.copy(b, c, x.length);
            float[] copied = new float[x.length];
            cuda.download(c, copied);
            assertEquals(0, Numerics.relativeL2(copied, x), "device-to-device copy");
            b.close();
            IllegalStateException twice = assertThrows(IllegalStateException.class, b::close);
            assertTrue(twice.getMessage().contains("closed twice"));
        }
    }

    /** CUDA keeps the current context per thread: a pass on a thread other than the creating one must work. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("targets")
    void forwardOnAnotherThread(Target target) throws InterruptedException {
        Case c = Case.of("vit-odd");
        try (CudaBackend cuda = target.apply(BackendOptions.DEFAULT);
                VisionTransformer vit = new VisionTransformer(c.model().weights(), cuda)) {
            float[][] logits = new float[2][];
            // The first pass (recorded) on a worker, the second (replayed) on this thread, then one more there.
            logits[0] = onThread("worker-1", () -> vit.forward(c.input()).logits().data());
            logits[1] = vit.forward(c.input()).logits().data();
            float[] third = onThread("worker-2", () -> vit.forward(c.input()).logits().data());
            Numerics.assertClose(logits[0], c.logits(), Golden.FP32_TOLERANCE, "pass on a worker thread vs PyTorch");
            assertEquals(0, Numerics.relativeL2(logits[1], logits[0]), "replay on the creating thread");
            assertEquals(0, Numerics.relativeL2(third, logits[0]), "replay on another worker");
        }
    }

    /** Two backends, each passed to a thread of its own, running passes at the same time: each context stays its own. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("targets")
    void twoBackendsOnTwoThreadsAtOnce(Target target) throws Exception {
        Case c = Case.of("vit-odd");
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
        try (CudaBackend one = target.apply(BackendOptions.DEFAULT);
                CudaBackend two = target.apply(BackendOptions.DEFAULT.withNoGraph(true));
                VisionTransformer a = new VisionTransformer(c.model().weights(), one);
                VisionTransformer b = new VisionTransformer(c.model().weights(), two)) {
            List<java.util.concurrent.Future<float[]>> runs = new ArrayList<>();
            for (VisionTransformer vit : List.of(a, b)) {
                runs.add(pool.submit(() -> {
                    float[] last = null;
                    for (int pass = 0; pass < 5; pass++) last = vit.forward(c.input()).logits().data();
                    return last;
                }));
            }
            for (java.util.concurrent.Future<float[]> run : runs) {
                Numerics.assertClose(run.get(), c.logits(), Golden.FP32_TOLERANCE, "concurrent passes vs PyTorch");
            }
        } finally {
            pool.shutdown();
        }
    }

    /** Close from a thread that never used the backend, as a shutdown hook does: everything is freed. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("targets")
    void closeOnAnotherThread(Target target) throws InterruptedException {
        Case c = Case.of("vit-odd");
        CudaBackend cuda = target.apply(BackendOptions.DEFAULT);
        VisionTransformer vit = new VisionTransformer(c.model().weights(), cuda);
        vit.forward(c.input());
        onThread("vit4j-shutdown-hook", () -> {
            cuda.close(); // the model still holds its buffers: close frees them too
            return null;
        });
        assertEquals(0, cuda.memoryStats().deviceBytes(), "close frees every block, held ones too");
        if (cuda.driver() instanceof CpuCudaDriver cpu) {
            assertEquals(0, cpu.liveAllocations(), "every driver allocation freed");
            assertEquals(0, cpu.liveGraphs(), "every graph destroyed");
        }
        vit.close(); // its buffers go back to a closed backend: nothing to do, no error
        IllegalStateException used = assertThrows(IllegalStateException.class, () -> cuda.allocate(4));
        assertTrue(used.getMessage().contains("after close"), used.getMessage());
    }

    /**
     * An exception thrown while a pass is recorded is the one the caller sees (not the capture's own
     * error), the broken recording is ended and destroyed, and the next pass records afresh and works.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("targets")
    void exceptionWhileRecordingSurfacesAndLeavesNoGraph(Target target) {
        try (CudaBackend cuda = target.apply(BackendOptions.DEFAULT)) {
            float[] x = {-2f, -0.5f, 0f, 0.5f, 1f, 3f};
            DeviceBuffer in = cuda.upload(x);
            DeviceBuffer out = cuda.allocate(x.length);
            Object key = new Object();
            IllegalStateException boom = new IllegalStateException("boom, mid-pass");
            IllegalStateException got = assertThrows(IllegalStateException.class, () -> cuda.run(key, () -> {
                cuda.gelu(in, out, x.length);
                throw boom;
            }));
            assertSame(boom, got, "the body's own exception");
            assertNoGraph(cuda);

            // A body that breaks the capture itself (a download must wait, which a recording cannot):
            // that error first, the capture's "invalidated" only as suppressed.
            RuntimeException broken = assertThrows(RuntimeException.class, () -> cuda.run(key, () -> {
                cuda.gelu(in, out, x.length);
                cuda.download(out, new float[x.length]);
            }));
            assertFalse(broken.getMessage().contains("INVALIDATED"), broken.getMessage());
            assertTrue(broken.getSuppressed().length >= 1, "the capture's error is kept as suppressed");
            if (onCpu(cuda)) {
                assertTrue(broken.getMessage().contains("copyDtoH while a graph is being recorded"), broken.getMessage());
                assertTrue(broken.getSuppressed()[0].getMessage().contains("INVALIDATED"),
                        broken.getSuppressed()[0].getMessage());
            }
            assertNoGraph(cuda);

            for (int pass = 0; pass < 2; pass++) { // recorded, then replayed
                cuda.write(new float[x.length], out);
                cuda.run(key, () -> cuda.gelu(in, out, x.length));
                float[] y = new float[x.length];
                cuda.download(out, y);
                for (int i = 0; i < x.length; i++) {
                    assertEquals(Gelu.exact(x[i]), y[i], 1e-6, "gelu(" + x[i] + "), pass " + pass);
                }
            }
            assertEquals(1, cuda.recordedGraphs());
        }
    }

    private static void assertNoGraph(CudaBackend cuda) {
        assertEquals(0, cuda.recordedGraphs(), "no graph kept after a failed recording");
        if (cuda.driver() instanceof CpuCudaDriver cpu) assertEquals(0, cpu.liveGraphs(), "the partial graph destroyed");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("targets")
    void noGraphGivesTheSameLogits(Target target) {
        Case c = Case.of("vit-odd");
        float[] graphed;
        try (CudaBackend cuda = target.apply(BackendOptions.DEFAULT);
                VisionTransformer vit = new VisionTransformer(c.model().weights(), cuda)) {
            graphed = vit.forward(c.input()).logits().data();
        }
        try (CudaBackend cuda = target.apply(BackendOptions.DEFAULT.withNoGraph(true));
                VisionTransformer vit = new VisionTransformer(c.model().weights(), cuda)) {
            for (int pass = 0; pass < 2; pass++) {
                assertEquals(0, Numerics.relativeL2(vit.forward(c.input()).logits().data(), graphed),
                        "op by op, pass " + pass);
            }
            assertEquals(0, cuda.recordedGraphs(), "no graph recorded");
            if (cuda.driver() instanceof CpuCudaDriver cpu) assertEquals(0, cpu.liveGraphs());
        }
        Numerics.assertClose(graphed, c.logits(), Golden.FP32_TOLERANCE, "logits vs PyTorch");
    }

    // ---- what cuda-cpu's driver checks ----

    /** The context rule itself, so that the tests above would catch a backend that forgets it. */
    @Test
    void aDriverCallOnAThreadWithoutTheContextIsAnError() throws InterruptedException {
        try (CudaBackend cuda = cudaCpu()) {
            CudaDriver driver = cuda.driver();
            Vit4jException e = onThread("stranger", () -> {
                try {
                    driver.malloc(256);
                    return null;
                } catch (Vit4jException expected) {
                    return expected;
                }
            });
            assertTrue(e != null && e.getMessage().contains("CUDA_ERROR_INVALID_CONTEXT")
                    && e.getMessage().contains("stranger"), String.valueOf(e));
            long address = onThread("stranger", () -> {
                driver.makeCurrent();
                long a = driver.malloc(256);
                driver.free(a);
                return a;
            });
            assertTrue(address != 0);
        }
    }

    /** A launch whose arguments do not fit the kernel (count, kind) fails naming the kernel, run or recorded. */
    @Test
    void aLaunchWithAWrongArgumentListIsAClearError() {
        try (CudaBackend cuda = cudaCpu()) {
            CudaDriver driver = cuda.driver();
            long a = driver.malloc(1024), b = driver.malloc(1024);
            try {
                CudaDriver.Function gelu = driver.function("elementwise", "gelu"); // (const float*, float*, int)
                int[] one = {1, 1, 1};
                List<List<KernelArg>> wrong = List.of(
                        List.of(KernelArg.ptr(a), KernelArg.ptr(b)), // too few
                        List.of(KernelArg.ptr(a), KernelArg.ptr(b), KernelArg.i32(4), KernelArg.i32(4)), // too many
                        List.of(KernelArg.ptr(a), KernelArg.ptr(b), KernelArg.f32(4)), // a float for the int
                        List.of(KernelArg.ptr(a), KernelArg.i32(0), KernelArg.i32(4))); // an int for the pointer
                for (List<KernelArg> args : wrong) {
                    Vit4jException run = assertThrows(Vit4jException.class,
                            () -> driver.launch(gelu, one, new int[] {256, 1, 1}, 0, args), KernelArg.kinds(args));
                    assertTrue(run.getMessage().contains("gelu"), run.getMessage());
                    driver.beginCapture();
                    Vit4jException recorded = assertThrows(Vit4jException.class,
                            () -> driver.launch(gelu, one, new int[] {256, 1, 1}, 0, args), KernelArg.kinds(args));
                    assertTrue(recorded.getMessage().contains("gelu"), recorded.getMessage());
                    driver.destroyGraph(driver.endCapture());
                }
                // The right list runs: the checks above are not merely refusing everything.
                driver.copyHtoD(a, new float[] {1, 2, 3, 4}, 0, 4);
                driver.launch(gelu, one, new int[] {256, 1, 1}, 0,
                        List.of(KernelArg.ptr(a), KernelArg.ptr(b), KernelArg.i32(4)));
                float[] y = new float[4];
                driver.copyDtoH(y, 0, b, 4);
                assertEquals(Gelu.exact(3f), y[2], 1e-6);
            } finally {
                driver.free(a);
                driver.free(b);
            }
        }
    }

    /** A recorded graph keeps each launch's arguments as they were when recorded, and runs nothing until launched. */
    @Test
    void recordingRunsNothingAndKeepsArgumentValues() {
        try (CudaBackend cuda = cudaCpu()) {
            CudaDriver driver = cuda.driver();
            long a = driver.malloc(1024), b = driver.malloc(1024);
            try {
                CudaDriver.Function gelu = driver.function("elementwise", "gelu");
                driver.copyHtoD(a, new float[] {1, 2, 3, 4}, 0, 4);
                driver.copyHtoD(b, new float[] {9, 9, 9, 9}, 0, 4);
                List<KernelArg> args = new ArrayList<>(List.of(KernelArg.ptr(a), KernelArg.ptr(b), KernelArg.i32(2)));
                driver.beginCapture();
                driver.launch(gelu, new int[] {1, 1, 1}, new int[] {256, 1, 1}, 0, args);
                args.set(2, KernelArg.i32(4)); // after recording: must not change the graph
                driver.copyDtoD(a, b, 4 * Float.BYTES);
                CudaDriver.Graph graph = driver.endCapture();
                float[] y = new float[4];
                driver.copyDtoH(y, 0, b, 4);
                assertEquals(9f, y[0], "nothing ran while recording");
                driver.launchGraph(graph);
                driver.copyDtoH(y, 0, b, 4);
                assertEquals((float) Gelu.exact(1f), y[0], 1e-6);
                assertEquals((float) Gelu.exact(2f), y[1], 1e-6);
                assertEquals(9f, y[2], "n = 2 as recorded, not the 4 set afterwards");
                float[] z = new float[4];
                driver.copyDtoH(z, 0, a, 4);
                assertEquals(y[0], z[0], "the recorded copy ran after the launch, in order");
                driver.destroyGraph(graph);
                assertThrows(IllegalStateException.class, () -> driver.launchGraph(graph));
            } finally {
                driver.free(a);
                driver.free(b);
            }
        }
    }

    /** A graph replayed after its memory was freed is an error naming the kernel, not a crash of the JVM. */
    @Test
    void aLaunchOnFreedMemoryIsAnErrorNotACrash() {
        try (CudaBackend cuda = cudaCpu()) {
            CudaDriver driver = cuda.driver();
            long a = driver.malloc(1024), b = driver.malloc(1024);
            CudaDriver.Function gelu = driver.function("elementwise", "gelu");
            driver.beginCapture();
            driver.launch(gelu, new int[] {1, 1, 1}, new int[] {256, 1, 1}, 0,
                    List.of(KernelArg.ptr(a), KernelArg.ptr(b), KernelArg.i32(4)));
            CudaDriver.Graph graph = driver.endCapture();
            driver.launchGraph(graph); // fine while the memory lives
            driver.free(b);
            Vit4jException e = assertThrows(Vit4jException.class, () -> driver.launchGraph(graph));
            assertTrue(e.getMessage().contains("elementwise/gelu") && e.getMessage().contains("argument 1"),
                    e.getMessage());
            assertThrows(Vit4jException.class, () -> driver.copyDtoH(new float[4], 0, b, 4));
            driver.destroyGraph(graph);
            driver.free(a);
        }
    }

    /** The parity entry point on cuda-cpu with and without graphs, against PyTorch. */
    @Test
    void runOnCudaCpuMatchesPyTorchWithAndWithoutGraphs() {
        cudaCpu().close(); // skips (or fails, in CI) where the library is missing
        for (String[] flags : new String[][] {{}, {"--no-graph"}}) {
            Path out = dir.resolve("out" + flags.length + ".safetensors");
            List<String> args = new ArrayList<>(List.of("run", "--backend", "cuda-cpu",
                    "--weights", Golden.file("vit-odd", "model.safetensors").toString(),
                    "--input", Golden.file("vit-odd", "io.safetensors").toString(), "--output", out.toString()));
            args.addAll(List.of(flags));
            assertEquals(0, Main.execute(args.toArray(String[]::new)), String.join(" ", args));
            try (SafetensorsFile got = SafetensorsFile.open(out);
                    SafetensorsFile want = SafetensorsFile.open(Golden.file("vit-odd", "io.safetensors"))) {
                for (String name : new String[] {"pre_logits", "logits"}) {
                    Numerics.assertClose(got.read(name).data(), want.read(name).data(), Golden.FP32_TOLERANCE,
                            "vit4j run --backend cuda-cpu " + String.join(" ", flags) + ": " + name);
                }
            }
        }
    }

    interface Body<T> {
        T call() throws Exception;
    }

    /** Runs {@code body} on a new thread named {@code name}, waits, and returns its result or rethrows its failure. */
    static <T> T onThread(String name, Body<T> body) throws InterruptedException {
        AtomicReference<T> result = new AtomicReference<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                result.set(body.call());
            } catch (Throwable e) {
                failure.set(e);
            }
        }, name);
        t.start();
        t.join();
        if (failure.get() instanceof RuntimeException e) throw e;
        if (failure.get() instanceof Error e) throw e;
        if (failure.get() != null) throw new AssertionError("on thread " + name, failure.get());
        return result.get();
    }
}
