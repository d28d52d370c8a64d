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
// Kernels: attention_v2_hd32 / _hd64 / _hd80 / _hd128 (head dim a template constant: every loop over it
// unrolls and q and the output accumulator live in registers), attention_v2_generic (any head dim
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
// for fp32 (TF32 would break the 1e-5 fp32 budget), splitting keys across blocks for tiny B*H.
//
// attention_v3_hd64 / attention_v3_hd80 (bf16 and fp16 only: name_bf16, name_f16): the same op on
// tensor cores, FlashAttention-2 style, below; CudaKernels.attention runs them for those head dims in
// the 16-bit types.
#include "common.cuh"
#include "mma.cuh"

using namespace vit4j;

constexpr int ATTN_BQ = 32;                      // query rows per block
constexpr int ATTN_TPR = 4;                      // threads per query row
constexpr int ATTN_BK = 32;                      // keys per shared-memory tile
constexpr int ATTN_THREADS = ATTN_BQ * ATTN_TPR; // 128
constexpr int ATTN_HD_MAX = 128;                 // largest head dim of attention_v2_generic
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
// ---- tensor cores (bf16, fp16): FlashAttention-2 forward with mma.sync -----------------------------
// attention_v3_hd64 / attention_v3_hd80, in the 16-bit types only (VIT4J_FOR_EACH_HALF_DTYPE: name_bf16,
// name_f16); the same parameters, layouts and results as attention_v2_hd64/80. Any T >= 1.
//  * a block owns ATTN_TC_BQ query rows of one (b, h), ATTN_TC_WARPS warps of 16 rows each; Q is
//    copied to shared memory once and held as mma A fragments (ldmatrix) for the whole pass;
//  * K and V stream through shared memory ATTN_TC_BKV keys at a time, two stages, cp.async (the next
//    tile is in flight while this one is used), rows padded to HD + ATTN_TC_PAD elements (144 or 176
//    bytes: 8 consecutive rows fall in 8 different 16-byte bank groups, so ldmatrix is conflict-free
//    without a swizzle, which a 160-byte row of hd 80 would not take);
//  * S = Q K^T on tensor cores (K rows are the "col" B operand as stored: ldmatrix), fp32 scores;
//  * online softmax in fp32 on the accumulator fragments: each lane holds two rows (g, g + 8); the row
//    max is completed by two shuffles in the lane's quad; the scale and log2(e) fold into one multiply,
//    exponentials are exp2f; the running sum l stays per lane (summed over the quad once at the end,
//    as the rescaling factor is the same for the 4 lanes of a row);
//  * P goes from the S accumulators straight into A fragments of P V (the accumulator layout of two n8
//    tiles is the A layout of one k16 step), split into hi + lo in T so that it is not rounded (unlike
//    FlashAttention, which rounds P to 16 bits: the cpu backend's half path, which the parity tests hold
//    every kernel to within 2 ulp, rounds attention's output only); V through ldmatrix.trans; O
//    accumulates in fp32 and is divided by l once;
//  * keys past T: zero rows (cp.async zero fill) with scores -inf; query rows past T: computed from
//    zero rows, not stored.
// Requirement: qkv 16-byte aligned (every row then is: HD % 8 == 0); checked in the kernel,
// CudaKernels.attention picks attention_v2_hd64/80 otherwise.
constexpr int ATTN_TC_WARPS = 4;
constexpr int ATTN_TC_BQ = ATTN_TC_WARPS * 16;  // query rows per block
constexpr int ATTN_TC_BKV = 32;                 // keys per shared-memory tile
constexpr int ATTN_TC_THREADS = ATTN_TC_WARPS * 32;
constexpr int ATTN_TC_PAD = 8;                  // elements of padding per shared-memory row

template <int HD, class T>
__device__ __forceinline__ void attention_tc(const T* __restrict__ qkv, T* __restrict__ out, int batch, int tokens,
                                             int heads, float scale) {
    static_assert(HD % 16 == 0 && sizeof(T) == 2, "head dim a multiple of 16, 16-bit storage");
    constexpr int LD = HD + ATTN_TC_PAD, CPR = HD / 8, NKV = ATTN_TC_BKV;
    __shared__ __align__(16) T qs[ATTN_TC_BQ * LD];
    __shared__ __align__(16) T ks[2][NKV * LD];
    __shared__ __align__(16) T vs[2][NKV * LD];
    if ((reinterpret_cast<uintptr_t>(qkv) & 15) != 0) {
        mma::device_fail("attention_tc: qkv must be 16-byte aligned");
        return;
    }
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, g = lane >> 2, t4 = lane & 3;
    const int bh = blockIdx.y, b = bh / heads, h = bh - b * heads, q0 = blockIdx.x * ATTN_TC_BQ;
    const long long plane = (long long) batch * heads * tokens * HD;
    const T* q = qkv + (long long) bh * tokens * HD;
    const T* k = q + plane;
    const T* v = k + plane;
    constexpr int Q_PER = (ATTN_TC_BQ * CPR + ATTN_TC_THREADS - 1) / ATTN_TC_THREADS;
    constexpr int KV_PER = (2 * NKV * CPR + ATTN_TC_THREADS - 1) / ATTN_TC_THREADS;
    mma::AsyncCopies<Q_PER + 2 * KV_PER> cp;

    for (int c = tid; c < ATTN_TC_BQ * CPR; c += ATTN_TC_THREADS) {
        const int r = c / CPR, ch = c - r * CPR, row = q0 + r;
        const bool in = row < tokens;
        cp.cg16(&qs[r * LD + ch * 8], in ? q + (long long) row * HD + ch * 8 : q, in ? 16 : 0);
    }
    auto load_kv = [&](int tile, int stage) {
        for (int c = tid; c < 2 * NKV * CPR; c += ATTN_TC_THREADS) {
            const int which = c / (NKV * CPR), cc = c - which * (NKV * CPR), r = cc / CPR, ch = cc - r * CPR;
            const int row = tile * NKV + r;
            const bool in = row < tokens;
            const T* src = which ? v : k;
            T* dst = which ? vs[stage] : ks[stage];
            cp.cg16(&dst[r * LD + ch * 8], in ? src + (long long) row * HD + ch * 8 : src, in ? 16 : 0);
        }
    };
    load_kv(0, 0);
    cp.commit(); // group 0: Q and key tile 0

    const float sl2 = scale * LOG2E;
    float o[HD / 8][4];
#pragma unroll
    for (int d = 0; d < HD / 8; d++)
#pragma unroll
        for (int e = 0; e < 4; e++) o[d][e] = 0.f;
    float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.f, 0.f};
    uint32_t qf[HD / 16][4];
    const int tiles = (tokens + NKV - 1) / NKV;
    for (int it = 0; it < tiles; it++) {
        if (it + 1 < tiles) load_kv(it + 1, (it + 1) & 1); // into the stage tile it - 1 used
        cp.commit();
        cp.template wait<1>(); // this thread's copies of tile it (and Q) have landed ...
        __syncthreads(); // ... and everyone's
        if (it == 0) {
#pragma unroll
            for (int kk = 0; kk < HD / 16; kk++) {
                const int row = warp * 16 + (lane & 7) + 8 * ((lane >> 3) & 1);
                mma::ldmatrix_x4(qf[kk], &qs[row * LD + (kk * 2 + (lane >> 4)) * 8]);
            }
        }
        const T* kt = ks[it & 1];
        const T* vt = vs[it & 1];
        // S = Q K^T: 16 rows x NKV keys per warp
        float sc[NKV / 8][4];
#pragma unroll
        for (int j = 0; j < NKV / 8; j++)
#pragma unroll
            for (int e = 0; e < 4; e++) sc[j][e] = 0.f;
#pragma unroll
        for (int kk = 0; kk < HD / 16; kk++)
#pragma unroll
            for (int j = 0; j < NKV / 16; j++) {
                uint32_t r[4];
                const int row = j * 16 + (lane & 7) + 8 * (lane >> 4);
                mma::ldmatrix_x4(r, &kt[row * LD + (kk * 2 + ((lane >> 3) & 1)) * 8]);
                const uint32_t b0[2] = {r[0], r[1]}, b1[2] = {r[2], r[3]};
                mma::mma_m16n8k16<T>(sc[2 * j], qf[kk], b0);
                mma::mma_m16n8k16<T>(sc[2 * j + 1], qf[kk], b1);
            }
        // online softmax, rows g (hh = 0) and g + 8 (hh = 1) of this warp's 16
#pragma unroll
        for (int hh = 0; hh < 2; hh++) {
            float mx = -INFINITY;
#pragma unroll
            for (int j = 0; j < NKV / 8; j++)
#pragma unroll
                for (int e = 0; e < 2; e++) {
                    const int key = it * NKV + j * 8 + 2 * t4 + e;
                    float& x = sc[j][2 * hh + e];
                    x = key < tokens ? x * sl2 : -INFINITY;
                    mx = fmaxf(mx, x);
                }
            mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
            mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
            const float mnew = fmaxf(m[hh], mx); // finite: every tile has a key < tokens
            const float alpha = exp2f(m[hh] - mnew); // 0 on the first tile (m = -inf)
            m[hh] = mnew;
            l[hh] *= alpha;
#pragma unroll
            for (int d = 0; d < HD / 8; d++) {
                o[d][2 * hh] *= alpha;
                o[d][2 * hh + 1] *= alpha;
            }
#pragma unroll
            for (int j = 0; j < NKV / 8; j++)
#pragma unroll
                for (int e = 0; e < 2; e++) {
                    const float p = exp2f(sc[j][2 * hh + e] - mnew);
                    sc[j][2 * hh + e] = p;
                    l[hh] += p;
                }
        }
        // O += P V: P's accumulators of n8 tiles 2c, 2c+1 are the A fragment of k16 step c. P is not
        // rounded to T (attention rounds its output only, as ElementType prescribes): it enters as
        // hi + lo, two T values (hi = P rounded, lo = the rest rounded; together 16 significant bits in
        // bf16, 22 in fp16), at the cost of a second mma per P V step.
#pragma unroll
        for (int c = 0; c < NKV / 16; c++) {
            uint32_t ahi[4], alo[4];
#pragma unroll
            for (int r = 0; r < 4; r++) {
                const float* pp = &sc[2 * c + (r >> 1)][2 * (r & 1)];
                const T h0 = from_f<T>(pp[0]), h1 = from_f<T>(pp[1]);
                ahi[r] = pack2(h0, h1);
                alo[r] = pack2(from_f<T>(pp[0] - to_f(h0)), from_f<T>(pp[1] - to_f(h1)));
            }
#pragma unroll
            for (int dj = 0; dj < HD / 16; dj++) {
                uint32_t r[4];
                const int row = c * 16 + (lane & 7) + 8 * ((lane >> 3) & 1);
                mma::ldmatrix_x4_trans(r, &vt[row * LD + (dj * 2 + (lane >> 4)) * 8]);
                const uint32_t b0[2] = {r[0], r[1]}, b1[2] = {r[2], r[3]};
                mma::mma_m16n8k16<T>(o[2 * dj], ahi, b0);
                mma::mma_m16n8k16<T>(o[2 * dj], alo, b0);
                mma::mma_m16n8k16<T>(o[2 * dj + 1], ahi, b1);
                mma::mma_m16n8k16<T>(o[2 * dj + 1], alo, b1);
            }
        }
        __syncthreads(); // every warp is done with this stage before the next iteration refills it
    }
    cp.template wait<0>();
#pragma unroll
    for (int hh = 0; hh < 2; hh++) {
        float sum = l[hh];
        sum += __shfl_xor_sync(0xffffffffu, sum, 1);
        sum += __shfl_xor_sync(0xffffffffu, sum, 2);
        const float inv = 1.0f / sum;
        const int row = q0 + warp * 16 + g + 8 * hh;
        if (row >= tokens) continue;
        T* dst = out + (((long long) b * tokens + row) * heads + h) * HD;
#pragma unroll
        for (int d = 0; d < HD / 8; d++) {
            st(dst + d * 8 + 2 * t4, o[d][2 * hh] * inv);
            st(dst + d * 8 + 2 * t4 + 1, o[d][2 * hh + 1] * inv);
        }
    }
}

// __launch_bounds__(threads, min blocks per SM): the second number caps registers at
// 65536 / (min blocks * 128) (128 for 4 blocks, 170 for 3) and stops ptxas from aiming lower and
// spilling, which it did for hd64 on sm_86/89 with the thread count alone (and for attention_v3_hd80_f16
// on sm_90: 128 registers and 8 bytes spilled; with 3 it takes 146 and spills nothing).
#define ATTN_PARAMS(T) const T *__restrict__ qkv, T *__restrict__ out, int batch, int tokens, int heads, float scale
#define ATTENTION_KERNELS(T, S)                                                                             \
    extern "C" __global__ void __launch_bounds__(ATTN_THREADS, 4) attention_v2_hd32##S(ATTN_PARAMS(T)) {    \
        attention_tiled<32>(qkv, out, batch, tokens, heads, scale);                                         \
    }                                                                                                       \
    extern "C" __global__ void __launch_bounds__(ATTN_THREADS, 4) attention_v2_hd64##S(ATTN_PARAMS(T)) {    \
        attention_tiled<64>(qkv, out, batch, tokens, heads, scale);                                         \
    }                                                                                                       \
    extern "C" __global__ void __launch_bounds__(ATTN_THREADS, 4) attention_v2_hd80##S(ATTN_PARAMS(T)) {    \
        attention_tiled<80>(qkv, out, batch, tokens, heads, scale);                                         \
    }                                                                                                       \
    extern "C" __global__ void __launch_bounds__(ATTN_THREADS, 3) attention_v2_hd128##S(ATTN_PARAMS(T)) {   \
        attention_tiled<128>(qkv, out, batch, tokens, heads, scale);                                        \
    }                                                                                                       \
    extern "C" __global__ void __launch_bounds__(ATTN_THREADS)                                              \
        attention_v2_generic##S(const T* __restrict__ qkv, T* __restrict__ out, int batch, int tokens, int heads, \
                             int hd, float scale) {                                                         \
        attention_any_hd(qkv, out, batch, tokens, heads, hd, scale);                                        \
    }
VIT4J_FOR_EACH_DTYPE(ATTENTION_KERNELS)
#undef ATTENTION_KERNELS
#define ATTENTION_TC_KERNELS(T, H)                                                                          \
    extern "C" __global__ void __launch_bounds__(ATTN_TC_THREADS, 3) attention_v3_hd64##H(ATTN_PARAMS(T)) { \
        attention_tc<64>(qkv, out, batch, tokens, heads, scale);                                            \
    }                                                                                                       \
    extern "C" __global__ void __launch_bounds__(ATTN_TC_THREADS, 3) attention_v3_hd80##H(ATTN_PARAMS(T)) { \
        attention_tc<80>(qkv, out, batch, tokens, heads, scale);                                            \
    }
VIT4J_FOR_EACH_HALF_DTYPE(ATTENTION_TC_KERNELS)
#undef ATTENTION_TC_KERNELS
#undef ATTN_PARAMS


// ---- attention_probs: the probabilities, for analysis -------------------------------------------
// probs[b, h, t, s] = softmax_s(q_t . k_s * scale), float32 [B, H, T, T] in every storage type of qkv
// (no rounding to T): the matrix the kernels above never materialise, written only when asked for
// (Op.AttentionProbs; launch plan CudaKernels.attentionProbs; reference CpuBackend.attentionProbs).
// FLOPs 2*B*H*T*T*hd (+ B*H*T*T exponentials); least bytes sizeof(T)*2*B*T*D + 4*B*H*T*T: bound by its
// store of the T x T matrix. One warp per query row, ATTN_PROBS_WARPS rows per block: lane j computes
// the scores of keys j, j+32, ... (q read through the cache, a broadcast to the warp), writes them to
// the row, and the warp's max (shuffles) turns them into exp(score - max) and its sum into the
// division. A lane reads back only what it wrote, so no barrier is needed. Rows past the last clamp to
// it so that every lane joins the shuffles; they store nothing. Any T >= 1 and any head dim.
// grid = ceil(B*H*T / ATTN_PROBS_WARPS), block = ATTN_PROBS_THREADS, no shared memory.
constexpr int ATTN_PROBS_WARPS = 4;         // query rows per block, a warp each
constexpr int ATTN_PROBS_THREADS = 128;     // 32 * ATTN_PROBS_WARPS

template <class T>
__device__ __forceinline__ void attention_probs_rows(const T* __restrict__ qkv, float* __restrict__ probs, int batch,
                                                     int tokens, int heads, int hd, float scale) {
    const long long rows = (long long) batch * heads * tokens;
    const long long r = (long long) blockIdx.x * ATTN_PROBS_WARPS + threadIdx.x / 32;
    const int lane = threadIdx.x % 32;
    const bool valid = r < rows;
    const long long row = valid ? r : rows - 1;
    const long long bh = row / tokens;
    const long long plane = (long long) batch * heads * tokens * hd;
    const T* q = qkv + row * hd; // rows [b, h, t] are in row order
    const T* k = qkv + plane + bh * tokens * hd;
    float* p = probs + row * tokens;
    float m = -INFINITY;
    for (int s = lane; s < tokens; s += 32) {
        float d = 0.f;
        for (int e = 0; e < hd; e++) d = fmaf(ld(q + e), ld(k + (long long) s * hd + e), d);
        d *= scale;
        if (valid) p[s] = d;
        m = fmaxf(m, d);
    }
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
    float l = 0.f, lc = 0.f; // each lane's sum compensated (Kahan), then a tree over the warp: rows sum
    for (int s = lane; s < tokens; s += 32) { // to 1 within 1e-6 at any T
        if (valid) {
            const float x = expf(p[s] - m);
            p[s] = x;
            const float y = x - lc, t = l + y;
            lc = (t - l) - y;
            l = t;
        }
    }
    l = warp_sum(l);
    const float inv = 1.0f / l;
    if (valid) {
        for (int s = lane; s < tokens; s += 32) p[s] *= inv;
    }
}

#define ATTENTION_PROBS_KERNELS(T, S)                                                                       \
    extern "C" __global__ void __launch_bounds__(ATTN_PROBS_THREADS)                                        \
        attention_probs##S(const T* __restrict__ qkv, float* __restrict__ probs, int batch, int tokens, int heads, \
                           int hd, float scale) {                                                           \
        attention_probs_rows(qkv, probs, batch, tokens, heads, hd, scale);                                  \
    }
VIT4J_FOR_EACH_DTYPE(ATTENTION_PROBS_KERNELS)
#undef ATTENTION_PROBS_KERNELS

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
        static constexpr auto hd32 = attention_v2_hd32##S, hd64 = attention_v2_hd64##S, hd80 = attention_v2_hd80##S;  \
        static constexpr auto hd128 = attention_v2_hd128##S;                                                \
        static constexpr auto generic = attention_v2_generic##S; /* one more parameter: hd */               \
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
    std::snprintf(what, sizeof what, "%s %s", templated ? "attention (templated head dim)" : "attention_v2_generic", ty);
    sa::report(what, sa::rel_l2(sa::to_host(o, no), want), tol);
    if (templated) {
        std::snprintf(what, sizeof what, "attention_v2_generic %s", ty);
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

// ---- tensor cores ----
template <class T> struct TcKernels;
#define ATTENTION_TC_TABLE(T, H)                                                                            \
    template <> struct TcKernels<T> {                                                                       \
        static constexpr auto hd64 = attention_v3_hd64##H, hd80 = attention_v3_hd80##H;                     \
    };
VIT4J_FOR_EACH_HALF_DTYPE(ATTENTION_TC_TABLE)
#undef ATTENTION_TC_TABLE

// attention_v3_hd{64,80} against the double reference, with the same budget as the other kernels.
template <class T>
static void check_tc(int B, int T_, int H, int hd) {
    const char* ty = sa::dtype_name<T>();
    std::printf("tensor cores: B=%d T=%d H=%d hd=%d %s\n", B, T_, H, hd, ty);
    const float scale = 1.0f / std::sqrt((float) hd);
    const size_t nq = (size_t) 3 * B * H * T_ * hd, no = (size_t) B * T_ * H * hd;
    auto hq = sa::rounded<T>(sa::random_vec(nq, 2.0f));
    std::vector<double> want;
    cpu_attention(hq, B, T_, H, hd, scale, want);
    T* dq = sa::to_device_as<T>(hq);
    T* o = sa::poisoned<T>(no);
    dim3 grid(sa::ceil_div(T_, ATTN_TC_BQ), B * H);
    if (hd == 64) VIT4J_LAUNCH(TcKernels<T>::hd64, grid, ATTN_TC_THREADS, 0)(dq, o, B, T_, H, scale);
    else VIT4J_LAUNCH(TcKernels<T>::hd80, grid, ATTN_TC_THREADS, 0)(dq, o, B, T_, H, scale);
    CUDA_CHECK(cudaDeviceSynchronize());
    char what[96];
    std::snprintf(what, sizeof what, "attention_v3_hd%d %s", hd, ty);
    const auto got = sa::to_host(o, no);
    sa::report(what, sa::rel_l2(got, want), sa::tolerance<T>());
    // P is not rounded (hi + lo): each output is within one ulp of T of the exact value, but for the float
    // arithmetic of scores, exponentials and sums (slack 1e-4 of the RMS: outputs are averages of values
    // that cancel, so some are far below the RMS)
    const int bad = sa::outside_one_ulp<T>(got, want, 1e-4);
    std::snprintf(what, sizeof what, "  ... %d of %zu elements beyond 1 ulp of %s", bad, no, ty);
    sa::report(what, bad == 0 ? 0.0 : 1.0, 0.0);
    CUDA_CHECK(cudaFree(dq));
    CUDA_CHECK(cudaFree(o));
}

template <class T>
static void check_tc_all() {
    check_tc<T>(1, 1, 1, 64);   // one key, 63 query rows past T
    check_tc<T>(2, 5, 3, 64);
    check_tc<T>(1, 197, 2, 64); // ViT: 7 key tiles, the last partial; 4 query blocks
    check_tc<T>(1, 65, 1, 80);
    check_tc<T>(1, 257, 1, 80); // 224 px at /14
}

template <class T>
static void check_half() {
    check<T>(2, 5, 3, 32, false);
    check<T>(1, 40, 2, 64, false);  // two key tiles
    check<T>(1, 33, 1, 80, false);
    check<T>(1, 33, 1, 128, false);
    check<T>(1, 50, 2, 17, false); // generic, odd head dim
}

// attention_probs against a double reference (its own: scores, max-subtracted softmax), NaN-poisoned
// output, odd shapes; every row must also sum to 1 within 1e-6.
template <class T> struct ProbsKernel;
#define ATTENTION_PROBS_TABLE(T, S) \
    template <> struct ProbsKernel<T> { static constexpr auto k = attention_probs##S; };
VIT4J_FOR_EACH_DTYPE(ATTENTION_PROBS_TABLE)
#undef ATTENTION_PROBS_TABLE

template <class T>
static void check_probs(int B, int T_, int H, int hd) {
    const char* ty = sa::dtype_name<T>();
    std::printf("attention_probs B=%d T=%d H=%d hd=%d %s\n", B, T_, H, hd, ty);
    const float scale = 1.0f / std::sqrt((float) hd);
    const size_t nq = (size_t) 3 * B * H * T_ * hd, np = (size_t) B * H * T_ * T_;
    auto hq = sa::rounded<T>(sa::random_vec(nq, 2.0f));
    std::vector<double> want(np);
    const size_t plane = (size_t) B * H * T_ * hd;
    for (size_t row = 0; row < (size_t) B * H * T_; row++) {
        const size_t bh = row / T_;
        double mx = -1e300, sum = 0.0;
        for (int j = 0; j < T_; j++) {
            double d = 0.0;
            for (int e = 0; e < hd; e++) d += (double) hq[row * hd + e] * hq[plane + (bh * T_ + j) * hd + e];
            want[row * T_ + j] = d * scale;
            mx = std::max(mx, want[row * T_ + j]);
        }
        for (int j = 0; j < T_; j++) sum += (want[row * T_ + j] = std::exp(want[row * T_ + j] - mx));
        for (int j = 0; j < T_; j++) want[row * T_ + j] /= sum;
    }
    T* dq = sa::to_device_as<T>(hq);
    float* p = sa::poisoned<float>(np);
    const long long rows = (long long) B * H * T_;
    VIT4J_LAUNCH(ProbsKernel<T>::k, sa::ceil_div(rows, ATTN_PROBS_WARPS), ATTN_PROBS_THREADS, 0)(dq, p, B, T_, H, hd,
                                                                                               scale);
    CUDA_CHECK(cudaDeviceSynchronize());
    auto got = sa::to_host(p, np);
    char what[96];
    std::snprintf(what, sizeof what, "attention_probs %s", ty);
    sa::report(what, sa::rel_l2(got, want), 1e-5); // fp32 output in every storage type
    double worst = 0.0;
    for (size_t row = 0; row < (size_t) rows; row++) {
        double s = 0.0;
        for (int j = 0; j < T_; j++) s += got[row * T_ + j];
        worst = std::max(worst, std::fabs(s - 1.0));
    }
    std::snprintf(what, sizeof what, "attention_probs %s: rows sum to 1 (max |sum - 1|)", ty);
    sa::report(what, worst, 1e-6);
    CUDA_CHECK(cudaFree(dq));
    CUDA_CHECK(cudaFree(p));
}

static void check_probs_all() {
    check_probs<float>(1, 1, 1, 8);      // one token
    check_probs<float>(2, 37, 3, 24);    // odd T (two key strides of 32, a partial one), rows not a block multiple
    check_probs<float>(1, 65, 2, 17);    // odd head dim
    check_probs<float>(2, 197, 3, 64);   // ViT-Ti/16's T
    check_probs<__nv_bfloat16>(2, 37, 3, 24);
    check_probs<__half>(1, 50, 2, 17);
}

int main(int argc, char** argv) {
    if (argc > 1 && std::strcmp(argv[1], "probs") == 0) { // attention_probs' checks alone (mutants)
        check_probs_all();
        return sa::finish("attention_probs");
    }
    if (argc > 1 && std::strcmp(argv[1], "tc") == 0) { // the tensor-core kernels' checks alone (mutants)
        check_tc_all<__nv_bfloat16>();
        return sa::finish("attention (tensor cores)");
    }
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
    check_tc_all<__nv_bfloat16>();
    check_tc_all<__half>();
    check_probs_all();
    return sa::finish("attention");
}
#endif // VIT4J_STANDALONE
