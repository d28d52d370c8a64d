package org.vit4j.backend;

/**
 * What a linear layer does to its GEMM result before storing it. Fusing these saves a full pass
 * over the activations per layer: the result is still in registers when the epilogue runs.
 *
 * <p>Each has an explicit {@link #code()}, the number the kernels know it by ({@code enum Epi} of
 * kernels/cuda/linear.cu, the {@code EPI_*} defines of kernels/opencl/linear.cl); never pass
 * {@code ordinal()}, which moves when a constant is added or reordered. EpilogueCodesTest reads the
 * kernel sources and checks that the three agree.
 */
public enum Epilogue {
    /** y = x W^T */
    NONE(0),
    /** y = x W^T + b */
    BIAS(1),
    /** y = GELU(x W^T + b), exact erf GELU: the first MLP layer. */
    BIAS_GELU(2),
    /** y = x W^T + b + r: the attention projection and the second MLP layer, closing a residual. */
    BIAS_RESIDUAL(3);

    private final int code;

    Epilogue(int code) {
        this.code = code;
    }

    /** The kernels' code for this epilogue: {@code EPI_<name>} in kernels/cuda/linear.cu and kernels/opencl/linear.cl. */
    public int code() {
        return code;
    }
}
