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
// Kernels: layernorm_v1 (one thread per row, the baseline), layernorm and add_layernorm (one warp
// per row). dim is any value in 1..4096 (beyond that the generic path still works, only slower).
//
// Tricks:
//  * one warp per row, LN_WARPS rows per block: reductions are warp shuffles (__shfl_xor_sync),
//    no shared memory and no __syncthreads;
//  * two passes over a row held in registers (cached path, dim % 4 == 0, dim <= 32*4*LN_VEC and
//    16-byte-aligned pointers: every ViT width): the row is read from global memory once as float4,
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
extern "C" __global__ void layernorm_v1(const float* x, const float* gamma, const float* beta, float* out, int rows,
                                        int dim, float eps) {
    const int r = blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= rows) return;
    const float* row = x + (long long) r * dim;
    float mean = 0.f;
    for (int i = 0; i < dim; i++) mean += row[i];
    mean /= dim;
    float var = 0.f;
    for (int i = 0; i < dim; i++) {
        const float d = row[i] - mean;
        var = fmaf(d, d, var);
    }
    const float inv = rsqrtf(var / dim + eps);
    for (int i = 0; i < dim; i++) out[(long long) r * dim + i] = (row[i] - mean) * inv * gamma[i] + beta[i];
}

// ---- version 2: one warp per row ------------------------------------------------------------------
// FUSED: sum = x + residual is formed on the way in and written out; the norm is taken of it. x, residual
// and sum may alias one another: each element is read and written by the same lane, read first. (The
// generic path re-reads sum, which this same lane wrote: program order makes that safe.)
template <bool FUSED>
__device__ __forceinline__ void layernorm_row(const float* x, const float* residual, float* sum, float* out,
                                              const float* gamma, const float* beta, int rows, int dim, float eps) {
    const int lane = threadIdx.x & 31;
    const int r = blockIdx.x * LN_WARPS + (threadIdx.x >> 5);
    if (r >= rows) return; // whole warps leave together: the shuffles below stay full-warp
    const long long base = (long long) r * dim;
    const float inv_dim = 1.0f / (float) dim;

    bool cached = (dim & 3) == 0 && dim <= LN_CACHED_MAX && aligned16(x) && aligned16(out) && aligned16(gamma) &&
                  aligned16(beta);
    if (FUSED) cached = cached && aligned16(residual) && aligned16(sum);

    if (cached) {
        const int n4 = dim >> 2;
        const float4* x4 = reinterpret_cast<const float4*>(x + base);
        float4 v[LN_VEC];
        float s = 0.f;
#pragma unroll
        for (int i = 0; i < LN_VEC; i++) {
            const int c = lane + 32 * i; // lane-interleaved float4s: each load instruction is coalesced
            v[i] = make_float4(0.f, 0.f, 0.f, 0.f);
            if (c < n4) {
                v[i] = x4[c];
                if (FUSED) {
                    const float4 q = reinterpret_cast<const float4*>(residual + base)[c];
                    v[i].x += q.x;
                    v[i].y += q.y;
                    v[i].z += q.z;
                    v[i].w += q.w;
                    reinterpret_cast<float4*>(sum + base)[c] = v[i];
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
                const float4 g = reinterpret_cast<const float4*>(gamma)[c];
                const float4 bb = reinterpret_cast<const float4*>(beta)[c];
                float4 o;
                o.x = (v[i].x - mean) * rstd * g.x + bb.x;
                o.y = (v[i].y - mean) * rstd * g.y + bb.y;
                o.z = (v[i].z - mean) * rstd * g.z + bb.z;
                o.w = (v[i].w - mean) * rstd * g.w + bb.w;
                reinterpret_cast<float4*>(out + base)[c] = o;
            }
        }
        return;
    }

    // generic path: scalar, lane-strided (coalesced), rows re-read from cache
    const float* src = x + base;
    float s = 0.f;
    for (int i = lane; i < dim; i += 32) {
        float a = src[i];
        if (FUSED) {
            a += residual[base + i];
            sum[base + i] = a;
        }
        s += a;
    }
    if (FUSED) src = sum + base;
    const float mean = warp_sum(s) * inv_dim;
    float ss = 0.f;
    for (int i = lane; i < dim; i += 32) {
        const float d = src[i] - mean;
        ss = fmaf(d, d, ss);
    }
    const float rstd = rsqrtf(warp_sum(ss) * inv_dim + eps);
    for (int i = lane; i < dim; i += 32) out[base + i] = (src[i] - mean) * rstd * gamma[i] + beta[i];
}

// grid = ceil(rows / LN_WARPS), block = LN_THREADS.
extern "C" __global__ void __launch_bounds__(LN_THREADS)
    layernorm(const float* x, const float* gamma, const float* beta, float* out, int rows, int dim, float eps) {
    layernorm_row<false>(x, nullptr, nullptr, out, gamma, beta, rows, dim, eps);
}

// grid = ceil(rows / LN_WARPS), block = LN_THREADS.
extern "C" __global__ void __launch_bounds__(LN_THREADS)
    add_layernorm(const float* x, const float* residual, float* sum, float* normed, const float* gamma,
                  const float* beta, int rows, int dim, float eps) {
    layernorm_row<true>(x, residual, sum, normed, gamma, beta, rows, dim, eps);
}

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

static void check(int rows, int dim, int offset, bool time) {
    const float eps = 1e-6f;
    std::printf("rows=%d dim=%d%s\n", rows, dim, offset ? " (x at +1 float: generic path)" : "");
    const size_t n = (size_t) rows * dim;
    auto hx = sa::random_vec(n + offset), hr = sa::random_vec(n), hg = sa::random_vec(dim), hb = sa::random_vec(dim);
    for (auto& v : hx) v += 3.0f; // a common offset: catches E[x^2] - mean^2 cancellation
    std::vector<float> x0(hx.begin() + offset, hx.end()), sumh(n);
    for (size_t i = 0; i < n; i++) sumh[i] = x0[i] + hr[i];
    std::vector<double> want, wantf, wsum(sumh.begin(), sumh.end());
    cpu_layernorm(x0, hg, hb, rows, dim, eps, want);
    cpu_layernorm(sumh, hg, hb, rows, dim, eps, wantf);
    float *dxb = sa::to_device(hx), *dr = sa::to_device(hr), *dg = sa::to_device(hg), *db = sa::to_device(hb);
    const float* dx = dxb + offset;
    float *o = sa::poisoned(n), *o1 = sa::poisoned(n), *s = sa::poisoned(n), *nr = sa::poisoned(n);
    const unsigned g2 = sa::ceil_div(rows, LN_WARPS);
    auto v2 = [&] { VIT4J_LAUNCH(layernorm, g2, LN_THREADS, 0)(dx, dg, db, o, rows, dim, eps); };
    auto v1 = [&] { VIT4J_LAUNCH(layernorm_v1, sa::ceil_div(rows, 128), 128, 0)(dx, dg, db, o1, rows, dim, eps); };
    auto fused = [&] { VIT4J_LAUNCH(add_layernorm, g2, LN_THREADS, 0)(dx, dr, s, nr, dg, db, rows, dim, eps); };
    v2();
    v1();
    fused();
    CUDA_CHECK(cudaDeviceSynchronize());
    sa::report("layernorm", sa::rel_l2(sa::to_host(o, n), want));
    sa::report("layernorm_v1", sa::rel_l2(sa::to_host(o1, n), want));
    sa::report("add_layernorm: sum", sa::rel_l2(sa::to_host(s, n), wsum));
    sa::report("add_layernorm: normed", sa::rel_l2(sa::to_host(nr, n), wantf));
    // in place: sum written over residual
    float* rr = sa::to_device(hr);
    float* nr2 = sa::poisoned(n);
    VIT4J_LAUNCH(add_layernorm, g2, LN_THREADS, 0)(dx, rr, rr, nr2, dg, db, rows, dim, eps);
    CUDA_CHECK(cudaDeviceSynchronize());
    sa::report("add_layernorm, sum aliasing residual: sum", sa::rel_l2(sa::to_host(rr, n), wsum));
    sa::report("add_layernorm, sum aliasing residual: normed", sa::rel_l2(sa::to_host(nr2, n), wantf));
    if (time && sa::timing()) {
        float ms1 = sa::time_ms(v1), ms2 = sa::time_ms(v2), ms3 = sa::time_ms(fused);
        std::printf("  timing: v1 %.4f ms, layernorm %.4f ms (%.0f GB/s), add_layernorm %.4f ms (%.0f GB/s)\n", ms1,
                    ms2, 8.0 * n / ms2 * 1e-6, ms3, 16.0 * n / ms3 * 1e-6);
    }
    for (float* p : {dxb, dr, dg, db, o, o1, s, nr, rr, nr2}) CUDA_CHECK(cudaFree(p));
}

int main() {
    std::printf("layernorm.cu standalone check (%d rows per block)\n", LN_WARPS);
    check(1, 1, 0, false);
    check(3, 7, 0, false);
    check(197, 384, 0, false);
    check(5, 384, 1, false);     // unaligned: generic path
    check(33, 1000, 0, false);   // cached path, partial lanes
    check(9, 1028, 0, false);    // just past the cached limit
    check(4, 4096, 0, false);
    check(7, 4095, 0, false);
    check(8 * 197, 384, 0, true);  // ViT-S, batch 8
    check(8 * 197, 768, 0, true);  // ViT-B, batch 8
    check(64 * 197, 768, 0, true); // ViT-B, batch 64
    return sa::finish("layernorm");
}
#endif // VIT4J_STANDALONE
