package org.vit4j.io.image;

import java.util.Arrays;
import java.util.Objects;
import org.vit4j.Vit4jException;

/**
 * How an image becomes a model input: resize (and crop) to {@code imageHeight x imageWidth}, scale to
 * [0, 1] (ToTensor, {@code x / 255}), then normalise each channel, {@code (x - mean[c]) / std[c]}.
 *
 * @param imageHeight rows of the output, in pixels
 * @param imageWidth columns of the output, in pixels
 * @param channels 3 for RGB, 1 for luminance (PIL {@code convert("L")}: ITU-R 601-2 luma)
 * @param mean per-channel mean, {@code channels} values
 * @param std per-channel standard deviation, {@code channels} non-zero values
 * @param cropPct for {@link ResizeMode#SHORTEST_SIDE_CENTER_CROP}: the shorter side is resized to
 *     {@code floor(imageSize / cropPct)} before the centre crop (a non-square output: see
 *     {@link ResizeMode#SHORTEST_SIDE_CENTER_CROP}); ignored by {@link ResizeMode#DIRECT}
 * @param interpolation resampling filter, as PIL implements it
 * @param resizeMode how the image is brought to the output size
 */
public record Preprocessing(int imageHeight, int imageWidth, int channels, float[] mean, float[] std, double cropPct,
                            Interpolation interpolation, ResizeMode resizeMode) {

    /** Resampling filters, with PIL's definitions (bicubic uses a = -0.5). */
    public enum Interpolation { BICUBIC, BILINEAR, NEAREST }

    /** How the image is brought to {@code imageHeight x imageWidth}. */
    public enum ResizeMode {
        /**
         * timm's eval transform (torchvision {@code Resize(floor(imageSize / cropPct))} then
         * {@code CenterCrop(imageSize)}): the shorter side becomes {@code floor(imageSize / cropPct)},
         * the longer one {@code floor(short * long / shortIn)}, keeping aspect; then the centre
         * {@code imageSize x imageSize} is cut out (offsets {@code round((h - imageSize) / 2)}, ties to
         * even; zero padding if the image is smaller). For a non-square output, timm's
         * {@code transforms_imagenet_eval} ({@code ResizeKeepRatio} then {@code CenterCrop}): with the
         * target {@code th = floor(imageHeight / cropPct)}, {@code tw = floor(imageWidth / cropPct)} and
         * {@code r = min(h / th, w / tw)}, the image is resized to {@code round(h / r) x round(w / r)}
         * (aspect kept, both sides at least the target's), then the centre
         * {@code imageHeight x imageWidth} is cut out.
         */
        SHORTEST_SIDE_CENTER_CROP,
        /** Hugging Face {@code ViTImageProcessor}: resize straight to {@code imageHeight x imageWidth}, ignoring aspect. */
        DIRECT
    }

    /** Default mean and std per channel (timm's {@code IMAGENET_INCEPTION_MEAN/STD}, used by the original ViTs). */
    public static final float DEFAULT_MEAN = 0.5f;
    public static final float DEFAULT_STD = 0.5f;
    /** timm's default {@code crop_pct}. */
    public static final double DEFAULT_CROP_PCT = 0.9;

    public Preprocessing {
        Objects.requireNonNull(interpolation, "interpolation");
        Objects.requireNonNull(resizeMode, "resizeMode");
        if (imageHeight <= 0 || imageHeight > 65_536 || imageWidth <= 0 || imageWidth > 65_536) {
            throw new Vit4jException("preprocessing image size is " + imageHeight + "x" + imageWidth
                    + " (height x width), expected 1..65536 on each side");
        }
        if (channels != 1 && channels != 3) {
            throw new Vit4jException("preprocessing channels is " + channels + ", expected 1 (luminance) or 3 (RGB)");
        }
        if (mean == null || mean.length != channels) {
            throw new Vit4jException("preprocessing mean is " + Arrays.toString(mean) + ", expected " + channels
                    + " value(s), one per channel");
        }
        if (std == null || std.length != channels) {
            throw new Vit4jException("preprocessing std is " + Arrays.toString(std) + ", expected " + channels
                    + " value(s), one per channel");
        }
        for (int c = 0; c < channels; c++) {
            if (!Float.isFinite(mean[c])) {
                throw new Vit4jException("preprocessing mean " + Arrays.toString(mean) + " has a non-finite value");
            }
            // 1e-6: below it (x - mean) / std overflows float for 8-bit pixels or is a typo (std 1e-45).
            if (!Float.isFinite(std[c]) || Math.abs(std[c]) < 1e-6f) {
                throw new Vit4jException("preprocessing std " + Arrays.toString(std)
                        + " has a zero or non-finite value, expected finite non-zero values");
            }
        }
        // (0.05, 4]: timm's crop_pct values are 0.875..1.0; far outside, the resized side (imageSize /
        // cropPct) would be absurd: 1e-4 makes a 2.24-megapixel side, 1e-9 an overflow.
        if (!(cropPct >= 0.05 && cropPct <= 4) || !Double.isFinite(cropPct)) {
            throw new Vit4jException("preprocessing cropPct is " + cropPct + ", expected a number in [0.05, 4] such as 0.9");
        }
        int smaller = Math.min(imageHeight, imageWidth);
        if (resizeMode == ResizeMode.SHORTEST_SIDE_CENTER_CROP && Math.floor(smaller / cropPct) < 1) {
            throw new Vit4jException("preprocessing cropPct " + cropPct + " makes the resized side "
                    + Math.floor(smaller / cropPct) + " for image side " + smaller + ", expected at least 1");
        }
        mean = mean.clone();
        std = std.clone();
    }

    /**
     * timm's defaults for the original ViT checkpoints: mean = std = 0.5 per channel,
     * {@code cropPct} 0.9, bicubic, resize the shorter side to {@code floor(imageSize / 0.9)} then
     * centre-crop.
     */
    public static Preprocessing defaults(int imageSize, int channels) {
        return defaults(imageSize, imageSize, channels);
    }

    /** {@link #defaults(int, int)} for {@code imageHeight x imageWidth} outputs. */
    public static Preprocessing defaults(int imageHeight, int imageWidth, int channels) {
        float[] m = new float[Math.max(channels, 0)];
        float[] s = new float[Math.max(channels, 0)];
        Arrays.fill(m, DEFAULT_MEAN);
        Arrays.fill(s, DEFAULT_STD);
        return new Preprocessing(imageHeight, imageWidth, channels, m, s, DEFAULT_CROP_PCT, Interpolation.BICUBIC,
                ResizeMode.SHORTEST_SIDE_CENTER_CROP);
    }

    /** Hugging Face {@code ViTImageProcessor} defaults: direct bilinear resize, mean = std = 0.5. */
    public static Preprocessing huggingFace(int imageSize, int channels) {
        Preprocessing d = defaults(imageSize, channels);
        return new Preprocessing(imageSize, imageSize, channels, d.mean, d.std, 1.0, Interpolation.BILINEAR,
                ResizeMode.DIRECT);
    }

    /**
     * This preprocessing with the values a model config states (each null = keep the current one).
     *
     * @param mean per-channel mean; a single value applies to every channel
     * @param std per-channel std; a single value applies to every channel
     * @param cropPct crop fraction for the shortest-side resize
     * @param interpolation "bicubic", "bilinear" or "nearest" (case-insensitive)
     * @param directResize true for {@link ResizeMode#DIRECT}; false keeps the current mode
     * @param source what the values come from (a config file name), named in error messages
     * @throws Vit4jException naming {@code source} if a value is unusable
     */
    public Preprocessing withOverrides(float[] mean, float[] std, Double cropPct, String interpolation,
                                       boolean directResize, String source) {
        try {
            Interpolation interp = this.interpolation;
            if (interpolation != null) {
                try {
                    interp = Interpolation.valueOf(interpolation.trim().toUpperCase(java.util.Locale.ROOT));
                } catch (IllegalArgumentException e) {
                    throw new Vit4jException("interpolation \"" + interpolation
                            + "\" is not supported, expected bicubic, bilinear or nearest");
                }
            }
            return new Preprocessing(imageHeight, imageWidth, channels, broadcast(mean, this.mean), broadcast(std, this.std),
                    cropPct != null ? cropPct : this.cropPct, interp,
                    directResize ? ResizeMode.DIRECT : resizeMode);
        } catch (Vit4jException e) {
            throw new Vit4jException(source + ": " + e.getMessage(), e);
        }
    }

    private float[] broadcast(float[] given, float[] current) {
        if (given == null) return current;
        if (given.length == 1 && channels > 1) {
            float[] out = new float[channels];
            Arrays.fill(out, given[0]);
            return out;
        }
        return given;
    }

    public Preprocessing withMeanStd(float[] mean, float[] std) {
        return new Preprocessing(imageHeight, imageWidth, channels, mean, std, cropPct, interpolation, resizeMode);
    }

    public Preprocessing withCropPct(double cropPct) {
        return new Preprocessing(imageHeight, imageWidth, channels, mean, std, cropPct, interpolation, resizeMode);
    }

    public Preprocessing withInterpolation(Interpolation interpolation) {
        return new Preprocessing(imageHeight, imageWidth, channels, mean, std, cropPct, interpolation, resizeMode);
    }

    public Preprocessing withResizeMode(ResizeMode resizeMode) {
        return new Preprocessing(imageHeight, imageWidth, channels, mean, std, cropPct, interpolation, resizeMode);
    }

    @Override
    public float[] mean() {
        return mean.clone();
    }

    @Override
    public float[] std() {
        return std.clone();
    }

    /** A square output of {@code imageSize} pixels a side. */
    public Preprocessing(int imageSize, int channels, float[] mean, float[] std, double cropPct,
            Interpolation interpolation, ResizeMode resizeMode) {
        this(imageSize, imageSize, channels, mean, std, cropPct, interpolation, resizeMode);
    }

    /** This preprocessing with {@code height x width} outputs. */
    public Preprocessing withImageSize(int height, int width) {
        return new Preprocessing(height, width, channels, mean, std, cropPct, interpolation, resizeMode);
    }

    /** Whether the output is square. */
    public boolean isSquare() {
        return imageHeight == imageWidth;
    }

    /** The side of a square output; an error naming both sides for a non-square one. */
    public int imageSize() {
        if (!isSquare()) {
            throw new Vit4jException("the preprocessed image is " + imageHeight + "x" + imageWidth
                    + " (height x width), not square: use imageHeight() and imageWidth()");
        }
        return imageHeight;
    }

    /**
     * Side the shorter image side is resized to before the crop, {@code floor(imageSize / cropPct)}
     * (square outputs only: a non-square one resizes to {@link #resizeHeight} x {@link #resizeWidth}).
     */
    public int resizeShortSide() {
        return (int) Math.floor(imageSize() / cropPct);
    }

    /** Height the image is resized to before the crop of a non-square output, {@code floor(imageHeight / cropPct)}. */
    public int resizeHeight() {
        return (int) Math.floor(imageHeight / cropPct);
    }

    /** Width the image is resized to before the crop of a non-square output, {@code floor(imageWidth / cropPct)}. */
    public int resizeWidth() {
        return (int) Math.floor(imageWidth / cropPct);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Preprocessing p && imageHeight == p.imageHeight && imageWidth == p.imageWidth && channels == p.channels
                && Arrays.equals(mean, p.mean) && Arrays.equals(std, p.std)
                && Double.compare(cropPct, p.cropPct) == 0 && interpolation == p.interpolation
                && resizeMode == p.resizeMode;
    }

    @Override
    public int hashCode() {
        return Objects.hash(imageHeight, imageWidth, channels, Arrays.hashCode(mean), Arrays.hashCode(std), cropPct, interpolation,
                resizeMode);
    }

    @Override
    public String toString() {
        return "Preprocessing[" + imageHeight + "x" + imageWidth + "x" + channels + ", mean=" + Arrays.toString(mean)
                + ", std=" + Arrays.toString(std) + ", cropPct=" + cropPct + ", " + interpolation + ", " + resizeMode + "]";
    }
}
