package org.vit4j.model;

import org.vit4j.backend.Backend;
import org.vit4j.backend.DeviceBuffer;
import org.vit4j.backend.Epilogue;

/** y = x W^T + b, with the epilogue fused into the GEMM. */
final class Linear {
    final DeviceBuffer weight;
    final DeviceBuffer bias;
    final int in;
    final int out;

    Linear(DeviceWeights w, String prefix, int in, int out) {
        this.weight = w.get(prefix + "weight");
        this.bias = w.get(prefix + "bias");
        this.in = in;
        this.out = out;
    }

    void forward(Backend be, DeviceBuffer x, DeviceBuffer y, int rows, Epilogue epilogue, DeviceBuffer residual) {
        be.linear(x, weight, bias, y, rows, in, out, epilogue, residual);
    }
}
