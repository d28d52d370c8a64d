package org.vit4j.io.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.zip.CRC32;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageLoaderTest {
    @TempDir
    Path dir;

    private static Path golden(String name) {
        return org.vit4j.Golden.file("images", name);
    }

    private static ImageException assertImageError(Path p, String... fragments) {
        ImageException e = assertThrows(ImageException.class, () -> ImageLoader.read(p));
        String m = e.getMessage();
        assertTrue(m.contains(p.getFileName().toString()), () -> "message should name the file: " + m);
        for (String f : fragments) {
            assertTrue(m.contains(f), () -> "message should contain \"" + f + "\": " + m);
        }
        return e;
    }

    private Path write(String name, byte[] bytes) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, bytes);
        return p;
    }

    private static byte[] encode(BufferedImage img, String format) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertTrue(ImageIO.write(img, format, out));
        return out.toByteArray();
    }

    private static BufferedImage noise(int w, int h, int type, long seed) {
        BufferedImage img = new BufferedImage(w, h, type);
        Random r = new Random(seed);
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) img.setRGB(x, y, r.nextInt());
        return img;
    }

    // ---------------------------------------------------------------- bad inputs

    @Test
    void missingFile() {
        assertImageError(dir.resolve("nope.png"), "no such file");
    }

    @Test
    void emptyFile() throws IOException {
        assertImageError(write("empty.png", new byte[0]), "empty file");
    }

    @Test
    void directory() {
        assertImageError(dir, "directory");
    }

    @Test
    void randomBytes() throws IOException {
        byte[] b = new byte[500];
        new Random(1).nextBytes(b);
        b[0] = 0x12; // not a signature byte
        assertImageError(write("random.png", b), "not a PNG or JPEG image");
    }

    @Test
    void textFileRenamedPng() throws IOException {
        assertImageError(write("readme.png", "this is not an image\n".getBytes(StandardCharsets.UTF_8)),
                "not a PNG or JPEG image");
    }

    @Test
    void otherImageFormatIsRejected() throws IOException {
        assertImageError(write("pic.png", encode(noise(8, 8, BufferedImage.TYPE_INT_RGB, 2), "bmp")),
                "not a PNG or JPEG image");
    }

    @Test
    void truncatedPng() throws IOException {
        byte[] png = Files.readAllBytes(golden("noise_rgb_37x53.png"));
        assertImageError(write("trunc.png", Arrays.copyOf(png, png.length / 2)), "PNG", "truncated");
        assertImageError(write("sig_only.png", Arrays.copyOf(png, 8)), "PNG");
        assertImageError(write("half_ihdr.png", Arrays.copyOf(png, 20)), "PNG");
    }

    @Test
    void corruptPngData() throws IOException {
        byte[] png = Files.readAllBytes(golden("noise_rgb_37x53.png"));
        byte[] bad = png.clone();
        for (int i = 60; i < bad.length - 20; i += 7) bad[i] ^= 0x5a; // garble the compressed data
        assertImageError(write("corrupt.png", bad), "PNG");
    }

    @Test
    void truncatedJpeg() throws IOException {
        byte[] jpg = Files.readAllBytes(golden("jpeg_q95_50x45.jpg"));
        assertImageError(write("trunc.jpg", Arrays.copyOf(jpg, jpg.length / 2)), "JPEG", "truncated");
        assertImageError(write("header_only.jpg", Arrays.copyOf(jpg, 40)), "JPEG");
    }

    @Test
    void hugeDimensionsAreRejectedBeforeDecoding() throws IOException {
        // A valid signature and IHDR claiming 100000 x 100000 pixels, then nothing.
        ByteBuffer ihdr = ByteBuffer.allocate(13).putInt(100_000).putInt(100_000).put((byte) 8).put((byte) 2)
                .put((byte) 0).put((byte) 0).put((byte) 0);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        out.write(ByteBuffer.allocate(4).putInt(13).array());
        byte[] typeAndData = ByteBuffer.allocate(17).put("IHDR".getBytes(StandardCharsets.US_ASCII)).put(ihdr.array()).array();
        out.write(typeAndData);
        CRC32 crc = new CRC32();
        crc.update(typeAndData);
        out.write(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
        assertImageError(write("bomb.png", out.toByteArray()), "100000x100000", "at most");
    }

    // ---------------------------------------------------------------- formats that must work

    @Test
    void readsGrayPngWithoutGammaConversion() throws IOException {
        BufferedImage g = new BufferedImage(4, 2, BufferedImage.TYPE_BYTE_GRAY);
        int[] values = {0, 1, 64, 128, 200, 254, 255, 37};
        g.getRaster().setPixels(0, 0, 4, 2, values);
        BufferedImage back = ImageLoader.read(write("gray.png", encode(g, "png")));
        U8Image rgb = Pixels.from(back, 3);
        U8Image l = Pixels.from(back, 1);
        for (int i = 0; i < values.length; i++) {
            int y = i / 4;
            int x = i % 4;
            assertEquals(values[i], l.get(0, y, x));
            for (int c = 0; c < 3; c++) assertEquals(values[i], rgb.get(c, y, x));
        }
    }

    @Test
    void readsPaletteAndAlphaPngsDroppingAlpha() throws IOException {
        byte[] r = {10, 20, (byte) 200, 0};
        byte[] gr = {30, 40, (byte) 150, 0};
        byte[] b = {50, 60, (byte) 100, 0};
        byte[] a = {(byte) 255, 0, (byte) 128, 0};
        BufferedImage pal = new BufferedImage(2, 2, BufferedImage.TYPE_BYTE_INDEXED, new IndexColorModel(2, 4, r, gr, b, a));
        pal.getRaster().setPixels(0, 0, 2, 2, new int[] {0, 1, 2, 3});
        U8Image px = Pixels.from(ImageLoader.read(write("pal.png", encode(pal, "png"))), 3);
        assertEquals(20, px.get(0, 0, 1)); // fully transparent entry keeps its colour
        assertEquals(40, px.get(1, 0, 1));
        assertEquals(60, px.get(2, 0, 1));
        assertEquals(200, px.get(0, 1, 0));

        BufferedImage argb = new BufferedImage(3, 1, BufferedImage.TYPE_INT_ARGB);
        argb.setRGB(0, 0, 0x00_11_22_33);
        argb.setRGB(1, 0, 0x80_ff_00_7f);
        argb.setRGB(2, 0, 0xff_01_02_03);
        BufferedImage back = ImageLoader.read(write("alpha.png", encode(argb, "png")));
        U8Image q = Pixels.from(back, 3);
        assertEquals(0x11, q.get(0, 0, 0));
        assertEquals(0x22, q.get(1, 0, 0));
        assertEquals(0x33, q.get(2, 0, 0));
        assertEquals(0xff, q.get(0, 0, 1));
        assertEquals(0x7f, q.get(2, 0, 1));
        assertEquals(Pixels.luma(0xff, 0, 0x7f), Pixels.from(back, 1).get(0, 0, 1));
    }

    @Test
    void readsGrayAndColourJpegs() throws IOException {
        BufferedImage flat = new BufferedImage(16, 16, BufferedImage.TYPE_BYTE_GRAY);
        int[] v = new int[256];
        Arrays.fill(v, 100);
        flat.getRaster().setPixels(0, 0, 16, 16, v);
        U8Image g = Pixels.from(ImageLoader.read(write("gray.jpg", encode(flat, "jpeg"))), 1);
        for (byte x : g.data()) assertTrue(Math.abs((x & 0xff) - 100) <= 1);

        BufferedImage img = ImageLoader.read(golden("jpeg_q95_50x45.jpg"));
        assertEquals(50, img.getWidth());
        assertEquals(45, img.getHeight());
    }

    @Test
    void formatIsDetectedFromContentNotName() throws IOException {
        byte[] png = Files.readAllBytes(golden("rgba_12x9.png"));
        BufferedImage img = ImageLoader.read(write("actually_png.jpg", png));
        assertEquals(12, img.getWidth());
        assertEquals("png", ImageLoader.detectFormat(golden("rgba_12x9.png")));
        assertEquals("jpeg", ImageLoader.detectFormat(golden("jpeg_q95_50x45.jpg")));
    }

    @Test
    void lumaMatchesPil() {
        // values from PIL 9.4: Image.new('RGB', ...).convert('L')
        assertEquals(76, Pixels.luma(255, 0, 0));
        assertEquals(150, Pixels.luma(0, 255, 0));
        assertEquals(29, Pixels.luma(0, 0, 255));
        assertEquals(18, Pixels.luma(10, 20, 30));
        assertEquals(255, Pixels.luma(255, 255, 255));
        assertEquals(0, Pixels.luma(0, 0, 0));
    }
}
