package org.vit4j.io.image;

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

    /**
     * The window {@code [x0, x0 + w) x [y0, y0 + h)} of {@code resize(in, outW, outH, interp)}, bit for
     * bit, computing only the pixels in it: the resized image itself is never made, so a resize whose
     * full size would not fit in memory (a 1 x 20,000,000 image whose short side becomes 248) costs no
     * more than its crop.
     */
    static U8Image resizeRegion(U8Image in, long outW, long outH, long x0, long y0, int w, int h,
            Preprocessing.Interpolation interp) {
        if (outW <= 0 || outH <= 0 || w <= 0 || h <= 0 || x0 < 0 || y0 < 0 || x0 + w > outW || y0 + h > outH) {
            throw new IllegalArgumentException("window " + w + "x" + h + " at " + x0 + "," + y0 + " of " + outW + "x" + outH);
        }
        if (interp == Preprocessing.Interpolation.NEAREST) return nearestRegion(in, outW, outH, x0, y0, w, h);
        ResampleFilter f = interp == Preprocessing.Interpolation.BICUBIC ? ResampleFilter.BICUBIC : ResampleFilter.BILINEAR;
        boolean needH = outW != in.width();
        boolean needV = outH != in.height();
        // Rows of the input the window's vertical taps read (all rows it keeps where no vertical pass runs).
        Coeffs vert = needV ? precompute(in.height(), outH, y0, h, f) : null;
        int first, last;
        if (needV) {
            int[] vb = vert.bounds();
            first = Integer.MAX_VALUE;
            last = 0;
            for (int i = 0; i < h; i++) {
                first = Math.min(first, vb[2 * i]);
                last = Math.max(last, vb[2 * i] + vb[2 * i + 1]);
            }
            if (first > last) first = last;
        } else {
            first = (int) y0;
            last = (int) y0 + h;
        }
        U8Image cur;
        if (needH) {
            cur = horizontal(in, w, first, last - first, precompute(in.width(), outW, x0, w, f));
        } else { // the columns as they are
            cur = U8Image.allocate(w, last - first, in.channels());
            for (int c = 0; c < in.channels(); c++) {
                for (int y = 0; y < last - first; y++) {
                    System.arraycopy(in.data(), in.plane(c) + (y + first) * in.width() + (int) x0, cur.data(),
                            cur.plane(c) + y * w, w);
                }
            }
        }
        if (!needV) return cur;
        int[] vb = vert.bounds().clone();
        for (int i = 0; i < h; i++) vb[2 * i] -= first;
        return vertical(cur, h, new Coeffs(vert.ksize(), vb, vert.kk()));
    }

    private static U8Image nearestRegion(U8Image in, long outW, long outH, long x0, long y0, int w, int h) {
        // PIL accumulates the source position in double output by output; repeat the additions up to the window.
        double sx = (double) in.width() / outW;
        double sy = (double) in.height() / outH;
        int[] xin = new int[w];
        double xo = sx * 0.5;
        for (long x = 0; x < x0 + w; x++) {
            if (x >= x0) xin[(int) (x - x0)] = Math.min((int) xo, in.width() - 1);
            xo += sx;
        }
        U8Image out = U8Image.allocate(w, h, in.channels());
        double yo = sy * 0.5;
        for (long y = 0; y < y0 + h; y++) {
            if (y >= y0) {
                int yi = Math.min((int) yo, in.height() - 1);
                for (int c = 0; c < in.channels(); c++) {
                    for (int x = 0; x < w; x++) out.set(c, (int) (y - y0), x, in.get(c, yi, xin[x]));
                }
            }
            yo += sy;
        }
        return out;
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
        return precompute(inSize, outSize, 0, outSize, f);
    }

    /** As {@link #precompute(int, int, ResampleFilter)} for outputs {@code from .. from + outSize - 1} of {@code fullSize}. */
    private static Coeffs precompute(int inSize, long fullSize, long from, int outSize, ResampleFilter f) {
        ResampleFilter.Taps taps = f.taps(inSize, fullSize, from, outSize);
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
