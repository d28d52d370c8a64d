package org.vit4j.spark;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import javax.imageio.ImageIO;

/** Random test images written as PNG and JPEG files: odd sizes, grey, RGB and ARGB, never blank. */
final class TestImages {
    private TestImages() {}

    /** {@code n} readable images in {@code dir}, sizes 1..width x 1..height, from {@code seed}. */
    static List<Path> write(Path dir, int n, int maxSide, long seed) throws IOException {
        SplittableRandom r = new SplittableRandom(seed);
        List<Path> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int w = 1 + r.nextInt(maxSide), h = 1 + r.nextInt(maxSide);
            int kind = r.nextInt(4);
            int type = switch (kind) {
                case 0 -> BufferedImage.TYPE_BYTE_GRAY;
                case 1 -> BufferedImage.TYPE_INT_ARGB;
                default -> BufferedImage.TYPE_INT_RGB;
            };
            BufferedImage img = new BufferedImage(w, h, type);
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) img.setRGB(x, y, r.nextInt() | (kind == 1 ? 0 : 0xff000000));
            }
            boolean jpeg = kind == 3;
            Path p = dir.resolve(String.format("img-%03d.%s", i, jpeg ? "jpg" : "png"));
            if (!ImageIO.write(img, jpeg ? "jpeg" : "png", p.toFile())) throw new IOException("no writer for " + p);
            out.add(p);
        }
        return out;
    }

    /** A file that starts like a PNG and then stops: unreadable. */
    static Path corrupt(Path dir, String name) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H'});
        return p;
    }
}
