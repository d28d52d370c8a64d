package org.vit4j.model;

import java.util.Collections;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;
import org.vit4j.HostTensor;
import org.vit4j.Vit4jException;

/**
 * What a forward pass returns: {@code preLogits} [B, D], the final-normed class token (the image
 * embedding), {@code logits} [B, classes], or null for a model without a head, and
 * {@code attentions}: block index to that block's attention probabilities [B, heads, N, N] (float32,
 * N = 1 + patches, each row summing to 1), only for the blocks a {@link ForwardOptions} asked for,
 * else empty.
 */
public record VitOutput(HostTensor logits, HostTensor preLogits, SortedMap<Integer, HostTensor> attentions) {

    public VitOutput {
        attentions = attentions == null ? Collections.emptySortedMap()
                : Collections.unmodifiableSortedMap(new TreeMap<>(attentions));
    }

    /** Logits and pre-logits alone. */
    public VitOutput(HostTensor logits, HostTensor preLogits) {
        this(logits, preLogits, null);
    }

    /** Block {@code block}'s attention probabilities [B, heads, N, N]; an error naming what was asked where it was not. */
    public HostTensor attention(int block) {
        HostTensor a = attentions.get(block);
        if (a == null) {
            throw new Vit4jException("attentions: block " + block + " was not asked for (this pass has "
                    + (attentions.isEmpty() ? "none: use ForwardOptions.attentions()" : "blocks " + attentions.keySet())
                    + ")");
        }
        return a;
    }

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
