package org.vit4j.model;

import java.util.List;
import org.vit4j.HostTensor;
import org.vit4j.Vit4jException;

/**
 * What a forward pass returns: {@code preLogits} [B, D], the final-normed class token (the image
 * embedding), and {@code logits} [B, classes], or null for a model without a head.
 */
public record VitOutput(HostTensor logits, HostTensor preLogits) {

    /**
     * The {@code k} most probable classes of each image, with softmax probabilities
     * ({@link Predictions#topK}), labelled from {@code labels} (a checkpoint's {@code id2label}, as
     * {@code LoadedModel.labels()} gives it; null for {@code class_N}).
     */
    public List<Predictions> topK(int k, List<String> labels) {
        if (logits == null) throw new Vit4jException("top-k: this model has no classification head (no logits)");
        return Predictions.topK(logits.toFloats(), logits.dim(0), logits.dim(1), k, labels);
    }

    /** {@link #topK(int, List)} with labels {@code class_N}. */
    public List<Predictions> topK(int k) {
        return topK(k, null);
    }
}
