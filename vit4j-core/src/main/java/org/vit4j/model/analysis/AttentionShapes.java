package org.vit4j.model.analysis;

import java.util.Arrays;
import org.vit4j.HostTensor;
import org.vit4j.Vit4jException;

/** The shape checks the analyses share: attention probabilities [B, heads, N, N] on a patch grid. */
final class AttentionShapes {
    private AttentionShapes() {}

    /** The shape of {@code attention}, checked to be [B, heads, N, N] with N = 1 + gridH * gridW. */
    static int[] check(String what, HostTensor attention, int gridH, int gridW) {
        if (gridH < 1 || gridW < 1) {
            throw new Vit4jException(what + ": the patch grid must be at least 1 x 1, got " + gridH + " x " + gridW);
        }
        if (attention == null) throw new Vit4jException(what + ": attention probabilities are null");
        int[] s = attention.shape();
        int n = 1 + gridH * gridW;
        if (s.length != 4 || s[0] < 1 || s[1] < 1 || s[2] != n || s[3] != n) {
            throw new Vit4jException(what + ": expected attention probabilities [B, heads, " + n + ", " + n
                    + "] (a class token and a " + gridH + " x " + gridW + " patch grid), got " + Arrays.toString(s));
        }
        return s;
    }
}
