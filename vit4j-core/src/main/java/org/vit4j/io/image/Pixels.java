package org.vit4j.io.image;

import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;

/**
 * Turns a decoded {@link BufferedImage} into 8-bit RGB or luminance samples the way PIL's
 * {@code convert("RGB")} / {@code convert("L")} would: alpha is dropped (not composited), palettes
 * are looked up, and no colour management is applied. Samples are read from the raster directly,
 * because {@link BufferedImage#getRGB} runs grey images through a linear-to-sRGB conversion.
 */
final class Pixels {
    private Pixels() {}

    /**
     * PIL's ITU-R 601-2 luma in 16-bit fixed point, {@code (R*19595 + G*38470 + B*7471 + 0x8000) >> 16},
     * i.e. {@code R*299/1000 + G*587/1000 + B*114/1000} rounded to nearest.
     */
    static int luma(int r, int g, int b) {
        return (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16;
    }

    /** The image as {@code channels} (1 = luminance, 3 = RGB) planar 8-bit samples. */
    static U8Image from(BufferedImage img, int channels) {
        if (channels != 1 && channels != 3) {
            throw new IllegalArgumentException("channels must be 1 or 3, got " + channels);
        }
        int w = img.getWidth();
        int h = img.getHeight();
        U8Image out = U8Image.allocate(w, h, channels);
        Raster r = img.getRaster();
        ColorModel cm = img.getColorModel();
        int[] rgb = new int[3];
        int type = cm.getColorSpace().getType();
        boolean component = cm instanceof ComponentColorModel && !cm.isAlphaPremultiplied()
                && (r.getTransferType() == DataBuffer.TYPE_BYTE || r.getTransferType() == DataBuffer.TYPE_USHORT);
        boolean gray = component && type == ColorSpace.TYPE_GRAY && cm.getNumColorComponents() == 1;
        boolean rgbRaw = component && type == ColorSpace.TYPE_RGB && cm.getNumColorComponents() == 3;
        boolean sixteen = component && cm.getComponentSize(0) == 16;
        IndexColorModel icm = cm instanceof IndexColorModel i ? i : null;
        int[] row = new int[w * r.getNumBands()];
        for (int y = 0; y < h; y++) {
            if (icm != null || gray || rgbRaw) r.getPixels(0, y, w, 1, row);
            int nb = r.getNumBands();
            for (int x = 0; x < w; x++) {
                if (icm != null) {
                    int idx = row[x * nb];
                    rgb[0] = icm.getRed(idx);
                    rgb[1] = icm.getGreen(idx);
                    rgb[2] = icm.getBlue(idx);
                } else if (gray) {
                    int v = sixteen ? to8(row[x * nb]) : row[x * nb];
                    rgb[0] = rgb[1] = rgb[2] = v;
                    if (channels == 1) {
                        out.set(0, y, x, v);
                        continue;
                    }
                } else if (rgbRaw) {
                    for (int c = 0; c < 3; c++) rgb[c] = sixteen ? to8(row[x * nb + c]) : row[x * nb + c];
                } else {
                    int argb = img.getRGB(x, y);
                    rgb[0] = (argb >>> 16) & 0xff;
                    rgb[1] = (argb >>> 8) & 0xff;
                    rgb[2] = argb & 0xff;
                }
                if (channels == 3) {
                    out.set(0, y, x, rgb[0]);
                    out.set(1, y, x, rgb[1]);
                    out.set(2, y, x, rgb[2]);
                } else {
                    out.set(0, y, x, luma(rgb[0], rgb[1], rgb[2]));
                }
            }
        }
        return out;
    }

    /** 16-bit sample to 8 bits, rounded (PIL would clip instead; 16-bit inputs are rare). */
    private static int to8(int v16) {
        return (v16 * 255 + 32767) / 65535;
    }
}
