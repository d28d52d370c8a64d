package org.vit4j.backend.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.vit4j.Vit4jException;

/**
 * Which attention kernel a CPU device runs: attention_v4, with 16-key vectors and 24 accumulators
 * where the native float width is 16 (AVX-512) and 8 and 12 below, unless the tuning says otherwise;
 * the choice is reported by kernelChoices
 * (vit4j bench prints it). That each variant is correct is KernelParityTest's (DevicesUnderTest's
 * attention variants).
 */
class AttentionVariantTest {
    @Test
    void theDeviceDefaultIsSizedFromTheVectorWidthAndAnOverrideWins() {
        Assumptions.assumeTrue(new OpenClProvider().probe().available(), "no OpenCL device");
        try (OpenClBackend b = OpenClBackend.open(0, Map.of(), ClDevice.Kind.CPU)) {
            String expected = b.device().nativeFloatWidth() >= 16 ? "attention_v4 KB=16 ACC=24" : "attention_v4 KB=8 ACC=12";
            assertTrue(b.kernelChoices().contains("; " + expected), b.kernelChoices());
        }
        try (OpenClBackend b = OpenClBackend.open(0, Map.of("ATTN_VARIANT", 3), ClDevice.Kind.CPU)) {
            assertTrue(b.kernelChoices().contains("; attention_v3"), b.kernelChoices());
        }
        try (OpenClBackend b = OpenClBackend.open(0, Map.of("ATTN_V4_KB", 8, "ATTN_V4_ACC", 12), ClDevice.Kind.CPU)) {
            assertTrue(b.kernelChoices().contains("; attention_v4 KB=8 ACC=12"), b.kernelChoices());
        }
        try (OpenClBackend b = OpenClBackend.open(0, Map.of(), ClDevice.Kind.GPU)) {
            assertTrue(b.kernelChoices().contains("; attention_v2"), b.kernelChoices());
        }
    }

    @Test
    void theAccumulatorBudgetSplitsIntoRowsKeyVectorsAndColumnPasses() {
        // AVX-512 at hd 64 (4 vectors of 16): 6 rows x 4, P V in one pass
        assertEquals(new AttentionOps.V4Split(6, 4, 4), AttentionOps.v4Split(6, 4, 24, 4));
        // AVX2 at hd 64 (8 vectors of 8): 6 rows x 2 key vectors, P V in four passes of 2 (not one row x 8)
        assertEquals(new AttentionOps.V4Split(6, 2, 2), AttentionOps.v4Split(6, 4, 12, 8));
        // hd 80 on AVX-512 (5 vectors): passes of 4 and a last one of 1
        assertEquals(new AttentionOps.V4Split(6, 4, 4), AttentionOps.v4Split(6, 4, 24, 5));
        // DevicesUnderTest's odd variant: 5 rows x 3, passes of 3, 3 and 2 at hd 64
        assertEquals(new AttentionOps.V4Split(5, 3, 3), AttentionOps.v4Split(5, 3, 15, 8));
        // fewer accumulators than rows: one vector each
        assertEquals(new AttentionOps.V4Split(3, 1, 1), AttentionOps.v4Split(6, 4, 3, 8));
    }

    @Test
    void badValuesNameTheParameter() {
        Assumptions.assumeTrue(new OpenClProvider().probe().available(), "no OpenCL device");
        Vit4jException e = assertThrows(Vit4jException.class, () -> OpenClBackend.open(0, Map.of("ATTN_VARIANT", 5)).close());
        assertTrue(e.getMessage().contains("ATTN_VARIANT must be 1, 2, 3 or 4, got 5"), e.getMessage());
        e = assertThrows(Vit4jException.class, () -> OpenClBackend.open(0, Map.of("ATTN_V4_KB", 4)).close());
        assertTrue(e.getMessage().contains("ATTN_V4_KB must be 8 or 16 (or 0: the device's), got 4"), e.getMessage());
        e = assertThrows(Vit4jException.class, () -> OpenClBackend.open(0, Map.of("ATTN_V4_QR", 0)).close());
        assertTrue(e.getMessage().contains("ATTN_V4_QR must be >= 1, got 0"), e.getMessage());
    }
}
