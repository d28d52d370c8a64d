package org.vit4j.model;

import org.vit4j.backend.Backend;
import org.vit4j.backend.DeviceBuffer;

/** LayerNorm over the hidden dimension of each token, with learned scale and shift. */
final class LayerNorm {
    private final DeviceBuffer gamma;
    private final DeviceBuffer beta;
    private final int dim;
    private final float eps;

    LayerNorm(DeviceWeights w, String prefix, int dim, double eps) {
        this.gamma = w.get(prefix + "weight");
        this.beta = w.get(prefix + "bias");
        this.dim = dim;
        this.eps = (float) eps;
    }

    void forward(Backend be, DeviceBuffer x, DeviceBuffer out, int rows) {
        be.layerNorm(x, gamma, beta, out, rows, dim, eps);
    }
}
