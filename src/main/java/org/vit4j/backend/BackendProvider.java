package org.vit4j.backend;

import java.util.List;

/**
 * Finds one kind of backend on this machine and opens it. {@link #probe()} never throws: a missing
 * driver, ICD loader or kernel build is reported as the reason the backend is unavailable.
 */
public interface BackendProvider {

    /** "cpu", "opencl", "cuda". */
    String name();

    /** Lower runs first under {@code --backend auto}. */
    int preference();

    Probe probe();

    /** Opens the backend on device {@code device} (an index into {@link Probe#devices()}). */
    Backend open(int device);

    /** What a probe found: the devices, and whether the backend can run on them (else why not). */
    record Probe(boolean available, List<String> devices, String reason) {
        public static Probe available(List<String> devices) {
            return new Probe(true, devices, null);
        }

        public static Probe unavailable(List<String> devices, String reason) {
            return new Probe(false, devices, reason);
        }
    }
}
