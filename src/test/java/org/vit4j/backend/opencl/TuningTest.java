package org.vit4j.backend.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.vit4j.Vit4jException;

class TuningTest {
    @Test
    void parsesOverridesAndNamesBadOnes() {
        assertEquals(Map.of("GEMM_VARIANT", 3, "GEMM_V3_TM", 32), Tuning.parse("gemm_variant=3, GEMM_V3_TM=32"));
        Vit4jException e = assertThrows(Vit4jException.class, () -> Tuning.parse("GEMM_VARIANT=three"));
        assertTrue(e.getMessage().contains("GEMM_VARIANT=three"), e.getMessage());
    }

    @Test
    void defaultsFollowTheDeviceKindAndOverridesWin() {
        TuningParam p = new TuningParam("TEST_TILE", 64, 8, "a test parameter");
        assertEquals(64, new Tuning(ClDevice.Kind.GPU, Map.of()).get(p));
        assertEquals(8, new Tuning(ClDevice.Kind.CPU, Map.of()).get(p));
        assertEquals(5, new Tuning(ClDevice.Kind.CPU, Map.of("TEST_TILE", 5)).get(p));
    }

    @Test
    void aMisspeltParameterIsAnError() {
        new TuningParam("TEST_KNOWN", 1, 1, "declared");
        new Tuning(ClDevice.Kind.CPU, Map.of("TEST_KNOWN", 2)).rejectUnknownOverrides();
        Vit4jException e = assertThrows(Vit4jException.class,
                () -> new Tuning(ClDevice.Kind.CPU, Map.of("GEMM_V3_TILE", 32)).rejectUnknownOverrides());
        assertTrue(e.getMessage().contains("unknown parameter 'GEMM_V3_TILE'"), e.getMessage());
    }
}
