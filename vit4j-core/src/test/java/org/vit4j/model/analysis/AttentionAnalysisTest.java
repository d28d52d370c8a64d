package org.vit4j.model.analysis;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.vit4j.HostTensor;
import org.vit4j.Numerics;
import org.vit4j.Vit4jException;

/**
 * The analyses of issue 14 on inputs small enough to check by hand, and on random ones against a
 * literal transcription of their definitions written here (full N x N matrix products for the rollout,
 * a loop over patch coordinates for the distance). PyTorch's float64 on the golden models is
 * vit4j-tests' AttentionOutputTest.
 */
class AttentionAnalysisTest {

    private static HostTensor t(float[] v, int... shape) {
        return new HostTensor(v, shape);
    }

    /** One block, one head, a 1 x 2 grid: worked out by hand in the comments. */
    @Test
    void rolloutByHand() {
        // class row of P: [0.2, 0.6, 0.2] -> A row 0 = 0.5 P + 0.5 e0 = [0.6, 0.3, 0.1] (sums to 1)
        // -> without its own column [0.3, 0.1] -> / max = [1, 1/3]
        float[] p = {0.2f, 0.6f, 0.2f, 0.1f, 0.8f, 0.1f, 0.3f, 0.3f, 0.4f};
        HostTensor r = AttentionRollout.of(List.of(t(p, 1, 1, 3, 3)), 1, 2);
        assertArrayEquals(new int[] {1, 1, 2}, r.shape());
        assertArrayEquals(new float[] {1f, (float) (0.1 / 0.3)}, r.data(), 1e-7f);
    }

    /** Two blocks, two heads: P = I in block 0 (A = I), so the result is block 1's alone, mean over heads. */
    @Test
    void rolloutMeansHeadsAndAppliesBlocksInOrder() {
        float[] eye = {1, 0, 0, 0, 1, 0, 0, 0, 1};
        float[] ident2 = new float[18];
        System.arraycopy(eye, 0, ident2, 0, 9);
        System.arraycopy(eye, 0, ident2, 9, 9);
        // block 1: head 0 class row [0, 1, 0], head 1 [0, 0, 1] -> mean [0, .5, .5] -> A row 0 [.5, .25, .25]
        float[] b1 = {0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 0, 1, 0, 0, 0, 1};
        HostTensor r = AttentionRollout.of(List.of(t(ident2, 1, 2, 3, 3), t(b1, 1, 2, 3, 3)), 1, 2);
        assertArrayEquals(new float[] {1f, 1f}, r.data(), 1e-7f);
        // with P = I the class token keeps to itself: nothing flows to the patches, the map is 0
        HostTensor none = AttentionRollout.of(List.of(t(ident2, 1, 2, 3, 3)), 1, 2);
        assertArrayEquals(new float[] {0f, 0f}, none.data());
    }

    /** Random row-stochastic attentions, several blocks and images, against the definition as written. */
    @Test
    void rolloutEqualsTheMatrixProductOfTheDefinition() {
        Random random = new Random(14);
        int batch = 2, heads = 3, gh = 3, gw = 4, n = 1 + gh * gw, depth = 4;
        List<HostTensor> attentions = new ArrayList<>();
        for (int l = 0; l < depth; l++) attentions.add(randomProbs(random, batch, heads, n));
        float[] got = AttentionRollout.of(attentions, gh, gw).data();
        for (int b = 0; b < batch; b++) {
            double[][] r = identity(n);
            for (HostTensor a : attentions) { // first block applied first: R = A_l R
                double[][] m = new double[n][n];
                float[] p = a.data();
                for (int i = 0; i < n; i++) {
                    double sum = 0;
                    for (int j = 0; j < n; j++) {
                        double mean = 0;
                        for (int h = 0; h < heads; h++) mean += p[((b * heads + h) * n + i) * n + j];
                        m[i][j] = 0.5 * mean / heads + (i == j ? 0.5 : 0);
                        sum += m[i][j];
                    }
                    for (int j = 0; j < n; j++) m[i][j] /= sum;
                }
                r = multiply(m, r);
            }
            double max = 0;
            for (int j = 1; j < n; j++) max = Math.max(max, r[0][j]);
            for (int j = 1; j < n; j++) {
                assertEquals(r[0][j] / max, got[b * (n - 1) + j - 1], 1e-6, "image " + b + " patch " + (j - 1));
            }
        }
    }

    @Test
    void meanAttentionDistanceByHand() {
        // 1 x 2 grid, patch 16: the patches' centres are 16 px apart. Row of patch 0: [cls 0, 0.5, 0.5]
        // -> 0.5 * 16 = 8 px; patch 1: [0.2, 0.8, 0] -> 0.8 * 16 = 12.8 px (the class token's 0.2 counts
        // nowhere). Mean over the two query patches: 10.4 px.
        float[] p = {1, 0, 0, 0, 0.5f, 0.5f, 0.2f, 0.8f, 0};
        double[] d = MeanAttentionDistance.perHead(t(p, 1, 1, 3, 3), 1, 2, 16);
        assertEquals(1, d.length);
        assertEquals(10.4, d[0], 1e-6);
    }

    @Test
    void meanAttentionDistanceEqualsItsDefinition() {
        Random random = new Random(7);
        int batch = 3, heads = 2, gh = 2, gw = 5, n = 1 + gh * gw, patch = 14;
        HostTensor a = randomProbs(random, batch, heads, n);
        double[] got = MeanAttentionDistance.perHead(a, gh, gw, patch);
        for (int h = 0; h < heads; h++) {
            double total = 0;
            for (int b = 0; b < batch; b++) {
                for (int qy = 0; qy < gh; qy++) for (int qx = 0; qx < gw; qx++) {
                    for (int ky = 0; ky < gh; ky++) for (int kx = 0; kx < gw; kx++) {
                        double cy = (qy + 0.5) * patch - (ky + 0.5) * patch, cx = (qx + 0.5) * patch - (kx + 0.5) * patch;
                        int i = 1 + qy * gw + qx, j = 1 + ky * gw + kx;
                        total += a.data()[((b * heads + h) * n + i) * n + j] * Math.hypot(cy, cx);
                    }
                }
            }
            assertEquals(total / (batch * gh * gw), got[h], 1e-9);
        }
    }

    @Test
    void positionEmbeddingSimilarityByHand() {
        // class token [9, 9] excluded; patch 0 [1, 0], patch 1 [1, 1]: cosines [[1, 1/sqrt 2], [1/sqrt 2, 1]]
        HostTensor s = PositionEmbeddingSimilarity.of(t(new float[] {9, 9, 1, 0, 1, 1}, 1, 3, 2), 1, 2);
        assertArrayEquals(new int[] {2, 1, 2}, s.shape());
        float c = (float) (1 / Math.sqrt(2));
        assertArrayEquals(new float[] {1, c, c, 1}, s.data(), 1e-7f);
        // a non-square grid: [gh * gw, gh, gw], symmetric, ones on the diagonal
        Random random = new Random(3);
        int gh = 2, gw = 3, d = 5;
        HostTensor sim = PositionEmbeddingSimilarity.of(t(Numerics.randn(random, (1 + gh * gw) * d, 1), 1 + gh * gw, d), gh, gw);
        assertArrayEquals(new int[] {6, 2, 3}, sim.shape());
        for (int i = 0; i < 6; i++) {
            assertEquals(1f, sim.data()[i * 6 + i], 1e-6f);
            for (int j = 0; j < 6; j++) assertEquals(sim.data()[i * 6 + j], sim.data()[j * 6 + i], 1e-7f);
        }
    }

    @Test
    void badShapesAreOneLineErrorsNamingWhatWasExpected() {
        HostTensor a = t(new float[2 * 5 * 5], 1, 2, 5, 5);
        Vit4jException e = assertThrows(Vit4jException.class, () -> AttentionRollout.of(List.of(a), 3, 3));
        assertTrue(e.getMessage().contains("[B, heads, 10, 10]") && e.getMessage().contains("3 x 3"), e.getMessage());
        assertThrows(Vit4jException.class, () -> AttentionRollout.of(List.of(), 2, 2));
        assertThrows(Vit4jException.class, () -> MeanAttentionDistance.perHead(a, 3, 3, 16));
        Vit4jException p = assertThrows(Vit4jException.class,
                () -> PositionEmbeddingSimilarity.of(t(new float[11 * 4], 1, 11, 4), 3, 3));
        assertTrue(p.getMessage().contains("[1, 10, D]") && !p.getMessage().contains("\n"), p.getMessage());
    }

    private static HostTensor randomProbs(Random random, int batch, int heads, int n) {
        float[] p = new float[batch * heads * n * n];
        for (int r = 0; r < batch * heads * n; r++) {
            double sum = 0;
            double[] row = new double[n];
            for (int j = 0; j < n; j++) sum += row[j] = Math.exp(2 * random.nextGaussian());
            for (int j = 0; j < n; j++) p[r * n + j] = (float) (row[j] / sum);
        }
        return new HostTensor(p, new int[] {batch, heads, n, n});
    }

    private static double[][] identity(int n) {
        double[][] m = new double[n][n];
        for (int i = 0; i < n; i++) m[i][i] = 1;
        return m;
    }

    private static double[][] multiply(double[][] a, double[][] b) {
        int n = a.length;
        double[][] c = new double[n][n];
        for (int i = 0; i < n; i++) for (int k = 0; k < n; k++) for (int j = 0; j < n; j++) c[i][j] += a[i][k] * b[k][j];
        return c;
    }
}
