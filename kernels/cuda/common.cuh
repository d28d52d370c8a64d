// Shared pieces of vit4j's CUDA kernels: the storage types and their loads and stores (the one place
// the precision is picked), the exact GELU, alignment tests, warp reductions, the tiled-GEMM main loop
// that linear.cu and patch_embed.cu both run (they differ only in how the A operand is read and how the
// result is stored), the one launch macro (VIT4J_LAUNCH: <<<>>> under nvcc, native/cudacpu's CPU
// runtime under any other compiler), and, under VIT4J_STANDALONE, the host helpers the standalone
// checks share (random inputs, NaN poisoning, relative L2 error, cudaEvent timing).
//
// Tile sizes live where the op lives: the GEMM tile here (GEMM_*), mirrored in
// src/main/java/org/vit4j/backend/cuda/CudaKernels.java (Gemm.*); the others in their .cu files.
#pragma once

#include <cstdint>
#include <type_traits>
#if defined(__CUDACC__)
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
// One launch syntax for both compilers: VIT4J_LAUNCH(kernel, grid, block, sharedBytes)(args...).
#define VIT4J_LAUNCH(kernel, grid, block, shared) kernel<<<(grid), (block), (shared)>>>
#define VIT4J_DYNAMIC_SHARED(type, name) extern __shared__ __align__(16) type name[]
#else
// Any other compiler: the kernels run on the CPU, each CUDA thread a fiber (native/cudacpu).
#include "cuda_cpu.h"
#define VIT4J_LAUNCH(kernel, grid, block, shared) ::vit4j_cpu::launcher(#kernel, kernel, (grid), (block), (shared))
#endif

// ---- storage types ----------------------------------------------------------------------------
// Every kernel is written once, templated on its storage type T (float, __nv_bfloat16 or __half), and
// computes in float: ld/ld4 widen what they read, st/st4 round what they write to T (to nearest even),
// once per output element. That is where ElementType's rounding points live on the device
// (src/main/java/org/vit4j/ElementType.java): an op rounds its final value only (a fused epilogue
// after bias, GELU and residual; attention its output; add_layernorm its sum, which it then
// normalises as stored).
//
// VIT4J_FOR_EACH_DTYPE(X) calls X(T, SUFFIX) once per storage type. Each kernel file defines its
// `extern "C"` entry points in one macro of (T, S), named name##S, and instantiates it with this, so
// every kernel exists as name (float: the fp32 names of old), name_bf16 and name_f16. Two readers
// depend on this exact shape: native/cudacpu/cudacpu.cmake (which registers the cuda-cpu kernels) and
// CudaKernelsTest (which checks the Java launch plans against the sources); CudaKernels.suffix gives
// the same suffixes in Java.
#define VIT4J_FOR_EACH_DTYPE(X) X(float, ) X(__nv_bfloat16, _bf16) X(__half, _f16)
// The 16-bit types alone, for kernels that exist only in them (the tensor-core GEMM of linear.cu): such a
// kernel's macro names it name##H and is instantiated with this (name_bf16, name_f16); the same two
// readers know it.
#define VIT4J_FOR_EACH_HALF_DTYPE(X) X(__nv_bfloat16, _bf16) X(__half, _f16)

namespace vit4j {

// Widening, exact: a stored value as float.
__host__ __device__ __forceinline__ float to_f(float x) { return x; }
__host__ __device__ __forceinline__ float to_f(__nv_bfloat16 x) { return __bfloat162float(x); }
__host__ __device__ __forceinline__ float to_f(__half x) { return __half2float(x); }

// Narrowing, rounded to nearest even (NaN stays NaN, overflow gives infinity).
template <class T> __host__ __device__ __forceinline__ T from_f(float x);
template <> __host__ __device__ __forceinline__ float from_f<float>(float x) { return x; }
template <> __host__ __device__ __forceinline__ __nv_bfloat16 from_f<__nv_bfloat16>(float x) { return __float2bfloat16_rn(x); }
template <> __host__ __device__ __forceinline__ __half from_f<__half>(float x) { return __float2half_rn(x); }

// x as T would store it, back as float: what a later read of the stored value gives.
template <class T> __host__ __device__ __forceinline__ float rounded(float x) { return to_f(from_f<T>(x)); }

// One element.
template <class T> __device__ __forceinline__ float ld(const T* p) { return to_f(*p); }
template <class T> __device__ __forceinline__ void st(T* p, float v) { *p = from_f<T>(v); }

// Four consecutive elements as one access: a float4 (16 bytes) for float, a uint2 (8 bytes: two
// elements per 32-bit word, the lower address in the low half) for the 16-bit types. p must be
// 4 * sizeof(T) aligned: test the base pointer with aligned4<T>, uniformly for the whole grid.
template <class T> __device__ __forceinline__ bool aligned4(const void* p) {
    return (reinterpret_cast<uintptr_t>(p) & (4 * sizeof(T) - 1)) == 0;
}
// The bytes of 4 elements, for copies that convert nothing.
template <class T> using raw4 = typename std::conditional<sizeof(T) == 4, float4, uint2>::type;
__device__ __forceinline__ float4 ld4(const float* p) { return *reinterpret_cast<const float4*>(p); }
__device__ __forceinline__ float4 ld4(const __nv_bfloat16* p) {
    const uint2 u = *reinterpret_cast<const uint2*>(p); // bf16 is the high half of a float: a shift widens it
    return make_float4(__uint_as_float(u.x << 16), __uint_as_float(u.x & 0xffff0000u), __uint_as_float(u.y << 16),
                       __uint_as_float(u.y & 0xffff0000u));
}
__device__ __forceinline__ float4 ld4(const __half* p) {
    const uint2 u = *reinterpret_cast<const uint2*>(p);
    return make_float4(__half2float(__ushort_as_half((unsigned short) (u.x & 0xffffu))),
                       __half2float(__ushort_as_half((unsigned short) (u.x >> 16))),
                       __half2float(__ushort_as_half((unsigned short) (u.y & 0xffffu))),
                       __half2float(__ushort_as_half((unsigned short) (u.y >> 16))));
}
__device__ __forceinline__ unsigned pack2(__nv_bfloat16 lo, __nv_bfloat16 hi) {
    return (unsigned) __bfloat16_as_ushort(lo) | ((unsigned) __bfloat16_as_ushort(hi) << 16);
}
__device__ __forceinline__ unsigned pack2(__half lo, __half hi) {
    return (unsigned) __half_as_ushort(lo) | ((unsigned) __half_as_ushort(hi) << 16);
}
__device__ __forceinline__ void st4(float* p, float4 v) { *reinterpret_cast<float4*>(p) = v; }
template <class T> __device__ __forceinline__ void st4(T* p, float4 v) {
    *reinterpret_cast<uint2*>(p) = make_uint2(pack2(from_f<T>(v.x), from_f<T>(v.y)), pack2(from_f<T>(v.z), from_f<T>(v.w)));
}
// The same through 4 scalar accesses where alignment is not known (vec false).
template <class T> __device__ __forceinline__ float4 ld4(const T* p, bool vec) {
    if (vec) return ld4(p);
    return make_float4(ld(p), ld(p + 1), ld(p + 2), ld(p + 3));
}
template <class T> __device__ __forceinline__ void st4(T* p, float4 v, bool vec) {
    if (vec) {
        st4(p, v);
    } else {
        st(p, v.x);
        st(p + 1, v.y);
        st(p + 2, v.z);
        st(p + 3, v.w);
    }
}

// ---- math -----------------------------------------------------------------------------------

// GELU(x) = x * Phi(x), exact (erf, not tanh), written as x / 2 * erfc(-x / sqrt 2): for negative x,
// 1 + erf(x / sqrt 2) cancels to a few correct bits, erfc keeps full relative precision.
__device__ __forceinline__ float gelu_exact(float x) {
    return 0.5f * x * erfcf(-x * 0.70710678118654752f);
}

// A uniform test, the same for the whole grid: may this pointer be read as float4?
__device__ __forceinline__ bool aligned16(const void* p) {
    return (reinterpret_cast<uintptr_t>(p) & 15u) == 0;
}

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// ---- tiled SGEMM main loop ------------------------------------------------------------------
// C tile [GEMM_BM, GEMM_BN] of C = A . W^T, where both operands are K-contiguous ("NT": A is
// [M, K], W is PyTorch's [N, K]). Tricks, by name:
//  * shared-memory tiling: a BM x BK slab of A and a BN x BK slab of W are staged in shared memory,
//    so each global element is read once per block instead of once per output;
//  * transposed staging: the slabs are stored k-major (As[k][m]), so the inner loop reads a row
//    fragment of A and a column fragment of W as one float4 each (LDS.128);
//  * register blocking: each thread owns a GEMM_TM x GEMM_TN block of C in registers; per k it does
//    TM*TN FMAs for TM/4 + TN/4 shared loads;
//  * vector global loads (4 elements: 16 bytes of float, 8 of bf16/fp16) when the loader says
//    alignment allows, else a scalar path; the slabs hold float whatever the storage type, widened
//    as they are staged, so the inner loop is the same for every type;
//  * register prefetch: the next K slab is loaded into registers before the FMAs on the current
//    one run, so global latency hides behind the math;
//  * padding: rows of the staged slabs are GEMM_BM + 4 floats, which keeps float4 alignment and
//    turns the 4-way bank conflict of the transposed stores into 2-way.
// Each thread loads exactly one float4 of A and one of W per slab: BM * BK / 4 == threads.
constexpr int GEMM_BM = 64;
constexpr int GEMM_BN = 64;
constexpr int GEMM_BK = 16;
constexpr int GEMM_TM = 4;
constexpr int GEMM_TN = 4;
constexpr int GEMM_THREADS = (GEMM_BM / GEMM_TM) * (GEMM_BN / GEMM_TN); // 256
constexpr int GEMM_LDS = GEMM_BM + 4;
static_assert(GEMM_BM == GEMM_BN, "the staging code loads A and W slabs with one thread mapping");
static_assert(GEMM_BM * GEMM_BK / 4 == GEMM_THREADS, "one quad (4 elements) of each operand per thread per slab");
static_assert(GEMM_TM == 4 && GEMM_TN == 4, "the inner loop reads one float4 fragment of each operand");

// Loads 4 consecutive k of one row of a row-major [rows, K] operand of storage type T, widened to
// float, zeros past either edge.
template <class T>
struct RowMajorLoader {
    const T* p;
    int rows, K;
    bool vec; // K % 4 == 0 and aligned4<T>(p): every quad is aligned and all-in or all-out

    __device__ __forceinline__ float4 operator()(int r, int k) const {
        float4 v = make_float4(0.f, 0.f, 0.f, 0.f);
        if (r >= rows) return v;
        const T* src = p + (long long) r * K + k;
        if (vec) {
            if (k < K) v = ld4(src);
        } else {
            if (k + 0 < K) v.x = ld(src + 0);
            if (k + 1 < K) v.y = ld(src + 1);
            if (k + 2 < K) v.z = ld(src + 2);
            if (k + 3 < K) v.w = ld(src + 3);
        }
        return v;
    }
};
template <class T>
__device__ __forceinline__ RowMajorLoader<T> row_major(const T* p, int rows, int K) {
    return RowMajorLoader<T>{p, rows, K, (K & 3) == 0 && aligned4<T>(p)};
}

// Runs the main loop for this block's tile and hands every in-range result to store(m, n, value), the
// float accumulator: the store adds its epilogue and rounds once to the output's type.
// LoadA and LoadW: (row, k) -> float4 of k..k+3, zero past the edges. Call with blockDim = GEMM_THREADS.
template <class LoadA, class LoadW, class Store>
__device__ __forceinline__ void gemm_tile(const LoadA& loadA, const LoadW& loadW, int M, int N, int K,
                                          const Store& store) {
    __shared__ __align__(16) float As[GEMM_BK][GEMM_LDS];
    __shared__ __align__(16) float Ws[GEMM_BK][GEMM_LDS];

    const int tid = threadIdx.x;
    const int tx = tid % (GEMM_BN / GEMM_TN); // column group of C
    const int ty = tid / (GEMM_BN / GEMM_TN); // row group of C
    const int lr = tid / (GEMM_BK / 4);       // staging: row of the slab this thread loads
    const int lk = (tid % (GEMM_BK / 4)) * 4; // staging: first k of its quad
    const int m0 = blockIdx.y * GEMM_BM;
    const int n0 = blockIdx.x * GEMM_BN;

    float acc[GEMM_TM][GEMM_TN];
#pragma unroll
    for (int i = 0; i < GEMM_TM; i++)
#pragma unroll
        for (int j = 0; j < GEMM_TN; j++) acc[i][j] = 0.f;

    float4 a_next = loadA(m0 + lr, lk);
    float4 w_next = loadW(n0 + lr, lk);
    for (int k0 = 0; k0 < K; k0 += GEMM_BK) {
        // transposed staging: As[k][m]
        As[lk + 0][lr] = a_next.x;
        As[lk + 1][lr] = a_next.y;
        As[lk + 2][lr] = a_next.z;
        As[lk + 3][lr] = a_next.w;
        Ws[lk + 0][lr] = w_next.x;
        Ws[lk + 1][lr] = w_next.y;
        Ws[lk + 2][lr] = w_next.z;
        Ws[lk + 3][lr] = w_next.w;
        __syncthreads();
        // register prefetch of the next slab: in flight while the FMAs below run
        if (k0 + GEMM_BK < K) {
            a_next = loadA(m0 + lr, k0 + GEMM_BK + lk);
            w_next = loadW(n0 + lr, k0 + GEMM_BK + lk);
        }
#pragma unroll
        for (int kk = 0; kk < GEMM_BK; kk++) {
            const float4 a = *reinterpret_cast<const float4*>(&As[kk][ty * GEMM_TM]);
            const float4 b = *reinterpret_cast<const float4*>(&Ws[kk][tx * GEMM_TN]);
            const float av[4] = {a.x, a.y, a.z, a.w};
            const float bv[4] = {b.x, b.y, b.z, b.w};
#pragma unroll
            for (int i = 0; i < GEMM_TM; i++)
#pragma unroll
                for (int j = 0; j < GEMM_TN; j++) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
        }
        __syncthreads(); // the slab is consumed before the next one overwrites it
    }

    // Epilogue: each thread stores 4 consecutive columns of 4 rows; 16 threads cover 64 contiguous
    // floats of a row, so the stores coalesce.
#pragma unroll
    for (int i = 0; i < GEMM_TM; i++) {
        const int m = m0 + ty * GEMM_TM + i;
        if (m >= M) continue;
#pragma unroll
        for (int j = 0; j < GEMM_TN; j++) {
            const int n = n0 + tx * GEMM_TN + j;
            if (n < N) store(m, n, acc[i][j]);
        }
    }
}

} // namespace vit4j

// ---- standalone checks (host) ---------------------------------------------------------------
#ifdef VIT4J_STANDALONE
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#define CUDA_CHECK(call)                                                                           \
    do {                                                                                           \
        cudaError_t err_ = (call);                                                                 \
        if (err_ != cudaSuccess) {                                                                 \
            std::fprintf(stderr, "CUDA error %s at %s:%d: %s\n", cudaGetErrorName(err_), __FILE__, \
                         __LINE__, cudaGetErrorString(err_));                                      \
            std::exit(2);                                                                          \
        }                                                                                          \
    } while (0)

namespace sa {

inline unsigned long long& rng_state() {
    static unsigned long long s = 0x9E3779B97F4A7C15ull;
    return s;
}

// Uniform in [-scale, scale], never exactly zero (a zero input would hide a missed term).
inline float rand_nonzero(float scale = 1.0f) {
    for (;;) {
        unsigned long long& s = rng_state();
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        float u = (float) ((s >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
        if (u != 0.0f) return u * scale;
    }
}

inline std::vector<float> random_vec(size_t n, float scale = 1.0f) {
    std::vector<float> v(n);
    for (auto& x : v) x = rand_nonzero(scale);
    return v;
}

inline float* to_device(const std::vector<float>& h) {
    float* d = nullptr;
    CUDA_CHECK(cudaMalloc(&d, (h.size() > 0 ? h.size() : 1) * sizeof(float)));
    if (!h.empty()) CUDA_CHECK(cudaMemcpy(d, h.data(), h.size() * sizeof(float), cudaMemcpyHostToDevice));
    return d;
}

// All bits set is a NaN (in float, bf16 and fp16 alike): an element the kernel fails to write fails the check.
template <class T = float>
inline T* poisoned(size_t n) {
    T* d = nullptr;
    CUDA_CHECK(cudaMalloc(&d, (n > 0 ? n : 1) * sizeof(T)));
    CUDA_CHECK(cudaMemset(d, 0xFF, (n > 0 ? n : 1) * sizeof(T)));
    return d;
}

// The device's T values, widened to float.
template <class T>
inline std::vector<float> to_host(const T* d, size_t n) {
    std::vector<T> t(n);
    CUDA_CHECK(cudaMemcpy(t.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost));
    std::vector<float> h(n);
    for (size_t i = 0; i < n; i++) h[i] = vit4j::to_f(t[i]);
    return h;
}

// ---- the half-precision instantiations: inputs rounded to T once on the host; the double
// reference is computed from those rounded values (and rounds where the kernel must, e.g. the sum of
// add_layernorm), so what remains is the kernel's float arithmetic and its one rounding per output.

// h rounded to T, as float: the values the kernel will read.
template <class T>
inline std::vector<float> rounded(const std::vector<float>& h) {
    std::vector<float> r(h.size());
    for (size_t i = 0; i < h.size(); i++) r[i] = vit4j::rounded<T>(h[i]);
    return r;
}

// h rounded to T and uploaded as T.
template <class T>
inline T* to_device_as(const std::vector<float>& h) {
    std::vector<T> t(h.size());
    for (size_t i = 0; i < h.size(); i++) t[i] = vit4j::from_f<T>(h[i]);
    T* d = nullptr;
    CUDA_CHECK(cudaMalloc(&d, (h.size() > 0 ? h.size() : 1) * sizeof(T)));
    if (!h.empty()) CUDA_CHECK(cudaMemcpy(d, t.data(), t.size() * sizeof(T), cudaMemcpyHostToDevice));
    return d;
}

template <class T> inline const char* dtype_name();
template <> inline const char* dtype_name<float>() { return "fp32"; }
template <> inline const char* dtype_name<__nv_bfloat16>() { return "bf16"; }
template <> inline const char* dtype_name<__half>() { return "fp16"; }

// The relative L2 budget of a check in storage type T against its double reference: fp32 1e-5; the
// half types, whose outputs are rounded once (relative error up to 2^-9 for bf16, 2^-12 for fp16 per
// element), loosely: bf16 1e-2, fp16 2e-3.
template <class T> inline double tolerance();
template <> inline double tolerance<float>() { return 1e-5; }
template <> inline double tolerance<__nv_bfloat16>() { return 1e-2; }
template <> inline double tolerance<__half>() { return 2e-3; }

// ||got - want|| / ||want|| in double; NaN anywhere makes it NaN (and fails the check).
inline double rel_l2(const std::vector<float>& got, const std::vector<double>& want) {
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < want.size(); i++) {
        double d = (double) got[i] - want[i];
        num += d * d;
        den += want[i] * want[i];
    }
    return std::sqrt(num / (den > 0.0 ? den : 1.0));
}

// One unit in the last place of T at |v| (fp32: 24 significant bits, bf16: 8, fp16: 11, fp16's
// subnormals from 2^-24).
template <class T>
inline double ulp_of(double v) {
    const int bits = std::is_same<T, float>::value ? 24 : std::is_same<T, __half>::value ? 11 : 8;
    const double a = std::fabs(v);
    const int e = a > 0 ? std::ilogb(a) : -126;
    double u = std::ldexp(1.0, e - (bits - 1));
    if (std::is_same<T, __half>::value && u < std::ldexp(1.0, -24)) u = std::ldexp(1.0, -24);
    return u;
}

// Beyond relative L2: the elements farther than one unit in the last place of T from the double
// reference (what one rounding of an exact value allows), with a slack of `slack` times the outputs'
// RMS for the kernel's own float arithmetic. NaN counts.
template <class T>
inline int outside_one_ulp(const std::vector<float>& got, const std::vector<double>& want, double slack) {
    double rms = 0;
    for (double w : want) rms += w * w;
    rms = std::sqrt(rms / (want.empty() ? 1 : want.size()));
    int bad = 0;
    for (size_t i = 0; i < want.size(); i++) {
        const double err = std::fabs((double) got[i] - want[i]);
        if (!(err <= ulp_of<T>(want[i]) + slack * rms)) bad++;
    }
    return bad;
}

inline int& failures() {
    static int f = 0;
    return f;
}

// Prints one line per check; tolerance 1e-5 (fp32 with double reference).
inline void report(const char* what, double err, double tol = 1e-5) {
    bool ok = err <= tol; // false for NaN
    if (!ok) failures()++;
    std::printf("  %-58s rel L2 %.3e  %s\n", what, err, ok ? "ok" : "FAIL");
}

// Timing runs on a GPU; on the CPU runtime only where VIT4J_CUDA_CPU_TIMING=1 (it is slow and means nothing there).
inline bool timing() {
#if defined(__CUDACC__)
    return true;
#else
    const char* e = std::getenv("VIT4J_CUDA_CPU_TIMING");
    return e != nullptr && std::strcmp(e, "1") == 0;
#endif
}

// Mean milliseconds per launch of fn() over `reps` launches after `warm` warm-up launches.
template <class F>
inline float time_ms(F fn, int warm = 3, int reps = 20) {
    for (int i = 0; i < warm; i++) fn();
    CUDA_CHECK(cudaGetLastError());
    cudaEvent_t a, b;
    CUDA_CHECK(cudaEventCreate(&a));
    CUDA_CHECK(cudaEventCreate(&b));
    CUDA_CHECK(cudaEventRecord(a));
    for (int i = 0; i < reps; i++) fn();
    CUDA_CHECK(cudaEventRecord(b));
    CUDA_CHECK(cudaEventSynchronize(b));
    CUDA_CHECK(cudaGetLastError());
    float ms = 0.f;
    CUDA_CHECK(cudaEventElapsedTime(&ms, a, b));
    CUDA_CHECK(cudaEventDestroy(a));
    CUDA_CHECK(cudaEventDestroy(b));
    return ms / reps;
}

inline int finish(const char* name) {
    if (cudaPeekAtLastError() != cudaSuccess) {
        std::printf("%s: a launch failed: %s\n", name, cudaGetErrorString(cudaPeekAtLastError()));
        failures()++;
    }
    if (failures() == 0) {
        std::printf("%s: all checks passed\n", name);
        return 0;
    }
    std::printf("%s: %d check(s) FAILED\n", name, failures());
    return 1;
}

inline unsigned ceil_div(long long a, long long b) {
    return (unsigned) ((a + b - 1) / b);
}

} // namespace sa
#endif // VIT4J_STANDALONE
