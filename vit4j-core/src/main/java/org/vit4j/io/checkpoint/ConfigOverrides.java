package org.vit4j.io.checkpoint;

/**
 * What the user states on the command line or in code, winning over config.json; null fields state
 * nothing. {@code imageSize} different from the checkpoint's resizes the position embedding.
 * {@code allowNonFiniteWeights} loads a checkpoint holding NaN or infinite values (by default that is
 * an error naming the tensor and the first bad element).
 */
public record ConfigOverrides(Integer heads, Integer imageSize, Double layerNormEps, boolean allowNonFiniteWeights) {
    public static final ConfigOverrides NONE = new ConfigOverrides(null, null, null);

    public ConfigOverrides(Integer heads, Integer imageSize, Double layerNormEps) {
        this(heads, imageSize, layerNormEps, false);
    }

    public ConfigOverrides withNonFiniteWeightsAllowed() {
        return new ConfigOverrides(heads, imageSize, layerNormEps, true);
    }
}
