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

    /** {@code channels x imageSize x imageSize} floats, channel-major (CHW). */
    public static float[] toTensor(BufferedImage img, Preprocessing p) {
        float[] out = new float[p.channels() * p.imageSize() * p.imageSize()];
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
        int s = p.imageSize();
        long per = (long) p.channels() * s * s;
        long total = per * images.size();
        if (total > Integer.MAX_VALUE - 8) {
            throw new Vit4jException("loadBatch: " + images.size() + " images of " + per
                    + " floats each exceed one Java array; expected a smaller batch");
        }
        float[] out = new float[(int) total];
        for (int b = 0; b < images.size(); b++) {
            normalize(prepare(ImageLoader.read(images.get(b)), p), p, out, (int) (b * per));
        }
        return new HostTensor(out, new int[] {images.size(), p.channels(), s, s});
    }

    /** The 8-bit image after channel conversion, resize and crop: what PIL holds before ToTensor. */
    static U8Image prepare(BufferedImage img, Preprocessing p) {
        U8Image px = Pixels.from(img, p.channels());
        int size = p.imageSize();
        return switch (p.resizeMode()) {
            case DIRECT -> PilResize.resize(px, size, size, p.interpolation());
            case SHORTEST_SIDE_CENTER_CROP -> {
                // The crop is decided before resampling and only its pixels are computed: the resized
                // image of an extreme aspect ratio (1 x 20,000,000 -> 248 x 4,960,000,000) is never made.
                long[] wh = shortestSideSizeLong(px.width(), px.height(), p.resizeShortSide());
                yield cropOfResized(px, wh[0], wh[1], size, p.interpolation());
            }
        };
    }

    /**
     * {@code centerCrop(resize(px, w, h), size)}, computing only the pixels the crop keeps (the same
     * bits: PilResize.resizeRegion computes each output pixel as the full resize does).
     */
    static U8Image cropOfResized(U8Image px, long w, long h, int size, Preprocessing.Interpolation interp) {
        // torchvision pads (left, top) = ((size - w) // 2, (size - h) // 2) when the image is too small.
        long padLeft = size > w ? (size - w) / 2 : 0;
        long padTop = size > h ? (size - h) / 2 : 0;
        long pw = Math.max(w, size), ph = Math.max(h, size);
        long top = (long) Math.rint((ph - size) / 2.0) - padTop;
        long left = (long) Math.rint((pw - size) / 2.0) - padLeft;
        long x0 = Math.max(left, 0), y0 = Math.max(top, 0);
        long x1 = Math.min(left + size, w), y1 = Math.min(top + size, h);
        U8Image out = U8Image.allocate(size, size, px.channels());
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
