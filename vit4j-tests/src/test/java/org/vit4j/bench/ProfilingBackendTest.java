package org.vit4j.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.vit4j.ElementType;
import org.vit4j.backend.DeviceBuffer;
import org.vit4j.backend.Epilogue;
import org.vit4j.backend.KernelTimeline;
import org.vit4j.backend.Op;
import org.vit4j.backend.cpu.CpuBackend;
import org.vit4j.backend.opencl.OpenClBackend;
import org.vit4j.backend.opencl.OpenClProvider;

/** The profiling wrapper hands out the wrapped backend's kernel timeline, and the ops it times are the recorded ones. */
class ProfilingBackendTest {

    @Test
    void theTimelineIsTheWrappedBackendsAndNamesTheOpItsKernelsRanFor() {
        Assumptions.assumeTrue(new OpenClProvider().probe().available(), "no OpenCL device");
        try (OpenClBackend cl = OpenClBackend.open(0, Map.of())) {
            ProfilingBackend prof = new ProfilingBackend(cl);
            KernelTimeline t = prof.kernelTimeline().orElseThrow();
            float[] ones = new float[30 * 20];
            java.util.Arrays.fill(ones, 1f);
            try (DeviceBuffer x = prof.upload(ones, ElementType.F32); DeviceBuffer w = prof.upload(ones, ElementType.F32);
                    DeviceBuffer y = prof.allocate(ElementType.F32, 30 * 30)) {
                prof.linear(x, w, null, y, 30, 20, 30, Epilogue.NONE, null); // packs the weight on first use
                t.start();
                prof.linear(x, w, null, y, 30, 20, 30, Epilogue.NONE, null);
                List<KernelTimeline.Kernel> ks = t.stop();
                assertEquals(1, ks.size(), ks.toString());
                KernelTimeline.Kernel k = ks.get(0);
                assertTrue(k.name().startsWith("linear_v"), k.name());
                assertTrue(k.op() instanceof Op.Linear, String.valueOf(k.op()));
                assertEquals("M=30 K=20 N=30", k.op().shape());
                assertTrue(k.queuedNs() <= k.startNs() && k.startNs() <= k.endNs(), k.toString());
                float[] out = new float[30 * 30];
                prof.download(y, out);
                assertEquals(20f, out[0]); // a row of ones times a column of ones
            }
            assertEquals(2, prof.times().get(0).nanos.size(), "both calls timed by the wrapper");
        }
        try (CpuBackend cpu = new CpuBackend()) {
            assertTrue(new ProfilingBackend(cpu).kernelTimeline().isEmpty());
        }
    }
}
