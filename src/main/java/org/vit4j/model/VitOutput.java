package org.vit4j.model;

import org.vit4j.HostTensor;

/**
 * What a forward pass returns: {@code preLogits} [B, D], the final-normed class token (the image
 * embedding), and {@code logits} [B, classes], or null for a model without a head.
 */
public record VitOutput(HostTensor logits, HostTensor preLogits) {}
