package org.vit4j.io.checkpoint;

/**
 * What the user states on the command line or in code, winning over config.json; null fields state
 * nothing. An image size ({@code imageHeight} x {@code imageWidth}, both given or both null) different
 * from the checkpoint's resizes the position embedding to the new patch grid, square or not.
 * {@code allowNonFiniteWeights} loads a checkpoint holding NaN or infinite values (by default that is
 * an error naming the tensor and the first bad element).
 */
public record ConfigOverrides(Integer heads, Integer imageHeight, Integer imageWidth, Double layerNormEps,
        boolean allowNonFiniteWeights) {
    public static final ConfigOverrides NONE = new ConfigOverrides(null, null, null);

    public ConfigOverrides {
        if ((imageHeight == null) != (imageWidth == null)) {
            throw new CheckpointException("image size override: height " + imageHeight + " and width " + imageWidth
                    + ", expected both or neither");
        }
    }

    /** Square images of {@code imageSize} pixels a side (null: the checkpoint's size). */
    public ConfigOverrides(Integer heads, Integer imageSize, Double layerNormEps) {
        this(heads, imageSize, imageSize, layerNormEps, false);
    }

    /** {@code imageHeight x imageWidth} images (both null: the checkpoint's size). */
    public ConfigOverrides(Integer heads, Integer imageHeight, Integer imageWidth, Double layerNormEps) {
        this(heads, imageHeight, imageWidth, layerNormEps, false);
    }

    public ConfigOverrides withNonFiniteWeightsAllowed() {
        return new ConfigOverrides(heads, imageHeight, imageWidth, layerNormEps, true);
    }
}
