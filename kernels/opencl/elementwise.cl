// Elementwise ops of the ViT encoder: exact GELU, add, and picking the class token.
// Memory-bound: each reads its inputs once and writes its output once; nothing to tile.
// CPU reference: src/main/java/org/vit4j/backend/cpu/CpuBackend.java (gelu, add, selectToken).

// GELU(x) = x * Phi(x) = x / 2 * (1 + erf(x / sqrt 2)), the exact form (not tanh), computed as
// x / 2 * erfc(-x / sqrt 2): for negative x, 1 + erf cancels to a few correct bits (at x = -4 the
// float result is 1% off), while erfc keeps full relative precision.
float gelu_exact(float x) {
    return 0.5f * x * erfc(-x * 0.70710678118654752f);
}

__kernel void gelu(__global const float* x, __global float* out, int n) {
    int i = get_global_id(0);
    if (i < n) out[i] = gelu_exact(x[i]);
}

__kernel void add(__global const float* a, __global const float* b, __global float* out, int n) {
    int i = get_global_id(0);
    if (i < n) out[i] = a[i] + b[i];
}

// out[b, :] = x[b, token, :] for x [batch, tokens, dim].
__kernel void select_token(__global const float* x, __global float* out, int batch, int tokens, int dim, int token) {
    int i = get_global_id(0);
    if (i >= batch * dim) return;
    int b = i / dim, c = i % dim;
    out[i] = x[((long) b * tokens + token) * dim + c];
}
