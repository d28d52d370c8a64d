// LayerNorm over the last dimension: out = (x - mean) / sqrt(var + eps) * gamma + beta, per row, and
// the fused variant of the pre-norm block: sum = x + residual; normed = LayerNorm(sum) (writes both).
// FLOPs ~8*rows*dim (~9 fused); memory-bound. Least bytes 4*(2*rows*dim + 2*dim) plain,
// 4*(4*rows*dim + 2*dim) fused (x, residual in; sum, normed out).
// CPU reference: CpuBackend.layerNorm / Backend.addLayerNorm (two passes in double).
// Launch plan: CudaKernels.layerNorm / addLayerNorm (LN_* constants mirrored there as LayerNorm.*).
//
// Build: cmake -S . -B build && cmake --build build          -> build/kernels/layernorm.fatbin
// Standalone: nvcc -DVIT4J_STANDALONE -std=c++17 -O3 -arch=sm_90 kernels/cuda/layernorm.cu -o /tmp/layernorm && /tmp/layernorm
//
// Kernels: layernorm_v1 (one thread per row, the baseline), layernorm_v2 and add_layernorm_v2 (one warp
// per row). dim is any value in 1..4096 (beyond that the generic path still works, only slower).
// Each in three storage types (VIT4J_FOR_EACH_DTYPE of common.cuh: name, name_bf16, name_f16):
// statistics in float, each output rounded once; add_layernorm_v2 rounds the sum it stores and
// normalises that rounded sum, exactly what add then layernorm would give. Least bytes above are for
// float; the half types halve them.
//
// Tricks:
//  * one warp per row, LN_WARPS rows per block: reductions are warp shuffles (__shfl_xor_sync),
//    no shared memory and no __syncthreads;
//  * two passes over a row held in registers (cached path, dim % 4 == 0, dim <= 32*4*LN_VEC and
//    pointers aligned to 4 elements: every ViT width): the row is read from global memory once as
//    quads (float4 of float, 8 bytes of bf16/fp16), held as float4,
//    the mean is reduced, then the variance about the mean (no E[x^2] - mean^2 cancellation);
//  * generic path (any dim, any alignment): the same two passes re-read the row, which is still in
//    L1/L2 right after the first read.
#include "common.cuh"

using namespace vit4j;

constexpr int LN_WARPS = 4;                 // rows (warps) per block
constexpr int LN_THREADS = LN_WARPS * 32;   // 128
constexpr int LN_VEC = 8;                   // float4 per lane in the cached path: dim <= 1024
constexpr int LN_CACHED_MAX = 32 * 4 * LN_VEC;

// ---- version 1: one thread per row ---------------------------------------------------------------
// grid = ceil(rows/128), block = 128. Each thread walks its row three times alone: uncoalesced.
template <class T>
__device__ __forceinline__ void layernorm_naive(const T* x, const T* gamma, const T* beta, T* out, int rows, int dim,
                                                float eps) {
    const int r = blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= rows) return;
    const T* row = x + (long long) r * dim;
    float mean = 0.f;
    for (int i = 0; i < dim; i++) mean += ld(row + i);
    mean /= dim;
    float var = 0.f;
    for (int i = 0; i < dim; i++) {
        const float d = ld(row + i) - mean;
        var = fmaf(d, d, var);
    }
    const float inv = rsqrtf(var / dim + eps);
    for (int i = 0; i < dim; i++) st(out + (long long) r * dim + i, (ld(row + i) - mean) * inv * ld(gamma + i) + ld(beta + i));
}

// ---- version 2: one warp per row ------------------------------------------------------------------
// FUSED: sum = x + residual is formed on the way in, rounded to T and written out; the norm is taken
// of the rounded sum. x, residual and sum may alias one another: each element is read and written by
// the same lane, read first. (The generic path re-reads sum, which this same lane wrote: program
// order makes that safe.)
template <bool FUSED, class T>
__device__ __forceinline__ void layernorm_row(const T* x, const T* residual, T* sum, T* out, const T* gamma,
                                              const T* beta, int rows, int dim, float eps) {
    const int lane = threadIdx.x & 31;
    const int r = blockIdx.x * LN_WARPS + (threadIdx.x >> 5);
    if (r >= rows) return; // whole warps leave together: the shuffles below stay full-warp
    const long long base = (long long) r * dim;
    const float inv_dim = 1.0f / (float) dim;

    bool cached = (dim & 3) == 0 && dim <= LN_CACHED_MAX && aligned4<T>(x) && aligned4<T>(out) &&
                  aligned4<T>(gamma) && aligned4<T>(beta);
    if (FUSED) cached = cached && aligned4<T>(residual) && aligned4<T>(sum);

    if (cached) {
        const int n4 = dim >> 2;
        float4 v[LN_VEC];
        float s = 0.f;
#pragma unroll
        for (int i = 0; i < LN_VEC; i++) {
            const int c = lane + 32 * i; // lane-interleaved quads: each load instruction is coalesced
            v[i] = make_float4(0.f, 0.f, 0.f, 0.f);
            if (c < n4) {
                v[i] = ld4(x + base + 4 * c);
                if (FUSED) {
                    const float4 q = ld4(residual + base + 4 * c);
                    v[i].x = rounded<T>(v[i].x + q.x); // the stored sum, as a later read would see it
                    v[i].y = rounded<T>(v[i].y + q.y);
                    v[i].z = rounded<T>(v[i].z + q.z);
                    v[i].w = rounded<T>(v[i].w + q.w);
                    st4(sum + base + 4 * c, v[i]); // exact: the values are already T's
                }
                s += (v[i].x + v[i].y) + (v[i].z + v[i].w);
            }
        }
        const float mean = warp_sum(s) * inv_dim;
        float ss = 0.f;
#pragma unroll
        for (int i = 0; i < LN_VEC; i++) {
            if (lane + 32 * i < n4) {
                const float a = v[i].x - mean, b = v[i].y - mean, c = v[i].z - mean, d = v[i].w - mean;
                ss = fmaf(a, a, fmaf(b, b, fmaf(c, c, fmaf(d, d, ss))));
            }
        }
        const float rstd = rsqrtf(warp_sum(ss) * inv_dim + eps);
#pragma unroll
        for (int i = 0; i < LN_VEC; i++) {
            const int c = lane + 32 * i;
            if (c < n4) {
                const float4 g = ld4(gamma + 4 * c);
                const float4 bb = ld4(beta + 4 * c);
                float4 o;
                o.x = (v[i].x - mean) * rstd * g.x + bb.x;
                o.y = (v[i].y - mean) * rstd * g.y + bb.y;
                o.z = (v[i].z - mean) * rstd * g.z + bb.z;
                o.w = (v[i].w - mean) * rstd * g.w + bb.w;
                st4(out + base + 4 * c, o);
            }
        }
        return;
    }

    // generic path: scalar, lane-strided (coalesced), rows re-read from cache
    const T* src = x + base;
    float s = 0.f;
    for (int i = lane; i < dim; i += 32) {
        float a = ld(src + i);
        if (FUSED) {
            a = rounded<T>(a + ld(residual + base + i));
            st(sum + base + i, a);
        }
        s += a;
    }
    if (FUSED) src = sum + base;
    const float mean = warp_sum(s) * inv_dim;
    float ss = 0.f;
    for (int i = lane; i < dim; i += 32) {
        const float d = ld(src + i) - mean;
        ss = fmaf(d, d, ss);
    }
    const float rstd = rsqrtf(warp_sum(ss) * inv_dim + eps);
    for (int i = lane; i < dim; i += 32) st(out + base + i, (ld(src + i) - mean) * rstd * ld(gamma + i) + ld(beta + i));
}

// layernorm_v2 and add_layernorm_v2: grid = ceil(rows / LN_WARPS), block = LN_THREADS.
#define LAYERNORM_KERNELS(T, S)                                                                             \
    extern "C" __global__ void layernorm_v1##S(const T* x, const T* gamma, const T* beta, T* out, int rows, \
                                               int dim, float eps) {                                       \
        layernorm_naive(x, gamma, beta, out, rows, dim, eps);                                               \
    }                                                                                                       \
    extern "C" __global__ void __launch_bounds__(LN_THREADS)                                                \
        layernorm_v2##S(const T* x, const T* gamma, const T* beta, T* out, int rows, int dim, float eps) {  \
        layernorm_row<false, T>(x, nullptr, nullptr, out, gamma, beta, rows, dim, eps);                     \
    }                                                                                                       \
    extern "C" __global__ void __launch_bounds__(LN_THREADS)                                                \
        add_layernorm_v2##S(const T* x, const T* residual, T* sum, T* normed, const T* gamma, const T* beta,    \
                         int rows, int dim, float eps) {                                                    \
        layernorm_row<true, T>(x, residual, sum, normed, gamma, beta, rows, dim, eps);                      \
    }
VIT4J_FOR_EACH_DTYPE(LAYERNORM_KERNELS)
#undef LAYERNORM_KERNELS

// ================================================================================================
#ifdef VIT4J_STANDALONE
#include <vector>

static void cpu_layernorm(const std::vector<float>& x, const std::vector<float>& g, const std::vector<float>& b,
                          int rows, int dim, float eps, std::vector<double>& out) {
    out.assign((size_t) rows * dim, 0.0);
    for (int r = 0; r < rows; r++) {
        const float* row = x.data() + (size_t) r * dim;
        double mean = 0.0, var = 0.0;
        for (int i = 0; i < dim; i++) mean += row[i];
        mean /= dim;
        for (int i = 0; i < dim; i++) var += (row[i] - mean) * (row[i] - mean);
        var /= dim;
        double inv = 1.0 / std::sqrt(var + eps);
        for (int i = 0; i < dim; i++) out[(size_t) r * dim + i] = (row[i] - mean) * inv * g[i] + b[i];
    }
}

template <class T> struct Kernels;
#define LAYERNORM_TABLE(T, S)                                                                               \
    template <> struct Kernels<T> {                                                                         \
        static constexpr auto v1 = layernorm_v1##S;                                                         \
        static constexpr auto v2 = layernorm_v2##S;                                                         \
        static constexpr auto fused = add_layernorm_v2##S;                                                  \
    };
VIT4J_FOR_EACH_DTYPE(LAYERNORM_TABLE)
#undef LAYERNORM_TABLE

template <class T>
static void check(int rows, int dim, int offset, bool time) {
    const float eps = 1e-6f;
    const char* ty = sa::dtype_name<T>();
    std::printf("rows=%d dim=%d %s%s\n", rows, dim, ty, offset ? " (x at +1 element: generic path)" : "");
    const size_t n = (size_t) rows * dim;
    auto hx = sa::random_vec(n + offset), hr = sa::rounded<T>(sa::random_vec(n));
    auto hg = sa::rounded<T>(sa::random_vec(dim)), hb = sa::rounded<T>(sa::random_vec(dim));
    for (auto& v : hx) v += 3.0f; // a common offset: catches E[x^2] - mean^2 cancellation
    hx = sa::rounded<T>(hx);
    // the sum as add_layernorm stores it (rounded to T), and normalises it
    std::vector<float> x0(hx.begin() + offset, hx.end()), sumh(n);
    for (size_t i = 0; i < n; i++) sumh[i] = vit4j::rounded<T>(x0[i] + hr[i]);
    std::vector<double> want, wantf, wsum(sumh.begin(), sumh.end());
    cpu_layernorm(x0, hg, hb, rows, dim, eps, want);
    cpu_layernorm(sumh, hg, hb, rows, dim, eps, wantf);
    T *dxb = sa::to_device_as<T>(hx), *dr = sa::to_device_as<T>(hr), *dg = sa::to_device_as<T>(hg),
      *db = sa::to_device_as<T>(hb);
    const T* dx = dxb + offset;
    T *o = sa::poisoned<T>(n), *o1 = sa::poisoned<T>(n), *s = sa::poisoned<T>(n), *nr = sa::poisoned<T>(n);
    const unsigned g2 = sa::ceil_div(rows, LN_WARPS);
    auto v2 = [&] { VIT4J_LAUNCH(Kernels<T>::v2, g2, LN_THREADS, 0)(dx, dg, db, o, rows, dim, eps); };
    auto v1 = [&] { VIT4J_LAUNCH(Kernels<T>::v1, sa::ceil_div(rows, 128), 128, 0)(dx, dg, db, o1, rows, dim, eps); };
    auto fused = [&] { VIT4J_LAUNCH(Kernels<T>::fused, g2, LN_THREADS, 0)(dx, dr, s, nr, dg, db, rows, dim, eps); };
    v2();
    v1();
    fused();
    CUDA_CHECK(cudaDeviceSynchronize());
    const double tol = sa::tolerance<T>();
    char what[96];
    std::snprintf(what, sizeof what, "layernorm %s", ty);
    sa::report(what, sa::rel_l2(sa::to_host(o, n), want), tol);
    std::snprintf(what, sizeof what, "layernorm_v1 %s", ty);
    sa::report(what, sa::rel_l2(sa::to_host(o1, n), want), tol);
    // the stored sum is exactly x + residual in float, rounded once to T
    std::snprintf(what, sizeof what, "add_layernorm %s: sum", ty);
    sa::report(what, sa::rel_l2(sa::to_host(s, n), wsum), 0.0);
    std::snprintf(what, sizeof what, "add_layernorm %s: normed", ty);
    sa::report(what, sa::rel_l2(sa::to_host(nr, n), wantf), tol);
    // in place: sum written over residual
    T* rr = sa::to_device_as<T>(hr);
    T* nr2 = sa::poisoned<T>(n);
    VIT4J_LAUNCH(Kernels<T>::fused, g2, LN_THREADS, 0)(dx, rr, rr, nr2, dg, db, rows, dim, eps);
    CUDA_CHECK(cudaDeviceSynchronize());
    std::snprintf(what, sizeof what, "add_layernorm %s, sum aliasing residual: sum", ty);
    sa::report(what, sa::rel_l2(sa::to_host(rr, n), wsum), 0.0);
    std::snprintf(what, sizeof what, "add_layernorm %s, sum aliasing residual: normed", ty);
    sa::report(what, sa::rel_l2(sa::to_host(nr2, n), wantf), tol);
    if (time && sa::timing()) {
        float ms1 = sa::time_ms(v1), ms2 = sa::time_ms(v2), ms3 = sa::time_ms(fused);
        std::printf("  timing: v1 %.4f ms, layernorm %.4f ms (%.0f GB/s), add_layernorm %.4f ms (%.0f GB/s)\n", ms1,
                    ms2, 2.0 * sizeof(T) * n / ms2 * 1e-6, ms3, 4.0 * sizeof(T) * n / ms3 * 1e-6);
    }
    for (T* p : {dxb, dr, dg, db, o, o1, s, nr, rr, nr2}) CUDA_CHECK(cudaFree(p));
}

template <class T>
static void check_half() {
    check<T>(3, 7, 0, false);
    check<T>(197, 384, 0, false); // cached path
    check<T>(5, 384, 1, false);   // unaligned: generic path
    check<T>(33, 1000, 0, false); // cached path, partial lanes
    check<T>(9, 1028, 0, false);  // just past the cached limit
}

int main() {
    std::printf("layernorm.cu standalone check (%d rows per block)\n", LN_WARPS);
    check<float>(1, 1, 0, false);
    check<float>(3, 7, 0, false);
    check<float>(197, 384, 0, false);
    check<float>(5, 384, 1, false);     // unaligned: generic path
    check<float>(33, 1000, 0, false);   // cached path, partial lanes
    check<float>(9, 1028, 0, false);    // just past the cached limit
    check<float>(4, 4096, 0, false);
    check<float>(7, 4095, 0, false);
    check<float>(8 * 197, 384, 0, true);  // ViT-S, batch 8
    check<float>(8 * 197, 768, 0, true);  // ViT-B, batch 8
    check<float>(64 * 197, 768, 0, true); // ViT-B, batch 64
    check_half<__nv_bfloat16>();
    check_half<__half>();
    return sa::finish("layernorm");
}
#endif // VIT4J_STANDALONE
