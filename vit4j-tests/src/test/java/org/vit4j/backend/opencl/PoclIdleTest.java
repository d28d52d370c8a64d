package org.vit4j.backend.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.vit4j.Vit4jException;
import org.vit4j.backend.DeviceBuffer;
import org.vit4j.backend.Epilogue;

/**
 * PoCL's idle CPU workers spin up to POCL_SPIN_US before they sleep ({@link PoclIdle},
 * native/opencl/pocl_idle.c): in force on PoCL's CPU device and said in the kernel choices; after work
 * the workers spin, then sleep once the budget is spent (no spin slice and no wake-up in 300 ms idle); 0 turns it
 * off and a negative value is refused by name. Needs PoCL's CPU device (CI has it: VIT4J_REQUIRE_OPENCL).
 */
class PoclIdleTest {
    private static int poclCpuDevice() {
        boolean required = "1".equals(System.getenv("VIT4J_REQUIRE_OPENCL"));
        boolean available = new OpenClProvider().probe().available();
        assertTrue(available || !required, "OpenCL required (VIT4J_REQUIRE_OPENCL=1) but no device");
        Assumptions.assumeTrue(available, "no OpenCL device");
        for (int i = 0; i < ClDevice.all().size(); i++) {
            ClDevice d = ClDevice.all().get(i);
            if (d.kind() == ClDevice.Kind.CPU && SignalChaining.isPocl(d)) return i;
        }
        assertTrue(!required, "OpenCL required, but there is no PoCL CPU device");
        Assumptions.abort("no PoCL CPU device");
        return -1;
    }

    /** A few linear layers, waited for: PoCL's workers run and then go idle. */
    private static void work(OpenClBackend dev) {
        SplittableRandom r = new SplittableRandom(7);
        int m = 197, k = 192, n = 576;
        float[] x = new float[m * k], w = new float[n * k], b = new float[n];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        for (int i = 0; i < w.length; i++) w[i] = (float) r.nextGaussian();
        for (int i = 0; i < b.length; i++) b[i] = (float) r.nextGaussian();
        try (DeviceBuffer dx = dev.upload(x); DeviceBuffer dw = dev.upload(w); DeviceBuffer db = dev.upload(b);
                DeviceBuffer out = dev.allocate(m * n)) {
            for (int i = 0; i < 20; i++) dev.linear(dx, dw, db, out, m, k, n, Epilogue.BIAS, null);
            float[] got = new float[m * n];
            dev.download(out, got);
            assertTrue(Float.isFinite(got[got.length - 1]));
        }
    }

    /** Waits (up to 3 s) until the workers' spin count holds still for 50 ms; the count then. */
    private static long spinsOnceStill() throws InterruptedException {
        long before = PoclIdle.counts()[0];
        for (int i = 0; i < 60; i++) {
            Thread.sleep(50);
            long after = PoclIdle.counts()[0];
            if (after == before) return after;
            before = after;
        }
        throw new AssertionError("PoCL's workers still spin 3 s after their work, with a budget of 2000 us");
    }

    @Test
    void workersSpinAfterWorkThenSleep() throws Exception {
        int index = poclCpuDevice();
        try (OpenClBackend dev = OpenClBackend.open(index)) {
            assertTrue(dev.kernelChoices().endsWith("PoCL idle workers spin up to 2000 us"), dev.kernelChoices());
            assertNotNull(PoclIdle.counts());
            long spinsBefore = spinsOnceStill();
            work(dev);
            long spinsAfter = spinsOnceStill();
            assertTrue(spinsAfter > spinsBefore, "the workers did not spin after the work: " + spinsBefore + " -> " + spinsAfter);
            // asleep now: in 300 ms idle not one spin slice (2 us each) and no wake-up. (Not the process's
            // CPU time: the JVM's compiler and GC threads move that by hundreds of ms.)
            long sleeps = PoclIdle.counts()[1];
            Thread.sleep(300);
            assertEquals(spinsAfter, PoclIdle.counts()[0], "the workers spun again while idle");
            assertEquals(sleeps, PoclIdle.counts()[1], "the workers woke while idle");
        }
    }

    @Test
    void zeroSleepsAtOnceAndNegativeIsRefused() throws Exception {
        int index = poclCpuDevice();
        try (OpenClBackend dev = OpenClBackend.open(index, Map.of("POCL_SPIN_US", 0))) {
            assertTrue(dev.kernelChoices().endsWith("PoCL idle workers sleep at once (POCL_SPIN_US=0)"), dev.kernelChoices());
            long spins = spinsOnceStill();
            work(dev);
            Thread.sleep(20);
            assertEquals(spins, PoclIdle.counts()[0], "the workers spun with POCL_SPIN_US=0");
        } finally {
            OpenClBackend.open(index).close(); // the default again for the tests after this one (process-wide)
        }
        Vit4jException e = assertThrows(Vit4jException.class, () -> OpenClBackend.open(index, Map.of("POCL_SPIN_US", -1)));
        assertTrue(e.getMessage().contains("POCL_SPIN_US must be >= 0"), e.getMessage());
    }
}
