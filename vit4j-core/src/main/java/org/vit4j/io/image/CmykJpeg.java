package org.vit4j.io.image;

import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;
import java.io.IOException;
import javax.imageio.ImageReader;
import javax.imageio.metadata.IIOMetadata;
import org.w3c.dom.NamedNodeMap;
import org.w3c.dom.Node;

/**
 * Four-component (CMYK and YCCK) JPEGs converted to RGB exactly as PIL converts them, without any
 * colour management. Java's {@code ImageReader.read} would run the samples through an ICC CMYK
 * profile; PIL (Pillow 9.4 on libjpeg-turbo 2.1) does this instead:
 *
 * <ol>
 *   <li>libjpeg decides the JPEG colour space: with an Adobe APP14 marker, transform 0 is CMYK and
 *       any other value YCCK; without one, CMYK ({@code jdapimin.c}). YCCK is turned into CMYK by
 *       libjpeg ({@code jdcolor.c ycck_cmyk_convert}: YCC to RGB in 16-bit fixed point, each of
 *       R, G, B subtracted from 255 and clamped; K passes through).</li>
 *   <li>PIL unpacks the samples as {@code "CMYK;I"}: all four inverted, whether the file has an
 *       Adobe marker or not ({@code JpegImagePlugin.py}: "assume adobe conventions").</li>
 *   <li>{@code convert("RGB")} is {@code Convert.c cmyk2rgb}: {@code nk = 255 - K},
 *       {@code R = nk - MULDIV255(C, nk)} and likewise G from M and B from Y, where
 *       {@code MULDIV255(a, b) = ((a*b + 128) >> 8 + a*b + 128) >> 8}. {@code convert("L")} goes
 *       through RGB, so {@link Pixels#luma} applies to the result.</li>
 * </ol>
 *
 * The raw samples come from {@link ImageReader#readRaster}, which returns them in the JPEG's own
 * colour space, unconverted. Checked against PIL's pixels by {@code CmykJpegGoldenTest}
 * ({@code scripts/python/make_cmyk_golden.py}).
 */
final class CmykJpeg {
    private static final String NATIVE_FORMAT = "javax_imageio_jpeg_image_1.0";

    // jdcolor.c build_ycc_rgb_table: SCALEBITS 16, FIX(x) = (long) (x * 65536 + 0.5).
    private static final int SCALEBITS = 16;
    private static final long ONE_HALF = 1L << (SCALEBITS - 1);
    private static final int[] CR_R = new int[256];
    private static final int[] CB_B = new int[256];
    private static final long[] CR_G = new long[256];
    private static final long[] CB_G = new long[256];

    static {
        for (int i = 0; i < 256; i++) {
            long x = i - 128;
            CR_R[i] = (int) ((fix(1.40200) * x + ONE_HALF) >> SCALEBITS);
            CB_B[i] = (int) ((fix(1.77200) * x + ONE_HALF) >> SCALEBITS);
            CR_G[i] = -fix(0.71414) * x;
            CB_G[i] = -fix(0.34414) * x + ONE_HALF;
        }
    }

    private CmykJpeg() {}

    private static long fix(double x) {
        return (long) (x * (1L << SCALEBITS) + 0.5);
    }

    /** The JPEG colour space of image 0, as libjpeg decides it for a four-component file. */
    enum Kind { NOT_FOUR_COMPONENTS, CMYK, YCCK }

    /** What image 0 of a JPEG reader's input is, from its SOF and APP14 markers. */
    static Kind kind(ImageReader reader) throws IOException {
        IIOMetadata md = reader.getImageMetadata(0);
        if (md == null || !isNativeFormat(md)) return Kind.NOT_FOUR_COMPONENTS;
        Node root = md.getAsTree(NATIVE_FORMAT);
        int components = -1;
        Integer transform = null;
        for (Node n = root.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (!"markerSequence".equals(n.getNodeName())) continue;
            for (Node m = n.getFirstChild(); m != null; m = m.getNextSibling()) {
                if ("sof".equals(m.getNodeName())) {
                    components = 0;
                    for (Node c = m.getFirstChild(); c != null; c = c.getNextSibling()) {
                        if ("componentSpec".equals(c.getNodeName())) components++;
                    }
                } else if ("app14Adobe".equals(m.getNodeName()) && transform == null) {
                    NamedNodeMap attrs = m.getAttributes();
                    Node t = attrs == null ? null : attrs.getNamedItem("transform");
                    transform = t == null ? 0 : Integer.parseInt(t.getNodeValue());
                }
            }
        }
        if (components != 4) return Kind.NOT_FOUR_COMPONENTS;
        // jdapimin.c default_decompress_parms, case 4.
        if (transform == null || transform == 0) return Kind.CMYK;
        return Kind.YCCK;
    }

    private static boolean isNativeFormat(IIOMetadata md) {
        return NATIVE_FORMAT.equals(md.getNativeMetadataFormatName());
    }

    /** PIL's {@code convert("RGB")} of the raw four-band samples of a CMYK or YCCK JPEG. */
    static BufferedImage toRgb(Raster raw, Kind kind) {
        if (kind == Kind.NOT_FOUR_COMPONENTS || raw.getNumBands() != 4) {
            throw new IllegalArgumentException("expected the 4 raw bands of a CMYK or YCCK JPEG, got "
                    + raw.getNumBands() + " (" + kind + ")");
        }
        int w = raw.getWidth();
        int h = raw.getHeight();
        BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_3BYTE_BGR);
        WritableRaster dst = out.getRaster();
        int[] in = new int[w * 4];
        int[] rgb = new int[w * 3];
        boolean ycck = kind == Kind.YCCK;
        for (int y = 0; y < h; y++) {
            raw.getPixels(raw.getMinX(), raw.getMinY() + y, w, 1, in);
            for (int x = 0; x < w; x++) {
                int s0 = in[4 * x];
                int s1 = in[4 * x + 1];
                int s2 = in[4 * x + 2];
                int k = in[4 * x + 3];
                if (ycck) { // libjpeg's ycck_cmyk_convert: s0 = Y, s1 = Cb, s2 = Cr
                    int yy = s0;
                    int cb = s1;
                    int cr = s2;
                    s0 = clamp255(255 - (yy + CR_R[cr]));
                    s1 = clamp255(255 - (yy + (int) ((CB_G[cb] + CR_G[cr]) >> SCALEBITS)));
                    s2 = clamp255(255 - (yy + CB_B[cb]));
                }
                // "CMYK;I": PIL inverts every sample; then cmyk2rgb.
                int nk = k; // 255 - (255 - k)
                rgb[3 * x] = cmyk2rgb(255 - s0, nk);
                rgb[3 * x + 1] = cmyk2rgb(255 - s1, nk);
                rgb[3 * x + 2] = cmyk2rgb(255 - s2, nk);
            }
            dst.setPixels(0, y, w, 1, rgb);
        }
        return out;
    }

    /** Convert.c: {@code CLIP8(nk - MULDIV255(ink, nk))}. */
    static int cmyk2rgb(int ink, int nk) {
        int tmp = ink * nk + 128;
        int v = nk - (((tmp >> 8) + tmp) >> 8);
        return v <= 0 ? 0 : Math.min(v, 255);
    }

    private static int clamp255(int v) {
        return v < 0 ? 0 : Math.min(v, 255);
    }
}
