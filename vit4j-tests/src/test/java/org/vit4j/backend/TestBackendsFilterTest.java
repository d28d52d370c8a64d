package org.vit4j.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;
import org.junit.jupiter.api.Test;

/** {@code VIT4J_TEST_BACKENDS}: which device backends the kernel tests run on (DevicesUnderTest). */
class TestBackendsFilterTest {
    @Test
    void unsetOrBlankKeepsEveryBackend() {
        assertEquals(Set.of("opencl", "cuda", "cuda-cpu"), DevicesUnderTest.backendsWanted(null));
        assertEquals(Set.of("opencl", "cuda", "cuda-cpu"), DevicesUnderTest.backendsWanted(" "));
    }

    @Test
    void aListKeepsWhatItNames() {
        assertEquals(Set.of("cuda"), DevicesUnderTest.backendsWanted("cuda"));
        assertEquals(Set.of("cuda", "opencl"), DevicesUnderTest.backendsWanted(" cuda , opencl"));
        assertEquals(Set.of("cuda-cpu"), DevicesUnderTest.backendsWanted("cuda-cpu"));
    }

    @Test
    void anUnknownNameIsAnErrorNamingTheVariable() {
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> DevicesUnderTest.backendsWanted("cuda,gpu"));
        assertTrue(e.getMessage().startsWith("VIT4J_TEST_BACKENDS: unknown backend 'gpu' in 'cuda,gpu'"), e.getMessage());
        assertTrue(e.getMessage().contains("cuda, cuda-cpu, opencl"), e.getMessage());
    }
}
