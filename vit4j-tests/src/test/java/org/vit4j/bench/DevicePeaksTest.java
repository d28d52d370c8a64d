package org.vit4j.bench;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.vit4j.ElementType;

/** Which measured peaks DevicePeaks keeps: an fp32 FMA peak below the fp32 GEMM's was disturbed. */
class DevicePeaksTest {
    @Test
    void anFp32FmaPeakBelowTheGemmRateIsNotPlausible() {
        assertFalse(DevicePeaks.plausible(ElementType.F32, 172.4, 71.7)); // the AMD EPYC reading of 2026-12-02
        assertTrue(DevicePeaks.plausible(ElementType.F32, 172.4, 203.7));
        assertTrue(DevicePeaks.plausible(ElementType.F32, 172.4, Double.NaN)); // no FMA kernel: nothing to check
        assertTrue(DevicePeaks.plausible(ElementType.BF16, 700_000, 60_000)); // tensor cores beat the fp32 chains
    }
}
