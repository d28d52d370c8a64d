package org.vit4j.backend.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The vector width vit4j sizes its CPU kernels by: PoCL reports the host CPU's, but compiles for the kernel
 * library POCL_KERNELLIB_NAME names, and the narrower of the two is what the kernels get.
 */
class ClDeviceTest {
    @Test
    void poclKernelLibrariesAndTheirFloatWidths() {
        assertEquals(4, ClDevice.poclKernelLibraryFloatWidth("sse2"));
        assertEquals(4, ClDevice.poclKernelLibraryFloatWidth("sse41"));
        assertEquals(8, ClDevice.poclKernelLibraryFloatWidth("avx"));
        assertEquals(8, ClDevice.poclKernelLibraryFloatWidth("avx_fma4"));
        assertEquals(8, ClDevice.poclKernelLibraryFloatWidth(" avx2 "));
        assertEquals(16, ClDevice.poclKernelLibraryFloatWidth("avx512"));
        assertEquals(0, ClDevice.poclKernelLibraryFloatWidth(null));
        assertEquals(0, ClDevice.poclKernelLibraryFloatWidth("GENERIC"));
        assertEquals(0, ClDevice.poclKernelLibraryFloatWidth("haswell"));
    }

    /**
     * In a JVM whose PoCL is told to use its AVX2 library, the CPU device is PoCL's haswell one with 8-wide
     * floats, so vit4j picks an AVX2 CPU's kernels and tiles (on an AVX-512 host PoCL itself still says 16).
     */
    @Test
    void poclsAvx2LibraryGivesEightWideFloats() throws Exception {
        Assumptions.assumeTrue(new OpenClProvider().probe().available(), "no OpenCL device");
        ClDevice here = ClDevice.all().get(0);
        Assumptions.assumeTrue(here.kind() == ClDevice.Kind.CPU && here.platformName().contains("Portable Computing Language"),
                "device 0 is not PoCL's CPU device: " + here.describe());
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("java.class.path"), WidthMain.class.getName()).redirectErrorStream(true);
        pb.environment().put("POCL_KERNELLIB_NAME", "avx2");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes()).trim();
        assertEquals(0, p.waitFor(), out);
        assertTrue(out.endsWith("8") && out.contains("haswell"), out);
    }

    /** Prints device 0's name and the float width vit4j takes for it. */
    public static final class WidthMain {
        public static void main(String[] args) {
            ClDevice d = ClDevice.all().get(0);
            System.out.println(d.name() + " " + d.nativeFloatWidth());
        }
    }
}
