package org.vit4j.io.checkpoint;

import org.vit4j.HostTensor;
import org.vit4j.Vit4jException;
import org.vit4j.io.image.ResampleFilter;

/**
 * Adapts a learned position embedding to another image size (paper, section 3.2: "2D interpolation
 * of the pre-trained position embeddings, according to their location in the original image"),
 * the way timm's {@code resample_abs_pos_embed} does by default: the class token's embedding is
 * kept, the grid of patch embeddings is resized with antialiased bicubic interpolation
 * ({@code F.interpolate(mode="bicubic", antialias=True, align_corners=False)}).
 *
 * <p>PyTorch's antialiased bicubic is Pillow's separable filter ({@link ResampleFilter#BICUBIC});
 * computed here in double.
 */
public final class PositionEmbeddingResize {
    private PositionEmbeddingResize() {}

    /** pos [1, 1 + from^2, D] to [1, 1 + to^2, D]. */
    public static HostTensor resize(HostTensor pos, int from, int to) {
        int[] s = pos.shape();
        if (s.length != 3 || s[0] != 1 || s[1] != 1 + from * from) {
            throw new Vit4jException("pos_embed: expected shape [1, " + (1 + from * from) + ", D] for a "
                    + from + "x" + from + " grid plus class token, got " + java.util.Arrays.toString(s));
        }
        int d = s[2];
        float[] in = pos.toFloats();
        float[] out = new float[(1 + to * to) * d];
        System.arraycopy(in, 0, out, 0, d); // class token: no position to interpolate
        ResampleFilter.Taps taps = ResampleFilter.BICUBIC.taps(from, to);
        // Horizontal pass: [from rows, to columns], then vertical: [to, to].
        double[] rowsDone = new double[from * to * d];
        for (int y = 0; y < from; y++) {
            for (int x = 0; x < to; x++) {
                for (int k = 0; k < taps.count()[x]; k++) {
                    int src = 1 + y * from + taps.first()[x] + k;
                    double w = taps.weight()[x][k];
                    for (int c = 0; c < d; c++) rowsDone[(y * to + x) * d + c] += w * in[src * d + c];
                }
            }
        }
        for (int y = 0; y < to; y++) {
            for (int x = 0; x < to; x++) {
                for (int c = 0; c < d; c++) {
                    double acc = 0;
                    for (int k = 0; k < taps.count()[y]; k++) {
                        acc += taps.weight()[y][k] * rowsDone[((taps.first()[y] + k) * to + x) * d + c];
                    }
                    out[(1 + y * to + x) * d + c] = (float) acc;
                }
            }
        }
        return new HostTensor(out, new int[] {1, 1 + to * to, d});
    }
}
