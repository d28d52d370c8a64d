package org.vit4j.io.checkpoint;

import org.vit4j.HostTensor;
import org.vit4j.Vit4jException;
import org.vit4j.io.image.ResampleFilter;

/**
 * Adapts a learned position embedding to another image size (paper, section 3.2: "2D interpolation
 * of the pre-trained position embeddings, according to their location in the original image"): the
 * class token's embedding is kept, the grid of patch embeddings is resized, each axis on its own, so a
 * square grid may become a non-square one and back.
 *
 * <p>Two interpolations, both PyTorch's {@code F.interpolate(mode="bicubic", align_corners=False)}:
 * <ul>
 *   <li>{@link Method#TIMM}, timm's {@code resample_abs_pos_embed} (its default {@code antialias=True}):
 *       Pillow's separable filter ({@link ResampleFilter#BICUBIC}, a = -0.5, stretched when shrinking);
 *   <li>{@link Method#HUGGING_FACE}, Hugging Face's {@code interpolate_pos_encoding} ({@code antialias=False}):
 *       Keys' cubic convolution with a = -0.75 at source {@code (i + 0.5) * in / out - 0.5}, four taps,
 *       indices clamped to the edge, no stretching when shrinking.
 * </ul>
 * Computed in double. The two differ by up to a few percent of the embedding's range, so a checkpoint is
 * resized the way the library it comes from would run it at that size.
 */
public final class PositionEmbeddingResize {
    private PositionEmbeddingResize() {}

    /** Which library's interpolation. */
    public enum Method {
        /** timm's {@code resample_abs_pos_embed}: antialiased bicubic (a = -0.5). */
        TIMM,
        /** Hugging Face's {@code interpolate_pos_encoding}: plain bicubic (a = -0.75). */
        HUGGING_FACE
    }

    /** pos [1, 1 + from^2, D] to [1, 1 + to^2, D], timm's way. */
    public static HostTensor resize(HostTensor pos, int from, int to) {
        return resize(pos, from, from, to, to, Method.TIMM);
    }

    /**
     * pos [1, 1 + fromH * fromW, D] (patches row-major on a {@code fromH x fromW} grid) to
     * [1, 1 + toH * toW, D].
     */
    public static HostTensor resize(HostTensor pos, int fromH, int fromW, int toH, int toW, Method method) {
        int[] s = pos.shape();
        if (fromH < 1 || fromW < 1 || toH < 1 || toW < 1) {
            throw new Vit4jException("pos_embed resize: grids must be at least 1x1, got " + fromH + "x" + fromW + " to "
                    + toH + "x" + toW);
        }
        if (s.length != 3 || s[0] != 1 || s[1] != 1 + fromH * fromW) {
            throw new Vit4jException("pos_embed: expected shape [1, " + (1 + fromH * fromW) + ", D] for a "
                    + fromH + "x" + fromW + " grid plus class token, got " + java.util.Arrays.toString(s));
        }
        int d = s[2];
        float[] in = pos.toFloats();
        float[] out = new float[(1 + toH * toW) * d];
        System.arraycopy(in, 0, out, 0, d); // class token: no position to interpolate
        Taps cols = taps(method, fromW, toW), rows = taps(method, fromH, toH);
        // Along the width first: [fromH, toW], then along the height: [toH, toW]. (The order does not
        // matter in exact arithmetic: the filter is separable.)
        double[] rowsDone = new double[fromH * toW * d];
        for (int y = 0; y < fromH; y++) {
            for (int x = 0; x < toW; x++) {
                for (int k = 0; k < cols.index[x].length; k++) {
                    int src = 1 + y * fromW + cols.index[x][k];
                    double w = cols.weight[x][k];
                    for (int c = 0; c < d; c++) rowsDone[(y * toW + x) * d + c] += w * in[src * d + c];
                }
            }
        }
        for (int y = 0; y < toH; y++) {
            for (int x = 0; x < toW; x++) {
                for (int c = 0; c < d; c++) {
                    double acc = 0;
                    for (int k = 0; k < rows.index[y].length; k++) {
                        acc += rows.weight[y][k] * rowsDone[(rows.index[y][k] * toW + x) * d + c];
                    }
                    out[(1 + y * toW + x) * d + c] = (float) acc;
                }
            }
        }
        return new HostTensor(out, new int[] {1, 1 + toH * toW, d});
    }

    /** For each output index along one axis: the inputs it reads (clamped, may repeat) and their weights. */
    private record Taps(int[][] index, double[][] weight) {}

    private static Taps taps(Method method, int in, int out) {
        int[][] index = new int[out][];
        double[][] weight = new double[out][];
        if (method == Method.TIMM) {
            ResampleFilter.Taps t = ResampleFilter.BICUBIC.taps(in, out);
            for (int i = 0; i < out; i++) {
                index[i] = new int[t.count()[i]];
                for (int k = 0; k < index[i].length; k++) index[i][k] = t.first()[i] + k;
                weight[i] = t.weight()[i].clone();
            }
            return new Taps(index, weight);
        }
        // PyTorch's upsample_bicubic2d, align_corners=False, output size given (scale = in / out): the
        // source coordinate is not clamped at 0 for cubic, the four taps' indices are.
        double scale = (double) in / out;
        for (int i = 0; i < out; i++) {
            double src = (i + 0.5) * scale - 0.5;
            int x0 = (int) Math.floor(src);
            double t = src - x0;
            index[i] = new int[4];
            for (int k = 0; k < 4; k++) index[i][k] = Math.min(Math.max(x0 - 1 + k, 0), in - 1);
            weight[i] = new double[] {cubic2(t + 1), cubic1(t), cubic1(1 - t), cubic2(2 - t)};
        }
        return new Taps(index, weight);
    }

    private static final double A = -0.75;

    /** Keys' kernel for |x| <= 1. */
    private static double cubic1(double x) {
        return ((A + 2) * x - (A + 3)) * x * x + 1;
    }

    /** Keys' kernel for 1 < |x| < 2. */
    private static double cubic2(double x) {
        return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
    }
}
