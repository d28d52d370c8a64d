package org.vit4j.model;

import org.vit4j.backend.Backend;
import org.vit4j.backend.DeviceBuffer;
import org.vit4j.backend.Epilogue;

/**
 * Multi-head self-attention (Appendix A, eqs. 5-8): [q, k, v] = z U_qkv;
 * A = softmax(q k^T / sqrt(D_h)); MSA(z) = [SA_1(z); ...; SA_k(z)] U_msa. The output projection
 * U_msa closes the residual around the block's first half in its epilogue.
 */
final class Attention {
    private final DeviceBuffer qkvWeight;
    private final DeviceBuffer qkvBias;
    private final Linear proj;
    private final int dim;
    private final int heads;

    Attention(DeviceWeights w, String prefix, VitConfig c) {
        this.qkvWeight = w.get(prefix + "qkv.weight");
        this.qkvBias = w.get(prefix + "qkv.bias");
        this.proj = new Linear(w, prefix + "proj.", c.hiddenSize(), c.hiddenSize());
        this.dim = c.hiddenSize();
        this.heads = c.heads();
    }

    /** The softmax scale 1 / sqrt(D_h), in float32 as the kernels take it. */
    static float scale(int headDim) {
        return (float) (1.0 / Math.sqrt(headDim));
    }

    /** residual += MSA(normed), for normed and residual [batch, tokens, D]. */
    void forward(Backend be, DeviceBuffer normed, DeviceBuffer residual, Activations a) {
        int headDim = dim / heads;
        be.linearQkv(normed, qkvWeight, qkvBias, a.qkv, a.batch, a.tokens, dim, heads);
        be.attention(a.qkv, a.attended, a.batch, a.tokens, heads, headDim, scale(headDim));
        proj.forward(be, a.attended, residual, a.rows(), Epilogue.BIAS_RESIDUAL, residual);
    }
}
