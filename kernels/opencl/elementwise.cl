// Elementwise ops of the ViT encoder: exact GELU, add, and picking the class token.
// Memory-bound: each reads its inputs once and writes its output once; nothing to tile.
// CPU reference: src/main/java/org/vit4j/backend/cpu/CpuBackend.java (gelu, add, selectToken).

// GELU(x) = x * Phi(x) = x / 2 * (1 + erf(x / sqrt 2)), the exact form (not tanh). OpenCL's erf is
// accurate to a few ulp in single precision, well inside the 1e-5 fp32 budget.
float gelu_exact(float x) {
    return 0.5f * x * (1.0f + erf(x * 0.70710678118654752f));
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
