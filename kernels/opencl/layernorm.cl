// LayerNorm over the last dimension: out = (x - mean) / sqrt(var + eps) * gamma + beta, per row.
// Memory-bound: 8 FLOPs per element; least bytes s*(2*rows*dim + 2*dim), s = sizeof(store_t) (x read
// once if the row stays in cache). The fused residual add (sum = x + residual; normed = LN(sum))
// moves s*(4*rows*dim + 2*dim) bytes, against s*(5*rows*dim + 2*dim) for add then layerNorm.
// Storage: store_t (common.cl) per VIT4J_STORAGE_*; mean, variance and the normalisation are float.
// The output is rounded once at its store. The fused form rounds the sum when it stores it and
// normalises that rounded sum (rt1/rtN in pass 1, then passes 2 and 3 reread the stored sum), so
// it equals add then layerNorm in every storage type.
// CPU reference: CpuBackend.layerNorm (two passes in double); addLayerNorm is Backend's default
// (add, then layerNorm).
// Variants (LN_VARIANT): 1 = layernorm_v1, the naive baseline (plain layerNorm only); 2 = one
// work-group per row (GPU); 3 = one work-item per row with float vectors (CPU devices).
// All of them are two-pass (the mean, then the variance about it), so a large common offset in a
// row cannot cancel the variance away, as E[x^2] - E[x]^2 would.

// Version 1: one work-item per row, two passes (mean, then variance about the mean) so a large
// common offset cannot cancel. global = (rows).
__kernel void layernorm_v1(__global const store_t* x, __global const store_t* gamma, __global const store_t* beta,
                           __global store_t* out, int rows, int dim, float eps) {
    int r = get_global_id(0);
    if (r >= rows) return;
    __global const store_t* row = x + (long) r * dim;
    float mean = 0.0f;
    for (int i = 0; i < dim; i++) mean += ld1(i, row);
    mean /= dim;
    float var = 0.0f;
    for (int i = 0; i < dim; i++) {
        float d = ld1(i, row) - mean;
        var += d * d;
    }
    float inv = rsqrt(var / dim + eps);
    for (int i = 0; i < dim; i++) st1((ld1(i, row) - mean) * inv * ld1(i, gamma) + ld1(i, beta), (long) r * dim + i, out);
}

// ---------------------------------------------------------------------------------------------
// Version 2, GPU shape: one work-group of LN_GPU_WG (a power of two) work-items per row. Each pass
// strides over the row (coalesced), then a tree reduction in local memory. Pass 1 sums (and, fused,
// writes sum = x + residual); pass 2 sums squared deviations from the mean; pass 3 writes. Each
// work-item rereads only the elements it wrote itself, so no barrier is needed for them.
// global = (rows * LN_GPU_WG).
#ifdef LN_GPU_WG
static float wg_sum(float v, __local float* red) {
    const int lid = get_local_id(0);
    red[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = LN_GPU_WG / 2; s > 0; s >>= 1) {
        if (lid < s) red[lid] += red[lid + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float total = red[0];
    barrier(CLK_LOCAL_MEM_FENCE); // red is reused by the next reduction
    return total;
}

static inline void ln_row_wg(__global const store_t* x, __global const store_t* res, __global store_t* sum,
                             __global const store_t* gamma, __global const store_t* beta, __global store_t* out,
                             int dim, float eps, __local float* red, const bool fused) {
    const int lid = get_local_id(0);
    const long base = (long) get_group_id(0) * dim;
    // Shifted sums: accumulate v - shift with shift = the row's first element, so the partial sums
    // stay near the spread of the row, not its offset, and the mean keeps its low bits.
    const float shift = fused ? rt1(ld1(base, x) + ld1(base, res)) : ld1(base, x);
    // sum may alias x or residual (an in-place add): every work-item must read the shift before
    // anyone overwrites that element.
    if (fused) barrier(CLK_GLOBAL_MEM_FENCE);
    float s = 0.0f;
    for (int i = lid; i < dim; i += LN_GPU_WG) {
        float v = ld1(base + i, x);
        if (fused) {
            v = rt1(v + ld1(base + i, res)); // the sum as stored: normalised as add then layerNorm would
            st1(v, base + i, sum);
        }
        s += v - shift;
    }
    __global const store_t* src = fused ? sum : x;
    const float mean = shift + wg_sum(s, red) / dim;
    float q = 0.0f;
    for (int i = lid; i < dim; i += LN_GPU_WG) {
        const float d = ld1(base + i, src) - mean;
        q = fma(d, d, q);
    }
    const float inv = rsqrt(wg_sum(q, red) / dim + eps);
    for (int i = lid; i < dim; i += LN_GPU_WG)
        st1((ld1(base + i, src) - mean) * inv * ld1(i, gamma) + ld1(i, beta), base + i, out);
}

__kernel __attribute__((reqd_work_group_size(LN_GPU_WG, 1, 1)))
void layernorm_v2(__global const store_t* x, __global const store_t* gamma, __global const store_t* beta,
                  __global store_t* out, int dim, float eps) {
    __local float red[LN_GPU_WG];
    ln_row_wg(x, 0, 0, gamma, beta, out, dim, eps, red, false);
}

__kernel __attribute__((reqd_work_group_size(LN_GPU_WG, 1, 1)))
void add_layernorm_v2(__global const store_t* x, __global const store_t* res, __global store_t* sum,
                      __global store_t* normed, __global const store_t* gamma, __global const store_t* beta, int dim,
                      float eps) {
    __local float red[LN_GPU_WG];
    ln_row_wg(x, res, sum, gamma, beta, normed, dim, eps, red, true);
}
#endif // LN_GPU_WG

// ---------------------------------------------------------------------------------------------
// Version 3, CPU shape: one work-item per row, LN_CPU_VW-wide vectors (unaligned vloads are fine on
// a CPU; ldN/stN of common.cl convert half storage a vector at a time) with a scalar tail for any
// dim, no local memory, no barriers. A row of 4096 floats is 16 KiB,
// so passes 2 and 3 reread it from L1/L2, not from memory. The vector accumulator is also a
// pairwise-ish sum (LN_CPU_VW partial sums), which helps the float rounding. global = (rows).
#ifdef LN_CPU_VW
#if LN_CPU_VW == 4
#define HSUM(v) ((v).x + (v).y + (v).z + (v).w)
#elif LN_CPU_VW == 8
#define HSUM(v) (hsum4((v).lo + (v).hi))
#elif LN_CPU_VW == 16
#define HSUM(v) (hsum4((v).lo.lo + (v).lo.hi + (v).hi.lo + (v).hi.hi))
#else
#error "LN_CPU_VW must be 4, 8 or 16"
#endif
typedef CAT(float, LN_CPU_VW) floatV;
#define ldV CAT(ld, LN_CPU_VW)
#define stV CAT(st, LN_CPU_VW)
#define rtV CAT(rt, LN_CPU_VW)
static inline float hsum4(float4 v) {
    return (v.x + v.y) + (v.z + v.w);
}

static inline void ln_row_vec(__global const store_t* x, __global const store_t* res, __global store_t* sum,
                              __global const store_t* gamma, __global const store_t* beta, __global store_t* out,
                              int rows, int dim, float eps, const bool fused) {
    const int r = get_global_id(0);
    if (r >= rows) return;
    const long base = (long) r * dim;
    const int nv = dim / LN_CPU_VW, tail = nv * LN_CPU_VW;
    __global const store_t* xr = x + base;
    __global const store_t* rr = res + base;
    __global store_t* sr = sum + base;
    __global store_t* orow = out + base;
    // Shifted sums (see ln_row_wg): v - shift, shift = the row's first element.
    const float shift = fused ? rt1(ld1(0, xr) + ld1(0, rr)) : ld1(0, xr);
    floatV sv = (floatV) 0.0f;
    float stail = 0.0f;
    for (int i = 0; i < nv; i++) {
        floatV v = ldV(i, xr);
        if (fused) {
            v = rtV(v + ldV(i, rr)); // the sum as stored: normalised as add then layerNorm would
            stV(v, i, sr);
        }
        sv += v - shift;
    }
    for (int i = tail; i < dim; i++) {
        float v = ld1(i, xr);
        if (fused) {
            v = rt1(v + ld1(i, rr));
            st1(v, i, sr);
        }
        stail += v - shift;
    }
    __global const store_t* src = fused ? sr : xr;
    const float mean = shift + (HSUM(sv) + stail) / dim;
    floatV qv = (floatV) 0.0f;
    float qt = 0.0f;
    for (int i = 0; i < nv; i++) {
        const floatV d = ldV(i, src) - mean;
        qv = fma(d, d, qv);
    }
    for (int i = tail; i < dim; i++) {
        const float d = ld1(i, src) - mean;
        qt = fma(d, d, qt);
    }
    const float inv = rsqrt((HSUM(qv) + qt) / dim + eps);
    for (int i = 0; i < nv; i++) {
        const floatV y = (ldV(i, src) - mean) * inv * ldV(i, gamma) + ldV(i, beta);
        stV(y, i, orow);
    }
    for (int i = tail; i < dim; i++) st1((ld1(i, src) - mean) * inv * ld1(i, gamma) + ld1(i, beta), i, orow);
}

__kernel void layernorm_v3(__global const store_t* x, __global const store_t* gamma, __global const store_t* beta,
                            __global store_t* out, int rows, int dim, float eps) {
    ln_row_vec(x, x, 0, gamma, beta, out, rows, dim, eps, false);
}

__kernel void add_layernorm_v3(__global const store_t* x, __global const store_t* res, __global store_t* sum,
                                __global store_t* normed, __global const store_t* gamma, __global const store_t* beta,
                                int rows, int dim, float eps) {
    ln_row_vec(x, res, sum, gamma, beta, normed, rows, dim, eps, true);
}
#endif // LN_CPU_VW
