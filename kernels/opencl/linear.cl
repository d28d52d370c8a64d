// Linear layers: C[M, N] = epilogue(A[M, K] . W[N, K]^T), W in PyTorch's [out, in] layout.
// FLOPs 2*M*N*K; least bytes s*(M*K + N*K + M*N) (+ M*N for a residual), s = sizeof(store_t).
// CPU reference: CpuBackend.linear and CpuBackend.linearQkv.
//
// Storage: A, W, bias, residual and C are store_t (common.cl, per VIT4J_STORAGE_*): every version
// loads through ld1/ldN (v3 converts as it stages its tiles, so local memory holds floats), sums in
// float, applies the whole epilogue in float and rounds only the final value, once, at the store.
//
// Epilogues (EPILOGUE, a build-time define so each variant is its own kernel; the EPI_* codes below,
// which are Epilogue.code() in Java and EPI_* of kernels/cuda/linear.cu, checked by EpilogueCodesTest):
//   EPI_NONE 0 none, EPI_BIAS 1 + bias, EPI_BIAS_GELU 2 + bias then exact GELU (0.5 x erfc(-x / sqrt 2),
//   no 1 + erf cancellation), EPI_BIAS_RESIDUAL 3 + bias + residual (the residual element is read
//   before the store, so it may alias C).
// QKV layout (argument heads > 0): output column n = which * D + h * hd + e goes to
//   qkv[which, b, h, t, e] for row m = b * T + t, so attention reads per-head rows contiguously
//   and no transpose kernel runs.
//
// Versions (LinearOps picks one by the tuning value GEMM_VARIANT, or on CPU devices by timing v4 and
// v5 candidates at first use, GEMM_AUTOTUNE; sizes are GEMM_V<n>_* values):
//   v1  one output per work-item.                                             the baseline
//   v2  CPU: RM x RN outputs per work-item, float16 loads along K from both   no local memory,
//       operands (both are K-contiguous: an "NT" GEMM), vector accumulators,  no barriers
//       one lane-sum per output at the end.
//   v3  GPU: TM x TN tile per group staged in local memory TK at a time,      classic SGEMM
//       RM x RN outputs per work-item from registers.
//   v4  CPU: v2's loop, then a transposing lane-sum tree, row/column  vector epilogue
//       output offsets, bias/GELU/residual/store as float{RN} (erfc on float16);
//       in bf16 the loop takes K in element pairs (even/odd lanes, cheaper conversion).
//   v5  CPU default: weights packed once into NR-column K-major panels      outer products,
//       (linear_pack_v5), MR x NR outputs per work-item as MR x NR/VW float{VW}  no lane-sum
//       accumulators, per k NR/VW panel loads and MR broadcasts of A; whole-vector epilogue.
//       VW from the device's native float width; MR, NR chosen per device by LinearAutotune.
// Measured 2026-11-28 on PoCL 3.1, 2 AMD EPYC cores (AVX-512), M = 1576 (batch 8 x 197 tokens),
// median GFLOP/s over interleaved runs, CPU defaults of each version (v3 with its GPU tiles); the
// same shapes in numpy/OpenBLAS: 195-205.
//   shape (epilogue)                      v1     v2     v3     v4
//   ViT-S qkv   N=1152 K=384  (bias)       4.2   85    6.9   162
//   ViT-S proj  N=384  K=384  (bias)       4.2  173    7.3   179
//   ViT-S fc1   N=1536 K=384  (bias)       -    174    -     180
//   ViT-S fc1   N=1536 K=384  (GELU)       3.1   20    5.5   121   erfc: ~3 ns per float16 lane
//   ViT-S fc2   N=384  K=1536 (residual)   3.8  193    7.0   186-200
//   ViT-B qkv   N=2304 K=768  (bias)       -    121    -     186
//   ViT-B proj  N=768  K=768  (bias)       -    186    -     193
//   ViT-B fc1   N=3072 K=768  (GELU)       -     33    -     142
//   ViT-B fc2   N=768  K=3072 (residual)   -    192    -     192

#define EPI_NONE 0
#define EPI_BIAS 1
#define EPI_BIAS_GELU 2
#define EPI_BIAS_RESIDUAL 3

#ifndef EPILOGUE
#define EPILOGUE EPI_NONE
#endif


#if EPILOGUE < EPI_NONE || EPILOGUE > EPI_BIAS_RESIDUAL
#error "EPILOGUE must be one of the EPI_* codes"
#endif

// Where output element (m, n) is stored: row-major [M, N], or the per-head QKV layout
// [3][batch][heads][tokens][hd], m = b * tokens + t, n = which * D + h * hd + e. Both are a row part
// plus a column part: ((((which * batch + b) * heads + h) * tokens + t) * hd + e expands to
// (b * tokens * D + t * hd) + (which * batch * tokens * D + h * tokens * hd + e). linear_v5 computes
// each part once per row and once per column vector: out_index's ~8 integer divisions per stored
// vector cost the AVX2 tile (6 x 16: 12 stores per 384-step loop at ViT-S's QKV) 5-20% of its time
// (bench/results/2026-12-03-opencl-qkv-epilogue-index-ab-zen4.txt; QKV in a ViT-S b8 pass on the
// AVX2 path 67% -> 76% of the FMA peak).
long out_row(int m, int M, int N, int tokens, int heads) {
    if (heads == 0) return (long) m * N;
    int D = N / 3, t = m % tokens;
    return (long) (m - t) * D + (long) t * (D / heads);
}

long out_col(int n, int M, int N, int tokens, int heads) {
    if (heads == 0) return n;
    int D = N / 3, hd = D / heads, which = n / D, h = n % D / hd;
    return (long) which * (M / tokens) * tokens * D + ((long) h * tokens) * hd + n % hd;
}

long out_index(int m, int n, int M, int N, int tokens, int heads) {
    return out_row(m, M, N, tokens, heads) + out_col(n, M, N, tokens, heads);
}

// Whether output columns n0 .. n0 + width - 1 of a row are adjacent in memory (row-major, or within
// one head in the QKV layout), so that one vector store at out_index(m, n0, ...) writes them.
bool out_contiguous(int n0, int width, int N, int heads) {
    if (n0 + width > N) return false;
    if (heads == 0) return true;
    int hd = N / 3 / heads;
    return n0 % hd + width <= hd;
}

float apply_epilogue(float acc, __global const store_t* bias, __global const store_t* residual, long at, int n) {
#if EPILOGUE >= EPI_BIAS
    acc += ld1(n, bias);
#endif
#if EPILOGUE == EPI_BIAS_GELU
    acc = GELU(acc); // common.cl
#elif EPILOGUE == EPI_BIAS_RESIDUAL
    acc += ld1(at, residual);
#endif
    return acc;
}

// Version 1: one output per work-item, straight from the definition. Kept as the baseline the
// tuned versions are measured against. global = (N, M).
__kernel void linear_v1(__global const store_t* A, __global const store_t* W, __global const store_t* bias,
                        __global const store_t* residual, __global store_t* C, int M, int N, int K,
                        int tokens, int heads) {
    int n = get_global_id(0), m = get_global_id(1);
    if (n >= N || m >= M) return;
    float acc = 0.0f;
    for (int k = 0; k < K; k++) acc += ld1((long) m * K + k, A) * ld1((long) n * K + k, W);
    long at = out_index(m, n, M, N, tokens, heads);
    st1(apply_epilogue(acc, bias, residual, at, n), at, C);
}

// ---- shared helpers for the tuned versions ----

// Stores the finished value of output (m, n) with the epilogue; the residual element is read before
// the store, so residual may alias C.
#define STORE_OUT(m, n, value)                                                 \
    do {                                                                       \
        long at_ = out_index((m), (n), M, N, tokens, heads);                   \
        st1(apply_epilogue((value), bias, residual, at_, (n)), at_, C);        \
    } while (0)

// ---- Version 2 (CPU devices): register-blocked "NT" dot products, no local memory, no barriers ----
// Each work-item owns a GEMM_V2_RM x GEMM_V2_RN block of C and walks K in vectors of GEMM_V2_VW
// floats: per step it loads GEMM_V2_RM rows of A and GEMM_V2_RN rows of W (both K-contiguous: plain
// vector loads, no transpose) and does RM * RN vector FMAs into vector accumulators, which are
// summed across lanes once at the end. Each loaded vector feeds RN (or RM) FMAs; at 4 x 4 x float16
// the loop is 8 zmm loads and 16 zmm FMAs with all 16 accumulators in registers. Rows/columns past
// the edge are clamped to the last valid one (the loop stays branch-free) and their results dropped.
// global = (ceil(N / RN), ceil(M / RM)) rounded up to the work-group (GEMM_V2_WGX, GEMM_V2_WGY).
#ifdef GEMM_V2_VW
#define floatV CAT(float, GEMM_V2_VW)
#define ldV CAT(ld, GEMM_V2_VW)

float hsum2(float2 v) { return v.s0 + v.s1; }
float hsum4(float4 v) { return hsum2(v.lo + v.hi); }
float hsum8(float8 v) { return hsum4(v.lo + v.hi); }
float hsum16(float16 v) { return hsum8(v.lo + v.hi); }
#define hsumV CAT(hsum, GEMM_V2_VW)

__kernel void linear_v2(__global const store_t* A, __global const store_t* W, __global const store_t* bias,
                        __global const store_t* residual, __global store_t* C, int M, int N, int K,
                        int tokens, int heads) {
    int n0 = get_global_id(0) * GEMM_V2_RN, m0 = get_global_id(1) * GEMM_V2_RM;
    if (n0 >= N || m0 >= M) return;
    __global const store_t* a[GEMM_V2_RM];
    __global const store_t* w[GEMM_V2_RN];
#pragma unroll
    for (int i = 0; i < GEMM_V2_RM; i++) a[i] = A + (long) min(m0 + i, M - 1) * K;
#pragma unroll
    for (int j = 0; j < GEMM_V2_RN; j++) w[j] = W + (long) min(n0 + j, N - 1) * K;

    floatV acc[GEMM_V2_RM][GEMM_V2_RN];
#pragma unroll
    for (int i = 0; i < GEMM_V2_RM; i++)
#pragma unroll
        for (int j = 0; j < GEMM_V2_RN; j++) acc[i][j] = (floatV) 0.0f;

    int kv = K - K % GEMM_V2_VW;
    for (int k = 0; k < kv; k += GEMM_V2_VW) {
        floatV av[GEMM_V2_RM];
#pragma unroll
        for (int i = 0; i < GEMM_V2_RM; i++) av[i] = ldV(0, a[i] + k);
#pragma unroll
        for (int j = 0; j < GEMM_V2_RN; j++) {
            floatV wv = ldV(0, w[j] + k);
#pragma unroll
            for (int i = 0; i < GEMM_V2_RM; i++) acc[i][j] = fma(av[i], wv, acc[i][j]);
        }
    }

    float s[GEMM_V2_RM][GEMM_V2_RN];
#pragma unroll
    for (int i = 0; i < GEMM_V2_RM; i++)
#pragma unroll
        for (int j = 0; j < GEMM_V2_RN; j++) s[i][j] = hsumV(acc[i][j]);
    for (int k = kv; k < K; k++) {
#pragma unroll
        for (int i = 0; i < GEMM_V2_RM; i++)
#pragma unroll
            for (int j = 0; j < GEMM_V2_RN; j++) s[i][j] = fma(ld1(k, a[i]), ld1(k, w[j]), s[i][j]);
    }

#pragma unroll
    for (int i = 0; i < GEMM_V2_RM; i++)
#pragma unroll
        for (int j = 0; j < GEMM_V2_RN; j++)
            if (m0 + i < M && n0 + j < N) STORE_OUT(m0 + i, n0 + j, s[i][j]);
}
#endif

// ---- Version 3 (GPUs): tiles in local memory, register blocking ----
// The classic GPU SGEMM. A work-group of (TN / RN, TM / RM) work-items owns a TM x TN tile of C
// (GEMM_V3_TM, _TN, _RM, _RN); per GEMM_V3_TK step it stages A[TM, TK] and W[TN, TK] in local
// memory (loaded cooperatively along K, stored k-major so the inner loop reads rows/columns
// across the group), then each work-item does RM x RN FMAs per k from registers. Work-item
// (tx, ty) owns rows ty + i * WGY and columns tx + j * WGX, so neighbours in a warp touch
// neighbouring addresses (coalesced stores, conflict-free local reads). Out-of-range elements load
// as zero, so any M, N, K works.
#ifdef GEMM_V3_TM
#define GEMM_V3_WGX (GEMM_V3_TN / GEMM_V3_RN)
#define GEMM_V3_WGY (GEMM_V3_TM / GEMM_V3_RM)
#define GEMM_V3_WGS (GEMM_V3_WGX * GEMM_V3_WGY)

__kernel __attribute__((reqd_work_group_size(GEMM_V3_WGX, GEMM_V3_WGY, 1)))
void linear_v3(__global const store_t* A, __global const store_t* W, __global const store_t* bias,
               __global const store_t* residual, __global store_t* C, int M, int N, int K,
               int tokens, int heads) {
    __local float As[GEMM_V3_TK][GEMM_V3_TM + 1];
    __local float Ws[GEMM_V3_TK][GEMM_V3_TN + 1];
    int tx = get_local_id(0), ty = get_local_id(1), tid = ty * GEMM_V3_WGX + tx;
    int mTile = get_group_id(1) * GEMM_V3_TM, nTile = get_group_id(0) * GEMM_V3_TN;

    float acc[GEMM_V3_RM][GEMM_V3_RN];
#pragma unroll
    for (int i = 0; i < GEMM_V3_RM; i++)
#pragma unroll
        for (int j = 0; j < GEMM_V3_RN; j++) acc[i][j] = 0.0f;

    for (int k0 = 0; k0 < K; k0 += GEMM_V3_TK) {
        for (int idx = tid; idx < GEMM_V3_TM * GEMM_V3_TK; idx += GEMM_V3_WGS) {
            int r = idx / GEMM_V3_TK, kk = idx % GEMM_V3_TK, m = mTile + r, k = k0 + kk;
            As[kk][r] = (m < M && k < K) ? ld1((long) m * K + k, A) : 0.0f;
        }
        for (int idx = tid; idx < GEMM_V3_TN * GEMM_V3_TK; idx += GEMM_V3_WGS) {
            int r = idx / GEMM_V3_TK, kk = idx % GEMM_V3_TK, n = nTile + r, k = k0 + kk;
            Ws[kk][r] = (n < N && k < K) ? ld1((long) n * K + k, W) : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
#pragma unroll
        for (int kk = 0; kk < GEMM_V3_TK; kk++) {
            float av[GEMM_V3_RM], wv[GEMM_V3_RN];
#pragma unroll
            for (int i = 0; i < GEMM_V3_RM; i++) av[i] = As[kk][ty + i * GEMM_V3_WGY];
#pragma unroll
            for (int j = 0; j < GEMM_V3_RN; j++) wv[j] = Ws[kk][tx + j * GEMM_V3_WGX];
#pragma unroll
            for (int i = 0; i < GEMM_V3_RM; i++)
#pragma unroll
                for (int j = 0; j < GEMM_V3_RN; j++) acc[i][j] = fma(av[i], wv[j], acc[i][j]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }

#pragma unroll
    for (int i = 0; i < GEMM_V3_RM; i++)
#pragma unroll
        for (int j = 0; j < GEMM_V3_RN; j++) {
            int m = mTile + ty + i * GEMM_V3_WGY, n = nTile + tx + j * GEMM_V3_WGX;
            if (m < M && n < N) STORE_OUT(m, n, acc[i][j]);
        }
}
#endif

// ---- Version 4 (CPU devices): version 2 with a vector epilogue ----
// The inner loop is version 2's. What changes is the end, where v2 lost most at K = 384 (QKV 85 ->
// 162 GFLOP/s, fc1 with GELU 20 -> 121):
// (1) the GEMM_V4_RN accumulators of a row are summed across lanes by a transposing tree (pairs of
// vectors interleave their even and odd lanes and add, so each step halves the partial sums per
// output and no lane is wasted), leaving one float{RN} of finished outputs per row instead of
// RN separate log2(VW)-step reductions; (2) the output offset splits into a row part and a column
// part, each computed once per work-item (the QKV layout needs divisions); (3) bias, GELU (erfc on
// a whole vector) and the residual are applied and stored as float{RN} vectors wherever the RN
// columns are contiguous in the output (always for the plain layout; for QKV within one head).
// GEMM_V4_RN must be a power of two no larger than GEMM_V4_VW.
#ifdef GEMM_V4_VW
#define floatW CAT(float, GEMM_V4_VW)
#define uintW CAT(uint, GEMM_V4_VW)
#define ldW CAT(ld, GEMM_V4_VW)
#define floatR CAT(float, GEMM_V4_RN)
#define vloadR CAT(vload, GEMM_V4_RN)   // private float arrays
#define vstoreR CAT(vstore, GEMM_V4_RN)
#define ldR CAT(ld, GEMM_V4_RN)         // global store_t tensors
#define stR CAT(st, GEMM_V4_RN)
// Interleave-and-add: lanes of x then y, each group of partial sums halved.
#define COMB(x, y) ((floatW)((x).even, (y).even) + (floatW)((x).odd, (y).odd))
#define FOLD(x) ((x).even + (x).odd)
#if GEMM_V4_VW / GEMM_V4_RN == 1
#define FOLD_TO_R(x) (x)
#elif GEMM_V4_VW / GEMM_V4_RN == 2
#define FOLD_TO_R(x) FOLD(x)
#elif GEMM_V4_VW / GEMM_V4_RN == 4
#define FOLD_TO_R(x) FOLD(FOLD(x))
#elif GEMM_V4_VW / GEMM_V4_RN == 8
#define FOLD_TO_R(x) FOLD(FOLD(FOLD(x)))
#else
#error GEMM_V4_RN must be a power of two from 2 to GEMM_V4_VW
#endif

__kernel void linear_v4(__global const store_t* A, __global const store_t* W, __global const store_t* bias,
                        __global const store_t* residual, __global store_t* C, int M, int N, int K,
                        int tokens, int heads) {
    int n0 = get_global_id(0) * GEMM_V4_RN, m0 = get_global_id(1) * GEMM_V4_RM;
    if (n0 >= N || m0 >= M) return;
    __global const store_t* a[GEMM_V4_RM];
    __global const store_t* w[GEMM_V4_RN];
#pragma unroll
    for (int i = 0; i < GEMM_V4_RM; i++) a[i] = A + (long) min(m0 + i, M - 1) * K;
#pragma unroll
    for (int j = 0; j < GEMM_V4_RN; j++) w[j] = W + (long) min(n0 + j, N - 1) * K;

    floatW acc[GEMM_V4_RM][GEMM_V4_RN];
#pragma unroll
    for (int i = 0; i < GEMM_V4_RM; i++)
#pragma unroll
        for (int j = 0; j < GEMM_V4_RN; j++) acc[i][j] = (floatW) 0.0f;

    int kv = K - K % GEMM_V4_VW;
    int k0 = 0;
#if defined(VIT4J_STORAGE_BF16)
    // bf16 in pairs: a uint holds elements 2k (low half) and 2k + 1 (high half), and u << 16 and
    // u & 0xffff0000 are their floats, exactly. One load of 2 * VW elements gives the even and the odd
    // elements as two float{VW} vectors in two integer ops: half the conversion work of ldW's
    // zero-extend and shift, which competes with the FMAs for the same ports. A and W split the same
    // way, so the products pair up as before (summed in another order). Needs K even (uint alignment).
    if ((K & 1) == 0) {
        k0 = K - K % (2 * GEMM_V4_VW);
        for (int k = 0; k < k0; k += 2 * GEMM_V4_VW) {
            floatW ae[GEMM_V4_RM], ao[GEMM_V4_RM];
#pragma unroll
            for (int i = 0; i < GEMM_V4_RM; i++) {
                const uintW u = CAT(vload, GEMM_V4_VW)(0, (const __global uint*) (a[i] + k));
                ae[i] = CAT(as_float, GEMM_V4_VW)(u << 16);
                ao[i] = CAT(as_float, GEMM_V4_VW)(u & 0xffff0000u);
            }
#pragma unroll
            for (int j = 0; j < GEMM_V4_RN; j++) {
                const uintW u = CAT(vload, GEMM_V4_VW)(0, (const __global uint*) (w[j] + k));
                const floatW we = CAT(as_float, GEMM_V4_VW)(u << 16), wo = CAT(as_float, GEMM_V4_VW)(u & 0xffff0000u);
#pragma unroll
                for (int i = 0; i < GEMM_V4_RM; i++) acc[i][j] = fma(ao[i], wo, fma(ae[i], we, acc[i][j]));
            }
        }
    }
#endif
    for (int k = k0; k < kv; k += GEMM_V4_VW) {
        floatW av[GEMM_V4_RM];
#pragma unroll
        for (int i = 0; i < GEMM_V4_RM; i++) av[i] = ldW(0, a[i] + k);
#pragma unroll
        for (int j = 0; j < GEMM_V4_RN; j++) {
            floatW wv = ldW(0, w[j] + k);
#pragma unroll
            for (int i = 0; i < GEMM_V4_RM; i++) acc[i][j] = fma(av[i], wv, acc[i][j]);
        }
    }
    float tail[GEMM_V4_RM][GEMM_V4_RN];
#pragma unroll
    for (int i = 0; i < GEMM_V4_RM; i++)
#pragma unroll
        for (int j = 0; j < GEMM_V4_RN; j++) tail[i][j] = 0.0f;
    for (int k = kv; k < K; k++) {
#pragma unroll
        for (int i = 0; i < GEMM_V4_RM; i++)
#pragma unroll
            for (int j = 0; j < GEMM_V4_RN; j++) tail[i][j] = fma(ld1(k, a[i]), ld1(k, w[j]), tail[i][j]);
    }

    bool contiguous = out_contiguous(n0, GEMM_V4_RN, N, heads);

    floatR v[GEMM_V4_RM];
#pragma unroll
    for (int i = 0; i < GEMM_V4_RM; i++) {
        floatW t[GEMM_V4_RN];
#pragma unroll
        for (int j = 0; j < GEMM_V4_RN; j++) t[j] = acc[i][j];
#pragma unroll
        for (int cnt = GEMM_V4_RN; cnt > 1; cnt /= 2)
#pragma unroll
            for (int q = 0; q < cnt / 2; q++) t[q] = COMB(t[2 * q], t[2 * q + 1]);
        v[i] = FOLD_TO_R(t[0]) + vloadR(0, tail[i]);
    }

    if (contiguous) {
#if EPILOGUE >= EPI_BIAS
        floatR bv = ldR(0, bias + n0);
#pragma unroll
        for (int i = 0; i < GEMM_V4_RM; i++) v[i] += bv;
#endif
#if EPILOGUE == EPI_BIAS_GELU
        // GELU (common.cl) through float16s: PoCL vectorises exp best at its widest.
#if (GEMM_V4_RM * GEMM_V4_RN) % 16 == 0
        float g[GEMM_V4_RM * GEMM_V4_RN];
#pragma unroll
        for (int i = 0; i < GEMM_V4_RM; i++) vstoreR(v[i], i, g);
#pragma unroll
        for (int c = 0; c < GEMM_V4_RM * GEMM_V4_RN / 16; c++) {
            float16 x = vload16(c, g);
            vstore16(GELU(x), c, g);
        }
#pragma unroll
        for (int i = 0; i < GEMM_V4_RM; i++) v[i] = vloadR(i, g);
#else
#pragma unroll
        for (int i = 0; i < GEMM_V4_RM; i++) v[i] = GELU(v[i]);
#endif
#endif
#pragma unroll
        for (int i = 0; i < GEMM_V4_RM; i++) {
            int m = m0 + i;
            if (m >= M) break;
            long at = out_index(m, n0, M, N, tokens, heads);
#if EPILOGUE == EPI_BIAS_RESIDUAL
            v[i] += ldR(0, residual + at); // read before the store: residual may be C
#endif
            stR(v[i], 0, C + at); // the one rounding of this output
        }
    } else {
#pragma unroll
        for (int i = 0; i < GEMM_V4_RM; i++) {
            int m = m0 + i;
            if (m >= M) break;
            float r[GEMM_V4_RN];
            vstoreR(v[i], 0, r);
            for (int j = 0; j < GEMM_V4_RN && n0 + j < N; j++) STORE_OUT(m, n0 + j, r[j]);
        }
    }
}
#endif

// ---- Version 5 (CPU devices): packed weights, outer-product micro-kernel ----
// The BLIS shape. At upload time (first use of a weight buffer, OpenClBackend's PackedWeights) W
// [N, K] is copied once by linear_pack_v5 into panels of GEMM_V5_NR columns, each panel K-major:
//   Wp[p][k][c] = W[p * NR + c][k], columns past N zero, p < ceil(N / NR).
// A work-item owns GEMM_V5_MR rows x NR columns of C, held as MR x (NR / VW) float{VW} accumulators
// (VW = GEMM_V5_VW, the device's native float vector width: 16 on AVX-512, 8 on AVX2). Per k it
// loads NR / VW vectors of the panel (contiguous: one cache line per 16 floats) and broadcasts one
// element of each of its MR rows of A, then does MR * NR / VW vector FMAs: 8 x 32 on AVX-512 is 16
// zmm FMAs for 2 vector loads and 8 broadcasts, all 16 accumulators in registers. No lane-sum at the
// end (each lane already is an output), so the epilogue works on whole vectors.
// Cache blocking: dimension 0 of the range walks down M with one panel, so the GEMM_V5_WGX work-items
// of a work-group (run one after the other by a PoCL thread) reuse the panel (NR * K * 4 bytes: 48
// KiB at K = 384) from L1/L2 while each brings its own MR rows of A (MR * K * 4 bytes).
// Rows past M are clamped to the last row (the loop stays branch-free) and not stored.
// The order of the work-groups (the argument `group`; common.cl's grouped_work_group): in the plain
// order A (1576 x 384 floats at ViT-S b8, 2.4 MB) comes from L3 once per panel, 18 times for QKV;
// grouped, a group's rows of A (group * WGX * MR * K * 4 bytes) stay in L2 across the panels.
// LinearOps.v5Group picks grouped for ViT-S b8's K = 384 layers, plain where W is the larger operand
// (batch 1). Measured on a Zen 4
// (2026-12-02): ViT-S b8 QKV alone with 12 layers' buffers rotating (bench/cpu/opencl_gemm_alone.c, so
// A comes in cold), medians of 15 runs 8.8-9.9 -> 8.0-8.3 ms with groups of 3, bests equal; in the pass,
// where A was just written by the layer norm, no difference on a quiet host (6.72-6.80 ms either way).
// global = (ceil(M / MR) rounded up to GEMM_V5_WGX, ceil(N / NR)), local = (GEMM_V5_WGX, 1).
#ifdef GEMM_V5_VW
// GEMM_V5_PREFETCH_NEXT: 0, or the locality (1-3) of a read prefetch of the next weight panel during the K
// loop (below; LinearOps.v5PrefetchNext turns it on per shape).
#ifndef GEMM_V5_PREFETCH_NEXT
#define GEMM_V5_PREFETCH_NEXT 0
#endif
#define floatV5 CAT(float, GEMM_V5_VW)
#define ldV5 CAT(ld, GEMM_V5_VW)
#define stV5 CAT(st, GEMM_V5_VW)
#define V5_NV (GEMM_V5_NR / GEMM_V5_VW)
#if GEMM_V5_NR % GEMM_V5_VW != 0
#error GEMM_V5_NR must be a multiple of GEMM_V5_VW
#endif

// Wp as above from W [N, K]; global = (K, ceil(N / NR) * NR). Copies the stored bits (no rounding).
__kernel void linear_pack_v5(__global const store_t* W, __global store_t* Wp, int N, int K) {
    int k = get_global_id(0), n = get_global_id(1);
    if (k >= K) return;
    long to = ((long) (n / GEMM_V5_NR) * K + k) * GEMM_V5_NR + n % GEMM_V5_NR;
    if (n < N) cp1((long) n * K + k, W, to, Wp);
    else st1(0.0f, to, Wp);
}

__kernel void linear_v5(__global const store_t* A, __global const store_t* Wp, __global const store_t* bias,
                        __global const store_t* residual, __global store_t* C, int M, int N, int K,
                        int tokens, int heads, int group) {
    const int2 tile = grouped_work_group(group); // (row work-group, panel): common.cl
    const int rg = tile.x, panel = tile.y;
    const int m0 = (rg * (int) get_local_size(0) + (int) get_local_id(0)) * GEMM_V5_MR, n0 = panel * GEMM_V5_NR;
    if (m0 >= M || n0 >= N) return;
    __global const store_t* wp = Wp + (long) panel * K * GEMM_V5_NR;
    __global const store_t* a[GEMM_V5_MR];
#pragma unroll
    for (int i = 0; i < GEMM_V5_MR; i++) a[i] = A + (long) min(m0 + i, M - 1) * K;

    floatV5 acc[GEMM_V5_MR][V5_NV];
#pragma unroll
    for (int i = 0; i < GEMM_V5_MR; i++)
#pragma unroll
        for (int j = 0; j < V5_NV; j++) acc[i][j] = (floatV5) 0.0f;

    long row[GEMM_V5_MR]; // out_row of each row of the tile, computed once for all its column vectors
#if EPILOGUE == EPI_BIAS_RESIDUAL
#pragma unroll
    for (int i = 0; i < GEMM_V5_MR; i++) row[i] = out_row(min(m0 + i, M - 1), M, N, tokens, heads);
    // The output tile's lines fetched for writing before the K loop, which then hides their latency.
    // In the pass the residual is x itself (C, updated in place), which the layer norm before QKV read,
    // and the stores to it waited: perf samples of a ViT-S b8 pass (cpu-clock; Zen 5, 2026-12-04) put
    // 12.5% of the projection's time outside its K loop, on the stores after the residual's reads (QKV:
    // 5%, fc2: 3%). Prefetched for writing, 3.5%; prefetched for reading, 8-9%: the read brings the
    // line, the store still waits for its ownership. In the pass the projection then took 5.8% less
    // time, fc2 1.3% (bench/results/2026-12-04-residual-prefetchw-zen5.txt). Not for the other
    // epilogues: QKV's output prefetched so ran 12% slower.
#pragma unroll
    for (int i = 0; i < GEMM_V5_MR; i++)
#pragma unroll
        for (int c = 0; c < GEMM_V5_NR; c += CACHE_LINE_BYTES / (int) sizeof(store_t))
            PREFETCH_FOR_WRITE(C + row[i] + out_col(min(n0 + c, N - 1), M, N, tokens, heads));
#endif
#if GEMM_V5_PREFETCH_NEXT
    // The next panel (the one the work order reaches after this one's row groups) brought in while this
    // one is used: each of the work-group's WGX work-items takes its 1/WGX of it, one prefetch (one line)
    // every NR / WGX elements a k step. That covers every line where the step is at most a line (WGX >= 4
    // at fp32 and NR = 64: the larger calls) and every second or fourth line in the smallest calls' work-
    // groups of 2 or 1. Where a panel serves few row tiles (batch 1: M = 197 is 33 tiles), the first tile
    // to touch a panel waited for it from DRAM; the last panel fetches itself (no panel past it).
    const int step = GEMM_V5_NR / (int) get_local_size(0);
    __global const store_t* pf = Wp + (long) min(panel + 1, (int) get_num_groups(1) - 1) * K * GEMM_V5_NR
            + (long) get_local_id(0) * K * step;
#endif
    for (int k = 0; k < K; k++) {
        floatV5 w[V5_NV];
#if GEMM_V5_PREFETCH_NEXT
        PREFETCH_FOR_READ(pf + (long) k * step, GEMM_V5_PREFETCH_NEXT);
#endif
#pragma unroll
        for (int j = 0; j < V5_NV; j++) w[j] = ldV5(j, wp + (long) k * GEMM_V5_NR);
#pragma unroll
        for (int i = 0; i < GEMM_V5_MR; i++) {
            floatV5 av = (floatV5) ld1(k, a[i]);
#pragma unroll
            for (int j = 0; j < V5_NV; j++) acc[i][j] = fma(av, w[j], acc[i][j]);
        }
    }

#if EPILOGUE != EPI_BIAS_RESIDUAL
#pragma unroll
    for (int i = 0; i < GEMM_V5_MR; i++) row[i] = out_row(min(m0 + i, M - 1), M, N, tokens, heads);
#endif

    // The epilogue a vector at a time: a vector whose GEMM_V5_VW columns are adjacent in the output
    // (inside N, and inside one head in the QKV layout) is finished and stored whole; only a vector
    // that crosses N or a head boundary (NR = 24 on AVX2 straddles 64-wide heads) goes element-wise.
#pragma unroll
    for (int j = 0; j < V5_NV; j++) {
        int n = n0 + j * GEMM_V5_VW;
        if (out_contiguous(n, GEMM_V5_VW, N, heads)) {
#if EPILOGUE >= EPI_BIAS
            floatV5 bv = ldV5(0, bias + n);
#endif
            const long col = out_col(n, M, N, tokens, heads);
            // Bias and GELU for all MR rows first, branch-free (rows past M are clamped copies, not stored), so
            // the MR GELUs are independent chains in one block the compiler interleaves; then the stores. One
            // GELU after another in the store loop left their latency exposed: ViT-S b8 fc1 alone (12 rotating
            // buffer sets, 40 pairs alternating, Zen 5, 2026-12-04) 2.0% faster, faster in 36 of 40 pairs (an
            // unchanged copy: 1.001, 19 of 40). The residual stays in the store loop: read there, it measured
            // 1.4% faster than with the MR rows' reads hoisted too.
            floatV5 v[GEMM_V5_MR];
#pragma unroll
            for (int i = 0; i < GEMM_V5_MR; i++) {
                v[i] = acc[i][j];
#if EPILOGUE >= EPI_BIAS
                v[i] += bv;
#endif
#if EPILOGUE == EPI_BIAS_GELU
                v[i] = GELU(v[i]);
#endif
            }
#pragma unroll
            for (int i = 0; i < GEMM_V5_MR; i++) {
                int m = m0 + i;
                if (m >= M) break;
                long at = row[i] + col;
#if EPILOGUE == EPI_BIAS_RESIDUAL
                v[i] += ldV5(0, residual + at); // read before the store: residual may be C
#endif
                stV5(v[i], 0, C + at); // the one rounding of this output
            }
        } else if (n < N) {
#pragma unroll
            for (int i = 0; i < GEMM_V5_MR; i++) {
                int m = m0 + i;
                if (m >= M) break;
                float r[GEMM_V5_VW];
                CAT(vstore, GEMM_V5_VW)(acc[i][j], 0, r);
                for (int c = 0; c < GEMM_V5_VW && n + c < N; c++) STORE_OUT(m, n + c, r[c]);
            }
        }
    }
}
#endif
