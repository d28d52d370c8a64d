// Shared by every OpenCL program of vit4j: ClRuntime puts this file in front of each kernel file.
// It defines (1) the storage type of the program's tensors with their load/store helpers, (2) the
// exact GELU and (3) the grouped work-group order of the CPU GEMMs, and first the prefetches.

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)

// Cache lines fetched ahead of use where the compiler is clang (__builtin_prefetch), nothing elsewhere:
// for writing (x86's prefetchw, AArch64's prfm pstl1keep: linear_v5's in-place residual epilogue) and for
// reading with a locality 1-3, a constant (prefetcht2/t1/t0: linear_v5's next weight panel). Why: there.
#if defined(__clang__)
#define PREFETCH_FOR_WRITE(p) __builtin_prefetch((p), 1, 3)
#define PREFETCH_FOR_READ(p, locality) __builtin_prefetch((p), 0, locality)
#else
#define PREFETCH_FOR_WRITE(p)
#define PREFETCH_FOR_READ(p, locality)
#endif
#define CACHE_LINE_BYTES 64 // x86's and most AArch64 cores': the write prefetches' stride along a row

// ---- Storage type ----------------------------------------------------------------------------
// Every program is built for one element type of its tensors, chosen by a define as CLBlast's
// PRECISION (ClRuntime adds exactly one of them; OpenClBackend builds each storage type's programs
// on the first op in that type):
//   VIT4J_STORAGE_F32   store_t = float
//   VIT4J_STORAGE_BF16  store_t = ushort, the top half of a float32; explicit conversion below
//   VIT4J_STORAGE_F16   store_t = half, converted by vload_half / vstore_half_rte (OpenCL 1.2 core:
//                       pointers to half need no cl_khr_fp16 as long as no half value is touched)
// Kernels never touch a store_t value directly: they compute in float (every accumulation, in every
// type) and go through
//   ld1(i, p)       element i of p, as a float (exact)
//   st1(x, i, p)    stores x rounded to the storage type: round to nearest, ties to even; NaN stays
//                   NaN; past the largest finite value, infinity (ElementType's rules, bit for bit)
//   ldN(i, p)       floatN from elements [N i, N i + N), as vloadN (N = 2, 4, 8, 16; any alignment
//                   of the element type)
//   stN(x, i, p)    the store of a floatN, as vstoreN
//   rt1(x), rtN(x)  x rounded to the storage type and back, in registers: the value st1 would store
//                   (the fused add + LayerNorm normalises the rounded sum it stores)
//   cp1(i, p, j, q) copies element i of p to element j of q as it is stored (no conversion)
// Each op rounds once, at its store (ElementType lists the rounding points).
#if defined(VIT4J_STORAGE_BF16)
typedef ushort store_t;
// float -> bf16 bits, round to nearest even, NaN kept quiet (ElementType.floatToBf16).
#define BF16_BITS(u) select(((u) + 0x7fffu + (((u) >> 16) & 1u)) >> 16, ((u) >> 16) | 0x40u, \
                            ((u) & 0x7fffffffu) > 0x7f800000u)
static inline ushort bf16_of(float x) {
    const uint u = as_uint(x);
    return (ushort) ((u & 0x7fffffffu) > 0x7f800000u ? (u >> 16) | 0x40u : (u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}
static inline float ld1(size_t i, const __global ushort* p) { return as_float((uint) p[i] << 16); }
static inline void st1(float x, size_t i, __global ushort* p) { p[i] = bf16_of(x); }
static inline float rt1(float x) { return as_float((uint) bf16_of(x) << 16); }
static inline void cp1(size_t i, const __global ushort* p, size_t j, __global ushort* q) { q[j] = p[i]; }
#define BF16_VEC(N)                                                                                       \
    static inline CAT(ushort, N) CAT(bf16_of, N)(CAT(float, N) x) {                                       \
        const CAT(uint, N) u = CAT(as_uint, N)(x);                                                        \
        return CAT(convert_ushort, N)(BF16_BITS(u));                                                      \
    }                                                                                                     \
    static inline CAT(float, N) CAT(ld, N)(size_t i, const __global ushort* p) {                          \
        return CAT(as_float, N)(CAT(convert_uint, N)(CAT(vload, N)(i, p)) << 16);                         \
    }                                                                                                     \
    static inline void CAT(st, N)(CAT(float, N) x, size_t i, __global ushort* p) {                        \
        CAT(vstore, N)(CAT(bf16_of, N)(x), i, p);                                                         \
    }                                                                                                     \
    static inline CAT(float, N) CAT(rt, N)(CAT(float, N) x) {                                             \
        return CAT(as_float, N)(CAT(convert_uint, N)(CAT(bf16_of, N)(x)) << 16);                          \
    }
BF16_VEC(2)
BF16_VEC(4)
BF16_VEC(8)
BF16_VEC(16)
#elif defined(VIT4J_STORAGE_F16)
typedef half store_t;
static inline float ld1(size_t i, const __global half* p) { return vload_half(i, p); }
static inline void st1(float x, size_t i, __global half* p) { vstore_half_rte(x, i, p); }
static inline float rt1(float x) {
    ushort h[1]; // half values may only sit behind pointers without cl_khr_fp16: ushort storage
    vstore_half_rte(x, 0, (__private half*) h);
    return vload_half(0, (const __private half*) h);
}
static inline void cp1(size_t i, const __global half* p, size_t j, __global half* q) {
    ((__global ushort*) q)[j] = ((const __global ushort*) p)[i]; // the 16 bits, no half value touched
}
#define F16_VEC(N)                                                                                        \
    static inline CAT(float, N) CAT(ld, N)(size_t i, const __global half* p) {                            \
        return CAT(vload_half, N)(i, p);                                                                  \
    }                                                                                                     \
    static inline void CAT(st, N)(CAT(float, N) x, size_t i, __global half* p) {                          \
        CAT(CAT(vstore_half, N), _rte)(x, i, p);                                                          \
    }                                                                                                     \
    static inline CAT(float, N) CAT(rt, N)(CAT(float, N) x) {                                             \
        ushort h[N];                                                                                      \
        CAT(CAT(vstore_half, N), _rte)(x, 0, (__private half*) h);                                        \
        return CAT(vload_half, N)(0, (const __private half*) h);                                          \
    }
F16_VEC(2)
F16_VEC(4)
F16_VEC(8)
F16_VEC(16)
#elif defined(VIT4J_STORAGE_F32)
typedef float store_t;
static inline float ld1(size_t i, const __global float* p) { return p[i]; }
static inline void st1(float x, size_t i, __global float* p) { p[i] = x; }
static inline float rt1(float x) { return x; }
static inline void cp1(size_t i, const __global float* p, size_t j, __global float* q) { q[j] = p[i]; }
// Where the compiler is clang (PoCL, and most drivers), stores go through a vector type aligned like a
// float (so any float address is fine): PoCL 3.1 splits a vstore16 into four 128-bit stores, this is one
// unaligned full-width store. Other compilers keep vstoreN.
#ifdef __clang__
#define F32_STORE(N)                                                                                      \
    typedef float CAT(CAT(float, N), _unaligned) __attribute__((ext_vector_type(N), aligned(4)));          \
    static inline void CAT(st, N)(CAT(float, N) x, size_t i, __global float* p) {                         \
        *(__global CAT(CAT(float, N), _unaligned)*) (p + (size_t) N * i) = x;                             \
    }
#else
#define F32_STORE(N)                                                                                      \
    static inline void CAT(st, N)(CAT(float, N) x, size_t i, __global float* p) { CAT(vstore, N)(x, i, p); }
#endif
#define F32_VEC(N)                                                                                        \
    static inline CAT(float, N) CAT(ld, N)(size_t i, const __global float* p) { return CAT(vload, N)(i, p); } \
    F32_STORE(N)                                                                                          \
    static inline CAT(float, N) CAT(rt, N)(CAT(float, N) x) { return x; }
F32_VEC(2)
F32_VEC(4)
F32_VEC(8)
F32_VEC(16)
#else
#error "define one of VIT4J_STORAGE_F32, VIT4J_STORAGE_BF16, VIT4J_STORAGE_F16 (ClRuntime does)"
#endif

// ---- GELU ------------------------------------------------------------------------------------

// The exact GELU, x * Phi(x) = x / 2 * erfc(-x / sqrt 2) (the erf form, not tanh). The choices:
// - Phi(-|x|) = erfc(z) / 2, z = |x| / sqrt 2, not (1 + erf) / 2: for negative x, 1 + erf cancels to a
//   few correct bits (1% off at x = -4), while erfc keeps full relative precision in the tail. Then
//   GELU(x) = x Phi(-|x|) for x < 0 and x - x Phi(-|x|) for x >= 0.
// - Phi(-|x|) = t R(t) exp(-z^2), t = 1 / (1 + p z): R(t) = erfcx(z) / (2t) is smooth on t in (0, 1]
//   (erfcx = erfc exp(z^2)), so a polynomial fits it to a small relative error, and R's relative
//   error is Phi's. Degree 7 at p = 0.428 (Lawson-weighted least squares over z in [0, 9.5]; relative
//   error 9.5e-8 in double); the whole GELU in float then comes to 4.7e-7 relative, 6.9 ulp, at most on
//   [-13.2, 12], as the degree-10 fit at p = 1/2 it replaced (4.3e-7, 6.7 ulp): past degree 7 the exp
//   and the roundings dominate. Fit and check: scripts/python/gelu_fit.py. The 1/2 sits in R, and
//   exp(-x^2/2)'s low part in exp's reduced argument (below): a float16 GELU in linear_v5 is 27.5
//   multiplies and fmas instead of 33.6 (objdump of PoCL's build, per GELU), which the FMA loop
//   competes for. fc1's epilogue was 14% of its time in a ViT-S b8 pass (perf samples, Zen 5,
//   2026-12-04; the loop 86%); fc1 1.3% faster alone, 1.9% in the pass
//   (bench/results/2026-12-04-gelu-degree7-zen5.txt). (Numerical Recipes' erfc(z) =
//   t exp(-z^2 - 1.26551223 + t P(t)) has two exps: one exp measured 148 -> 156 GFLOP/s on ViT-S fc1,
//   2026-11-28.)
//   It is plain arithmetic and one exp, so it vectorises: PoCL's built-in erfc costs 66 ns per
//   scalar call, which made the GELU epilogue a third of the first MLP layer. The macros work on
//   float and every floatN. (native_recip plus a Newton step for t measured no faster, twice.)
// exp(-x^2 / 2), gelu_exp_nhsq: x^2 = hi + lo exactly, hi = fl(x * x), lo = fma(x, x, -hi), and
// exp(-hi/2 - lo/2): -hi/2 is exact, so the reduction below starts from an exact argument, and -lo/2
// (|lo/2| < 5e-6 next to |r| <= 0.35) joins the reduced argument r in one fma. One exp of the rounded
// -x^2/2 would lose 1e-5 of the result deep in the tail (x = -11.6).
// Inline, not PoCL 3.1's exp (a longer sequence with range checks per 8-lane half; ~2% of fc1 by perf
// samples, 2026-12-03). Cody-Waite: n = rint(y / ln 2) by the 1.5 * 2^23 trick, r = y - n ln 2 in two
// fmas (ln 2's high part has 15 bits, so n * hi is exact for |n| < 2^9), e^r = 1 + r + r^2 q(r) with
// q of degree 4 (weighted least squares on |r| <= ln 2 / 2: 3.6e-9 relative in double, 6.5e-8 in
// float), then times 2^n as two halves 2^(n/2) 2^(n - n/2), so results below 2^-126 round once
// into the subnormals as exp's do. y below -104 (exp rounds to 0) is clamped first; NaN stays NaN.
// One function per vector width, by clang's overloadable attribute (PoCL and the other clang-based
// OpenCL compilers); elsewhere the built-in exp.
#if defined(__clang__)
#define GELU_EXP_DEF(N)                                                                                   \
    static inline CAT(float, N) __attribute__((overloadable)) gelu_exp_nhsq(CAT(float, N) x) {            \
        const CAT(float, N) hi = x * x, lo = fma(x, x, -hi), y = -0.5f * hi;                              \
        const CAT(float, N) yc = select(y, (CAT(float, N)) (-104.0f), y < (CAT(float, N)) (-104.0f));     \
        const CAT(float, N) t = fma(yc, (CAT(float, N)) (1.44269504f), (CAT(float, N)) (0x1.8p23f));     \
        const CAT(float, N) n = t - (CAT(float, N)) (0x1.8p23f);                                          \
        CAT(float, N) r = fma(n, (CAT(float, N)) (-0x1.62e4p-1f), yc);                                    \
        r = fma(n, (CAT(float, N)) (-1.42860677e-6f), r);                                                 \
        r = fma(lo, (CAT(float, N)) (-0.5f), r);                                                          \
        CAT(float, N) q = fma(r, (CAT(float, N)) (0.00137514086f), (CAT(float, N)) (0.00836891867f));     \
        q = fma(q, r, (CAT(float, N)) (0.0416695327f));                                                   \
        q = fma(q, r, (CAT(float, N)) (0.166665182f));                                                    \
        q = fma(q, r, (CAT(float, N)) (0.499999881f));                                                    \
        const CAT(float, N) p = fma(r * r, q, r) + (CAT(float, N)) (1.0f);                                \
        const CAT(int, N) ni = CAT(as_int, N)(t) - 0x4B400000, n1 = ni >> 1, n2 = ni - n1;                \
        return p * CAT(as_float, N)((n1 + 127) << 23) * CAT(as_float, N)((n2 + 127) << 23);              \
    }
GELU_EXP_DEF()
GELU_EXP_DEF(2)
GELU_EXP_DEF(4)
GELU_EXP_DEF(8)
GELU_EXP_DEF(16)
#else
#define gelu_exp_nhsq(x) (exp(-0.5f * ((x) * (x))) * fma(-0.5f, fma((x), (x), -((x) * (x))), 1.0f))
#endif

// Phi(-|x|) from t = 1 / (1 + p |x| / sqrt 2), p / sqrt 2 = 0.30264169 (above)
#define PHI_OF_MINUS_ABS_X(x, t) ((t) * (0.12068855f + (t) * (0.121704467f + (t) * (0.101479694f + (t) * (0.125566959f + \
    (t) * (-0.0473205559f + (t) * (0.197740465f + (t) * (-0.156434879f + (t) * 0.0365752541f))))))) * gelu_exp_nhsq(x))
// x Phi(x) = x - x Phi(-|x|) for x >= 0. (x (1 - Phi(-|x|)) after a select, one multiply fewer, measured
// 2% slower on ViT-S fc1 alone, 2026-12-04: bench/results/2026-12-04-gelu-degree7-zen5.txt.)
#define GELU_FROM_PHI(x, e) ((x) >= 0.0f ? fma(-(x), (e), (x)) : (x) * (e))
#define GELU(x) GELU_FROM_PHI((x), PHI_OF_MINUS_ABS_X((x), 1.0f / (1.0f + 0.30264169f * fabs(x))))

// ---- Grouped work-group order (linear_v5, patch_embed_v4) --------------------------------------
// A CPU GEMM's range is (row work-items, panels): dimension 0 walks down M with one packed panel of
// the weight. PoCL's threads take work-groups in the order of their linear id, dimension 0 first, so
// in the plain order every panel meets all of A, and A comes from L3 once per panel. Grouped (Triton's
// GROUP_SIZE_M), the linear id walks `group` row work-groups through every panel, then the next
// `group`: those rows of A stay in L2 across the panels, and the weight is read once per group of rows
// instead. group = the number of row work-groups is the plain order. The host picks it
// (LinearOps.v5Group: the order with the fewer bytes from beyond L2). Gives this work-group's
// (row work-group, panel).
static inline int2 grouped_work_group(int group) {
    const int rgroups = get_num_groups(0), in_group = group * get_num_groups(1);
    const int pid = get_group_id(0) + rgroups * get_group_id(1);
    const int first = pid / in_group * group, size = min(rgroups - first, group);
    return (int2) (first + pid % in_group % size, pid % in_group / size);
}
