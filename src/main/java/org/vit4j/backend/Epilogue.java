package org.vit4j.backend;

/**
 * What a linear layer does to its GEMM result before storing it. Fusing these saves a full pass
 * over the activations per layer: the result is still in registers when the epilogue runs.
 */
public enum Epilogue {
    /** y = x W^T */
    NONE,
    /** y = x W^T + b */
    BIAS,
    /** y = GELU(x W^T + b), exact erf GELU: the first MLP layer. */
    BIAS_GELU,
    /** y = x W^T + b + r: the attention projection and the second MLP layer, closing a residual. */
    BIAS_RESIDUAL
}
