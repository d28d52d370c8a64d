package org.vit4j.backend;

import org.vit4j.Vit4jException;

/**
 * Shapes of the patch embedding: images [batch, channels, height, width] in, tokens
 * [batch, 1 + (height / patch) * (width / patch), dim] out, class token first, the patches row-major
 * over a {@code gridHeight x gridWidth} grid that need not be square.
 */
public record PatchEmbedShape(int batch, int channels, int height, int width, int patch, int dim) {

    public PatchEmbedShape {
        if (batch <= 0 || channels <= 0 || height <= 0 || width <= 0 || patch <= 0 || dim <= 0) {
            throw new Vit4jException("patch embedding dimensions must be positive: " + this);
        }
        if (height % patch != 0 || width % patch != 0) {
            throw new Vit4jException("image height x width " + height + "x" + width
                    + " is not a multiple of the patch size " + patch + " on both sides");
        }
    }

    /** Square images of {@code imageSize x imageSize} pixels. */
    public PatchEmbedShape(int batch, int channels, int imageSize, int patch, int dim) {
        this(batch, channels, imageSize, imageSize, patch, dim);
    }

    /** Patch rows, {@code height / patch}. */
    public int gridHeight() {
        return height / patch;
    }

    /** Patch columns, {@code width / patch}. */
    public int gridWidth() {
        return width / patch;
    }

    /** Number of patches, {@code gridHeight * gridWidth}. */
    public int patches() {
        return gridHeight() * gridWidth();
    }

    public int tokens() {
        return patches() + 1;
    }

    /** C * P * P, the length of one flattened patch. */
    public int patchDim() {
        return channels * patch * patch;
    }

    public long imageFloats() {
        return (long) batch * channels * height * width;
    }

    public long outputFloats() {
        return (long) batch * tokens() * dim;
    }
}
