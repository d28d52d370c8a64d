package org.vit4j.backend.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.vit4j.Vit4jException;
import org.vit4j.backend.Backend;
import org.vit4j.backend.BackendOptions;
import org.vit4j.backend.Backends;

class TuningTest {
    /** Overrides travel in the options given at open time, through Backends.open, to the ops. */
    @Test
    void overridesArriveInTheOptionsTheBackendIsOpenedWith() {
        Assumptions.assumeTrue(new OpenClProvider().probe().available(), "no OpenCL device");
        BackendOptions options = BackendOptions.DEFAULT.withOpenClTuning(BackendOptions.parseOpenClTuning(
                "gemm_variant=1, GEMM_WG=4"));
        try (Backend b = Backends.open("opencl", 0, options)) {
            Tuning t = ((OpenClBackend) b).tuning();
            assertEquals(1, t.get(LinearOps.VARIANT));
            assertEquals(4, t.get(LinearOps.WG));
        }
        try (Backend b = Backends.open("opencl", 0, BackendOptions.DEFAULT)) {
            Tuning t = ((OpenClBackend) b).tuning();
            assertEquals(LinearOps.VARIANT.defaultFor(t.kind()), t.get(LinearOps.VARIANT), "no overrides: the defaults");
        }
        Vit4jException e = assertThrows(Vit4jException.class, () -> Backends.open("opencl", 0,
                BackendOptions.DEFAULT.withOpenClTuning(Map.of("GEMM_V3_TILE", 32))).close());
        assertTrue(e.getMessage().contains("unknown parameter 'GEMM_V3_TILE'"), e.getMessage());
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
