package org.vit4j.model.analysis;

import java.util.SortedMap;
import java.util.TreeMap;
import org.vit4j.HostTensor;
import org.vit4j.model.VitConfig;
import org.vit4j.model.VitOutput;

/**
 * Mean attention distance per block and head (ViT paper, Fig. 7 right; Raghu et al.'s "attention
 * distance"): the distance in pixels between the centres of a query patch and a key patch, weighted
 * by the attention probability between them, summed over key patches, averaged over query patches and
 * images. The class token takes no part: neither its row nor its column is used, and the patch-to-patch
 * probabilities are not renormalised (as in the paper's and the usual notebooks' code:
 * {@code P[..., 1:, 1:]}), so a head that looks mostly at the class token has a small distance.
 * Patch centres are {@code patchSize} pixels apart along each axis. Computed in double.
 */
public final class MeanAttentionDistance {
    private MeanAttentionDistance() {}

    /** Per block that {@code out} has attentions of: block index to its per-head distances in pixels. */
    public static SortedMap<Integer, double[]> of(VitOutput out, VitConfig config) {
        SortedMap<Integer, double[]> result = new TreeMap<>();
        out.attentions().forEach((block, a) ->
                result.put(block, perHead(a, config.gridHeight(), config.gridWidth(), config.patchSize())));
        return result;
    }

    /** One block's attention probabilities [B, heads, N, N], N = 1 + gridH * gridW: the distance of each head. */
    public static double[] perHead(HostTensor attention, int gridH, int gridW, int patchSize) {
        int[] s = AttentionShapes.check("mean attention distance", attention, gridH, gridW);
        int batch = s[0], heads = s[1], n = s[2], patches = n - 1;
        float[] p = attention.toFloats();
        double[] dist = new double[patches * patches];
        for (int i = 0; i < patches; i++) {
            for (int j = 0; j < patches; j++) {
                double dy = i / gridW - j / gridW, dx = i % gridW - j % gridW;
                dist[i * patches + j] = patchSize * Math.sqrt(dy * dy + dx * dx);
            }
        }
        double[] out = new double[heads];
        for (int h = 0; h < heads; h++) {
            double total = 0;
            for (int b = 0; b < batch; b++) {
                long base = (long) (b * heads + h) * n * n;
                for (int i = 0; i < patches; i++) {
                    long row = base + (long) (1 + i) * n + 1;
                    double sum = 0;
                    for (int j = 0; j < patches; j++) sum += p[(int) (row + j)] * dist[i * patches + j];
                    total += sum;
                }
            }
            out[h] = total / ((double) batch * patches);
        }
        return out;
    }
}
