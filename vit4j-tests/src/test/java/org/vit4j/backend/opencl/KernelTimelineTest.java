package org.vit4j.backend.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.vit4j.ElementType;
import org.vit4j.backend.DeviceBuffer;
import org.vit4j.backend.KernelTimeline;
import org.vit4j.backend.Op;

/** OpenCL's kernel timeline: one entry per kernel in queue order, a bound on what one recording keeps, misuse refused. */
class KernelTimelineTest {
    @BeforeAll
    static void device() {
        Assumptions.assumeTrue(new OpenClProvider().probe().available(), "no OpenCL device");
    }

    @Test
    void kernelsComeInQueueOrderWithTheirOpAndARecordingIsBounded() {
        try (OpenClBackend b = OpenClBackend.open(0, Map.of());
                DeviceBuffer x = b.upload(new float[] {1, 2, 3}, ElementType.F32);
                DeviceBuffer y = b.allocate(ElementType.F32, 3)) {
            KernelTimeline t = b.kernelTimeline().orElseThrow();
            t.start();
            for (int i = 0; i < 3; i++) b.add(x, x, y, 3);
            List<KernelTimeline.Kernel> ks = t.stop();
            assertEquals(3, ks.size(), ks.toString());
            for (int i = 0; i < 3; i++) {
                KernelTimeline.Kernel k = ks.get(i);
                assertTrue(k.op() instanceof Op.Add, String.valueOf(k.op()));
                assertTrue(k.queuedNs() <= k.startNs() && k.startNs() <= k.endNs(), k.toString());
                if (i > 0) assertTrue(ks.get(i - 1).endNs() <= k.startNs(), "an in-order queue: " + ks);
            }
            // past the bound, launches run but are not kept; the next recording starts from nothing
            t.start();
            for (int i = 0; i < ClRuntime.MAX_RECORDED + 10; i++) b.add(x, x, y, 3);
            assertEquals(ClRuntime.MAX_RECORDED, t.stop().size());
            t.start();
            b.add(x, x, y, 3);
            assertEquals(1, t.stop().size());
            float[] out = new float[3];
            b.download(y, out);
            assertEquals(6f, out[2]);
        }
    }

    @Test
    void stopWithoutStartIsRefused() {
        try (OpenClBackend b = OpenClBackend.open(0, Map.of())) {
            KernelTimeline t = b.kernelTimeline().orElseThrow();
            IllegalStateException e = assertThrows(IllegalStateException.class, t::stop);
            assertTrue(e.getMessage().contains("stop without start"), e.getMessage());
            t.start();
            t.stop();
            assertThrows(IllegalStateException.class, t::stop);
        }
    }
}
