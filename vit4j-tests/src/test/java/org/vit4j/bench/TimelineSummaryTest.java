package org.vit4j.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.vit4j.backend.Epilogue;
import org.vit4j.backend.KernelTimeline.Kernel;
import org.vit4j.backend.Op;

/** TimelineSummary on timelines worked out by hand (times in ns). */
class TimelineSummaryTest {

    @Test
    void spanSplitsIntoRunningAndIdleAndTheHostsLatePart() {
        // a runs 0-100; b, queued at 50, starts 110 (gap 10, host not late); c, queued at 180, starts 200 after b ends
        // at 150 (gap 50, of which 30 before it was queued); a again, queued early, 200-300 -> 310-400 (gap 10).
        List<Kernel> pass1 = List.of(new Kernel("a", null, 0, 0, 100), new Kernel("b", null, 50, 110, 150),
                new Kernel("c", null, 180, 200, 300), new Kernel("a", null, 60, 310, 400));
        // a second pass, no gaps at all: a 1000-1100, b 1100-1120, c 1120-1200, a 1200-1300
        List<Kernel> pass2 = List.of(new Kernel("a", null, 900, 1000, 1100), new Kernel("b", null, 900, 1100, 1120),
                new Kernel("c", null, 900, 1120, 1200), new Kernel("a", null, 900, 1200, 1300));
        // a third, as the first but c's gap is 90 with the host 70 late
        List<Kernel> pass3 = List.of(new Kernel("a", null, 0, 0, 100), new Kernel("b", null, 50, 110, 150),
                new Kernel("c", null, 220, 240, 340), new Kernel("a", null, 60, 350, 440));
        TimelineSummary t = TimelineSummary.of(List.of(pass1, pass2, pass3));
        assertEquals(3, t.passes());
        assertEquals(4, t.kernels());
        // spans 400, 300, 440 -> median 400 ns; running 330, 300, 330 -> 330; idle 70, 0, 110 -> 70; late 30, 0, 70 -> 30
        assertEquals(400e-6, t.spanMs(), 1e-12);
        assertEquals(330e-6, t.runningMs(), 1e-12);
        assertEquals(70e-6, t.idleMs(), 1e-12);
        assertEquals(30e-6, t.hostLateMs(), 1e-12);
        // gaps 10, 50, 10, 0, 0, 0, 10, 90, 10 -> sorted 0 0 0 10 10 10 10 50 90, median 10 ns
        assertEquals(10e-3, t.medianGapUs(), 1e-12);
        // a: 6 runs of 100, 100, 90 (x2: 100, 90 in pass 3) -> runs 100 90 100 100 100 90, median 100; per pass 580 / 3
        TimelineSummary.Row a = t.rows().get(0);
        assertEquals("a", a.kernel());
        assertEquals(2.0, a.calls());
        assertEquals(0.1, a.medianUs(), 1e-12);
        assertEquals(580e-3 / 3, a.usPerPass(), 1e-12);
        assertEquals(580.0 / 960, a.share(), 1e-12); // of 330 + 300 + 330
        // the gaps before a's calls (the first of a pass has none): 10, 0, 10 -> 10
        assertEquals(10e-3, a.medianGapUs(), 1e-12);
        TimelineSummary.Row c = t.rows().get(1);
        assertEquals("c", c.kernel());
        assertEquals(280e-3 / 3, c.usPerPass(), 1e-12);
        assertEquals(50e-3, c.medianGapUs(), 1e-12); // 50, 0, 90
        assertEquals("b", t.rows().get(2).kernel());
    }

    @Test
    void anOpIsTimedFromItsFirstKernelsStartToItsLastOnesEnd() {
        // two calls of one linear shape (a new Op instance each, as the named ops make them), the second of two kernels
        // (with a gap of 5 between them); a kernel outside any op (a weight packed) counts for no op
        Op first = new Op.Linear(null, null, null, null, 10, 20, 30, Epilogue.BIAS, null);
        Op second = new Op.Linear(null, null, null, null, 10, 20, 30, Epilogue.BIAS, null);
        Op other = new Op.Linear(null, null, null, null, 10, 20, 40, Epilogue.NONE, null);
        List<Kernel> pass = List.of(new Kernel("linear", first, 0, 0, 100), new Kernel("pack", null, 0, 100, 150),
                new Kernel("linear", second, 0, 150, 250), new Kernel("tail", second, 0, 255, 300),
                new Kernel("linear", other, 0, 300, 340));
        TimelineSummary t = TimelineSummary.of(List.of(pass));
        assertEquals(2, t.ops().size());
        TimelineSummary.OpRow a = t.ops().get(0);
        assertEquals("linear+bias", a.op());
        assertEquals("M=10 K=20 N=30", a.shape());
        assertEquals(2.0, a.calls());
        // calls of 100 and 150 (150-300) ns: median 125 ns, 250 ns per pass, 12000 FLOP at 125 ns = 96 GFLOP/s
        assertEquals(0.125, a.medianUs(), 1e-12);
        assertEquals(0.25, a.usPerPass(), 1e-12);
        assertEquals(12000.0, a.flops());
        assertEquals(96.0, a.gflops(), 1e-9);
        assertEquals("linear+none", t.ops().get(1).op());
        assertEquals(0.04, t.ops().get(1).medianUs(), 1e-12);
    }

    @Test
    void aLoneKernelHasNoGapAndNothingIsNoSummary() {
        TimelineSummary t = TimelineSummary.of(List.of(List.of(new Kernel("k", null, 5, 10, 30))));
        assertEquals(20e-6, t.spanMs(), 1e-12);
        assertEquals(0, t.idleMs());
        assertEquals(Double.NaN, t.medianGapUs());
        assertEquals(Double.NaN, t.rows().get(0).medianGapUs());
        assertThrows(IllegalArgumentException.class, () -> TimelineSummary.of(List.of()));
        assertThrows(IllegalArgumentException.class, () -> TimelineSummary.of(List.of(List.of())));
    }
    @Test
    void pairedShareIsEachPassAgainstItsOwnPeakThenTheMedian() {
        // one linear call a pass, 100, 200 and 50 ns, with peaks of 120, 100 and 500 GFLOP/s measured before each:
        // F/100 / 120, F/200 / 100, F/50 / 500 = F/12000, F/20000, F/25000 (F the op's FLOPs; flop/ns = GFLOP/s)
        Op linear = new Op.Linear(null, null, null, null, 10, 20, 30, Epilogue.BIAS, null);
        List<List<Kernel>> passes = List.of(List.of(new Kernel("linear", linear, 0, 0, 100)),
                List.of(new Kernel("linear", linear, 0, 1000, 1200)), List.of(new Kernel("linear", linear, 0, 2000, 2050)));
        double f = linear.flops();
        assertEquals(f / 20000, TimelineSummary.pairedFmaShare(passes, new double[] {120, 100, 500}, linear.label(), linear.shape()),
                1e-12 * f);
        // against the middle peak for all three passes instead, the median call (100 ns) would give F/100 / 120 = F/12000
        assertEquals(f / 12000, TimelineSummary.pairedFmaShare(passes, new double[] {120, 120, 120}, linear.label(), linear.shape()),
                1e-12 * f);
        // an op that did not run is NaN; a peak per pass is required
        assertEquals(Double.NaN, TimelineSummary.pairedFmaShare(passes, new double[] {1, 1, 1}, "attention", linear.shape()));
        assertThrows(IllegalArgumentException.class,
                () -> TimelineSummary.pairedFmaShare(passes, new double[] {1, 1}, linear.label(), linear.shape()));
    }
}
