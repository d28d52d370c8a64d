package org.vit4j.backend.opencl;

import org.vit4j.backend.NativeLibrary;

/**
 * PoCL's idle CPU workers spin up to {@link #SPIN_US} microseconds before they sleep
 * ({@code libvit4j_poclidle.so}; native/opencl/pocl_idle.c says how). PoCL runs a kernel on one
 * worker thread per core, and a worker that runs out of work-groups sleeps until the next kernel
 * wakes it: between two dependent kernels, every time. On a cloud VM that wake-up takes 8-30 us at
 * the median and 1-4 ms in the worst of 300 ({@code bench/cpu/wake_latency.c}), against a hundred
 * kernels of 15-400 us in a ViT-Ti or ViT-S pass at batch 1 (README, "Performance, measured"). ONNX
 * Runtime's thread pool spins before it sleeps too.
 *
 * <p>Process-wide, like PoCL's workers: every PoCL CPU backend opened applies its own value, and the
 * last one opened holds. Where the library is missing or PoCL is not as expected the workers sleep as
 * PoCL has them, and {@link #state} says why.
 */
final class PoclIdle {
    static final TuningParam SPIN_US = new TuningParam("POCL_SPIN_US", 0, 2000,
            "PoCL CPU devices: microseconds an idle worker thread spins (yielding the core) before it sleeps; "
                    + "0: it sleeps at once, as PoCL has it");

    private static final NativeLibrary LIBRARY = new NativeLibrary("libvit4j_poclidle.so",
            "CMakeLists.txt builds it from native/opencl; the jar packs it from build/native");

    private static String state = "not applied";

    private PoclIdle() {}

    /**
     * Applies {@code budgetUs} for PoCL's CPU device; for any other device nothing. Returns what is in
     * force, for {@link OpenClBackend#kernelChoices()}; null for a device that is not PoCL's CPU device.
     * Never throws: the workers then sleep as PoCL has them.
     */
    static synchronized String apply(ClDevice device, int budgetUs) {
        if (device.kind() != ClDevice.Kind.CPU || !SignalChaining.isPocl(device)) return null;
        String why = LIBRARY.load();
        if (why == null) {
            try {
                why = install0(budgetUs);
            } catch (UnsatisfiedLinkError e) { // a library of another version, without this entry point
                why = "libvit4j_poclidle.so lacks install0: " + e.getMessage();
            }
        }
        if (why != null) {
            state = "PoCL idle workers sleep at once (" + why + ")";
        } else {
            state = budgetUs > 0 ? "PoCL idle workers spin up to " + budgetUs + " us" : "PoCL idle workers sleep at once (POCL_SPIN_US=0)";
        }
        return state;
    }

    /** What the last {@link #apply} put in force. */
    static synchronized String state() {
        return state;
    }

    /**
     * How many times PoCL's workers returned from a spin slice, and slept for real, since the library was
     * loaded: {spins, sleeps}; null where it is not loaded.
     */
    static long[] counts() {
        return LIBRARY.load() == null ? counts0() : null;
    }

    private static native String install0(long budgetUs);

    private static native long[] counts0();
}
