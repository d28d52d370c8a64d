package org.vit4j.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.ArrayDeque;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.vit4j.ElementType;
import org.vit4j.backend.Backend;
import org.vit4j.backend.cpu.CpuBackend;

/** Which measured peaks DevicePeaks keeps: an fp32 FMA peak below the fp32 GEMM's was disturbed. */
class DevicePeaksTest {
    @Test
    void anFp32FmaPeakBelowTheGemmRateIsNotPlausible() {
        assertFalse(DevicePeaks.plausible(ElementType.F32, 172.4, 71.7)); // the AMD EPYC reading of 2026-12-02
        assertTrue(DevicePeaks.plausible(ElementType.F32, 172.4, 203.7));
        assertTrue(DevicePeaks.plausible(ElementType.F32, 172.4, Double.NaN)); // no FMA kernel: nothing to check
        assertTrue(DevicePeaks.plausible(ElementType.BF16, 700_000, 60_000)); // tensor cores beat the fp32 chains
    }

    /** A disturbed FMA reading is measured again until one reads above the GEMM, and that one is kept. */
    @Test
    void aDisturbedFmaPeakIsMeasuredAgainUntilItIsPlausible() {
        ArrayDeque<Double> readings = new ArrayDeque<>(List.of(1e-3, 1e-3, 1e-3, 1e-3, 1e6, 5e5));
        DevicePeaks p = DevicePeaks.measure(withFmaReadings(readings), ElementType.F32, "test");
        assertEquals(1e6, p.fmaGflops());
        assertEquals(1, readings.size(), "measured until the fifth reading, not further");
        assertFalse(p.measured().contains("not cached"), p.measured());
    }

    /** A busy spell longer than the retries: the figure is kept but marked, for cpu-check to refuse it. */
    @Test
    void aPeakStillBelowTheGemmAfterTheRetriesIsMarked() {
        ArrayDeque<Double> readings = new ArrayDeque<>();
        for (int i = 0; i < DevicePeaks.RETRIES + 3; i++) readings.add(1e-3 * (i + 1));
        DevicePeaks p = DevicePeaks.measure(withFmaReadings(readings), ElementType.F32, "test");
        assertEquals(2, readings.size(), "one reading and RETRIES more");
        assertEquals(1e-3 * (DevicePeaks.RETRIES + 1), p.fmaGflops(), 1e-12); // the best of them
        assertTrue(p.measured().contains("not cached"), p.measured());
    }

    /** The CPU reference backend with its FMA peak read from {@code readings}, one per call. */
    private static Backend withFmaReadings(ArrayDeque<Double> readings) {
        CpuBackend cpu = new CpuBackend();
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("measureFmaPeakGflops")) return readings.remove();
                    try {
                        return method.invoke(cpu, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }
}
