package org.vit4j.io.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vit4j.HostTensor;
import org.vit4j.Vit4jException;

class ImagePreprocessingTest {
    @TempDir
    Path dir;

    private static BufferedImage solid(int w, int h, int rgb) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) img.setRGB(x, y, rgb);
        return img;
    }

    @Test
    void defaultsAreTimmVitDefaults() {
        Preprocessing p = Preprocessing.defaults(224, 3);
        assertEquals(224, p.imageSize());
        assertArrayEquals(new float[] {0.5f, 0.5f, 0.5f}, p.mean());
        assertArrayEquals(new float[] {0.5f, 0.5f, 0.5f}, p.std());
        assertEquals(0.9, p.cropPct());
        assertEquals(Preprocessing.Interpolation.BICUBIC, p.interpolation());
        assertEquals(Preprocessing.ResizeMode.SHORTEST_SIDE_CENTER_CROP, p.resizeMode());
        assertEquals(248, p.resizeShortSide());
        assertEquals(256, p.withCropPct(0.875).resizeShortSide());
        assertEquals(Preprocessing.defaults(224, 3), Preprocessing.defaults(224, 3));
        assertEquals(1, Preprocessing.defaults(28, 1).mean().length);
        Preprocessing hf = Preprocessing.huggingFace(224, 3);
        assertEquals(Preprocessing.ResizeMode.DIRECT, hf.resizeMode());
        assertEquals(Preprocessing.Interpolation.BILINEAR, hf.interpolation());
    }

    @Test
    void invalidPreprocessingIsRejected() {
        assertThrows(Vit4jException.class, () -> Preprocessing.defaults(0, 3));
        assertThrows(Vit4jException.class, () -> Preprocessing.defaults(32, 2));
        Preprocessing p = Preprocessing.defaults(32, 3);
        Vit4jException e = assertThrows(Vit4jException.class, () -> p.withMeanStd(new float[] {0.5f}, new float[] {1, 1, 1}));
        assertTrue(e.getMessage().contains("mean"), e.getMessage());
        assertThrows(Vit4jException.class, () -> p.withMeanStd(new float[] {0, 0, 0}, new float[] {1, 0, 1}));
        assertThrows(Vit4jException.class, () -> p.withCropPct(0));
        assertThrows(Vit4jException.class, () -> p.withCropPct(Double.NaN));
    }

    @Test
    void withOverridesAppliesConfigValuesAndNamesTheSource() {
        Preprocessing p = Preprocessing.defaults(32, 3).withOverrides(new float[] {0.1f}, new float[] {0.2f, 0.3f, 0.4f},
                0.875, "Bilinear", true, "config.json");
        assertArrayEquals(new float[] {0.1f, 0.1f, 0.1f}, p.mean());
        assertArrayEquals(new float[] {0.2f, 0.3f, 0.4f}, p.std());
        assertEquals(0.875, p.cropPct());
        assertEquals(Preprocessing.Interpolation.BILINEAR, p.interpolation());
        assertEquals(Preprocessing.ResizeMode.DIRECT, p.resizeMode());
        assertEquals(Preprocessing.defaults(32, 3), Preprocessing.defaults(32, 3)
                .withOverrides(null, null, null, null, false, "x"));
        Vit4jException e = assertThrows(Vit4jException.class, () -> Preprocessing.defaults(32, 3)
                .withOverrides(null, null, null, "lanczos", false, "config.json"));
        assertTrue(e.getMessage().contains("config.json") && e.getMessage().contains("lanczos"), e.getMessage());
    }

    @Test
    void shortestSideSizeFollowsTorchvision() {
        // int(size * long / short), shorter side first
        assertArrayEquals(new int[] {36, 51}, ImagePreprocessor.shortestSideSize(37, 53, 36));
        assertArrayEquals(new int[] {56, 35}, ImagePreprocessor.shortestSideSize(64, 40, 35));
        assertArrayEquals(new int[] {297, 248}, ImagePreprocessor.shortestSideSize(640, 533, 248));
        assertArrayEquals(new int[] {248, 248}, ImagePreprocessor.shortestSideSize(500, 500, 248));
    }

    @Test
    void centerCropUsesRoundHalfEvenAndZeroPadding() {
        // h - size = 3 -> top = round(1.5) = 2; w - size = 5 -> left = round(2.5) = 2
        U8Image in = U8Image.allocate(7, 5, 1);
        for (int y = 0; y < 5; y++) for (int x = 0; x < 7; x++) in.set(0, y, x, y * 10 + x);
        U8Image out = ImagePreprocessor.centerCrop(in, 2);
        assertEquals(22, out.get(0, 0, 0));
        assertEquals(33, out.get(0, 1, 1));
        // too small: torchvision pads (size - w) // 2 on the left/top with zeros
        U8Image small = U8Image.allocate(1, 2, 1);
        small.set(0, 0, 0, 9);
        small.set(0, 1, 0, 8);
        U8Image padded = ImagePreprocessor.centerCrop(small, 4);
        assertEquals(9, padded.get(0, 1, 1));
        assertEquals(8, padded.get(0, 2, 1));
        assertEquals(0, padded.get(0, 1, 0));
        assertEquals(0, padded.get(0, 0, 1));
    }

    @Test
    void sameSizeMeansNoResampling() {
        U8Image in = U8Image.allocate(5, 5, 3);
        for (int i = 0; i < in.data().length; i++) in.data()[i] = (byte) (i * 37);
        assertSame(in, PilResize.resize(in, 5, 5, Preprocessing.Interpolation.BICUBIC));
    }

    @Test
    void solidColourStaysSolidAndNormalises() {
        Preprocessing p = Preprocessing.defaults(8, 3);
        float[] t = ImagePreprocessor.toTensor(solid(13, 21, 0xff8000), p);
        assertEquals(3 * 8 * 8, t.length);
        float r = (255 / 255f - 0.5f) / 0.5f;
        float g = (128 / 255f - 0.5f) / 0.5f;
        float b = (0 / 255f - 0.5f) / 0.5f;
        for (int i = 0; i < 64; i++) {
            assertEquals(r, t[i]);
            assertEquals(g, t[64 + i]);
            assertEquals(b, t[128 + i]);
        }
        float[] l = ImagePreprocessor.toTensor(solid(13, 21, 0xff8000), Preprocessing.defaults(8, 1));
        assertEquals(64, l.length);
        assertEquals((Pixels.luma(255, 128, 0) / 255f - 0.5f) / 0.5f, l[0]);
    }

    @Test
    void loadBatchStacksImagesInOrder() throws IOException {
        Path a = dir.resolve("a.png");
        Path b = dir.resolve("b.png");
        ImageIO.write(solid(10, 12, 0x102030), "png", a.toFile());
        ImageIO.write(solid(30, 20, 0xa0b0c0), "png", b.toFile());
        Preprocessing p = Preprocessing.defaults(6, 3);
        HostTensor batch = ImagePreprocessor.loadBatch(List.of(a, b, a), p);
        assertArrayEquals(new int[] {3, 3, 6, 6}, batch.shape());
        float[] ta = ImagePreprocessor.toTensor(a, p);
        float[] tb = ImagePreprocessor.toTensor(b, p);
        float[] d = batch.data();
        for (int i = 0; i < ta.length; i++) {
            assertEquals(ta[i], d[i]);
            assertEquals(tb[i], d[ta.length + i]);
            assertEquals(ta[i], d[2 * ta.length + i]);
        }
    }

    @Test
    void loadBatchNamesTheBadFile() throws IOException {
        Path ok = dir.resolve("ok.png");
        ImageIO.write(solid(4, 4, 0), "png", ok.toFile());
        Path bad = dir.resolve("notes.png");
        Files.writeString(bad, "not an image");
        ImageException e = assertThrows(ImageException.class,
                () -> ImagePreprocessor.loadBatch(List.of(ok, bad), Preprocessing.defaults(4, 3)));
        assertTrue(e.getMessage().contains("notes.png"), e.getMessage());
        assertThrows(Vit4jException.class, () -> ImagePreprocessor.loadBatch(List.of(), Preprocessing.defaults(4, 3)));
    }

    // ---- the crop decided before resampling (issue 12: a 1 x 20,000,000 image exhausted the heap) ----

    private static U8Image random(java.util.Random r, int w, int h, int channels) {
        U8Image img = U8Image.allocate(w, h, channels);
        for (int c = 0; c < channels; c++) for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) img.set(c, y, x, r.nextInt(256));
        return img;
    }

    /** Only the crop's pixels are computed, and they are the bits the whole resize then the crop give. */
    @Test
    void croppingBeforeResamplingGivesTheSameBitsAsResizeThenCrop() {
        java.util.Random r = new java.util.Random(12);
        int[][] sizes = {{37, 53}, {64, 40}, {7, 300}, {300, 7}, {248, 248}, {249, 250}, {1, 40}, {30, 31}, {500, 333}};
        for (Preprocessing.Interpolation interp : Preprocessing.Interpolation.values()) {
            for (int[] wh : sizes) {
                for (int size : new int[] {24, 32}) {
                    for (int shortSide : new int[] {size, (int) Math.floor(size / 0.875), size - 5}) { // crop_pct 1, 0.875, > 1 (pads)
                        U8Image img = random(r, wh[0], wh[1], 3);
                        int[] rs = ImagePreprocessor.shortestSideSize(wh[0], wh[1], shortSide);
                        U8Image want = ImagePreprocessor.centerCrop(PilResize.resize(img, rs[0], rs[1], interp), size);
                        U8Image got = ImagePreprocessor.cropOfResized(img, rs[0], rs[1], size, interp);
                        assertArrayEquals(want.data(), got.data(), interp + " " + wh[0] + "x" + wh[1] + " -> short side "
                                + shortSide + ", crop " + size);
                    }
                }
            }
        }
    }

    @Test
    void anImageOfExtremeAspectRatioIsPreprocessedInBoundedMemoryAndTime() {
        BufferedImage strip = new BufferedImage(1, 20_000_000, BufferedImage.TYPE_BYTE_GRAY);
        Preprocessing p = Preprocessing.defaults(224, 3);
        long start = System.nanoTime();
        float[] t = org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(30),
                () -> ImagePreprocessor.toTensor(strip, p));
        assertEquals(3 * 224 * 224, t.length);
        for (float v : t) assertTrue(Float.isFinite(v));
        assertTrue(System.nanoTime() - start < 30e9);
    }
}
