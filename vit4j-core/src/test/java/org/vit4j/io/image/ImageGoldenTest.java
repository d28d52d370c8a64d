package org.vit4j.io.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.vit4j.HostTensor;
import org.vit4j.io.checkpoint.SafetensorsFile;

/**
 * Compares the preprocessing with torchvision on PIL images, using the golden data written by
 * {@code scripts/python/make_image_golden.py} (PIL 9.4, torchvision 0.14).
 *
 * <p>Tolerance: for PNG inputs the 8-bit pixels after resize/crop must equal PIL's exactly, so the
 * only admissible float difference is rounding: we require max |error| <= 1e-6 in normalised
 * units, far inside the stated bound of (1/255) / std[c] (one 8-bit step). For the JPEG case the
 * Java decoder (IJG 6b) and PIL's libjpeg-turbo may differ by a few units per pixel before
 * resizing, so that case is held to 3/255 / std[c] instead, and JPEG decoding itself is checked
 * separately against PIL's decoded pixels.
 */
class ImageGoldenTest {
    private static SafetensorsFile expected;

    private static Path golden(String name) {
        return org.vit4j.Golden.file("images", name);
    }

    @BeforeAll
    static void open() {
        expected = SafetensorsFile.open(golden("expected.safetensors"));
    }

    @AfterAll
    static void close() {
        expected.close();
    }

    static Stream<Arguments> cases() throws IOException {
        JsonNode root = new ObjectMapper().readTree(golden("cases.json").toFile());
        List<Arguments> out = new ArrayList<>();
        for (JsonNode c : root.get("cases")) out.add(Arguments.of(c.get("name").asText(), c));
        return out.stream();
    }

    private static float[] floats(JsonNode a) {
        float[] f = new float[a.size()];
        for (int i = 0; i < f.length; i++) f[i] = (float) a.get(i).asDouble();
        return f;
    }

    static Preprocessing preprocessing(JsonNode c) {
        return new Preprocessing(c.get("image_size").asInt(), c.get("channels").asInt(), floats(c.get("mean")),
                floats(c.get("std")), c.get("crop_pct").asDouble(),
                Preprocessing.Interpolation.valueOf(c.get("interpolation").asText()),
                Preprocessing.ResizeMode.valueOf(c.get("resize_mode").asText()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void matchesTorchvision(String name, JsonNode c) {
        Preprocessing p = preprocessing(c);
        Path image = golden(c.get("image").asText());
        float[] got = ImagePreprocessor.toTensor(ImageLoader.read(image), p);
        HostTensor want = expected.read(name);
        int s = p.imageSize();
        assertArrayEquals(new int[] {p.channels(), s, s}, want.shape(), name);
        assertEquals(want.data().length, got.length, name);
        boolean jpeg = c.get("jpeg").asBoolean();
        int plane = s * s;
        float[] std = p.std();
        for (int ch = 0; ch < p.channels(); ch++) {
            double tol = jpeg ? 3.0 / 255 / Math.abs(std[ch]) : 1e-6;
            double bound = 1.0 / 255 / Math.abs(std[ch]);
            assertTrue(tol <= 3 * bound + 1e-12);
            double max = 0;
            int worst = -1;
            for (int i = ch * plane; i < (ch + 1) * plane; i++) {
                double e = Math.abs(got[i] - want.data()[i]);
                if (e > max) {
                    max = e;
                    worst = i;
                }
            }
            final double m = max;
            final int w = worst;
            assertTrue(max <= tol, () -> name + " channel: max abs error " + m + " at index " + w + " exceeds " + tol);
        }
    }

    @Test
    void javaJpegDecodingIsCloseToPil() {
        BufferedImage java = ImageLoader.read(golden("jpeg_q95_50x45.jpg"));
        BufferedImage pil = ImageLoader.read(golden("jpeg_q95_50x45.pil.png"));
        U8Image a = Pixels.from(java, 3);
        U8Image b = Pixels.from(pil, 3);
        assertEquals(b.width(), a.width());
        assertEquals(b.height(), a.height());
        int max = 0;
        long sum = 0;
        for (int i = 0; i < a.data().length; i++) {
            int d = Math.abs((a.data()[i] & 0xff) - (b.data()[i] & 0xff));
            max = Math.max(max, d);
            sum += d;
        }
        double mean = (double) sum / a.data().length;
        final int mx = max;
        assertTrue(max <= 3, () -> "JPEG decoders differ by up to " + mx + " levels");
        assertTrue(mean <= 0.5, "mean abs difference " + mean);
    }
}
