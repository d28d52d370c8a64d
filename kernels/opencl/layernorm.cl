// LayerNorm over the last dimension: out = (x - mean) / sqrt(var + eps) * gamma + beta, per row.
// Memory-bound: least bytes 4*(2*rows*dim + 2*dim) (x read once if the row stays in cache).
// CPU reference: CpuBackend.layerNorm (two passes in double).

// Version 1: one work-item per row, two passes (mean, then variance about the mean) so a large
// common offset cannot cancel. global = (rows).
__kernel void layernorm_v1(__global const float* x, __global const float* gamma, __global const float* beta,
                           __global float* out, int rows, int dim, float eps) {
    int r = get_global_id(0);
    if (r >= rows) return;
    __global const float* row = x + (long) r * dim;
    float mean = 0.0f;
    for (int i = 0; i < dim; i++) mean += row[i];
    mean /= dim;
    float var = 0.0f;
    for (int i = 0; i < dim; i++) {
        float d = row[i] - mean;
        var += d * d;
    }
    float inv = rsqrt(var / dim + eps);
    for (int i = 0; i < dim; i++) out[(long) r * dim + i] = (row[i] - mean) * inv * gamma[i] + beta[i];
}
