// Patch embedding, eq. 1 of the paper: out[b, 0] = cls + pos[0];
// out[b, 1 + p] = patch_p . W^T + bias + pos[1 + p], with patch p read in (c, y, x) order straight
// from the NCHW image: the stride-P convolution as a GEMM whose A operand is formed on the fly,
// so no im2col buffer exists in global memory.
// FLOPs 2*B*Np*D*C*P*P; least bytes 4*(B*C*H*W + D*C*P*P + (Np+1)*D + B*(Np+1)*D).
// CPU reference: CpuBackend.patchEmbed.

// Version 1: one output per work-item. global = (D, B * (Np + 1)).
__kernel void patch_embed_v1(__global const float* image, __global const float* W, __global const float* bias,
                             __global const float* cls, __global const float* pos, __global float* out,
                             int batch, int channels, int size, int patch, int dim) {
    int j = get_global_id(0), row = get_global_id(1);
    int grid = size / patch, tokens = grid * grid + 1;
    if (j >= dim || row >= batch * tokens) return;
    int b = row / tokens, t = row % tokens;
    float acc;
    if (t == 0) {
        acc = cls[j];
    } else {
        int p = t - 1, py = p / grid, px = p % grid, K = channels * patch * patch;
        acc = bias[j];
        int k = 0;
        for (int c = 0; c < channels; c++)
            for (int dy = 0; dy < patch; dy++) {
                __global const float* src = image + (((long) b * channels + c) * size + py * patch + dy) * size + px * patch;
                for (int dx = 0; dx < patch; dx++, k++) acc += src[dx] * W[(long) j * K + k];
            }
    }
    out[(long) row * dim + j] = acc + pos[(long) t * dim + j];
}
