// LayerNorm over the last dimension: out = (x - mean) / sqrt(var + eps) * gamma + beta, per row.
// Memory-bound: 8 FLOPs per element; least bytes 4*(2*rows*dim + 2*dim) (x read once if the row
// stays in cache). The fused residual add (sum = x + residual; normed = LN(sum)) moves
// 4*(4*rows*dim + 2*dim) bytes, against 4*(5*rows*dim + 2*dim) for add then layerNorm.
// CPU reference: CpuBackend.layerNorm (two passes in double); addLayerNorm is Backend's default
// (add, then layerNorm).
// Variants (LN_VARIANT): 1 = layernorm_v1, the naive baseline (plain layerNorm only); 2 = one
// work-group per row (GPU); 3 = one work-item per row with float vectors (CPU devices).
// All of them are two-pass (the mean, then the variance about it), so a large common offset in a
// row cannot cancel the variance away, as E[x^2] - E[x]^2 would.

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

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)

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

static inline void ln_row_wg(__global const float* x, __global const float* res, __global float* sum,
                             __global const float* gamma, __global const float* beta, __global float* out, int dim,
                             float eps, __local float* red, const bool fused) {
    const int lid = get_local_id(0);
    const long base = (long) get_group_id(0) * dim;
    // Shifted sums: accumulate v - shift with shift = the row's first element, so the partial sums
    // stay near the spread of the row, not its offset, and the mean keeps its low bits.
    const float shift = fused ? x[base] + res[base] : x[base];
    // sum may alias x or residual (an in-place add): every work-item must read the shift before
    // anyone overwrites that element.
    if (fused) barrier(CLK_GLOBAL_MEM_FENCE);
    float s = 0.0f;
    for (int i = lid; i < dim; i += LN_GPU_WG) {
        float v = x[base + i];
        if (fused) {
            v += res[base + i];
            sum[base + i] = v;
        }
        s += v - shift;
    }
    __global const float* src = fused ? sum : x;
    const float mean = shift + wg_sum(s, red) / dim;
    float q = 0.0f;
    for (int i = lid; i < dim; i += LN_GPU_WG) {
        const float d = src[base + i] - mean;
        q = fma(d, d, q);
    }
    const float inv = rsqrt(wg_sum(q, red) / dim + eps);
    for (int i = lid; i < dim; i += LN_GPU_WG) out[base + i] = (src[base + i] - mean) * inv * gamma[i] + beta[i];
}

__kernel __attribute__((reqd_work_group_size(LN_GPU_WG, 1, 1)))
void layernorm_wg(__global const float* x, __global const float* gamma, __global const float* beta,
                  __global float* out, int dim, float eps) {
    __local float red[LN_GPU_WG];
    ln_row_wg(x, 0, 0, gamma, beta, out, dim, eps, red, false);
}

__kernel __attribute__((reqd_work_group_size(LN_GPU_WG, 1, 1)))
void add_layernorm_wg(__global const float* x, __global const float* res, __global float* sum,
                      __global float* normed, __global const float* gamma, __global const float* beta, int dim,
                      float eps) {
    __local float red[LN_GPU_WG];
    ln_row_wg(x, res, sum, gamma, beta, normed, dim, eps, red, true);
}
#endif // LN_GPU_WG

// ---------------------------------------------------------------------------------------------
// Version 3, CPU shape: one work-item per row, LN_CPU_VW-wide vectors (unaligned vloads are fine on
// a CPU) with a scalar tail for any dim, no local memory, no barriers. A row of 4096 floats is 16 KiB,
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
#define vloadV CAT(vload, LN_CPU_VW)
#define vstoreV CAT(vstore, LN_CPU_VW)
static inline float hsum4(float4 v) {
    return (v.x + v.y) + (v.z + v.w);
}

static inline void ln_row_vec(__global const float* x, __global const float* res, __global float* sum,
                              __global const float* gamma, __global const float* beta, __global float* out, int rows,
                              int dim, float eps, const bool fused) {
    const int r = get_global_id(0);
    if (r >= rows) return;
    const long base = (long) r * dim;
    const int nv = dim / LN_CPU_VW, tail = nv * LN_CPU_VW;
    __global const float* xr = x + base;
    __global const float* rr = res + base;
    __global float* sr = sum + base;
    __global float* orow = out + base;
    // Shifted sums (see ln_row_wg): v - shift, shift = the row's first element.
    const float shift = fused ? xr[0] + rr[0] : xr[0];
    floatV sv = (floatV) 0.0f;
    float st = 0.0f;
    for (int i = 0; i < nv; i++) {
        floatV v = vloadV(i, xr);
        if (fused) {
            v += vloadV(i, rr);
            vstoreV(v, i, sr);
        }
        sv += v - shift;
    }
    for (int i = tail; i < dim; i++) {
        float v = xr[i];
        if (fused) {
            v += rr[i];
            sr[i] = v;
        }
        st += v - shift;
    }
    __global const float* src = fused ? sr : xr;
    const float mean = shift + (HSUM(sv) + st) / dim;
    floatV qv = (floatV) 0.0f;
    float qt = 0.0f;
    for (int i = 0; i < nv; i++) {
        const floatV d = vloadV(i, src) - mean;
        qv = fma(d, d, qv);
    }
    for (int i = tail; i < dim; i++) {
        const float d = src[i] - mean;
        qt = fma(d, d, qt);
    }
    const float inv = rsqrt((HSUM(qv) + qt) / dim + eps);
    for (int i = 0; i < nv; i++) {
        const floatV y = (vloadV(i, src) - mean) * inv * vloadV(i, gamma) + vloadV(i, beta);
        vstoreV(y, i, orow);
    }
    for (int i = tail; i < dim; i++) orow[i] = (src[i] - mean) * inv * gamma[i] + beta[i];
}

__kernel void layernorm_vec(__global const float* x, __global const float* gamma, __global const float* beta,
                            __global float* out, int rows, int dim, float eps) {
    ln_row_vec(x, x, 0, gamma, beta, out, rows, dim, eps, false);
}

__kernel void add_layernorm_vec(__global const float* x, __global const float* res, __global float* sum,
                                __global float* normed, __global const float* gamma, __global const float* beta,
                                int rows, int dim, float eps) {
    ln_row_vec(x, res, sum, gamma, beta, normed, rows, dim, eps, true);
}
#endif // LN_CPU_VW
