// Scaled dot-product self-attention per (batch, head): out = softmax(q k^T * scale) v.
// q, k, v read from qkv [3, B, H, T, hd]; out [B, T, H * hd] (heads concatenated for the projection).
// FLOPs 4*B*H*T*T*hd; least bytes s*(3*B*T*D + B*T*D), s = sizeof(store_t).
// CPU reference: CpuBackend.attention (per row: scores in double, max-subtracted softmax, P.V).
// Storage: qkv, out (and attention_v3's K^T scratch, an exact copy of K) are store_t (common.cl,
// per VIT4J_STORAGE_*). Scores, the running max and sum, the probabilities and the P.V accumulators
// are float in every storage type; only the output is rounded, once, at its store.
// Variants (ATTN_VARIANT): 1 = attention_v1 below, the naive baseline; 2 = attention_v2 (GPU);
// 3 = attention_v3_kt + attention_v3 (CPU devices). Tricks are named where they are used.

// Version 1: one work-item per query row, online softmax over the keys (FlashAttention's
// recurrence: keep the running max m and sum l; when a score exceeds m, rescale what was
// accumulated by exp(m_old - m_new)), so no T x T matrix exists anywhere. global = (B * H * T).
#ifndef HD_MAX
#define HD_MAX 128
#endif
__kernel void attention_v1(__global const store_t* qkv, __global store_t* out, int batch, int tokens, int heads,
                           int hd, float scale) {
    int idx = get_global_id(0);
    if (idx >= batch * heads * tokens) return;
    int t = idx % tokens, bh = idx / tokens, b = bh / heads, h = bh % heads;
    long plane = (long) batch * heads * tokens * hd;
    __global const store_t* q = qkv + ((long) bh * tokens + t) * hd;
    __global const store_t* k = qkv + plane + (long) bh * tokens * hd;
    __global const store_t* v = qkv + 2 * plane + (long) bh * tokens * hd;
    float acc[HD_MAX];
    for (int e = 0; e < hd; e++) acc[e] = 0.0f;
    float m = -INFINITY, l = 0.0f;
    for (int s = 0; s < tokens; s++) {
        float score = 0.0f;
        for (int e = 0; e < hd; e++) score += ld1(e, q) * ld1((long) s * hd + e, k);
        score *= scale;
        float m_new = fmax(m, score);
        float correction = exp(m - m_new);
        float p = exp(score - m_new);
        l = l * correction + p;
        for (int e = 0; e < hd; e++) acc[e] = acc[e] * correction + p * ld1((long) s * hd + e, v);
        m = m_new;
    }
    __global store_t* o = out + ((long) b * tokens + t) * heads * hd + h * hd;
    for (int e = 0; e < hd; e++) st1(acc[e] / l, e, o);
}

// ---------------------------------------------------------------------------------------------
// Shared helpers. HD (the head dim) is a build define for the v2 kernels: each head dim is its own
// program (programs are cached per build options), so every loop over the head dim has a constant
// trip count and the compiler unrolls it and keeps the accumulators in registers.

// ---------------------------------------------------------------------------------------------
// Version 2, GPU shape (ATTN_VARIANT = 2): FlashAttention-1 tiling. A work-group of ATTN_GPU_BQ
// work-items owns ATTN_GPU_BQ query rows of one (b, h), one row per work-item (q and the output
// accumulator in registers). Keys and values stream through __local memory ATTN_GPU_BK rows at a
// time; every work-item reads the same K/V row at the same time, so the local reads broadcast.
// Nothing T x T exists: each tile's scores live in registers only. global = (ceil(T/BQ)*BQ, B*H).
#ifdef HD
#ifdef ATTN_GPU_BQ
__kernel __attribute__((reqd_work_group_size(ATTN_GPU_BQ, 1, 1)))
void attention_v2(__global const store_t* qkv, __global store_t* out, int batch, int tokens, int heads,
                     float scale) {
    __local float ks[ATTN_GPU_BK * HD];
    __local float vs[ATTN_GPU_BK * HD];
    const int lid = get_local_id(0);
    const int t = get_group_id(0) * ATTN_GPU_BQ + lid;
    const int bh = get_group_id(1);
    const int b = bh / heads, h = bh % heads;
    const long plane = (long) batch * heads * tokens * HD;
    __global const store_t* kp = qkv + plane + (long) bh * tokens * HD;
    __global const store_t* vp = qkv + 2 * plane + (long) bh * tokens * HD;
    // Rows past the end still join the loads and barriers; they read the last row and store nothing.
    __global const store_t* qp = qkv + ((long) bh * tokens + min(t, tokens - 1)) * HD;
    float q[HD], acc[HD];
#pragma unroll
    for (int e = 0; e < HD; e++) {
        q[e] = ld1(e, qp) * scale; // scale folded into q once, not into every score
        acc[e] = 0.0f;
    }
    float m = -INFINITY, l = 0.0f;
    for (int s0 = 0; s0 < tokens; s0 += ATTN_GPU_BK) {
        const int nk = min(ATTN_GPU_BK, tokens - s0);
        barrier(CLK_LOCAL_MEM_FENCE); // the previous tile is consumed
        // The tile's K and V rows are contiguous in qkv: one coalesced copy each (to float).
        for (int i = lid; i < nk * HD; i += ATTN_GPU_BQ) {
            ks[i] = ld1((long) s0 * HD + i, kp);
            vs[i] = ld1((long) s0 * HD + i, vp);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        float sc[ATTN_GPU_BK];
        float tile_max = -INFINITY;
#pragma unroll
        for (int j = 0; j < ATTN_GPU_BK; j++) {
            float d = -INFINITY;
            if (j < nk) {
                d = 0.0f;
#pragma unroll
                for (int e = 0; e < HD; e++) d = fma(q[e], ks[j * HD + e], d);
            }
            sc[j] = d;
            tile_max = fmax(tile_max, d);
        }
        // Online softmax: m is the running max, l the running sum of exp(score - m), acc the running
        // sum of exp(score - m) * v. When this tile raises the max to m_new, all that was accumulated
        // is rebased by exp(m - m_new) (0 on the first tile, where m = -inf), then the tile adds in.
        const float m_new = fmax(m, tile_max);
        const float corr = exp(m - m_new);
        l *= corr;
#pragma unroll
        for (int e = 0; e < HD; e++) acc[e] *= corr;
#pragma unroll
        for (int j = 0; j < ATTN_GPU_BK; j++) {
            if (j < nk) {
                const float p = exp(sc[j] - m_new);
                l += p;
#pragma unroll
                for (int e = 0; e < HD; e++) acc[e] = fma(p, vs[j * HD + e], acc[e]);
            }
        }
        m = m_new;
    }
    if (t < tokens) {
        __global store_t* o = out + ((long) b * tokens + t) * heads * HD + h * HD;
        const float inv = 1.0f / l;
#pragma unroll
        for (int e = 0; e < HD; e++) st1(acc[e] * inv, e, o);
    }
}
#endif // ATTN_GPU_BQ

// ---------------------------------------------------------------------------------------------
// Version 3, CPU shape (ATTN_VARIANT = 3), for PoCL and other CPU devices, where a work-group is a
// loop over its work-items and local memory and barriers cost more than they save.
//   Pass 1, attention_v3_kt: K^T [B*H, HD, tpad] into a scratch buffer (tpad = T rounded up to
//     ATTN_CPU_KB * ATTN_CPU_KN, zero-padded), so that ATTN_CPU_KB consecutive keys are one vector load;
//     KB x KB tiles transposed in registers (below). global = (tpad / KB, B*H).
//     The scratch has the storage type (an exact copy: 2 bytes per element in bf16/fp16).
//   Pass 2, attention_v3: each work-item owns ATTN_CPU_QR query rows of one (b, h) and walks the
//     keys ATTN_CPU_KB * ATTN_CPU_KN at a time. Scores are an outer product: for each e, KN vectors of
//     K^T times q[r][e] broadcast, QR * KN independent FMA chains. The softmax exponentials run on
//     whole score vectors (vector exp2, log2(e) folded into the scale), the running max is rebased
//     lazily (ATTN_CPU_SLACK), the running sum stays a vector, and P.V reads each V row once as
//     ATTN_CPU_VW-wide vectors for all QR rows. No local memory, no barriers. global = B*H*ceil(T/QR).
//   Measured on PoCL, Zen 4 (2 cores), ViT-S/16 batch 8: the lazy rebase + vector sum took ~10% off;
//     KN = 2 and a hand-written polynomial exp2 did not help (KN is kept as a tuning knob).
#ifdef ATTN_CPU_KB
#if ATTN_CPU_KB == 16
typedef float16 floatK;
typedef int16 intK;
#define LANES_K ((int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15))
static inline float hmax_k(float16 v) {
    float8 a = fmax(v.lo, v.hi);
    float4 b = fmax(a.lo, a.hi);
    float2 c = fmax(b.lo, b.hi);
    return fmax(c.x, c.y);
}
static inline float hsum_k(float16 v) {
    float8 a = v.lo + v.hi;
    float4 b = a.lo + a.hi;
    float2 c = b.lo + b.hi;
    return c.x + c.y;
}
#elif ATTN_CPU_KB == 8
typedef float8 floatK;
typedef int8 intK;
#define LANES_K ((int8)(0, 1, 2, 3, 4, 5, 6, 7))
static inline float hmax_k(float8 v) {
    float4 b = fmax(v.lo, v.hi);
    float2 c = fmax(b.lo, b.hi);
    return fmax(c.x, c.y);
}
static inline float hsum_k(float8 v) {
    float4 b = v.lo + v.hi;
    float2 c = b.lo + b.hi;
    return c.x + c.y;
}
#else
#error "ATTN_CPU_KB must be 8 or 16"
#endif
#define ldK CAT(ld, ATTN_CPU_KB)         // K^T (store_t) -> floatK
#define vstoreK CAT(vstore, ATTN_CPU_KB) // private float arrays
#define vloadK CAT(vload, ATTN_CPU_KB)

// Vectors along the head dim: ATTN_CPU_VW divides HD (the host picks it), 1 means scalars.
#if ATTN_CPU_VW == 1
typedef float floatV;
#else
typedef CAT(float, ATTN_CPU_VW) floatV;
#endif
#define ldV CAT(ld, ATTN_CPU_VW) // ld1 .. ld16, st1 .. st16: common.cl
#define stV CAT(st, ATTN_CPU_VW)
#define NV (HD / ATTN_CPU_VW)
#define QR ATTN_CPU_QR
#define KB ATTN_CPU_KB
#ifndef ATTN_CPU_KN
#define ATTN_CPU_KN 1
#endif
#define KN ATTN_CPU_KN
#ifndef ATTN_CPU_SLACK
#define ATTN_CPU_SLACK 0
#endif


// attention_v3_kt: one work-item per (block of KB keys, b * h). Each KB x KB tile of K (KB keys x KB of
// the head dim) is KB vector loads of K's rows, a transpose in registers, and KB vector stores into
// K^T's rows: log2(KB) butterfly stages, each swapping the off-diagonal halves of 2x2 blocks of side d
// (d = KB/2 .. 1) between rows i and i + d, one pair of shuffles per row pair. The stored bits are
// moved, not converted (uint lanes for float, ushort for bf16/fp16), and keys past T are zeros (finite,
// masked later). Head dims that are not a multiple of KB finish element by element.
// (One work-item per key writing 64 strided scalars took ~0.65 ms of attention_v4's 3.9 ms at ViT-S
// b8 on a Zen 4, 2026-12-02: a fifth of the op, for 5 MB moved.)
#if defined(VIT4J_STORAGE_F32)
#define KBITS uint
#else
#define KBITS ushort
#endif
typedef CAT(KBITS, ATTN_CPU_KB) kbitsK;
// The same vector at the alignment of its elements: loads and stores through it are one unaligned vector
// access each (PoCL's vstore16 stored four 128-bit pieces, its vload16 one 512-bit load).
typedef kbitsK __attribute__((aligned(sizeof(KBITS)))) kbitsK_unaligned;
#if ATTN_CPU_KB == 16
// rows a = r[i], b = r[i + d]: lo keeps a's columns without bit d and takes b's columns with it (shifted
// down by d), hi the other way round; swizzles, so that the compiler sees one two-source shuffle each
#define KT_LO8(a, b) ((kbitsK) (a.lo, b.lo))
#define KT_HI8(a, b) ((kbitsK) (a.hi, b.hi))
#define KT_LO4(a, b) ((kbitsK) (a.s0123, b.s0123, a.s89ab, b.s89ab))
#define KT_HI4(a, b) ((kbitsK) (a.s4567, b.s4567, a.scdef, b.scdef))
#define KT_LO2(a, b) ((kbitsK) (a.s01, b.s01, a.s45, b.s45, a.s89, b.s89, a.scd, b.scd))
#define KT_HI2(a, b) ((kbitsK) (a.s23, b.s23, a.s67, b.s67, a.sab, b.sab, a.sef, b.sef))
#define KT_LO1(a, b) ((kbitsK) (a.s0, b.s0, a.s2, b.s2, a.s4, b.s4, a.s6, b.s6, a.s8, b.s8, a.sa, b.sa, a.sc, b.sc, a.se, b.se))
#define KT_HI1(a, b) ((kbitsK) (a.s1, b.s1, a.s3, b.s3, a.s5, b.s5, a.s7, b.s7, a.s9, b.s9, a.sb, b.sb, a.sd, b.sd, a.sf, b.sf))
#else // 8
#define KT_LO4(a, b) ((kbitsK) (a.lo, b.lo))
#define KT_HI4(a, b) ((kbitsK) (a.hi, b.hi))
#define KT_LO2(a, b) ((kbitsK) (a.s01, b.s01, a.s45, b.s45))
#define KT_HI2(a, b) ((kbitsK) (a.s23, b.s23, a.s67, b.s67))
#define KT_LO1(a, b) ((kbitsK) (a.s0, b.s0, a.s2, b.s2, a.s4, b.s4, a.s6, b.s6))
#define KT_HI1(a, b) ((kbitsK) (a.s1, b.s1, a.s3, b.s3, a.s5, b.s5, a.s7, b.s7))
#endif
#define KT_STAGE(D)                                                                                    \
    _Pragma("unroll") for (int i = 0; i < ATTN_CPU_KB; i++) {                                          \
        if ((i & D) == 0) {                                                                            \
            const kbitsK a = r[i], b = r[i + D];                                                       \
            r[i] = KT_LO##D(a, b);                                                                     \
            r[i + D] = KT_HI##D(a, b);                                                                 \
        }                                                                                              \
    }

__kernel void attention_v3_kt(__global const store_t* qkv, __global store_t* kt, int batch, int tokens, int heads,
                              int tpad) {
    const int s0 = get_global_id(0) * ATTN_CPU_KB, bh = get_global_id(1);
    if (s0 >= tpad || bh >= batch * heads) return;
    const long plane = (long) batch * heads * tokens * HD;
    __global const KBITS* k = (__global const KBITS*) (qkv + plane + (long) bh * tokens * HD);
    __global KBITS* dst = (__global KBITS*) (kt + (long) bh * HD * tpad) + s0;
    const int keys = tokens - s0; // real keys in this block (<= 0: a block of padding only)
    int e0 = 0;
    for (; e0 + ATTN_CPU_KB <= HD; e0 += ATTN_CPU_KB) {
        kbitsK r[ATTN_CPU_KB];
#pragma unroll
        for (int j = 0; j < ATTN_CPU_KB; j++) r[j] = j < keys ? *(__global const kbitsK_unaligned*) (k + (long) (s0 + j) * HD + e0) : (kbitsK) 0;
#if ATTN_CPU_KB == 16
        KT_STAGE(8)
#endif
        KT_STAGE(4)
        KT_STAGE(2)
        KT_STAGE(1)
#pragma unroll
        for (int i = 0; i < ATTN_CPU_KB; i++) *(__global kbitsK_unaligned*) (dst + (long) (e0 + i) * tpad) = r[i];
    }
    for (; e0 < HD; e0++) // the head dim's tail
        for (int j = 0; j < ATTN_CPU_KB; j++) dst[(long) e0 * tpad + j] = j < keys ? k[(long) (s0 + j) * HD + e0] : (KBITS) 0;
}

__kernel void attention_v3(__global const store_t* qkv, __global const store_t* kt, __global store_t* out,
                            int batch, int tokens, int heads, int tpad, float scale) {
    const int groups = (tokens + QR - 1) / QR;
    const int gid = get_global_id(0);
    if (gid >= batch * heads * groups) return;
    const int bh = gid / groups, t0 = (gid % groups) * QR;
    const int b = bh / heads, h = bh % heads;
    const long plane = (long) batch * heads * tokens * HD;
    __global const store_t* k = kt + (long) bh * HD * tpad;
    __global const store_t* v = qkv + 2 * plane + (long) bh * tokens * HD;
    __global const store_t* q[QR];
#pragma unroll
    for (int r = 0; r < QR; r++) q[r] = qkv + ((long) bh * tokens + min(t0 + r, tokens - 1)) * HD; // rows past the end: recomputed, not stored
    // The QR query rows as floats, converted once: the score loop below broadcasts each element once
    // per key block (a scalar vload_half per use made fp16 attention 2.7x slower than fp32 on PoCL).
    float qf[QR][HD];
#pragma unroll
    for (int r = 0; r < QR; r++)
#pragma unroll
        for (int e = 0; e < HD; e++) qf[r][e] = ld1(e, q[r]);

    floatV acc[QR][NV];
    floatK lv[QR];
    float m[QR];
#pragma unroll
    for (int r = 0; r < QR; r++) {
        m[r] = -INFINITY;
        lv[r] = (floatK) 0.0f;
#pragma unroll
        for (int c = 0; c < NV; c++) acc[r][c] = (floatV) 0.0f;
    }
    // scale * log2(e) folded into one multiply of the scores, so the softmax runs on exp2.
    const float scale2 = scale * M_LOG2E_F;
    float p[QR][KB * KN];
    for (int s0 = 0; s0 < tokens; s0 += KB * KN) {
        const int nk = min(KB * KN, tokens - s0);
        // Scores of KB * KN keys for QR rows: an outer product over e (K^T makes the keys contiguous);
        // KN key vectors share each broadcast q[r][e], so loads stay below the FMA count.
        floatK sc[QR][KN];
#pragma unroll
        for (int r = 0; r < QR; r++)
#pragma unroll
            for (int n = 0; n < KN; n++) sc[r][n] = (floatK) 0.0f;
#pragma unroll 8
        for (int e = 0; e < HD; e++) {
            floatK kv[KN];
#pragma unroll
            for (int n = 0; n < KN; n++) kv[n] = ldK(n, k + (long) e * tpad + s0);
#pragma unroll
            for (int r = 0; r < QR; r++) {
                const floatK qe = (floatK) qf[r][e];
#pragma unroll
                for (int n = 0; n < KN; n++) sc[r][n] = fma(qe, kv[n], sc[r][n]);
            }
        }
#pragma unroll
        for (int r = 0; r < QR; r++) {
            floatK mx = (floatK) (-INFINITY);
#pragma unroll
            for (int n = 0; n < KN; n++) {
                floatK s = sc[r][n] * scale2;
                if (nk < KB * KN) s = select(s, (floatK) (-INFINITY), LANES_K >= (intK) (nk - n * KB)); // mask padding keys
                sc[r][n] = s;
                mx = fmax(mx, s);
            }
            // Online softmax (see attention_v2), in base 2, with a lazy rebase: the running max m only
            // moves when a block's max exceeds it by more than ATTN_CPU_SLACK (log2 units), so the weights
            // exp2(s - m) stay <= 2^SLACK (no overflow) and the rebase of l and acc by exp2(m - m_new),
            // with its scalar exp2, runs a few times per row instead of once per block.
            const float bm = hmax_k(mx);
            if (bm > m[r] + ATTN_CPU_SLACK) {
                const float corr = exp2(m[r] - bm); // 0 on the first block, where m = -inf
                lv[r] *= corr;
#pragma unroll
                for (int c = 0; c < NV; c++) acc[r][c] *= corr;
                m[r] = bm;
            }
#pragma unroll
            for (int n = 0; n < KN; n++) {
                const floatK pk = exp2(sc[r][n] - (floatK) m[r]); // one vector exp2 for KB keys
                lv[r] += pk; // l stays a vector, reduced once at the end
                vstoreK(pk, n, p[r]);
            }
        }
        // P.V: each V row is loaded once and used by all QR rows.
        for (int j = 0; j < nk; j++) {
            __global const store_t* vr = v + (long) (s0 + j) * HD;
#pragma unroll
            for (int c = 0; c < NV; c++) {
                const floatV vv = ldV(c, vr);
#pragma unroll
                for (int r = 0; r < QR; r++) acc[r][c] = fma((floatV) p[r][j], vv, acc[r][c]);
            }
        }
    }
#pragma unroll
    for (int r = 0; r < QR; r++) {
        if (t0 + r < tokens) {
            __global store_t* o = out + ((long) b * tokens + t0 + r) * heads * HD + h * HD;
            const float inv = 1.0f / hsum_k(lv[r]);
#pragma unroll
            for (int c = 0; c < NV; c++) stV(acc[r][c] * inv, c, o);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Version 4, CPU shape (ATTN_VARIANT = 4, the CPU default): the scores are materialised, one block of
// rows at a time, so that both matmuls run as the register-blocked outer products linear_v5 uses, and
// the softmax runs once per row instead of once per key block. Sizes from the device's native float
// width (AttentionOps): KB = 16 keys a vector and 24 accumulators on AVX-512, KB = 8 and 12 on AVX2.
// The accumulator budget splits into ATTN_V4_QR rows x ATTN_V4_NK key vectors (phase 1) and QR rows
// x ATTN_V4_CV column vectors (phase 3): 6 x 4 and 6 x 4 on AVX-512, 6 x 2 and 6 x 2 on AVX2 (before,
// AVX2 fitted all hd / 8 = 8 column vectors of one row in one pass, so a work-item had one row and
// every load fed one FMA: 32% of the FMA peak on an AMD EPYC (Zen 3), 2026-12-02).
//   attention_v3_kt first (K^T [B*H, HD, tpad], tpad = T rounded up to KB), then each work-item owns
//   ATTN_V4_QR query rows of one (b, h):
//   1. S = Q K^T * scale * log2(e) into a private block s[QR][ATTN_V4_TMAX] (at T = 197: 6 x 208
//      floats, 5 KiB, in L1): key chunks of ATTN_V4_NK vectors of KB keys; per e, NK loads of K^T and
//      QR broadcasts of q feed QR * NK FMAs (6 x 4 = 24 zmm accumulators on AVX-512), chunk sizes balanced.
//      Padding keys (past T) get -inf.
//   2. Per row: the max, p = exp2(s - max) in place (vector exp2 on KB keys at a time), their sum.
//      No running max and no rebasing: the whole row is there (v3 needed both because it streams).
//   3. O = P V in passes of ATTN_V4_CV vectors of V's columns: per key j, CV vectors of V's row j
//      (loaded once for all QR rows) times p[r][j] broadcast: QR * CV accumulators (6 x 4 = 24 zmm at
//      hd 64 in one pass on AVX-512; 6 x 2 ymm in four passes on AVX2), scaled by 1 / sum at the store.
//   Per work-item at T = 197, hd = 64: 4,992 + 4,728 FMAs against 6 x 13 vector exp2: the matmuls
//   dominate, where v3 spent about as much on its per-block softmax as on either matmul.
//   ATTN_V4_TMAX (a build define, >= tpad) sizes the block; the host rounds it up to 64 keys and builds
//   one program per TMAX (the loops run to the call's tpad).
//   global = B*H*ceil(T/QR) rounded up to ATTN_CPU_WG, local = ATTN_CPU_WG.
#ifdef ATTN_V4_TMAX
#define QR4 ATTN_V4_QR
#define NK4 ATTN_V4_NK
#define CV4 ATTN_V4_CV

// 2^x for the softmax's x = s - max <= 0, on KB lanes: 2^x = 2^n * 2^f with n = rint(x), f = x - n in
// [-1/2, 1/2]; 2^f by a degree-6 minimax polynomial (relative error 1.9e-9, 1.1e-7 with float rounding:
// under 2 ulp), 2^n added to its exponent bits. Below -126 (the smallest normal exponent; the padding
// keys' -inf) it is 0, and NaN stays NaN. About 20 AVX-512 instructions a vector, where PoCL 3.1's exp2
// takes ~40 (two 8-lane halves with range checks) and its rint another long sequence.
static inline floatK v4_exp2(const floatK x) {
    const floatK xc = fmax(x, (floatK) (-126.0f)); // fmax drops NaN: put back below
    // n = rint(xc) by adding 1.5 * 2^23: the sum's low bits are n
    const floatK t = xc + (floatK) (0x1.8p23f), n = t - (floatK) (0x1.8p23f), f = xc - n;
    floatK p = (floatK) (1.5345811e-4f);
    p = fma(p, f, (floatK) (1.3399931e-3f));
    p = fma(p, f, (floatK) (9.6184891e-3f));
    p = fma(p, f, (floatK) (5.5503286e-2f));
    p = fma(p, f, (floatK) (2.4022646e-1f));
    p = fma(p, f, (floatK) (6.9314718e-1f));
    p = fma(p, f, (floatK) (1.0f));
    const intK e = (CAT(as_int, ATTN_CPU_KB)(t) - 0x4B400000) << 23; // n << 23 (t's bits are 0x4B400000 + n)
    const floatK r = CAT(as_float, ATTN_CPU_KB)(CAT(as_int, ATTN_CPU_KB)(p) + e);
    return select(select(r, (floatK) (0.0f), x < (floatK) (-126.0f)), x, isnan(x));
}

// Scores of NK_ key vectors starting at key kc for the QR4 rows: acc[r][n] over e, stored scaled.
#define V4_SCORE_CHUNK(NK_)                                                                            \
    {                                                                                                  \
        floatK a[QR4][NK_];                                                                            \
        _Pragma("unroll") for (int r = 0; r < QR4; r++)                                                \
        _Pragma("unroll") for (int n = 0; n < NK_; n++) a[r][n] = (floatK) 0.0f;                       \
        __global const store_t* kp = k + kc;                                                           \
        _Pragma("unroll 4") for (int e = 0; e < HD; e++) {                                             \
            floatK kv[NK_];                                                                            \
            _Pragma("unroll") for (int n = 0; n < NK_; n++) kv[n] = ldK(n, kp + (long) e * tpad);      \
            _Pragma("unroll") for (int r = 0; r < QR4; r++) {                                          \
                const floatK qe = (floatK) V4_Q(r, e);                                                 \
                _Pragma("unroll") for (int n = 0; n < NK_; n++) a[r][n] = fma(qe, kv[n], a[r][n]);     \
            }                                                                                          \
        }                                                                                              \
        _Pragma("unroll") for (int r = 0; r < QR4; r++)                                                \
        _Pragma("unroll") for (int n = 0; n < NK_; n++) *(floatK*) &s[r][kc + n * KB] = a[r][n] * scale2; \
    }

// O = P V for V's column vectors C0_ .. C0_ + CV_ - 1 of the QR4 rows, scaled by 1 / sum at the store.
// V's vectors first, then one broadcast per row, as linear_v5: QR * CV accumulators + CV + 1 registers.
// (Broadcasting inside the column loop kept all QR broadcasts live across it: 12 + 6 + 1 ymm on AVX2,
// three accumulators spilled and reloaded every key, 2026-12-02.)
#define V4_PV_CHUNK(C0_, CV_)                                                                          \
    {                                                                                                  \
        floatV acc[QR4][CV_];                                                                          \
        _Pragma("unroll") for (int r = 0; r < QR4; r++)                                                \
        _Pragma("unroll") for (int c = 0; c < CV_; c++) acc[r][c] = (floatV) 0.0f;                     \
        for (int j = 0; j < tokens; j++) {                                                             \
            __global const store_t* vr = v + (long) j * HD;                                            \
            floatV vv[CV_];                                                                            \
            _Pragma("unroll") for (int c = 0; c < CV_; c++) vv[c] = ldV((C0_) + c, vr);                \
            _Pragma("unroll") for (int r = 0; r < QR4; r++) {                                          \
                const floatV p = (floatV) s[r][j];                                                     \
                _Pragma("unroll") for (int c = 0; c < CV_; c++) acc[r][c] = fma(p, vv[c], acc[r][c]);  \
            }                                                                                          \
        }                                                                                              \
        _Pragma("unroll") for (int r = 0; r < QR4; r++) {                                              \
            if (t0 + r < tokens) {                                                                     \
                __global store_t* o = out + ((long) b * tokens + t0 + r) * heads * HD + h * HD;        \
                _Pragma("unroll") for (int c = 0; c < CV_; c++) stV(acc[r][c] * inv[r], (C0_) + c, o); \
            }                                                                                          \
        }                                                                                              \
    }

__kernel void attention_v4(__global const store_t* qkv, __global const store_t* kt, __global store_t* out,
                           int batch, int tokens, int heads, int tpad, float scale) {
    const int groups = (tokens + QR4 - 1) / QR4;
    const int gid = get_global_id(0);
    if (gid >= batch * heads * groups) return;
    const int bh = gid / groups, t0 = (gid % groups) * QR4;
    const int b = bh / heads, h = bh % heads;
    const long plane = (long) batch * heads * tokens * HD;
    __global const store_t* k = kt + (long) bh * HD * tpad;
    __global const store_t* v = qkv + 2 * plane + (long) bh * tokens * HD;
    // The query rows (rows past the end recomputed, not stored). fp32: phase 1 broadcasts straight from
    // qkv, a row being HD adjacent floats (copying them to private memory first was ~4% of the kernel's
    // cycles, perf at ViT-Ti b1 on a Zen 4, 2026-12-03). bf16/fp16: converted to floats once (see v3).
#if defined(VIT4J_STORAGE_F32)
    __global const float* qrow[QR4];
#pragma unroll
    for (int r = 0; r < QR4; r++) qrow[r] = qkv + ((long) bh * tokens + min(t0 + r, tokens - 1)) * HD;
#define V4_Q(r, e) qrow[r][e]
#else
    float qf[QR4][HD];
#pragma unroll
    for (int r = 0; r < QR4; r++) {
        __global const store_t* q = qkv + ((long) bh * tokens + min(t0 + r, tokens - 1)) * HD;
#pragma unroll
        for (int e = 0; e < HD; e++) qf[r][e] = ld1(e, q);
    }
#define V4_Q(r, e) qf[r][e]
#endif
    const float scale2 = scale * M_LOG2E_F; // softmax in base 2, as in v3

    // 1. scores. The block is written and read a vector at a time through floatK pointers (its rows and
    // vectors are KB-aligned), not vloadK/vstoreK: PoCL 3.1 splits each vstore16 into four 128-bit
    // stores. Phase 3 reads single floats of it: clang gives vector types char's alias class, so
    // those reads stay ordered after the vector stores.
    float s[QR4][ATTN_V4_TMAX] __attribute__((aligned(64)));
    // Key chunks of balanced sizes: ceil(vectors / NK4) chunks of vectors / chunks vectors or one more, so
    // that no chunk is a lone vector, whose QR FMAs per key load leave the loads the bottleneck (T = 197
    // on AVX-512: 13 vectors as 4 + 3 + 3 + 3, not 4 + 4 + 4 + 1). Each size is compile-time in its case.
#if NK4 <= 8
    const int nvec = tpad / KB, chunks = (nvec + NK4 - 1) / NK4;
    for (int c = 0, kc = 0; c < chunks; c++) {
        const int n = nvec / chunks + (c < nvec % chunks ? 1 : 0);
        switch (n) {
        case 1: V4_SCORE_CHUNK(1) break;
#if NK4 >= 2
        case 2: V4_SCORE_CHUNK(2) break;
#endif
#if NK4 >= 3
        case 3: V4_SCORE_CHUNK(3) break;
#endif
#if NK4 >= 4
        case 4: V4_SCORE_CHUNK(4) break;
#endif
#if NK4 >= 5
        case 5: V4_SCORE_CHUNK(5) break;
#endif
#if NK4 >= 6
        case 6: V4_SCORE_CHUNK(6) break;
#endif
#if NK4 >= 7
        case 7: V4_SCORE_CHUNK(7) break;
#endif
#if NK4 >= 8
        case 8: V4_SCORE_CHUNK(8) break;
#endif
        }
        kc += n * KB;
    }
#else // more key vectors a chunk than the cases above: whole chunks, then vector by vector
    int kc = 0;
    for (; kc + NK4 * KB <= tpad; kc += NK4 * KB) V4_SCORE_CHUNK(NK4)
    for (; kc < tpad; kc += KB) V4_SCORE_CHUNK(1)
#endif
    if (tokens < tpad) { // mask the padding keys of the last vector
        const int last = tpad - KB;
#pragma unroll
        for (int r = 0; r < QR4; r++) {
            floatK x = *(floatK*) &s[r][last];
            *(floatK*) &s[r][last] = select(x, (floatK) (-INFINITY), LANES_K >= (intK) (tokens - last));
        }
    }

    // 2. softmax numerators and sums, the QR4 rows side by side: each row's max and sum is a chain of
    // dependent vector ops, so interleaving the rows keeps QR4 chains in flight instead of one.
    // (With v4_exp2 above, phase 2 went from ~16% to ~11% of the kernel's cycles: perf, ViT-Ti b1,
    // Zen 4, 2026-12-03.)
    floatK mx[QR4], l[QR4];
    float m[QR4], inv[QR4];
#pragma unroll
    for (int r = 0; r < QR4; r++) mx[r] = (floatK) (-INFINITY);
    for (int c = 0; c < tpad; c += KB)
#pragma unroll
        for (int r = 0; r < QR4; r++) mx[r] = fmax(mx[r], *(floatK*) &s[r][c]);
#pragma unroll
    for (int r = 0; r < QR4; r++) {
        m[r] = hmax_k(mx[r]);
        l[r] = (floatK) 0.0f;
    }
    for (int c = 0; c < tpad; c += KB)
#pragma unroll
        for (int r = 0; r < QR4; r++) {
            const floatK p = v4_exp2(*(floatK*) &s[r][c] - (floatK) m[r]);
            l[r] += p;
            *(floatK*) &s[r][c] = p;
        }
#pragma unroll
    for (int r = 0; r < QR4; r++) inv[r] = 1.0f / hsum_k(l[r]);

    // 3. P V, ATTN_V4_CV vectors of V's columns at a time (all NV where the registers allow: AVX-512
    // at hd 64 in one pass; on AVX2's 16 registers 6 rows x 2 vectors, four passes over V's rows, which
    // stay in L2): per key j, CV vectors of V's row j times p[r][j] broadcast for the QR rows.
    for (int c0 = 0; c0 + CV4 <= NV; c0 += CV4) V4_PV_CHUNK(c0, CV4)
#if NV % CV4 != 0
    V4_PV_CHUNK(NV - NV % CV4, NV % CV4)
#endif
}
#endif // ATTN_V4_TMAX
#endif // ATTN_CPU_KB
#endif // HD

// ---------------------------------------------------------------------------------------------
// attention_probs: the probabilities the kernels above never materialise, for analysis only
// (AttentionOps.probs, the op Op.AttentionProbs; reference CpuBackend.attentionProbs). One work-item
// per (b, h, query row t): pass 1 writes the scores q.k * scale to the row and finds their max, pass 2
// turns them into exp(score - max) and sums them (compensated), pass 3 divides by the sum. probs
// [B, H, T, T] is float in every storage type (no rounding to store_t): each row sums to 1 within
// float rounding. The row stays in the work-item's own part of probs between passes: no barrier.
// PROBS_VW (build define, 4 where the head dim is a multiple of 4, else 1): the dot products read q
// and k as quads and passes 2 and 3 run on quads of the row (a vector exp): on PoCL's CPU device,
// ViT-Ti/16 at batch 4 (T = 197, 3 heads of 64), 19.2 ms a call in scalar code, 3.5 ms so (the fused
// attention: 1.6 ms; vit4j bench --attentions, 2026-12-02).
// FLOPs 2*B*H*T*T*hd (+ B*H*T*T exponentials); least bytes s*2*B*T*D + 4*B*H*T*T.
// global = (B * H * T), any local size.
#ifndef PROBS_VW
#define PROBS_VW 1
#endif
__kernel void attention_probs(__global const store_t* qkv, __global float* probs, int batch, int tokens, int heads,
                              int hd, float scale) {
    const int idx = get_global_id(0);
    if (idx >= batch * heads * tokens) return;
    const int bh = idx / tokens;
    const long plane = (long) batch * heads * tokens * hd;
    __global const store_t* q = qkv + (long) idx * hd; // rows [b, h, t] are in idx order
    __global const store_t* k = qkv + plane + (long) bh * tokens * hd;
    __global float* p = probs + (long) idx * tokens;
    float m = -INFINITY;
    for (int s = 0; s < tokens; s++) {
#if PROBS_VW == 4
        float4 acc = (float4) (0.0f);
        const int quads = hd / 4;
        for (int e = 0; e < quads; e++) acc = fma(ld4(e, q), ld4((long) s * quads + e, k), acc);
        float d = (acc.x + acc.y) + (acc.z + acc.w);
#else
        float d = 0.0f;
        for (int e = 0; e < hd; e++) d = fma(ld1(e, q), ld1((long) s * hd + e, k), d);
#endif
        d *= scale;
        p[s] = d;
        m = fmax(m, d);
    }
    // The sum is compensated (Kahan, per lane): a plain float sum of T = 197 terms is off by up to ~1e-6
    // relative, which the rows' sum-to-1 budget (1e-6) does not leave room for.
    const int t4 = tokens / 4;
    float4 l4 = (float4) (0.0f), c4 = (float4) (0.0f);
    for (int i = 0; i < t4; i++) {
        const float4 x = exp(vload4(i, p) - m);
        vstore4(x, i, p);
        const float4 y = x - c4, t = l4 + y;
        c4 = (t - l4) - y;
        l4 = t;
    }
    float l = 0.0f, lc = 0.0f;
    for (int s = 4 * t4; s < tokens; s++) {
        const float x = exp(p[s] - m);
        p[s] = x;
        const float y = x - lc, t = l + y;
        lc = (t - l) - y;
        l = t;
    }
    l = ((l4.x + l4.y) + (l4.z + l4.w)) + l;
    const float inv = 1.0f / l;
    for (int i = 0; i < t4; i++) vstore4(vload4(i, p) * inv, i, p);
    for (int s = 4 * t4; s < tokens; s++) p[s] *= inv;
}
