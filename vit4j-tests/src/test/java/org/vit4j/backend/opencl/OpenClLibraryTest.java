package org.vit4j.backend.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The search for libOpenCL that runs before JOCL is touched (JOCL prints to stdout where it fails). */
class OpenClLibraryTest {
    @TempDir
    Path dir;

    @Test
    void candidatesInTheDynamicLinkersOrder() {
        List<Path> c = OpenClLibrary.candidates("/a:/b", List.of(Path.of("/cache/libOpenCL.so.1"), Path.of("/x/libfoo.so")),
                List.of(Path.of("/usr/lib")));
        assertEquals(List.of(Path.of("/a/libOpenCL.so.1"), Path.of("/b/libOpenCL.so.1"), Path.of("/cache/libOpenCL.so.1"),
                Path.of("/usr/lib/libOpenCL.so.1"), Path.of("/a/libOpenCL.so"), Path.of("/b/libOpenCL.so"),
                Path.of("/usr/lib/libOpenCL.so")), c);
    }

    @Test
    void cacheEntriesAreTheNulTerminatedPathsOfTheLibrary() throws IOException {
        byte[] cache = ("glibc-ld.so.cache1.1\0libOpenCL.so.1\0/usr/lib/x86_64-linux-gnu/libOpenCL.so.1\0"
                + "libm.so.6\0/lib/x86_64-linux-gnu/libm.so.6\0/opt/v/libOpenCL.so\0").getBytes(StandardCharsets.ISO_8859_1);
        Path f = Files.write(dir.resolve("ld.so.cache"), cache);
        assertEquals(List.of(Path.of("/usr/lib/x86_64-linux-gnu/libOpenCL.so.1"), Path.of("/opt/v/libOpenCL.so")),
                OpenClLibrary.ldCacheEntries(f));
        assertEquals(List.of(), OpenClLibrary.ldCacheEntries(dir.resolve("none")));
    }

    @Test
    void nothingFoundIsOneLineSayingWhatToInstall() {
        String why = OpenClLibrary.load(OpenClLibrary.candidates(dir.toString(), List.of(), List.of(dir.resolve("empty"))));
        assertTrue(why.startsWith("no OpenCL ICD loader: libOpenCL.so.1 not found"), why);
        assertTrue(why.contains("apt-get install ocl-icd-libopencl1"), why);
        assertEquals(1, why.lines().count(), why);
    }

    @Test
    void aBrokenLibraryEndsTheSearchForItsNameAsDlopenDoes() throws IOException {
        Path broken = Files.writeString(dir.resolve("libOpenCL.so.1"), "not an ELF file");
        String why = OpenClLibrary.load(List.of(broken, Path.of("/nonexistent/libOpenCL.so.1")));
        assertTrue(why.startsWith("the OpenCL ICD loader could not be loaded: " + broken + ": "), why);
        assertEquals(1, why.lines().count(), why);
    }
}
