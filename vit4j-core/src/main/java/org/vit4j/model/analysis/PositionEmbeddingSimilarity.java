package org.vit4j.model.analysis;

import java.util.Arrays;
import org.vit4j.HostTensor;
import org.vit4j.Vit4jException;
import org.vit4j.model.VitConfig;
import org.vit4j.model.VitWeights;

/**
 * The similarity of the learned position embeddings (ViT paper, Fig. 7 centre): the cosine similarity of
 * each patch's position embedding with every other patch's, the class token's excluded, as
 * {@code [gridH * gridW, gridH, gridW]}: tile i (patch i in row-major order) is the map of patch i's
 * similarity with every patch of the grid. Computed in double, returned as float32; a zero embedding
 * has similarity 0 with everything.
 */
public final class PositionEmbeddingSimilarity {
    private PositionEmbeddingSimilarity() {}

    /**
     * For a model's weights: its {@code pos_embed} (resized to the configured image size where the
     * checkpoint's was resized) on its patch grid.
     */
    public static HostTensor of(VitWeights weights) {
        VitConfig c = weights.config();
        return of(weights.get("pos_embed"), c.gridHeight(), c.gridWidth());
    }

    /** {@code posEmbed} [1, N, D] or [N, D] with N = 1 + gridH * gridW (the class token's row first). */
    public static HostTensor of(HostTensor posEmbed, int gridH, int gridW) {
        if (posEmbed == null) throw new Vit4jException("position-embedding similarity: no position embedding given");
        int[] s = posEmbed.shape();
        int n = 1 + gridH * gridW;
        boolean ok = gridH >= 1 && gridW >= 1
                && (s.length == 3 && s[0] == 1 && s[1] == n || s.length == 2 && s[0] == n);
        if (!ok) {
            throw new Vit4jException("position-embedding similarity: expected a position embedding [1, " + n
                    + ", D] (a class token and a " + gridH + " x " + gridW + " patch grid), got " + Arrays.toString(s));
        }
        int d = s[s.length - 1], patches = n - 1;
        float[] e = posEmbed.toFloats();
        double[] norm = new double[patches];
        for (int i = 0; i < patches; i++) {
            double sq = 0;
            for (int k = 0; k < d; k++) sq += (double) e[(1 + i) * d + k] * e[(1 + i) * d + k];
            norm[i] = Math.sqrt(sq);
        }
        float[] out = new float[patches * patches];
        for (int i = 0; i < patches; i++) {
            for (int j = 0; j < patches; j++) {
                double dot = 0;
                for (int k = 0; k < d; k++) dot += (double) e[(1 + i) * d + k] * e[(1 + j) * d + k];
                double den = norm[i] * norm[j];
                out[i * patches + j] = (float) (den > 0 ? dot / den : 0);
            }
        }
        return new HostTensor(out, new int[] {patches, gridH, gridW});
    }
}
