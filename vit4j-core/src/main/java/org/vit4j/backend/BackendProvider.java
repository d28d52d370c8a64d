package org.vit4j.backend;

import java.util.List;

/**
 * Finds one kind of backend on this machine and opens it. {@link #probe()} never throws: a missing
 * driver, ICD loader or kernel build is reported as the reason the backend is unavailable.
 */
public interface BackendProvider {

    /** "cpu", "opencl", "cuda", "cuda-cpu". */
    String name();

    /** Lower runs first under {@code --backend auto}. */
    int preference();

    Probe probe();

    /** Opens the backend on device {@code device} (an index into {@link Probe#devices()}). */
    Backend open(int device);

    /** As {@link #open(int)}, with {@code options}; a backend to which none of them applies ignores them. */
    default Backend open(int device, BackendOptions options) {
        return open(device);
    }

    /**
     * Why this backend is for testing only, in words, or null for a backend to run models on. A
     * testing backend is listed by {@code vit4j devices} and opened by name, never by {@code auto}.
     */
    default String testingOnly() {
        return null;
    }

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
