package org.vit4j.model;

import org.vit4j.HostTensor;

/**
 * Sees intermediate activations of a forward pass, copied to the host: "embeddings" (z0, the input
 * of block 0), "blocks.i" (the output of block i), "pre_logits" and "logits". Only passes given an
 * observer pay for the copies. For parity tests and attention to detail, not for speed.
 */
@FunctionalInterface
public interface ActivationObserver {
    void observe(String name, HostTensor value);
}
