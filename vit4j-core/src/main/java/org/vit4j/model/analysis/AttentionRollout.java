package org.vit4j.model.analysis;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.vit4j.HostTensor;
import org.vit4j.Vit4jException;
import org.vit4j.model.VitConfig;
import org.vit4j.model.VitOutput;

/**
 * Attention rollout (Abnar and Zuidema, 2020, as the ViT paper uses it for its attention maps): for each
 * block, A = 0.5 * (mean over heads of P) + 0.5 * I, each row divided by its sum; R = A_last ... A_first
 * (matrix product, the first block applied first); the result is the class-token row of R without its
 * own column, reshaped to the patch grid {@code [B, gridH, gridW]} and divided by its maximum per image.
 *
 * <p>Only R's class-token row is needed, so it is computed as a row vector, e_0^T A_last ... A_first,
 * from the left: N^2 multiply-adds per block and image (N = 1 + patches) instead of the N^3 of the
 * matrix products, in double. The result is float32.
 */
public final class AttentionRollout {
    private AttentionRollout() {}

    /**
     * The rollout of a pass that returned every block's attention probabilities
     * ({@code ForwardOptions.attentions()}), on {@code config}'s patch grid.
     */
    public static HostTensor of(VitOutput out, VitConfig config) {
        Map<Integer, HostTensor> byBlock = out.attentions();
        List<HostTensor> ordered = new ArrayList<>();
        for (int i = 0; i < config.depth(); i++) {
            HostTensor a = byBlock.get(i);
            if (a == null) {
                throw new Vit4jException("attention rollout needs the attentions of every block (0 to "
                        + (config.depth() - 1) + "), block " + i + " is missing: run with ForwardOptions.attentions()");
            }
            ordered.add(a);
        }
        return of(ordered, config.gridHeight(), config.gridWidth());
    }

    /**
     * The rollout of {@code attentions}, block 0 first, each {@code [B, heads, N, N]} with
     * N = 1 + gridH * gridW: {@code [B, gridH, gridW]}.
     */
    public static HostTensor of(List<HostTensor> attentions, int gridH, int gridW) {
        if (attentions == null || attentions.isEmpty()) {
            throw new Vit4jException("attention rollout: no attentions given, expected one [B, heads, N, N] per block");
        }
        int[] s = AttentionShapes.check("attention rollout", attentions.get(0), gridH, gridW);
        int batch = s[0], tokens = s[2];
        for (int l = 1; l < attentions.size(); l++) {
            int[] sl = AttentionShapes.check("attention rollout", attentions.get(l), gridH, gridW);
            if (sl[0] != batch) {
                throw new Vit4jException("attention rollout: block " + l + " has batch " + sl[0] + ", block 0 " + batch);
            }
        }
        float[] result = new float[batch * (tokens - 1)];
        double[] a = new double[tokens * tokens];
        for (int b = 0; b < batch; b++) {
            double[] v = new double[tokens];
            v[0] = 1; // e_0^T: the class-token row of R
            for (int l = attentions.size() - 1; l >= 0; l--) {
                augmented(attentions.get(l), b, a);
                double[] next = new double[tokens];
                for (int i = 0; i < tokens; i++) {
                    double vi = v[i];
                    if (vi == 0) continue;
                    int row = i * tokens;
                    for (int j = 0; j < tokens; j++) next[j] += vi * a[row + j];
                }
                v = next;
            }
            double max = 0;
            for (int j = 1; j < tokens; j++) max = Math.max(max, v[j]);
            for (int j = 1; j < tokens; j++) result[b * (tokens - 1) + j - 1] = (float) (max > 0 ? v[j] / max : 0);
        }
        return new HostTensor(result, new int[] {batch, gridH, gridW});
    }

    /** A = 0.5 * mean_h P[b] + 0.5 * I, rows normalised, into {@code a} [N, N]. */
    static void augmented(HostTensor attention, int b, double[] a) {
        int heads = attention.dim(1), n = attention.dim(2);
        float[] p = attention.toFloats();
        java.util.Arrays.fill(a, 0);
        for (int h = 0; h < heads; h++) {
            int base = (b * heads + h) * n * n;
            for (int k = 0; k < n * n; k++) a[k] += p[base + k];
        }
        for (int i = 0; i < n; i++) {
            double sum = 0;
            for (int j = 0; j < n; j++) {
                a[i * n + j] = 0.5 * a[i * n + j] / heads + (i == j ? 0.5 : 0);
                sum += a[i * n + j];
            }
            for (int j = 0; j < n; j++) a[i * n + j] /= sum;
        }
    }
}
