package org.vit4j.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vit4j.Vit4jException;
import org.vit4j.io.checkpoint.CheckpointException;
import org.vit4j.io.checkpoint.ModelConfigFile;
import org.vit4j.io.image.ImageException;
import org.vit4j.io.image.ImageLoader;

/**
 * Findings of the fuzz targets' inputs whose fix the property alone does not pin down (the old
 * behaviour broke no rule of FuzzProperty, it was silently wrong): each has its committed input
 * beside the target's other inputs, and here the behaviour it must have.
 */
class FuzzFindingsTest {
    @TempDir
    Path dir;

    /** A committed input of a target, copied out of the test classpath. */
    private Path input(String target, String name, String as) throws IOException {
        try (var in = FuzzFindingsTest.class.getResourceAsStream(target + "Inputs/fuzz/" + name)) {
            assertTrue(in != null, "no input " + name + " for " + target);
            Path p = dir.resolve(as);
            Files.copy(in, p);
            return p;
        }
    }

    @Test
    void inputSizePastIntIsAnErrorNotEight() throws IOException {
        Path cfg = input("ConfigFuzzTest", "regress-input-size-wraps-config.json", "config.json");
        CheckpointException e = assertThrows(CheckpointException.class, () -> ModelConfigFile.read(cfg));
        assertTrue(e.getMessage().contains("config.json: key 'pretrained_cfg.input_size'"), e.getMessage());
    }

    /**
     * A 1 KB JPEG whose header claims 2750 x 65000 pixels (just under the cap) and whose data ends at
     * once: the decoder used to fill all 179 M pixels from nothing before the truncation was reported
     * (690 ms of CPU, 1023 MiB allocated), and a fuzzed variant of it (timeout-bcdd77fb...) decoded, with
     * a warning only, to an image of 179 M pixels (over 10 s with the preprocessing). A file this small
     * cannot hold that many pixels: it is now an error before decoding. The allocation is deterministic.
     */
    @Test
    void jpegTooSmallForItsPixelsIsAnErrorBeforeDecoding() throws IOException {
        for (String name : new String[] {"regress-truncated-2750x65000.jpg",
                                         "timeout-bcdd77fbf48f6281104a771a359a7b89be2c1a2b"}) {
            Path jpg = input("ImageFuzzTest", name, "image.jpg");
            var threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
            assertThrows(ImageException.class, () -> ImageLoader.read(jpg)); // classes loaded once, not measured
            long before = threads.getCurrentThreadAllocatedBytes();
            ImageException e = assertThrows(ImageException.class, () -> ImageLoader.read(jpg));
            long allocated = threads.getCurrentThreadAllocatedBytes() - before;
            assertTrue(e.getMessage().contains("image.jpg: JPEG image of 65000x2750 pixels in a file of 1070 bytes"),
                    e.getMessage());
            assertTrue(allocated < 16L << 20, "allocated " + (allocated >> 20) + " MiB reading a 1 KB JPEG");
            Files.delete(jpg);
        }
    }

    /** The same for PNG: 69 bytes claiming 13000 x 13000 pixels allocated a 483 MiB raster first. */
    @Test
    void pngTooSmallForItsPixelsIsAnErrorBeforeDecoding() throws IOException {
        Path png = input("ImageFuzzTest", "regress-13000x13000-in-69-bytes.png", "image.png");
        ImageException e = assertThrows(ImageException.class, () -> ImageLoader.read(png));
        assertTrue(e.getMessage().contains("image.png: PNG image of 13000x13000 pixels in a file of 69 bytes"),
                e.getMessage());
    }

    @Test
    void messagesAreOneLineWhateverTheyQuote() {
        String m = new Vit4jException("tensor \"a\nb\r\u2028c\u0000\" is bad").getMessage();
        assertEquals("tensor \"a\\nb\\r\\u2028c\\u0000\" is bad", m);
    }
}
