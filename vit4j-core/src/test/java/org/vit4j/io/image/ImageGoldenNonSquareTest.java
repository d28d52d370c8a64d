package org.vit4j.io.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
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
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.vit4j.HostTensor;
import org.vit4j.Vit4jException;
import org.vit4j.io.checkpoint.SafetensorsFile;

/**
 * Non-square model inputs (H != W, issue 14) against torchvision on PIL
 * ({@code scripts/python/make_image_golden_nonsquare.py}): timm's eval transform for a non-square
 * input size (ResizeKeepRatio then CenterCrop, zero padding where the crop is larger) and Hugging
 * Face's direct resize to (H, W). PNG inputs only, so the 8-bit pixels must equal PIL's: the error is
 * float rounding alone (max 1e-6 in normalised units, as in {@link ImageGoldenTest}).
 */
class ImageGoldenNonSquareTest {
    private static Path golden(String name) {
        return org.vit4j.Golden.file("images", name);
    }

    static Stream<Arguments> cases() throws IOException {
        JsonNode root = new ObjectMapper().readTree(golden("cases-nonsquare.json").toFile());
        List<Arguments> out = new ArrayList<>();
        for (JsonNode c : root.get("cases")) out.add(Arguments.of(c.get("name").asText(), c));
        return out.stream();
    }

    private static float[] floats(JsonNode a) {
        float[] f = new float[a.size()];
        for (int i = 0; i < f.length; i++) f[i] = (float) a.get(i).asDouble();
        return f;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void matchesTorchvision(String name, JsonNode c) {
        int h = c.get("height").asInt(), w = c.get("width").asInt(), ch = c.get("channels").asInt();
        assertTrue(h != w, name + " is a non-square case");
        Preprocessing p = new Preprocessing(h, w, ch, floats(c.get("mean")), floats(c.get("std")),
                c.get("crop_pct").asDouble(), Preprocessing.Interpolation.valueOf(c.get("interpolation").asText()),
                Preprocessing.ResizeMode.valueOf(c.get("resize_mode").asText()));
        HostTensor want;
        try (SafetensorsFile f = SafetensorsFile.open(golden("expected-nonsquare.safetensors"))) {
            want = f.read(name);
        }
        assertArrayEquals(new int[] {ch, h, w}, want.shape(), name);
        HostTensor batch = ImagePreprocessor.loadBatch(List.of(golden(c.get("image").asText())), p);
        assertArrayEquals(new int[] {1, ch, h, w}, batch.shape(), name);
        float[] got = batch.data();
        assertEquals(want.data().length, got.length);
        double max = 0;
        for (int i = 0; i < got.length; i++) max = Math.max(max, Math.abs(got[i] - want.data()[i]));
        assertTrue(max <= 1e-6, name + ": max abs error " + max + " (budget 1e-6: the 8-bit pixels must equal PIL's)");
    }

    @Test
    void aNonSquareOutputHasNoSingleSide() {
        Preprocessing p = Preprocessing.defaults(24, 40, 3);
        assertEquals(24, p.imageHeight());
        assertEquals(40, p.imageWidth());
        Vit4jException e = assertThrows(Vit4jException.class, p::imageSize);
        assertTrue(e.getMessage().contains("24x40"), e.getMessage());
        assertEquals(24, p.withImageSize(24, 24).imageSize());
    }
}
