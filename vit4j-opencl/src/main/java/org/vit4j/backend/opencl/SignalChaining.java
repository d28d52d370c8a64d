package org.vit4j.backend.opencl;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * PoCL and the JVM's SIGSEGV handler. From PoCL's first context on, and again at every program build
 * (even on a kernel-cache hit it preprocesses the source into a temporary file), LLVM holds the
 * process's handler for SIGSEGV and the other fatal signals until a signal arrives
 * ({@code bench/peers/pocl_sigsegv_handler.c}). The JVM raises SIGSEGV on purpose (safepoint polls,
 * implicit null checks), so a GC or any other safepoint goes to LLVM's handler first: it restores
 * the JVM's, but deletes the compiler's temporary files on the way (a build under way then fails
 * with "unable to rename temporary ..."), and, installed with SA_RESETHAND, leaves a window in
 * which a second thread's fault meets the default action and kills the process.
 * {@code bench/peers/pocl_signal_stress.sh} measures both (README, "OpenCL on PoCL"). With
 * {@code LD_PRELOAD=$JAVA_HOME/lib/libjsig.so} the JVM keeps its handler and chains LLVM's.
 * Nothing from Java can restore a signal handler, so where libjsig is missing the backend says so
 * once, and a build that failed this way is retried.
 */
final class SignalChaining {
    /** Builds of one program, in all, where each failed because its temporary files were deleted. */
    static final int BUILD_ATTEMPTS = 20;

    private static volatile Boolean loaded;

    private SignalChaining() {}

    /** Whether libjsig is loaded in this process (Linux: /proc/self/maps); true where that cannot be known. */
    static boolean libjsigLoaded() {
        Boolean l = loaded;
        if (l == null) {
            try {
                l = Files.readString(Path.of("/proc/self/maps")).contains("/libjsig.so");
            } catch (IOException | RuntimeException e) {
                l = true; // not Linux: nothing to say
            }
            loaded = l;
        }
        return l;
    }

    /** Whether the device is PoCL's (the only OpenCL platform known to compile with LLVM in-process). */
    static boolean isPocl(ClDevice device) {
        return isPoclPlatform(device.platformName());
    }

    /** Whether an OpenCL platform of this name is PoCL ("Portable Computing Language"). */
    static boolean isPoclPlatform(String platformName) {
        return platformName.toLowerCase(Locale.ROOT).contains("portable computing");
    }

    /** What to do, for the warning and for a build that failed this way. */
    static String advice() {
        return "start java with LD_PRELOAD=" + System.getProperty("java.home") + "/lib/libjsig.so (JVM signal chaining; "
                + "the vit4j launcher and test build do)";
    }

    /** The one-line warning for a PoCL device in a JVM without libjsig. */
    static String warning() {
        return "OpenCL on PoCL without JVM signal chaining: PoCL's LLVM takes the JVM's SIGSEGV handler at each "
                + "kernel build, so a GC can fail the build or crash the JVM; " + advice();
    }

    /** Whether a build log shows the compiler's temporary file deleted under it (LLVM's signal handler ran). */
    static boolean temporaryFileDeleted(String buildLog) {
        return buildLog != null && buildLog.contains("unable to rename temporary");
    }
}
