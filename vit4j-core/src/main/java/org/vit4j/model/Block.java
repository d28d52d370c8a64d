package org.vit4j.model;

import org.vit4j.backend.Backend;
import org.vit4j.backend.DeviceBuffer;

/**
 * One pre-norm Transformer encoder block (eqs. 2-3):
 * z' = MSA(LN(z)) + z; z'' = MLP(LN(z')) + z'. Updates the token stream in place.
 */
final class Block {
    private final LayerNorm norm1;
    private final Attention attn;
    private final LayerNorm norm2;
    private final Mlp mlp;

    Block(DeviceWeights w, int index, VitConfig c) {
        String p = VitWeights.block(index);
        this.norm1 = new LayerNorm(w, p + "norm1.", c.hiddenSize(), c.layerNormEps());
        this.attn = new Attention(w, p + "attn.", c);
        this.norm2 = new LayerNorm(w, p + "norm2.", c.hiddenSize(), c.layerNormEps());
        this.mlp = new Mlp(w, p + "mlp.", c);
    }

    void forward(Backend be, DeviceBuffer tokens, Activations a) {
        norm1.forward(be, tokens, a.normed, a.rows());
        attn.forward(be, a.normed, tokens, a);
        norm2.forward(be, tokens, a.normed, a.rows());
        mlp.forward(be, a.normed, tokens, a);
    }
}
