package org.vit4j.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.vit4j.Vit4jException;

/** The one value that carries every backend setting: defaults, copies, and the CLI's spellings. */
class BackendOptionsTest {
    @Test
    void defaultsAreGraphsVit4jGemmAndNoTuning() {
        assertFalse(BackendOptions.DEFAULT.noGraph());
        assertEquals(BackendOptions.Gemm.VIT4J, BackendOptions.DEFAULT.gemm());
        assertEquals(Map.of(), BackendOptions.DEFAULT.openClTuning());
        assertEquals(BackendOptions.DEFAULT, new BackendOptions(false, null, null), "null is the default");
    }

    @Test
    void eachWitherChangesOneOptionAndTheValueIsImmutable() {
        Map<String, Integer> tuning = new HashMap<>(Map.of("GEMM_VARIANT", 2));
        BackendOptions o = BackendOptions.DEFAULT.withNoGraph(true).withGemm(BackendOptions.Gemm.CUBLAS)
                .withOpenClTuning(tuning);
        assertEquals(new BackendOptions(true, BackendOptions.Gemm.CUBLAS, Map.of("GEMM_VARIANT", 2)), o);
        tuning.put("GEMM_WG", 4);
        assertEquals(Map.of("GEMM_VARIANT", 2), o.openClTuning(), "a copy, not the caller's map");
        assertThrows(UnsupportedOperationException.class, () -> o.openClTuning().put("X", 1));
        assertEquals(BackendOptions.DEFAULT, o.withNoGraph(false).withGemm(BackendOptions.Gemm.VIT4J)
                .withOpenClTuning(Map.of()));
    }

    @Test
    void gemmIsNamedInAnyCaseAndAnUnknownOneIsAnError() {
        assertEquals(BackendOptions.Gemm.CUBLAS, BackendOptions.Gemm.parse("cuBLAS"));
        assertEquals(BackendOptions.Gemm.VIT4J, BackendOptions.Gemm.parse(" vit4j "));
        for (BackendOptions.Gemm g : BackendOptions.Gemm.values()) assertEquals(g, BackendOptions.Gemm.parse(g.id()));
        Vit4jException e = assertThrows(Vit4jException.class, () -> BackendOptions.Gemm.parse("mkl"));
        assertEquals("unknown GEMM provider 'mkl'; expected vit4j or cublas", e.getMessage());
        assertThrows(Vit4jException.class, () -> BackendOptions.Gemm.parse(null));
    }

    @Test
    void openClTuningParsesNamesInAnyCaseAndNamesABadItem() {
        assertEquals(Map.of("GEMM_VARIANT", 3, "GEMM_V3_TM", 32),
                BackendOptions.parseOpenClTuning("gemm_variant=3, GEMM_V3_TM=32"));
        assertEquals(Map.of(), BackendOptions.parseOpenClTuning(null));
        assertEquals(Map.of(), BackendOptions.parseOpenClTuning(" "));
        for (String bad : new String[] {"GEMM_VARIANT=three", "GEMM_VARIANT", "=3", "A=1=2"}) {
            Vit4jException e = assertThrows(Vit4jException.class, () -> BackendOptions.parseOpenClTuning(bad));
            assertTrue(e.getMessage().contains("'" + bad + "' is not NAME=integer"), e.getMessage());
        }
    }
}
