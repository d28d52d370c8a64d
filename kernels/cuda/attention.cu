// Scaled dot-product self-attention per (batch, head): out = softmax(q k^T * scale) v.
// q, k, v read from qkv [3, B, H, T, hd] (as linear_qkv writes it); out [B, T, H*hd], heads concatenated
// for the output projection. FLOPs 4*B*H*T*T*hd (+ B*H*T*T exponentials);
// least bytes 4*(3*B*T*D + B*T*D), D = H*hd.
// CPU reference: CpuBackend.attention (scores in double, max-subtracted softmax, then P.V).
// Launch plan: CudaKernels.attention (ATTN_* constants mirrored there as Attention.*).
//
// Build: cmake -S . -B build && cmake --build build          -> build/kernels/attention.fatbin
// Standalone: nvcc -DVIT4J_STANDALONE -std=c++17 -O3 -arch=sm_90 kernels/cuda/attention.cu -o /tmp/attention && /tmp/attention
//
// Kernels: attention_hd32 / _hd64 / _hd80 / _hd128 (head dim a template constant: every loop over it
// unrolls and q and the output accumulator live in registers), attention_generic (any head dim
// 1..ATTN_HD_MAX, read at run time, loops bounded by ATTN_HD_MAX). Any T >= 1. Each in three storage
// types (VIT4J_FOR_EACH_DTYPE of common.cuh: name, name_bf16, name_f16): q, k and v are widened to
// float as they are read (the K/V tiles in shared memory are float for every type), scores,
// probabilities and the accumulator stay float, and the output is rounded once. Least bytes above are
// for float; the half types halve them.
//
// FlashAttention-1 tiling (Dao et al. 2022), as done here:
//  * a block owns ATTN_BQ query rows of one (b, h); each row is served by ATTN_TPR threads that
//    split the head dim between them (thread p holds float4 chunks p, p+TPR, p+2*TPR, ... of q and
//    of the accumulator), so a row's registers are spread over 4 threads instead of 1;
//  * K and V stream through shared memory ATTN_BK rows (keys) at a time; one (b, h)'s rows are
//    contiguous in qkv, so a tile is one coalesced copy of quads (4 elements per load);
//  * a score is a partial dot product per thread, completed by two butterfly shuffles among the
//    row's 4 threads; the scores of a tile live in registers only: no T x T matrix anywhere;
//  * online softmax: m is the running max of the scores, l the running sum of exp(score - m), acc the
//    running sum of exp(score - m) * v. When a tile raises the max from m to m_new, everything
//    accumulated so far is rebased by exp(m - m_new) (exactly 0 on the first tile, m = -inf), then
//    the tile's exp(score - m_new) terms are added. At the end out = acc / l: the same as the
//    two-pass softmax, with one pass over K and V;
//  * the scale and log2(e) are folded into q once, so every exponential is exp2f of a difference;
//  * shared-memory reads: the 4 threads of a row read 4 consecutive float4s of a K/V row and the 8
//    rows of a warp read the same ones (broadcast): conflict-free;
//  * rows past T (last query block) are clamped to row T-1 so that every thread joins the shuffles
//    and barriers; they store nothing. Keys past T in the last tile are zero in shared memory and
//    their scores are set to -inf, so exp2f gives exactly 0.
// Not done (candidates once it is measured): cp.async double-buffering of the K/V tiles, tensor cores
// (TF32 would break the 1e-5 fp32 budget), splitting keys across blocks for tiny B*H.
#include "common.cuh"

using namespace vit4j;

constexpr int ATTN_BQ = 32;                      // query rows per block
constexpr int ATTN_TPR = 4;                      // threads per query row
constexpr int ATTN_BK = 32;                      // keys per shared-memory tile
constexpr int ATTN_THREADS = ATTN_BQ * ATTN_TPR; // 128
constexpr int ATTN_HD_MAX = 128;                 // largest head dim of attention_generic
constexpr float LOG2E = 1.4426950408889634f;

// Global quad access (ld4/st4 of common.cuh) with a uniform alignment test: qkv and out are whole
// cuMemAlloc buffers in practice (256-byte aligned), but a view at an odd offset must still work,
// through 4 scalar accesses.

// ---- templated head dim: float4 chunks ----------------------------------------------------------
// grid = (ceil(T/ATTN_BQ), B*H), block = ATTN_THREADS; static shared memory 2*ATTN_BK*HD*4 bytes
// (32 KiB at HD = 128).
template <int HD, class T>
__device__ __forceinline__ void attention_tiled(const T* __restrict__ qkv, T* __restrict__ out, int batch,
                                                int tokens, int heads, float scale) {
    static_assert(HD % (4 * ATTN_TPR) == 0, "HD must be a multiple of 16");
    constexpr int NC = HD / (4 * ATTN_TPR); // float4 chunks per thread
    constexpr int HD4 = HD / 4;
    __shared__ __align__(16) float4 ks[ATTN_BK * HD4];
    __shared__ __align__(16) float4 vs[ATTN_BK * HD4];

    const int tid = threadIdx.x;
    const int p = tid % ATTN_TPR;
    const int t = blockIdx.x * ATTN_BQ + tid / ATTN_TPR;
    const int bh = blockIdx.y;
    const long long plane = (long long) batch * heads * tokens * HD;
    const T* kp = qkv + plane + (long long) bh * tokens * HD;
    const T* vp = qkv + 2 * plane + (long long) bh * tokens * HD;
    const T* qp = qkv + ((long long) bh * tokens + min(t, tokens - 1)) * HD;
    const bool vin = aligned4<T>(qkv); // HD % 16 == 0: then every chunk below is aligned to 4 elements

    const float qs = scale * LOG2E;
    float4 q[NC], acc[NC];
#pragma unroll
    for (int c = 0; c < NC; c++) {
        const float4 v = ld4(qp + (c * ATTN_TPR + p) * 4, vin);
        q[c] = make_float4(v.x * qs, v.y * qs, v.z * qs, v.w * qs);
        acc[c] = make_float4(0.f, 0.f, 0.f, 0.f);
    }
    float m = -INFINITY, l = 0.f;

    for (int s0 = 0; s0 < tokens; s0 += ATTN_BK) {
        const int nk = min(ATTN_BK, tokens - s0);
        __syncthreads(); // the previous tile is consumed
        for (int i = tid; i < ATTN_BK * HD4; i += ATTN_THREADS) {
            const bool in = i < nk * HD4;
            const long long g = ((long long) s0 * HD4 + i) * 4;
            ks[i] = in ? ld4(kp + g, vin) : make_float4(0.f, 0.f, 0.f, 0.f);
            vs[i] = in ? ld4(vp + g, vin) : make_float4(0.f, 0.f, 0.f, 0.f);
        }
        __syncthreads();

        // scores of this tile, in log2 units (q carries scale * log2 e)
        float sc[ATTN_BK];
        float tile_max = -INFINITY;
#pragma unroll
        for (int j = 0; j < ATTN_BK; j++) {
            float d = 0.f;
#pragma unroll
            for (int c = 0; c < NC; c++) {
                const float4 k4 = ks[j * HD4 + c * ATTN_TPR + p];
                d = fmaf(q[c].x, k4.x, fmaf(q[c].y, k4.y, fmaf(q[c].z, k4.z, fmaf(q[c].w, k4.w, d))));
            }
            d += __shfl_xor_sync(0xffffffffu, d, 1); // the row's 4 threads are lanes 4r..4r+3
            d += __shfl_xor_sync(0xffffffffu, d, 2);
            sc[j] = j < nk ? d : -INFINITY;
            tile_max = fmaxf(tile_max, sc[j]);
        }
        // online softmax: rebase what was accumulated, then add this tile
        const float m_new = fmaxf(m, tile_max);
        const float corr = exp2f(m - m_new);
        l *= corr;
#pragma unroll
        for (int c = 0; c < NC; c++) {
            acc[c].x *= corr;
            acc[c].y *= corr;
            acc[c].z *= corr;
            acc[c].w *= corr;
        }
#pragma unroll
        for (int j = 0; j < ATTN_BK; j++) {
            const float pj = exp2f(sc[j] - m_new); // 0 for masked keys
            l += pj;
#pragma unroll
            for (int c = 0; c < NC; c++) {
                const float4 v4 = vs[j * HD4 + c * ATTN_TPR + p];
                acc[c].x = fmaf(pj, v4.x, acc[c].x);
                acc[c].y = fmaf(pj, v4.y, acc[c].y);
                acc[c].z = fmaf(pj, v4.z, acc[c].z);
                acc[c].w = fmaf(pj, v4.w, acc[c].w);
            }
        }
        m = m_new;
    }

    if (t < tokens) {
        const int b = bh / heads, h = bh - b * heads;
        T* o = out + (((long long) b * tokens + t) * heads + h) * HD;
        const bool vout = aligned4<T>(out);
        const float inv = 1.0f / l;
#pragma unroll
        for (int c = 0; c < NC; c++)
            st4(o + (c * ATTN_TPR + p) * 4, make_float4(acc[c].x * inv, acc[c].y * inv, acc[c].z * inv, acc[c].w * inv),
                vout);
    }
}

// ---- generic head dim (1..ATTN_HD_MAX): scalar elements -----------------------------------------
// The same algorithm with scalars: thread p of a row owns elements e = i*TPR + p, i < ATTN_HD_MAX/TPR,
// those with e >= hd masked. Loops are bounded by ATTN_HD_MAX and unrolled, so q and acc stay in
// registers; the cost is wasted lanes for small hd. No alignment needed (hd may be odd).
// grid = (ceil(T/ATTN_BQ), B*H), block = ATTN_THREADS; static shared memory 2*ATTN_BK*ATTN_HD_MAX*4.
template <class T>
__device__ __forceinline__ void attention_any_hd(const T* __restrict__ qkv, T* __restrict__ out, int batch,
                                                 int tokens, int heads, int hd, float scale) {
    constexpr int NE = ATTN_HD_MAX / ATTN_TPR; // elements per thread
    __shared__ float ks[ATTN_BK * ATTN_HD_MAX];
    __shared__ float vs[ATTN_BK * ATTN_HD_MAX];

    const int tid = threadIdx.x;
    const int p = tid % ATTN_TPR;
    const int t = blockIdx.x * ATTN_BQ + tid / ATTN_TPR;
    const int bh = blockIdx.y;
    const long long plane = (long long) batch * heads * tokens * hd;
    const T* kp = qkv + plane + (long long) bh * tokens * hd;
    const T* vp = qkv + 2 * plane + (long long) bh * tokens * hd;
    const T* qp = qkv + ((long long) bh * tokens + min(t, tokens - 1)) * hd;

    const float qs = scale * LOG2E;
    float q[NE], acc[NE];
#pragma unroll
    for (int i = 0; i < NE; i++) {
        const int e = i * ATTN_TPR + p;
        q[i] = e < hd ? ld(qp + e) * qs : 0.f;
        acc[i] = 0.f;
    }
    float m = -INFINITY, l = 0.f;

    for (int s0 = 0; s0 < tokens; s0 += ATTN_BK) {
        const int nk = min(ATTN_BK, tokens - s0);
        __syncthreads();
        for (int i = tid; i < ATTN_BK * hd; i += ATTN_THREADS) {
            const bool in = i < nk * hd;
            ks[i] = in ? ld(kp + (long long) s0 * hd + i) : 0.f;
            vs[i] = in ? ld(vp + (long long) s0 * hd + i) : 0.f;
        }
        __syncthreads();

        float sc[ATTN_BK];
        float tile_max = -INFINITY;
#pragma unroll
        for (int j = 0; j < ATTN_BK; j++) {
            float d = 0.f;
#pragma unroll
            for (int i = 0; i < NE; i++) {
                const int e = i * ATTN_TPR + p;
                if (e < hd) d = fmaf(q[i], ks[j * hd + e], d);
            }
            d += __shfl_xor_sync(0xffffffffu, d, 1);
            d += __shfl_xor_sync(0xffffffffu, d, 2);
            sc[j] = j < nk ? d : -INFINITY;
            tile_max = fmaxf(tile_max, sc[j]);
        }
        const float m_new = fmaxf(m, tile_max);
        const float corr = exp2f(m - m_new);
        l *= corr;
#pragma unroll
        for (int i = 0; i < NE; i++) acc[i] *= corr;
#pragma unroll
        for (int j = 0; j < ATTN_BK; j++) {
            const float pj = exp2f(sc[j] - m_new);
            l += pj;
#pragma unroll
            for (int i = 0; i < NE; i++) {
                const int e = i * ATTN_TPR + p;
                if (e < hd) acc[i] = fmaf(pj, vs[j * hd + e], acc[i]);
            }
        }
        m = m_new;
    }

    if (t < tokens) {
        const int b = bh / heads, h = bh - b * heads;
        T* o = out + (((long long) b * tokens + t) * heads + h) * hd;
        const float inv = 1.0f / l;
#pragma unroll
        for (int i = 0; i < NE; i++) {
            const int e = i * ATTN_TPR + p;
            if (e < hd) st(o + e, acc[i] * inv);
        }
    }
}

// ---- the entry points, per storage type ----------------------------------------------------------
// __launch_bounds__(threads, min blocks per SM): the second number caps registers at
// 65536 / (min blocks * 128) (128 for 4 blocks, 170 for 3) and stops ptxas from aiming lower and
// spilling, which it did for hd64 on sm_86/89 with the thread count alone.
#define ATTN_PARAMS(T) const T *__restrict__ qkv, T *__restrict__ out, int batch, int tokens, int heads, float scale
#define ATTENTION_KERNELS(T, S)                                                                             \
    extern "C" __global__ void __launch_bounds__(ATTN_THREADS, 4) attention_hd32##S(ATTN_PARAMS(T)) {       \
        attention_tiled<32>(qkv, out, batch, tokens, heads, scale);                                         \
    }                                                                                                       \
    extern "C" __global__ void __launch_bounds__(ATTN_THREADS, 4) attention_hd64##S(ATTN_PARAMS(T)) {       \
        attention_tiled<64>(qkv, out, batch, tokens, heads, scale);                                         \
    }                                                                                                       \
    extern "C" __global__ void __launch_bounds__(ATTN_THREADS, 4) attention_hd80##S(ATTN_PARAMS(T)) {       \
        attention_tiled<80>(qkv, out, batch, tokens, heads, scale);                                         \
    }                                                                                                       \
    extern "C" __global__ void __launch_bounds__(ATTN_THREADS, 3) attention_hd128##S(ATTN_PARAMS(T)) {      \
        attention_tiled<128>(qkv, out, batch, tokens, heads, scale);                                        \
    }                                                                                                       \
    extern "C" __global__ void __launch_bounds__(ATTN_THREADS)                                              \
        attention_generic##S(const T* __restrict__ qkv, T* __restrict__ out, int batch, int tokens, int heads, \
                             int hd, float scale) {                                                         \
        attention_any_hd(qkv, out, batch, tokens, heads, hd, scale);                                        \
    }
VIT4J_FOR_EACH_DTYPE(ATTENTION_KERNELS)
#undef ATTENTION_KERNELS
#undef ATTN_PARAMS

// ================================================================================================
#ifdef VIT4J_STANDALONE
#include <vector>

static void cpu_attention(const std::vector<float>& qkv, int B, int T, int H, int hd, float scale,
                          std::vector<double>& out) {
    out.assign((size_t) B * T * H * hd, 0.0);
    const size_t plane = (size_t) B * H * T * hd;
    std::vector<double> s(T);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++) {
            const size_t bh = (size_t) b * H + h;
            for (int t = 0; t < T; t++) {
                const float* q = &qkv[(bh * T + t) * hd];
                double mx = -1e300, sum = 0.0;
                for (int j = 0; j < T; j++) {
                    const float* k = &qkv[plane + (bh * T + j) * hd];
                    double d = 0.0;
                    for (int e = 0; e < hd; e++) d += (double) q[e] * k[e];
                    s[j] = d * scale;
                    mx = std::max(mx, s[j]);
                }
                for (int j = 0; j < T; j++) sum += (s[j] = std::exp(s[j] - mx));
                for (int e = 0; e < hd; e++) {
                    double a = 0.0;
                    for (int j = 0; j < T; j++) a += s[j] * qkv[2 * plane + (bh * T + j) * hd + e];
                    out[(((size_t) b * T + t) * H + h) * hd + e] = a / sum;
                }
            }
        }
}

template <class T> struct Kernels;
#define ATTENTION_TABLE(T, S)                                                                               \
    template <> struct Kernels<T> {                                                                         \
        static constexpr auto hd32 = attention_hd32##S, hd64 = attention_hd64##S, hd80 = attention_hd80##S;  \
        static constexpr auto hd128 = attention_hd128##S;                                                   \
        static constexpr auto generic = attention_generic##S; /* one more parameter: hd */                  \
    };
VIT4J_FOR_EACH_DTYPE(ATTENTION_TABLE)
#undef ATTENTION_TABLE

// Launches the kernel CudaKernels.attention would pick for this head dim.
template <class T>
static void launch(const T* qkv, T* out, int B, int T_, int H, int hd, float scale, bool forceGeneric) {
    using K = Kernels<T>;
    dim3 grid(sa::ceil_div(T_, ATTN_BQ), B * H);
    if (!forceGeneric && hd == 32) VIT4J_LAUNCH(K::hd32, grid, ATTN_THREADS, 0)(qkv, out, B, T_, H, scale);
    else if (!forceGeneric && hd == 64) VIT4J_LAUNCH(K::hd64, grid, ATTN_THREADS, 0)(qkv, out, B, T_, H, scale);
    else if (!forceGeneric && hd == 80) VIT4J_LAUNCH(K::hd80, grid, ATTN_THREADS, 0)(qkv, out, B, T_, H, scale);
    else if (!forceGeneric && hd == 128) VIT4J_LAUNCH(K::hd128, grid, ATTN_THREADS, 0)(qkv, out, B, T_, H, scale);
    else VIT4J_LAUNCH(K::generic, grid, ATTN_THREADS, 0)(qkv, out, B, T_, H, hd, scale);
}

template <class T>
static void check(int B, int T_, int H, int hd, bool time) {
    const char* ty = sa::dtype_name<T>();
    std::printf("B=%d T=%d H=%d hd=%d %s\n", B, T_, H, hd, ty);
    const float scale = 1.0f / std::sqrt((float) hd);
    const size_t nq = (size_t) 3 * B * H * T_ * hd, no = (size_t) B * T_ * H * hd;
    auto hq = sa::rounded<T>(sa::random_vec(nq, 2.0f)); // wide enough that the softmax is far from uniform
    std::vector<double> want;
    cpu_attention(hq, B, T_, H, hd, scale, want);
    T* dq = sa::to_device_as<T>(hq);
    T *o = sa::poisoned<T>(no), *og = sa::poisoned<T>(no);
    launch<T>(dq, o, B, T_, H, hd, scale, false);
    launch<T>(dq, og, B, T_, H, hd, scale, true);
    CUDA_CHECK(cudaDeviceSynchronize());
    const double tol = sa::tolerance<T>();
    const bool templated = hd == 32 || hd == 64 || hd == 80 || hd == 128;
    char what[96];
    std::snprintf(what, sizeof what, "%s %s", templated ? "attention (templated head dim)" : "attention_generic", ty);
    sa::report(what, sa::rel_l2(sa::to_host(o, no), want), tol);
    if (templated) {
        std::snprintf(what, sizeof what, "attention_generic %s", ty);
        sa::report(what, sa::rel_l2(sa::to_host(og, no), want), tol);
        // views at +1 element: the templated kernel's scalar fallback
        T* dq1 = sa::poisoned<T>(nq + 1);
        T* o1 = sa::poisoned<T>(no + 1);
        T* staged = sa::to_device_as<T>(hq);
        CUDA_CHECK(cudaMemcpy(dq1 + 1, staged, nq * sizeof(T), cudaMemcpyDeviceToDevice));
        launch<T>(dq1 + 1, o1 + 1, B, T_, H, hd, scale, false);
        CUDA_CHECK(cudaDeviceSynchronize());
        std::snprintf(what, sizeof what, "attention (templated) %s, unaligned qkv/out views", ty);
        sa::report(what, sa::rel_l2(sa::to_host(o1 + 1, no), want), tol);
        CUDA_CHECK(cudaFree(dq1));
        CUDA_CHECK(cudaFree(o1));
        CUDA_CHECK(cudaFree(staged));
    }
    if (time && sa::timing()) {
        const double flops = 4.0 * B * H * (double) T_ * T_ * hd;
        float ms = sa::time_ms([&] { launch<T>(dq, o, B, T_, H, hd, scale, false); });
        float msg = sa::time_ms([&] { launch<T>(dq, og, B, T_, H, hd, scale, true); });
        std::printf("  timing: %.4f ms (%.1f GFLOP/s), generic %.4f ms (%.1f GFLOP/s)\n", ms, flops / ms * 1e-6, msg,
                    flops / msg * 1e-6);
    }
    for (T* ptr : {dq, o, og}) CUDA_CHECK(cudaFree(ptr));
}

template <class T>
static void check_half() {
    check<T>(2, 5, 3, 32, false);
    check<T>(1, 40, 2, 64, false);  // two key tiles
    check<T>(1, 33, 1, 80, false);
    check<T>(1, 33, 1, 128, false);
    check<T>(1, 50, 2, 17, false); // generic, odd head dim
}

int main() {
    std::printf("attention.cu standalone check (BQ %d, TPR %d, BK %d)\n", ATTN_BQ, ATTN_TPR, ATTN_BK);
    check<float>(1, 1, 1, 64, false);
    check<float>(2, 5, 3, 32, false);
    check<float>(2, 197, 6, 64, false);
    check<float>(1, 257, 2, 80, false);
    check<float>(1, 33, 2, 128, false);
    check<float>(2, 31, 3, 16, false);  // generic
    check<float>(1, 50, 2, 17, false);  // generic, odd head dim
    check<float>(1, 65, 1, 100, false); // generic
    check<float>(1, 577, 2, 64, false); // 19 key tiles
    check<float>(8, 197, 6, 64, true);  // ViT-S, batch 8
    if (sa::timing()) {          // benchmark shapes: on the CPU runtime their checks add minutes, not coverage
        check<float>(8, 197, 12, 64, true); // ViT-B, batch 8
        check<float>(2, 577, 16, 64, true); // ViT-L/16 at 384 px
    }
    check_half<__nv_bfloat16>();
    check_half<__half>();
    return sa::finish("attention");
}
#endif // VIT4J_STANDALONE
