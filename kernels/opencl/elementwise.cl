// Elementwise ops of the ViT encoder: exact GELU, add, and picking the class token.
// Memory-bound: each reads its inputs once and writes its output once; nothing to tile. Bytes per
// element are sizeof(store_t) (4 fp32, 2 bf16/fp16) per read and per write.
// Storage: store_t (common.cl) per VIT4J_STORAGE_*; values are computed in float and rounded once
// at the store (select_token copies the stored values, exactly).
// CPU reference: src/main/java/org/vit4j/backend/cpu/CpuBackend.java (gelu, add, selectToken).

__kernel void gelu(__global const store_t* x, __global store_t* out, int n) {
    int i = get_global_id(0);
    if (i < n) st1(GELU(ld1(i, x)), i, out); // GELU: common.cl
}

__kernel void add(__global const store_t* a, __global const store_t* b, __global store_t* out, int n) {
    int i = get_global_id(0);
    if (i < n) st1(ld1(i, a) + ld1(i, b), i, out);
}

// out[b, :] = x[b, token, :] for x [batch, tokens, dim].
__kernel void select_token(__global const store_t* x, __global store_t* out, int batch, int tokens, int dim,
                           int token) {
    int i = get_global_id(0);
    if (i >= batch * dim) return;
    int b = i / dim, c = i % dim;
    cp1(((long) b * tokens + token) * dim + c, x, i, out); // the stored bits, unconverted
}
