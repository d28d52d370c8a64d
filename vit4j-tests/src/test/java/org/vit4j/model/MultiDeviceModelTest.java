package org.vit4j.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vit4j.ElementType;
import org.vit4j.Golden;
import org.vit4j.HostTensor;
import org.vit4j.Numerics;
import org.vit4j.Vit4jException;
import org.vit4j.backend.Backend;
import org.vit4j.backend.cpu.CpuBackend;
import org.vit4j.io.checkpoint.CheckpointLoader;
import org.vit4j.io.checkpoint.LoadedModel;

/**
 * Issue 15, item 1: one replica per device behind {@link MultiDeviceModel}. On two cpu backends in
 * this JVM: input order, bit-for-bit equality with one model at every chunk size, per-device
 * statistics, errors naming the device, no buffer left after close. On two OpenCL devices: PoCL
 * exposes one CPU device per word of {@code POCL_DEVICES} ("pthread pthread": two), read once per
 * process, so that check runs in a child JVM with the variable set ({@link TwoPoclDevicesMain}) and
 * the other tests keep PoCL's single device.
 */
class MultiDeviceModelTest {
    static HostTensor images(int batch, long seed) {
        return new HostTensor(Numerics.randn(new Random(seed), batch * 3 * 32 * 32, 1), new int[] {batch, 3, 32, 32});
    }

    @Test
    void twoCpuReplicasGiveOneModelsLogitsInInputOrderAtEveryChunkSize() {
        LoadedModel m = CheckpointLoader.load(Golden.file("vit-tiny", "model.safetensors"));
        HostTensor in = images(11, 7);
        VitOutput one;
        try (CpuBackend b = new CpuBackend(); VisionTransformer vit = new VisionTransformer(m.weights(), b)) {
            one = vit.forward(in);
        }
        CpuBackend a = new CpuBackend(), b = new CpuBackend();
        try (MultiDeviceModel multi = new MultiDeviceModel(m.weights(), List.of(a, b), ElementType.F32)) {
            assertEquals(2, multi.deviceCount());
            long images = 0;
            for (int chunk : new int[] {0, 1, 2, 3, 5, 11, 64}) {
                VitOutput out = multi.withChunkSize(chunk).forward(in);
                images += 11;
                assertArrayEquals(new int[] {11, m.weights().config().numClasses()}, out.logits().shape());
                assertArrayEquals(one.logits().data(), out.logits().data(), "logits, chunk " + chunk);
                assertArrayEquals(one.preLogits().data(), out.preLogits().data(), "pre-logits, chunk " + chunk);
            }
            List<MultiDeviceModel.DeviceStats> stats = multi.stats();
            assertEquals(2, stats.size());
            assertEquals(images, stats.stream().mapToLong(MultiDeviceModel.DeviceStats::images).sum(), stats.toString());
            assertTrue(stats.get(0).device().startsWith("device 0 (cpu"), stats.toString());
            assertTrue(stats.stream().allMatch(s -> s.failures() == 0), stats.toString());
        } finally {
            assertEquals(0, a.liveBuffers(), "buffers left on device 0 after close");
            assertEquals(0, b.liveBuffers(), "buffers left on device 1 after close");
            a.close();
            b.close();
        }
    }

    @Test
    void manyClientsThroughTheBoundedQueueEachGetTheirOwnRowsBack() throws Exception {
        LoadedModel m = CheckpointLoader.load(Golden.file("vit-tiny", "model.safetensors"));
        List<HostTensor> ins = new ArrayList<>();
        List<float[]> expected = new ArrayList<>();
        try (CpuBackend b = new CpuBackend(); VisionTransformer vit = new VisionTransformer(m.weights(), b)) {
            for (int i = 0; i < 12; i++) {
                ins.add(images(1 + i % 4, 100 + i));
                expected.add(vit.forward(ins.get(i)).logits().data());
            }
        }
        try (CpuBackend a = new CpuBackend(); CpuBackend b = new CpuBackend();
                MultiDeviceModel multi = new MultiDeviceModel(m.weights(), List.of(a, b), ElementType.F32, 2)) {
            multi.withChunkSize(1);
            List<CompletableFuture<VitOutput>> futures = new ArrayList<>();
            for (HostTensor in : ins) futures.add(multi.submit(in)); // 30 chunks through a queue of 2: submit blocks
            for (int i = 0; i < ins.size(); i++) {
                assertArrayEquals(expected.get(i), futures.get(i).get(60, TimeUnit.SECONDS).logits().data(), "request " + i);
            }
        }
    }

    @Test
    void aFailingDeviceIsNamedAndTheOtherStillRuns() {
        LoadedModel m = CheckpointLoader.load(Golden.file("vit-tiny", "model.safetensors"));
        CpuBackend a = new CpuBackend(), b = new CpuBackend();
        try (MultiDeviceModel multi = new MultiDeviceModel(m.weights(), List.of(a, b), ElementType.F32)) {
            b.close(); // device 1 now fails every pass
            multi.withChunkSize(1);
            Vit4jException e = null;
            for (int i = 0; i < 50 && e == null; i++) {
                try {
                    multi.forward(images(4, i));
                } catch (Vit4jException x) {
                    e = x;
                }
            }
            assertTrue(e != null, "no failure reported in 50 batches with device 1 closed");
            assertTrue(e.getMessage().startsWith("device 1 (cpu: "), e.getMessage());
            assertTrue(e.getMessage().contains("after close"), e.getMessage());
            assertTrue(multi.stats().get(1).failures() > 0, multi.stats().toString());
            // A batch of one chunk that device 0 takes still runs: retry until it lands there.
            boolean ran = false;
            for (int i = 0; i < 50 && !ran; i++) {
                try {
                    multi.withChunkSize(0).forward(images(1, 99));
                    ran = true;
                } catch (Vit4jException x) {
                    assertTrue(x.getMessage().startsWith("device 1 "), x.getMessage());
                }
            }
            assertTrue(ran, "device 0 never ran a batch");
        } finally {
            assertEquals(0, a.liveBuffers(), "buffers left on device 0 after close");
            a.close();
        }
    }

    @Test
    void closeFinishesQueuedWorkThenRefusesMore() throws Exception {
        LoadedModel m = CheckpointLoader.load(Golden.file("vit-tiny", "model.safetensors"));
        CpuBackend a = new CpuBackend(), b = new CpuBackend();
        MultiDeviceModel multi = new MultiDeviceModel(m.weights(), List.of(a, b), ElementType.F32);
        CompletableFuture<VitOutput> f = multi.withChunkSize(1).submit(images(4, 3));
        multi.close();
        assertEquals(4, f.get(1, TimeUnit.SECONDS).logits().dim(0), "queued before close: still answered");
        assertThrows(IllegalStateException.class, () -> multi.forward(images(1, 1)));
        multi.close(); // idempotent
        assertEquals(0, a.liveBuffers() + b.liveBuffers(), "buffers left after close");
        a.close();
        b.close();
    }

    @Test
    void theSameBackendTwiceIsRefused() {
        LoadedModel m = CheckpointLoader.load(Golden.file("vit-tiny", "model.safetensors"));
        try (CpuBackend a = new CpuBackend()) {
            Vit4jException e = assertThrows(Vit4jException.class,
                    () -> new MultiDeviceModel(m.weights(), List.<Backend>of(a, a), ElementType.F32));
            assertTrue(e.getMessage().contains("given twice"), e.getMessage());
            assertEquals(0, a.liveBuffers(), "the first replica's buffers were not freed");
        }
    }

    /**
     * Two PoCL devices in one (child) JVM: {@code Backends.openAll("opencl")} opens both, and the two
     * replicas' logits equal one device's bit for bit (see {@link TwoPoclDevicesMain}).
     */
    @Test
    void twoPoclDevicesInOneJvmEqualOneDeviceBitForBit(@TempDir Path dir) throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(
                org.vit4j.backend.Backends.all().stream().anyMatch(p -> p.name().equals("opencl") && p.probe().available()),
                "no OpenCL platform here");
        List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx1g",
                "-cp", System.getProperty("java.class.path"), TwoPoclDevicesMain.class.getName());
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("POCL_DEVICES", "pthread pthread");
        Path out = dir.resolve("child.out"), err = dir.resolve("child.err");
        pb.redirectOutput(out.toFile()).redirectError(err.toFile());
        Process p = pb.start();
        if (!p.waitFor(300, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("child JVM did not finish in 300 s");
        }
        String o = Files.readString(out), e = Files.readString(err);
        System.out.println(o);
        assertEquals(0, p.exitValue(), "child failed:\n" + o + e);
        assertTrue(o.contains("opencl devices: 2"), o + e);
        assertTrue(o.contains("OK"), o + e);
    }
}
