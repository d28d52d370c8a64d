package org.vit4j.model;

import org.vit4j.backend.Backend;
import org.vit4j.backend.DeviceBuffer;
import org.vit4j.backend.Epilogue;

/** The block's MLP (eq. 3): two layers with an exact GELU between, the second closing the residual. */
final class Mlp {
    private final Linear fc1;
    private final Linear fc2;

    Mlp(DeviceWeights w, String prefix, VitConfig c) {
        this.fc1 = new Linear(w, prefix + "fc1.", c.hiddenSize(), c.mlpSize());
        this.fc2 = new Linear(w, prefix + "fc2.", c.mlpSize(), c.hiddenSize());
    }

    /** residual += fc2(GELU(fc1(normed))). */
    void forward(Backend be, DeviceBuffer normed, DeviceBuffer residual, Activations a) {
        fc1.forward(be, normed, a.hidden, a.rows(), Epilogue.BIAS_GELU, null);
        fc2.forward(be, a.hidden, residual, a.rows(), Epilogue.BIAS_RESIDUAL, residual);
    }
}
