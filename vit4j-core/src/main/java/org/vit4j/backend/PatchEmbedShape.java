package org.vit4j.backend;

import org.vit4j.Vit4jException;

/**
 * Shapes of the patch embedding: images [batch, channels, imageSize, imageSize] in, tokens
 * [batch, 1 + (imageSize / patch)^2, dim] out, class token first.
 */
public record PatchEmbedShape(int batch, int channels, int imageSize, int patch, int dim) {

    public PatchEmbedShape {
        if (batch <= 0 || channels <= 0 || imageSize <= 0 || patch <= 0 || dim <= 0) {
            throw new Vit4jException("patch embedding dimensions must be positive: " + this);
        }
        if (imageSize % patch != 0) {
            throw new Vit4jException("image size " + imageSize + " is not a multiple of the patch size " + patch);
        }
    }

    public int grid() {
        return imageSize / patch;
    }

    public int tokens() {
        return grid() * grid() + 1;
    }

    /** C * P * P, the length of one flattened patch. */
    public int patchDim() {
        return channels * patch * patch;
    }

    public long imageFloats() {
        return (long) batch * channels * imageSize * imageSize;
    }

    public long outputFloats() {
        return (long) batch * tokens() * dim;
    }
}
