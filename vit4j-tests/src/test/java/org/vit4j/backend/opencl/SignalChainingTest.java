package org.vit4j.backend.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class SignalChainingTest {
    /** The build log PoCL 3.1 gives when LLVM's signal handler deleted the preprocessor's output (bench/results). */
    @Test
    void recognisesTheDeletedTemporaryFile() {
        String log = "error: <invalid loc>: unable to rename temporary '/root/.cache/pocl/kcache/tempfile_mnZWUP.preproc-3f1d7e2b"
                + ".cl.tmp' to output file '/root/.cache/pocl/kcache/tempfile_mnZWUP.preproc.cl': 'No such file or directory'\n"
                + "Device pthread-skylake-avx512 failed to build the program";
        assertTrue(SignalChaining.temporaryFileDeleted(log));
        assertFalse(SignalChaining.temporaryFileDeleted("<source>:3:5: error: use of undeclared identifier 'x'"));
        assertFalse(SignalChaining.temporaryFileDeleted(null));
    }

    @Test
    void theWarningIsOneLineNamingLibjsig() {
        String w = SignalChaining.warning();
        assertEquals(1, w.lines().count(), w);
        assertTrue(w.contains("LD_PRELOAD=" + System.getProperty("java.home") + "/lib/libjsig.so"), w);
    }

    /** Surefire starts the tests with LD_PRELOAD=libjsig.so (pom.xml), so this JVM has it. */
    @Test
    void seesTheTestJvmsLibjsig() {
        String preload = System.getenv("LD_PRELOAD");
        if (preload != null && preload.contains("libjsig.so") && System.getProperty("os.name").startsWith("Linux")) {
            assertTrue(SignalChaining.libjsigLoaded());
        }
    }
}
