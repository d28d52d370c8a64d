package org.vit4j.io.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.vit4j.Golden;
import org.vit4j.HostTensor;
import org.vit4j.Numerics;
import org.vit4j.Vit4jException;

/**
 * The position-embedding resize against PyTorch's float64 {@code F.interpolate(mode="bicubic",
 * align_corners=False)} (scripts/python/make_pos_embed_resize_golden.py): with {@code antialias=True}
 * (timm's resample_abs_pos_embed) and without (Hugging Face's interpolate_pos_encoding), on square and
 * non-square grids, up, down and mixed (one side up, the other down), odd widths.
 */
class PositionEmbeddingResizeTest {
    /** Both sides compute in double and round once: far below the fp32 budget of 1e-5. */
    private static final double BUDGET = 1e-6;
    private static final Pattern NAME = Pattern.compile("(timm|hf)\\.(\\d+)x(\\d+)-(\\d+)x(\\d+)\\.d(\\d+)");

    @Test
    void matchesPyTorchBicubicOnEveryGoldenCase() {
        List<String> checked = new ArrayList<>();
        try (SafetensorsFile f = SafetensorsFile.open(Golden.file("pos-embed-resize", "resize.safetensors"))) {
            for (String name : f.names()) {
                Matcher m = NAME.matcher(name);
                if (!m.matches()) continue;
                int fh = Integer.parseInt(m.group(2)), fw = Integer.parseInt(m.group(3));
                int th = Integer.parseInt(m.group(4)), tw = Integer.parseInt(m.group(5)), d = Integer.parseInt(m.group(6));
                PositionEmbeddingResize.Method method = m.group(1).equals("timm")
                        ? PositionEmbeddingResize.Method.TIMM : PositionEmbeddingResize.Method.HUGGING_FACE;
                HostTensor in = f.read("pos." + fh + "x" + fw + ".d" + d);
                HostTensor want = f.read(name);
                HostTensor got = PositionEmbeddingResize.resize(in, fh, fw, th, tw, method);
                assertArrayEquals(new int[] {1, 1 + th * tw, d}, got.shape(), name);
                assertArrayEquals(Arrays.copyOf(in.data(), d), Arrays.copyOf(got.data(), d), name + ": class token kept");
                double err = Numerics.relativeL2(got.data(), want.data());
                System.out.printf("pos_embed resize %-22s relative L2 %.2e%n", name, err);
                assertTrue(err <= BUDGET, name + ": relative L2 " + err + " > " + BUDGET);
                checked.add(name);
            }
        }
        // Every case of the script, both ways: a renamed tensor must not silently drop out.
        assertEquals(22, checked.size(), checked.toString());
    }

    @Test
    void theTwoMethodsDiffer() {
        // timm's antialiased a = -0.5 and HF's a = -0.75 are not the same interpolation: a test that
        // passed with either for both would not tell them apart.
        try (SafetensorsFile f = SafetensorsFile.open(Golden.file("pos-embed-resize", "resize.safetensors"))) {
            HostTensor in = f.read("pos.4x4.d7");
            float[] timm = PositionEmbeddingResize.resize(in, 4, 4, 3, 5, PositionEmbeddingResize.Method.TIMM).data();
            float[] hf = PositionEmbeddingResize.resize(in, 4, 4, 3, 5, PositionEmbeddingResize.Method.HUGGING_FACE).data();
            assertTrue(Numerics.relativeL2(timm, hf) > 1e-3, "timm and HF resizes differ");
        }
    }

    @Test
    void aWrongGridIsAOneLineError() {
        HostTensor pos = new HostTensor(new float[(1 + 12) * 2], new int[] {1, 13, 2});
        Vit4jException e = assertThrows(Vit4jException.class,
                () -> PositionEmbeddingResize.resize(pos, 4, 4, 2, 2, PositionEmbeddingResize.Method.TIMM));
        assertTrue(e.getMessage().contains("expected shape [1, 17, D] for a 4x4 grid"), e.getMessage());
        assertTrue(!e.getMessage().contains("\n"));
    }
}
