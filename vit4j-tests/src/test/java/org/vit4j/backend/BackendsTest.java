package org.vit4j.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vit4j.Vit4jException;
import org.vit4j.backend.cpu.CpuBackend;
import org.vit4j.backend.cuda.CudaCpuProvider;

/** The choice of backend: by name, with options, and what {@code auto} will never pick. */
class BackendsTest {

    /** A provider that opens a CPU backend and remembers what it was asked. */
    private static final class Fake implements BackendProvider {
        final String name;
        final int preference;
        final String testing;
        final boolean available;
        final List<BackendOptions> opened = new ArrayList<>();

        Fake(String name, int preference, String testing, boolean available) {
            this.name = name;
            this.preference = preference;
            this.testing = testing;
            this.available = available;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public int preference() {
            return preference;
        }

        @Override
        public String testingOnly() {
            return testing;
        }

        @Override
        public Probe probe() {
            return available ? Probe.available(List.of(name + " device")) : Probe.unavailable(List.of(), "not here");
        }

        @Override
        public Backend open(int device) {
            return open(device, BackendOptions.DEFAULT);
        }

        @Override
        public Backend open(int device, BackendOptions options) {
            opened.add(options);
            return new CpuBackend();
        }
    }

    @Test
    void autoSkipsATestingBackendEvenWhenItIsPreferredAndAvailable() {
        Fake testing = new Fake("cuda-cpu", 0, "for testing", true);
        Fake real = new Fake("cpu", 50, null, true);
        try (Backend b = Backends.open(List.of(testing, real), "auto", 0, BackendOptions.DEFAULT)) {
            assertNotNull(b);
        }
        assertEquals(0, testing.opened.size(), "auto opened the testing backend");
        assertEquals(1, real.opened.size());
        // By name it opens.
        try (Backend b = Backends.open(List.of(testing, real), "cuda-cpu", 0, BackendOptions.DEFAULT)) {
            assertNotNull(b);
        }
        assertEquals(1, testing.opened.size());
        // And where it is the only one available, auto says there is nothing rather than taking it.
        Vit4jException none = assertThrows(Vit4jException.class, () -> Backends.open(
                List.of(testing, new Fake("cuda", 10, null, false)), "auto", 0, BackendOptions.DEFAULT));
        assertTrue(none.getMessage().contains("no backend for auto") && none.getMessage().contains("cuda: not here"),
                none.getMessage());
    }

    @Test
    void theRealListHasCudaCpuAsATestingBackendThatAutoDoesNotPick() {
        BackendProvider cudaCpu = Backends.all().stream().filter(p -> p.name().equals("cuda-cpu")).findFirst()
                .orElseThrow(() -> new AssertionError("cuda-cpu not among " + Backends.all()));
        assertTrue(cudaCpu instanceof CudaCpuProvider);
        assertNotNull(cudaCpu.testingOnly());
        assertTrue(cudaCpu.testingOnly().contains("CUDA kernels executed on the CPU"), cudaCpu.testingOnly());
        try (Backend auto = Backends.open("auto")) {
            assertNotEquals("cuda-cpu", auto.name());
        }
    }

    /** A backend that only a services file of its own names: what a backend in a jar of its own looks like. */
    public static final class Discovered implements BackendProvider {
        @Override
        public String name() {
            return "discovered";
        }

        @Override
        public int preference() {
            return 15;
        }

        @Override
        public Probe probe() {
            return Probe.unavailable(List.of(), "a test's provider");
        }

        @Override
        public Backend open(int device) {
            throw new AssertionError("never opened");
        }
    }

    @Test
    void theBackendsAreFoundByTheServiceLoaderInPreferenceOrder() {
        List<String> names = Backends.all().stream().map(BackendProvider::name).toList();
        assertEquals(List.of("cuda", "opencl", "cpu", "cuda-cpu"), names);
    }

    /** A new backend is a jar with a services file: found with no edit elsewhere; a broken entry hides no other. */
    @Test
    void aBackendInAJarOfItsOwnIsFoundAndABrokenOneIsSkipped(@TempDir Path jar) throws IOException {
        Path services = jar.resolve("META-INF/services/" + BackendProvider.class.getName());
        Files.createDirectories(services.getParent());
        Files.writeString(services, "org.vit4j.backend.NoSuchProvider\n" + Discovered.class.getName() + "\n");
        try (URLClassLoader loader = new URLClassLoader(new URL[] {jar.toUri().toURL()},
                BackendsTest.class.getClassLoader())) {
            List<String> names = Backends.all(loader).stream().map(BackendProvider::name).toList();
            assertEquals(List.of("cuda", "discovered", "opencl", "cpu", "cuda-cpu"), names);
        }
    }

    @Test
    void optionsReachTheProvider() {
        Fake real = new Fake("cpu", 50, null, true);
        BackendOptions noGraph = BackendOptions.DEFAULT.withNoGraph(true);
        try (Backend b = Backends.open(List.of(real), "cpu", 0, noGraph)) {
            assertNotNull(b);
        }
        try (Backend b = Backends.open(List.of(real), "auto", 0, null)) {
            assertNotNull(b);
        }
        assertSame(noGraph, real.opened.get(0));
        assertEquals(BackendOptions.DEFAULT, real.opened.get(1), "null options are the defaults");
    }
}
