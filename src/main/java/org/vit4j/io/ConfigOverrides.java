package org.vit4j.io;

/**
 * What the user states on the command line or in code, winning over config.json; null fields state
 * nothing. {@code imageSize} different from the checkpoint's resizes the position embedding.
 */
public record ConfigOverrides(Integer heads, Integer imageSize, Double layerNormEps) {
    public static final ConfigOverrides NONE = new ConfigOverrides(null, null, null);
}
