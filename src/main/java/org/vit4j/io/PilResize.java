package org.vit4j.io;

/**
 * Image resizing that reproduces PIL's {@code Image.resize} on 8-bit images bit for bit.
 *
 * <p>BICUBIC and BILINEAR follow PIL's {@code ImagingResample}: a separable convolution whose
 * filter support is widened by the downscale factor (so downscaling is antialiased), source
 * centre {@code (i + 0.5) * scale}, weights normalised per output pixel and converted to 22-bit
 * fixed point, a horizontal pass over the needed rows, then a vertical pass, each rounded and
 * clamped to 8 bits. NEAREST follows PIL's affine nearest-neighbour scaling
 * ({@code floor((i + 0.5) * scale)}, accumulated in double as PIL does).
 */
final class PilResize {
    private PilResize() {}

    private static final int PRECISION_BITS = 32 - 8 - 2;

    /** Fixed-point coefficients for one axis: for output i, taps bounds[2i] .. bounds[2i] + bounds[2i+1] - 1. */
    private record Coeffs(int ksize, int[] bounds, int[] kk) {}

    static U8Image resize(U8Image in, int outW, int outH, Preprocessing.Interpolation interp) {
        if (outW <= 0 || outH <= 0) throw new IllegalArgumentException("resize to " + outW + "x" + outH);
        if (outW == in.width() && outH == in.height()) return in;
        return switch (interp) {
            case NEAREST -> nearest(in, outW, outH);
            case BILINEAR -> resample(in, outW, outH, ResampleFilter.BILINEAR);
            case BICUBIC -> resample(in, outW, outH, ResampleFilter.BICUBIC);
        };
    }

    private static U8Image nearest(U8Image in, int outW, int outH) {
        double sx = (double) in.width() / outW;
        double sy = (double) in.height() / outH;
        int[] xin = new int[outW];
        double xo = sx * 0.5;
        for (int x = 0; x < outW; x++) {
            xin[x] = Math.min((int) xo, in.width() - 1);
            xo += sx;
        }
        U8Image out = U8Image.allocate(outW, outH, in.channels());
        double yo = sy * 0.5;
        for (int y = 0; y < outH; y++) {
            int yi = Math.min((int) yo, in.height() - 1);
            for (int c = 0; c < in.channels(); c++) {
                for (int x = 0; x < outW; x++) out.set(c, y, x, in.get(c, yi, xin[x]));
            }
            yo += sy;
        }
        return out;
    }

    /** The filter's taps in PIL's 22-bit fixed point (normalize_coeffs_8bpc: round half away from zero). */
    private static Coeffs precompute(int inSize, int outSize, ResampleFilter f) {
        ResampleFilter.Taps taps = f.taps(inSize, outSize);
        int ksize = Math.max(taps.maxCount(), 1);
        int[] bounds = new int[outSize * 2];
        int[] kk = new int[outSize * ksize];
        for (int xx = 0; xx < outSize; xx++) {
            double[] w = taps.weight()[xx];
            for (int x = 0; x < w.length; x++) {
                kk[xx * ksize + x] = w[x] < 0 ? (int) (-0.5 + w[x] * (1 << PRECISION_BITS))
                        : (int) (0.5 + w[x] * (1 << PRECISION_BITS));
            }
            bounds[xx * 2] = taps.first()[xx];
            bounds[xx * 2 + 1] = taps.count()[xx];
        }
        return new Coeffs(ksize, bounds, kk);
    }

    private static int clip8(int in) {
        if (in >= (1 << PRECISION_BITS << 8)) return 255;
        if (in <= 0) return 0;
        return in >> PRECISION_BITS;
    }

    private static U8Image resample(U8Image in, int outW, int outH, ResampleFilter f) {
        boolean needH = outW != in.width();
        boolean needV = outH != in.height();
        Coeffs horiz = precompute(in.width(), outW, f);
        Coeffs vert = precompute(in.height(), outH, f);
        U8Image cur = in;
        int[] vb = vert.bounds().clone();
        if (needH) {
            // Only rows the vertical pass will read: [first, last).
            int first = vb[0];
            int last = vb[outH * 2 - 2] + vb[outH * 2 - 1];
            if (needV) {
                for (int i = 0; i < outH; i++) vb[i * 2] -= first;
            } else {
                first = 0;
                last = in.height();
            }
            cur = horizontal(in, outW, first, last - first, horiz);
        }
        if (needV) {
            cur = vertical(cur, outH, new Coeffs(vert.ksize(), vb, vert.kk()));
        }
        return cur;
    }

    private static U8Image horizontal(U8Image in, int outW, int rowOffset, int rows, Coeffs co) {
        U8Image out = U8Image.allocate(outW, rows, in.channels());
        byte[] src = in.data();
        byte[] dst = out.data();
        int[] kk = co.kk();
        int[] bounds = co.bounds();
        int ksize = co.ksize();
        for (int c = 0; c < in.channels(); c++) {
            for (int yy = 0; yy < rows; yy++) {
                int srcRow = in.plane(c) + (yy + rowOffset) * in.width();
                int dstRow = out.plane(c) + yy * outW;
                for (int xx = 0; xx < outW; xx++) {
                    int xmin = bounds[xx * 2];
                    int xmax = bounds[xx * 2 + 1];
                    int k = xx * ksize;
                    int ss = 1 << (PRECISION_BITS - 1);
                    for (int x = 0; x < xmax; x++) ss += (src[srcRow + xmin + x] & 0xff) * kk[k + x];
                    dst[dstRow + xx] = (byte) clip8(ss);
                }
            }
        }
        return out;
    }

    private static U8Image vertical(U8Image in, int outH, Coeffs co) {
        int w = in.width();
        U8Image out = U8Image.allocate(w, outH, in.channels());
        byte[] src = in.data();
        byte[] dst = out.data();
        int[] kk = co.kk();
        int[] bounds = co.bounds();
        int ksize = co.ksize();
        for (int c = 0; c < in.channels(); c++) {
            int sp = in.plane(c);
            int dp = out.plane(c);
            for (int yy = 0; yy < outH; yy++) {
                int ymin = bounds[yy * 2];
                int ymax = bounds[yy * 2 + 1];
                int k = yy * ksize;
                for (int xx = 0; xx < w; xx++) {
                    int ss = 1 << (PRECISION_BITS - 1);
                    for (int y = 0; y < ymax; y++) ss += (src[sp + (y + ymin) * w + xx] & 0xff) * kk[k + y];
                    dst[dp + yy * w + xx] = (byte) clip8(ss);
                }
            }
        }
        return out;
    }
}
