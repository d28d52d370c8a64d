package org.vit4j.io.image;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.List;
import org.vit4j.HostTensor;
import org.vit4j.Vit4jException;

/**
 * Turns images into normalised CHW float tensors, the way timm's eval transform or Hugging Face's
 * {@code ViTImageProcessor} does on PIL images: convert to RGB (or luminance), resize with PIL's
 * resampling (exactly, in 8 bits), centre-crop, {@code x / 255}, {@code (x - mean) / std}.
 */
public final class ImagePreprocessor {
    private ImagePreprocessor() {}

    /** {@code channels x imageHeight x imageWidth} floats, channel-major (CHW). */
    public static float[] toTensor(BufferedImage img, Preprocessing p) {
        float[] out = new float[p.channels() * p.imageHeight() * p.imageWidth()];
        normalize(prepare(img, p), p, out, 0);
        return out;
    }

    /** Reads {@code path} and preprocesses it; see {@link #toTensor(BufferedImage, Preprocessing)}. */
    public static float[] toTensor(Path path, Preprocessing p) {
        return toTensor(ImageLoader.read(path), p);
    }

    /** The images as one {@code [B, C, H, W]} tensor, in list order. */
    public static HostTensor loadBatch(List<Path> images, Preprocessing p) {
        if (images == null || images.isEmpty()) {
            throw new Vit4jException("loadBatch: no images given, expected at least one image path");
        }
        int h = p.imageHeight(), w = p.imageWidth();
        long per = (long) p.channels() * h * w;
        long total = per * images.size();
        if (total > Integer.MAX_VALUE - 8) {
            throw new Vit4jException("loadBatch: " + images.size() + " images of " + per
                    + " floats each exceed one Java array; expected a smaller batch");
        }
        float[] out = new float[(int) total];
        for (int b = 0; b < images.size(); b++) {
            normalize(prepare(ImageLoader.read(images.get(b)), p), p, out, (int) (b * per));
        }
        return new HostTensor(out, new int[] {images.size(), p.channels(), h, w});
    }

    /** The 8-bit image after channel conversion, resize and crop: what PIL holds before ToTensor. */
    static U8Image prepare(BufferedImage img, Preprocessing p) {
        U8Image px = Pixels.from(img, p.channels());
        int h = p.imageHeight(), w = p.imageWidth();
        return switch (p.resizeMode()) {
            case DIRECT -> PilResize.resize(px, w, h, p.interpolation());
            case SHORTEST_SIDE_CENTER_CROP -> {
                // The crop is decided before resampling and only its pixels are computed: the resized
                // image of an extreme aspect ratio (1 x 20,000,000 -> 248 x 4,960,000,000) is never made.
                long[] wh = p.isSquare() ? shortestSideSizeLong(px.width(), px.height(), p.resizeShortSide())
                        : keepRatioSize(px.width(), px.height(), p.resizeWidth(), p.resizeHeight());
                yield cropOfResized(px, wh[0], wh[1], w, h, p.interpolation());
            }
        };
    }

    /**
     * {@code centerCrop(resize(px, w, h), size)}, computing only the pixels the crop keeps (the same
     * bits: PilResize.resizeRegion computes each output pixel as the full resize does).
     */
    static U8Image cropOfResized(U8Image px, long w, long h, int size, Preprocessing.Interpolation interp) {
        return cropOfResized(px, w, h, size, size, interp);
    }

    /** {@link #cropOfResized(U8Image, long, long, int, Preprocessing.Interpolation)} to a {@code cw x ch} crop. */
    static U8Image cropOfResized(U8Image px, long w, long h, int cw, int ch, Preprocessing.Interpolation interp) {
        // torchvision pads (left, top) = ((cw - w) // 2, (ch - h) // 2) when the image is too small.
        long padLeft = cw > w ? (cw - w) / 2 : 0;
        long padTop = ch > h ? (ch - h) / 2 : 0;
        long pw = Math.max(w, cw), ph = Math.max(h, ch);
        long top = (long) Math.rint((ph - ch) / 2.0) - padTop;
        long left = (long) Math.rint((pw - cw) / 2.0) - padLeft;
        long x0 = Math.max(left, 0), y0 = Math.max(top, 0);
        long x1 = Math.min(left + cw, w), y1 = Math.min(top + ch, h);
        U8Image out = U8Image.allocate(cw, ch, px.channels());
        if (x1 <= x0 || y1 <= y0) return out;
        U8Image region = w == px.width() && h == px.height() && x0 == 0 && y0 == 0 && x1 == w && y1 == h ? px
                : PilResize.resizeRegion(px, w, h, x0, y0, (int) (x1 - x0), (int) (y1 - y0), interp);
        for (int c = 0; c < px.channels(); c++) {
            for (int y = 0; y < region.height(); y++) {
                for (int x = 0; x < region.width(); x++) {
                    out.set(c, (int) (y + y0 - top), (int) (x + x0 - left), region.get(c, y, x));
                }
            }
        }
        return out;
    }

    /**
     * timm's {@code ResizeKeepRatio(target)} output size {width, height} (its defaults: longest = 0, no
     * random scale): {@code r = min(h / targetH, w / targetW)}, the size {@code round(w / r) x round(h / r)},
     * Python's round (half to even).
     */
    static long[] keepRatioSize(int w, int h, int targetW, int targetH) {
        double ratio = Math.min((double) h / targetH, (double) w / targetW);
        return new long[] {Math.max(1, (long) Math.rint(w / ratio)), Math.max(1, (long) Math.rint(h / ratio))};
    }

    /** {@link #shortestSideSize} without the int limit on the long side. */
    static long[] shortestSideSizeLong(int w, int h, int shortSide) {
        int shortIn = Math.min(w, h);
        int longIn = Math.max(w, h);
        long longOut = (long) ((double) ((long) shortSide * longIn) / shortIn);
        if (longOut < 1) longOut = 1;
        return w <= h ? new long[] {shortSide, longOut} : new long[] {longOut, shortSide};
    }

    /**
     * torchvision's {@code Resize(int)} output size {width, height}: the shorter side becomes
     * {@code shortSide}, the longer {@code int(shortSide * long / short)}.
     */
    static int[] shortestSideSize(int w, int h, int shortSide) {
        int shortIn = Math.min(w, h);
        int longIn = Math.max(w, h);
        int longOut = (int) ((double) ((long) shortSide * longIn) / shortIn);
        if (longOut < 1) longOut = 1;
        return w <= h ? new int[] {shortSide, longOut} : new int[] {longOut, shortSide};
    }

    /** torchvision {@code CenterCrop}: zero-pad to at least {@code size}, then offsets round((h - size) / 2), ties to even. */
    static U8Image centerCrop(U8Image in, int size) {
        int w = in.width();
        int h = in.height();
        if (w == size && h == size) return in;
        // torchvision pads (left, top) = ((size - w) // 2, (size - h) // 2) when the image is too small.
        int padLeft = size > w ? (size - w) / 2 : 0;
        int padTop = size > h ? (size - h) / 2 : 0;
        int pw = Math.max(w, size);
        int ph = Math.max(h, size);
        int top = (int) Math.rint((ph - size) / 2.0) - padTop;
        int left = (int) Math.rint((pw - size) / 2.0) - padLeft;
        U8Image out = U8Image.allocate(size, size, in.channels());
        for (int c = 0; c < in.channels(); c++) {
            for (int y = 0; y < size; y++) {
                int sy = y + top;
                if (sy < 0 || sy >= h) continue;
                for (int x = 0; x < size; x++) {
                    int sx = x + left;
                    if (sx >= 0 && sx < w) out.set(c, y, x, in.get(c, sy, sx));
                }
            }
        }
        return out;
    }

    private static void normalize(U8Image img, Preprocessing p, float[] out, int offset) {
        float[] mean = p.mean();
        float[] std = p.std();
        byte[] d = img.data();
        int plane = img.width() * img.height();
        for (int c = 0; c < img.channels(); c++) {
            float m = mean[c];
            float s = std[c];
            int base = c * plane;
            for (int i = 0; i < plane; i++) {
                // float32 like torchvision: to_tensor divides by 255, Normalize subtracts then divides
                float x = (d[base + i] & 0xff) / 255f;
                out[offset + base + i] = (x - m) / s;
            }
        }
    }
}
