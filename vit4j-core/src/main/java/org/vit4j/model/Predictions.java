package org.vit4j.model;

import java.util.ArrayList;
import java.util.List;
import org.vit4j.Vit4jException;

/**
 * The top classes of one image: softmax probabilities of its logits, most probable first.
 *
 * <p>The softmax is computed in double, shifted by the largest logit so that no {@code exp} can
 * overflow; equal probabilities keep the lower class index first, so the order is deterministic.
 * {@link #top()} holds at most {@code k} entries (fewer where the model has fewer classes).
 *
 * @param top the k most probable classes, most probable first
 */
public record Predictions(List<Prediction> top) {

    /** One class: its index in the logits, its label, its softmax probability. */
    public record Prediction(int index, String label, double probability) {}

    public Predictions {
        top = List.copyOf(top);
    }

    /** The most probable class. */
    public Prediction best() {
        return top.get(0);
    }

    /**
     * The {@code k} most probable classes of each image of {@code logits} [B, classes].
     *
     * @param labels one label per class, or null for {@code class_N}
     */
    public static List<Predictions> topK(float[] logits, int batch, int classes, int k, List<String> labels) {
        if (k < 1) throw new Vit4jException("top-k: k must be >= 1, got " + k);
        if (classes < 1 || batch < 0 || (long) batch * classes != logits.length) {
            throw new Vit4jException("top-k: " + logits.length + " logits are not " + batch + " images of " + classes
                    + " classes");
        }
        if (labels != null && labels.size() != classes) {
            throw new Vit4jException("top-k: " + labels.size() + " labels for " + classes + " classes");
        }
        List<Predictions> out = new ArrayList<>(batch);
        double[] p = new double[classes];
        int kk = Math.min(k, classes);
        for (int b = 0; b < batch; b++) {
            int off = b * classes;
            double max = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < classes; c++) max = Math.max(max, logits[off + c]);
            double total = 0;
            for (int c = 0; c < classes; c++) total += p[c] = Math.exp(logits[off + c] - max);
            // Selection of the k best (k is small against the classes): O(classes * k), no boxing.
            int[] best = new int[kk];
            int n = 0;
            for (int c = 0; c < classes; c++) {
                if (n == kk && !(p[c] > p[best[kk - 1]])) continue; // ties: the earlier class stays ahead
                int at = n < kk ? n++ : kk - 1;
                while (at > 0 && p[c] > p[best[at - 1]]) {
                    best[at] = best[at - 1];
                    at--;
                }
                best[at] = c;
            }
            List<Prediction> top = new ArrayList<>(kk);
            for (int i = 0; i < kk; i++) {
                int c = best[i];
                top.add(new Prediction(c, labels == null ? "class_" + c : labels.get(c), p[c] / total));
            }
            out.add(new Predictions(top));
        }
        return out;
    }
}
