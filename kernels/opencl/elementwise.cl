// Elementwise ops of the ViT encoder: exact GELU, add, and picking the class token.
// Memory-bound: each reads its inputs once and writes its output once; nothing to tile.
// CPU reference: src/main/java/org/vit4j/backend/cpu/CpuBackend.java (gelu, add, selectToken).

__kernel void gelu(__global const float* x, __global float* out, int n) {
    int i = get_global_id(0);
    if (i < n) out[i] = GELU(x[i]); // GELU: common.cl
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
