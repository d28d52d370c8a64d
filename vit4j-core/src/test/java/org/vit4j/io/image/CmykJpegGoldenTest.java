package org.vit4j.io.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * CMYK and YCCK JPEGs against PIL's {@code convert("RGB")} and {@code convert("L")} of the same files
 * ({@code scripts/python/make_cmyk_golden.py}: PIL-written CMYK with and without the Adobe marker,
 * progressive, and libjpeg-written YCCK at 4:4:4 and with 2x2 Y/K). The pixels must be equal: Java's
 * JPEG decoder (IJG 6b, integer IDCT) and PIL's libjpeg-turbo 2.1 (its default integer IDCT) give
 * the same samples for these files, and the colour conversion is PIL's integer arithmetic.
 */
class CmykJpegGoldenTest {
    private static Path golden(String name) {
        return org.vit4j.Golden.file("cmyk", name);
    }

    static Stream<String> cases() throws IOException {
        JsonNode root = new ObjectMapper().readTree(golden("cases.json").toFile());
        List<String> out = new ArrayList<>();
        for (JsonNode c : root.get("cases")) out.add(c.get("name").asText());
        return out.stream();
    }

    /** Largest absolute difference between two images of the same size; fails on a size mismatch. */
    private static int maxDiff(String what, U8Image got, U8Image want) {
        assertEquals(want.width(), got.width(), what + " width");
        assertEquals(want.height(), got.height(), what + " height");
        assertEquals(want.channels(), got.channels(), what + " channels");
        int max = 0;
        for (int i = 0; i < got.data().length; i++) {
            max = Math.max(max, Math.abs((got.data()[i] & 0xff) - (want.data()[i] & 0xff)));
        }
        return max;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void rgbEqualsPil(String name) {
        U8Image got = Pixels.from(ImageLoader.read(golden(name + ".jpg")), 3);
        U8Image want = Pixels.from(ImageLoader.read(golden(name + ".rgb.png")), 3);
        int d = maxDiff(name, got, want);
        assertEquals(0, d, () -> name + ": RGB differs from PIL's by up to " + d + " levels");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void grayEqualsPil(String name) {
        U8Image got = Pixels.from(ImageLoader.read(golden(name + ".jpg")), 1);
        U8Image want = Pixels.from(ImageLoader.read(golden(name + ".l.png")), 1);
        int d = maxDiff(name, got, want);
        assertEquals(0, d, () -> name + ": L differs from PIL's by up to " + d + " levels");
    }

    @Test
    void colourSpaceAsLibjpegDecidesIt() throws IOException {
        assertEquals(CmykJpeg.Kind.CMYK, kind("cmyk_adobe.jpg"));
        assertEquals(CmykJpeg.Kind.CMYK, kind("cmyk_no_adobe.jpg"));
        assertEquals(CmykJpeg.Kind.YCCK, kind("ycck_444.jpg"));
        assertEquals(CmykJpeg.Kind.YCCK, kind("ycck_420.jpg"));
        assertEquals(CmykJpeg.Kind.NOT_FOUR_COMPONENTS, kind("../images/jpeg_q95_50x45.jpg"));
    }

    private static CmykJpeg.Kind kind(String file) throws IOException {
        Path p = file.startsWith("../") ? org.vit4j.Golden.file("images", file.substring(10)) : golden(file);
        javax.imageio.ImageReader r = javax.imageio.ImageIO.getImageReadersByFormatName("jpeg").next();
        try (javax.imageio.stream.ImageInputStream in = javax.imageio.ImageIO.createImageInputStream(p.toFile())) {
            r.setInput(in);
            return CmykJpeg.kind(r);
        } finally {
            r.dispose();
        }
    }

    @Test
    void cmyk2rgbIsPilsFixedPoint() {
        // Convert.c cmyk2rgb: CLIP8(nk - MULDIV255(ink, nk)), checked against the exact rounding it stands for.
        for (int ink = 0; ink < 256; ink++) {
            for (int nk = 0; nk < 256; nk++) {
                int exact = nk - (int) Math.round(ink * nk / 255.0);
                assertEquals(exact, CmykJpeg.cmyk2rgb(ink, nk), ink + "," + nk);
            }
        }
        assertTrue(CmykJpeg.cmyk2rgb(255, 255) == 0 && CmykJpeg.cmyk2rgb(0, 255) == 255);
    }
}
