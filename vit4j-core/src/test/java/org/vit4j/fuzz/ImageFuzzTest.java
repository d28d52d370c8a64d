package org.vit4j.fuzz;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import org.junit.jupiter.api.Timeout;
import org.vit4j.io.image.ImageLoader;
import org.vit4j.io.image.ImagePreprocessor;
import org.vit4j.io.image.Preprocessing;

/**
 * Fuzzes the image loader with whole files: {@link ImageLoader#read} (format by signature, PNG or
 * JPEG through {@code javax.imageio}, the pixel cap, truncation), then the decoded image through
 * the preprocessing a model would apply: RGB with timm's shortest-side resize and centre crop
 * (bicubic), and luminance with Hugging Face's direct resize (bilinear), to a small square. An image that
 * decodes must preprocess: any exception from preprocessing is a finding. Seeds: tiny PNGs (RGB,
 * RGBA, grey 8 and 16 bit, grey + alpha, palette with transparency, 1 bit) and JPEGs (baseline,
 * progressive, 4:2:0, grey, CMYK, YCCK) in
 * {@code src/test/resources/org/vit4j/fuzz/ImageFuzzTestInputs/fuzz}.
 *
 * <p>Memory bound per input: 32 MiB plus 64 bytes per input byte, plus 24 bytes per pixel the
 * file declares (the decoder's raster and our 8-bit copy of it; the pixel count itself is capped by
 * {@link ImageLoader#MAX_PIXELS}).
 */
class ImageFuzzTest {
    private static final Path DIR = FuzzProperty.workDir("image");
    private static final Path FILE = DIR.resolve("image.bin");
    /** Both channel conversions and both resize modes (each pass converts the whole decoded image). */
    private static final Preprocessing[] PREPROCESSING = {
        Preprocessing.defaults(12, 3),
        Preprocessing.huggingFace(10, 1),
    };

    @FuzzTest
    @Timeout(value = 10, unit = TimeUnit.SECONDS)
    @DictionaryEntries({"IHDR", "PLTE", "IDAT", "IEND", "tRNS", "gAMA", "iCCP", "sRGB", "bKGD", "pHYs", "tEXt", "zTXt",
        "iTXt", "sBIT", "\u00ff\u00d8\u00ff", "\u00ff\u00c0", "\u00ff\u00c2", "\u00ff\u00c4", "\u00ff\u00db", "\u00ff\u00da",
        "\u00ff\u00d9", "\u00ff\u00dd", "\u00ff\u00e0", "\u00ff\u00ee", "JFIF\u0000", "Adobe", "Exif\u0000\u0000"})
    void fuzz(byte[] data) {
        FuzzProperty.write(FILE, data);
        FuzzProperty.check("image", () -> (32L << 20) + 64L * data.length + 24L * declaredPixels(FILE),
                List.of("image.bin"), () -> {
            BufferedImage img = ImageLoader.read(FILE);
            for (Preprocessing p : PREPROCESSING) {
                ImagePreprocessor.toTensor(img, p);
            }
        });
    }

    /** Width x height as the file's header states them, at most {@link ImageLoader#MAX_PIXELS}; 0 if unreadable. */
    static long declaredPixels(Path file) {
        try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) return 0;
            ImageReader r = readers.next();
            try {
                r.setInput(in, true, true);
                return Math.min(ImageLoader.MAX_PIXELS, Math.max(0, (long) r.getWidth(0) * r.getHeight(0)));
            } finally {
                r.dispose();
            }
        } catch (Exception | Error e) {
            return 0;
        }
    }
}
