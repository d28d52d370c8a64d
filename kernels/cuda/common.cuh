// Shared pieces of vit4j's CUDA kernels: the exact GELU, alignment tests, warp reductions, the
// tiled-GEMM main loop that linear.cu and patch_embed.cu both run (they differ only in how the A
// operand is read and how the result is stored), the one launch macro (VIT4J_LAUNCH: <<<>>> under nvcc,
// native/cudacpu's CPU runtime under any other compiler), and, under VIT4J_STANDALONE, the host helpers the
// standalone checks share (random inputs, NaN poisoning, relative L2 error, cudaEvent timing).
//
// Tile sizes live where the op lives: the GEMM tile here (GEMM_*), mirrored in
// src/main/java/org/vit4j/backend/cuda/CudaKernels.java (Gemm.*); the others in their .cu files.
#pragma once

#include <cstdint>
#if defined(__CUDACC__)
#include <cuda_runtime.h>
// One launch syntax for both compilers: VIT4J_LAUNCH(kernel, grid, block, sharedBytes)(args...).
#define VIT4J_LAUNCH(kernel, grid, block, shared) kernel<<<(grid), (block), (shared)>>>
#define VIT4J_DYNAMIC_SHARED(type, name) extern __shared__ __align__(16) type name[]
#else
// Any other compiler: the kernels run on the CPU, each CUDA thread a fiber (native/cudacpu).
#include "cuda_cpu.h"
#define VIT4J_LAUNCH(kernel, grid, block, shared) ::vit4j_cpu::launcher(#kernel, kernel, (grid), (block), (shared))
#endif

namespace vit4j {

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
//  * float4 global loads (16 bytes) when the loader says alignment allows, else a scalar path;
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
static_assert(GEMM_BM * GEMM_BK / 4 == GEMM_THREADS, "one float4 of each operand per thread per slab");
static_assert(GEMM_TM == 4 && GEMM_TN == 4, "the inner loop reads one float4 fragment of each operand");

// Loads 4 consecutive k of one row of a row-major [rows, K] operand, zeros past either edge.
struct RowMajorLoader {
    const float* p;
    int rows, K;
    bool vec; // K % 4 == 0 and p 16-byte aligned: every quad is aligned and all-in or all-out

    __device__ __forceinline__ float4 operator()(int r, int k) const {
        float4 v = make_float4(0.f, 0.f, 0.f, 0.f);
        if (r >= rows) return v;
        const float* src = p + (long long) r * K + k;
        if (vec) {
            if (k < K) v = *reinterpret_cast<const float4*>(src);
        } else {
            if (k + 0 < K) v.x = src[0];
            if (k + 1 < K) v.y = src[1];
            if (k + 2 < K) v.z = src[2];
            if (k + 3 < K) v.w = src[3];
        }
        return v;
    }
};

// Runs the main loop for this block's tile and hands every in-range result to store(m, n, value).
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

// All bits set is a NaN: an element the kernel fails to write fails the check.
inline float* poisoned(size_t n) {
    float* d = nullptr;
    CUDA_CHECK(cudaMalloc(&d, (n > 0 ? n : 1) * sizeof(float)));
    CUDA_CHECK(cudaMemset(d, 0xFF, (n > 0 ? n : 1) * sizeof(float)));
    return d;
}

inline std::vector<float> to_host(const float* d, size_t n) {
    std::vector<float> h(n);
    CUDA_CHECK(cudaMemcpy(h.data(), d, n * sizeof(float), cudaMemcpyDeviceToHost));
    return h;
}

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
