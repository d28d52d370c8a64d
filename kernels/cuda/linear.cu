// Linear layers: C[M, N] = epilogue(A[M, K] . W[N, K]^T), W in PyTorch's [out, in] layout.
// FLOPs 2*M*N*K; least bytes 4*(M*K + N*K + M*N) (+ 4*N for a bias, + 4*M*N for a residual).
// CPU reference: CpuBackend.linear / CpuBackend.linearQkv (src/main/java/org/vit4j/backend/cpu).
// Launch plans: src/main/java/org/vit4j/backend/cuda/CudaKernels.java (Gemm.* mirrors GEMM_* of
// common.cuh, the one place the tile sizes live).
//
// Build (as the project does):   cmake -S . -B build && cmake --build build   -> build/kernels/linear.fatbin
// Standalone check and timing:   nvcc -DVIT4J_STANDALONE -std=c++17 -O3 -arch=sm_90 kernels/cuda/linear.cu -o /tmp/linear && /tmp/linear
//                                 (-arch=sm_90a for version 4 on an H100/H200; /tmp/linear wg: version 4's
//                                 checks alone, skipped with a line saying so where they cannot run;
//                                 /tmp/linear tc: version 3's checks alone; on the CPU runtime,
//                                 build/sa_linear tc-rejects-bad-k checks that K % 8 != 0 is refused)
//
// Kernels (all take int sizes, any M, N, K: every edge is bounds-checked), each in three storage types
// (VIT4J_FOR_EACH_DTYPE of common.cuh): the name as below for float, name_bf16 and name_f16, computing
// in float and rounding each output once:
//   linear_v1                 version 1, one output per thread, straight from the definition; the
//                             baseline (runtime epilogue argument, row-major output only).
//   linear_v2_none / linear_v2_bias / linear_v2_bias_gelu / linear_v2_bias_residual
//                             version 2, the tiled SGEMM of common.cuh (shared-memory tiles,
//                             4x4 register blocking, vector loads, register prefetch) with the
//                             epilogue fused into the store: no extra pass over C.
//   linear_v2_qkv                version 2 writing straight into the attention layout
//                             qkv [3, B, H, T, D/H]; bias may be null.
//   linear_v3_none / linear_v3_bias / linear_v3_bias_gelu / linear_v3_bias_residual / linear_v3_qkv
//                             version 3, bf16 and fp16 only (name_bf16, name_f16): the same five
//                             kernels, parameters and epilogues on tensor cores (gemm_tc.cuh: mma.sync
//                             m16n8k16 with fp32 accumulators, ldmatrix, a TC_STAGES-deep cp.async
//                             pipeline, swizzled shared memory; every PTX instruction through mma.cuh,
//                             whose fallback runs them on native/cudacpu). Any M and N; K a multiple
//                             of 8 and A, W 16-byte aligned (checked in the kernel; CudaKernels picks
//                             version 2 otherwise). grid (ceil(N/TC_BN), ceil(M/TC_BM)), TC_THREADS.
//   linear_v4_none / linear_v4_bias / linear_v4_bias_gelu / linear_v4_bias_residual / linear_v4_qkv
//                             version 4, bf16 and fp16 only, Hopper (sm_90a): the same five kernels,
//                             parameters and epilogues on warpgroup MMAs (gemm_wg.cuh: wgmma.mma_async
//                             m64nNk16 from 128-byte-swizzled shared memory through matrix descriptors,
//                             a WG_STAGES-deep cp.async pipeline; PTX through wgmma.cuh / mma.cuh, whose
//                             fallbacks run them on native/cudacpu). Same requirements as version 3.
//                             grid (ceil(N/WG_BN), ceil(M/WG_BM)), WG_THREADS, WG_SMEM_BYTES of
//                             dynamic shared memory. In the fatbin as SASS for sm_90a only (elsewhere a
//                             trap): CudaKernels runs it on compute capability 9.0, version 3 elsewhere.
//   linear_v4_tma_none / _bias / _bias_gelu / _bias_residual / _qkv
//                             version 4 with TMA loads (gemm_wg.cuh's gemm_wg_tile_tma: one thread's
//                             cp.async.bulk.tensor.2d per slab and operand onto a per-stage mbarrier,
//                             tma.cuh): the same kernels with A (x) and W passed as tensor maps
//                             (const __grid_constant__ CUtensorMap: row-major [M, K] / [N, K], boxes of
//                             WG_BK x WG_BM / WG_BK x WG_BN, the slabs' swizzle, zero fill) in place of
//                             their pointers; WG_TMA_SMEM_BYTES of dynamic shared memory (an opt-in above
//                             48 KiB). CudaKernels runs these where the driver has tensor maps, else
//                             version 4 as above.
//   linear_v3_small_* / linear_v4_small_* / linear_v4_tma_small_*
//                             the same three families on the small tile (gemm_tc.cuh's TcSmall, TC_SMALL_*;
//                             gemm_wg.cuh's WgSmall, WG_SMALL_*: 64x64), for outputs whose large-tile
//                             blocks would leave multiprocessors idle (ViT at batch 1); CudaKernels.GemmTile
//                             picks the tile per launch. grid and block from that tile's constants.
//   linear_v4_tma_wide_*      version 4 with TMA loads on the wide tile (WgWide, WG_WIDE_*: 128x128, 4 stages,
//                             WG_WIDE_TMA_SMEM_BYTES), run where VIT4J_CUDA_TILE=wide asks for it (a GPU
//                             run measures it against the large tile; not yet a default).
// Epilogues: none; + bias; + bias then exact GELU (0.5x erfc(-x/sqrt2)); + bias + residual, where
// residual MAY ALIAS C: each element of residual is read by the thread that then writes that same
// element of C, so in-place residual adds are safe (hence no __restrict__ on C or residual). The
// epilogue works on the float accumulator; the one rounding to the storage type is the store.
// Least bytes above are for float; the half types halve every term.
#include "common.cuh"
#include "gemm_tc.cuh"
#include "gemm_wg.cuh"

using namespace vit4j;

// Epilogue codes: Epilogue.code() in Java (linear_v1's argument) and EPI_* of kernels/opencl/linear.cl;
// EpilogueCodesTest checks the three agree.
enum Epi { EPI_NONE = 0, EPI_BIAS = 1, EPI_BIAS_GELU = 2, EPI_BIAS_RESIDUAL = 3 };

// ---- version 1: naive baseline ----------------------------------------------------------------
// grid = (ceil(N/16), ceil(M/16)), block = (16, 16). Each output reads a full row of A and of W from
// global memory: 2*K loads per 2*K FLOPs, so it is bound by L1/L2 bandwidth.
template <class T>
__device__ __forceinline__ void linear_naive(const T* A, const T* W, const T* bias, const T* residual, T* C, int M,
                                             int N, int K, int epilogue) {
    const int n = blockIdx.x * blockDim.x + threadIdx.x;
    const int m = blockIdx.y * blockDim.y + threadIdx.y;
    if (m >= M || n >= N) return;
    float acc = 0.f;
    for (int k = 0; k < K; k++) acc = fmaf(ld(A + (long long) m * K + k), ld(W + (long long) n * K + k), acc);
    const long long at = (long long) m * N + n;
    if (epilogue >= EPI_BIAS) acc += ld(bias + n);
    if (epilogue == EPI_BIAS_GELU) acc = gelu_exact(acc);
    if (epilogue == EPI_BIAS_RESIDUAL) acc += ld(residual + at);
    st(C + at, acc);
}

// ---- version 2: tiled SGEMM with fused epilogues ----------------------------------------------
// grid = (ceil(N/GEMM_BN), ceil(M/GEMM_BM)), block = GEMM_THREADS. The main loop is gemm_tile in
// common.cuh; what differs per kernel is only the store.
template <class T, int EPI>
struct RowMajorStore {
    const T* bias;
    const T* residual;
    T* C;
    int N;
    __device__ __forceinline__ void operator()(int m, int n, float v) const {
        const long long at = (long long) m * N + n;
        if (EPI >= EPI_BIAS) v += ld(bias + n);
        if (EPI == EPI_BIAS_GELU) v = gelu_exact(v);
        if (EPI == EPI_BIAS_RESIDUAL) v += ld(residual + at); // read before the write below: may alias C
        st(C + at, v);
    }
};

template <int EPI, class T>
__device__ __forceinline__ void linear_v2(const T* A, const T* W, const T* bias, const T* residual, T* C, int M,
                                          int N, int K) {
    // K % 4 == 0 and an aligned base: every row starts aligned, so quads are whole vector loads
    gemm_tile(row_major(A, M, K), row_major(W, N, K), M, N, K, RowMajorStore<T, EPI>{bias, residual, C, N});
}

// ---- QKV projection into the per-head layout ----------------------------------------------------
// x [B*T, D] . W[3D, D]^T (+ bias [3D] or null) -> qkv [3, B, H, T, hd], hd = D / H. Output column
// n = which*D + h*hd + e of row m = b*T + t goes to ((((which*B + b)*H + h)*T + t)*hd + e). The index
// splits into a column part (which*B*H*T*hd + h*T*hd + e) and a row part (b*H*T*hd + t*hd), so the
// store costs a few integer divisions per element, none per FMA. Attention then reads each head's
// rows contiguously and no transpose kernel runs.
template <class T>
struct QkvStore {
    const T* bias; // may be null
    T* qkv;
    int tokens, heads, hd, D;
    long long plane; // B*H*T*hd: one of q, k, v
    __device__ __forceinline__ void operator()(int m, int n, float v) const {
        if (bias != nullptr) v += ld(bias + n);
        const int which = n / D, rem = n - which * D, h = rem / hd, e = rem - h * hd;
        const int b = m / tokens, t = m - b * tokens;
        const long long at = which * plane + ((long long) (b * heads + h) * tokens + t) * hd + e;
        st(qkv + at, v);
    }
};

// grid = (ceil(3D/GEMM_BN), ceil(B*T/GEMM_BM)), block = GEMM_THREADS; M = B*T, N = 3D, K = D.
template <class T>
__device__ __forceinline__ void linear_qkv_tile(const T* x, const T* W, const T* bias, T* qkv, int batch, int tokens,
                                                int dim, int heads) {
    const int M = batch * tokens, N = 3 * dim, K = dim;
    const int hd = dim / heads;
    gemm_tile(row_major(x, M, K), row_major(W, N, K), M, N, K,
              QkvStore<T>{bias, qkv, tokens, heads, hd, dim, (long long) M * dim});
}

// ---- version 3: the same on tensor cores (bf16, fp16) ---------------------------------------------
// The main loop is gemm_tc_tile of gemm_tc.cuh; the stores are version 2's (each (m, n) read and
// written by one thread, so residual may alias C here too).
template <class Tile, int EPI, class T>
__device__ __forceinline__ void linear_v3(const T* A, const T* W, const T* bias, const T* residual, T* C, int M,
                                          int N, int K) {
    gemm_tc_tile<Tile>(A, W, M, N, K, RowMajorStore<T, EPI>{bias, residual, C, N});
}

// grid = (ceil(3D/Tile::BN), ceil(B*T/Tile::BM)), block = Tile::THREADS; M = B*T, N = 3D, K = D.
template <class Tile, class T>
__device__ __forceinline__ void linear_qkv_tc_tile(const T* x, const T* W, const T* bias, T* qkv, int batch,
                                                   int tokens, int dim, int heads) {
    const int M = batch * tokens, N = 3 * dim, K = dim;
    const int hd = dim / heads;
    gemm_tc_tile<Tile>(x, W, M, N, K, QkvStore<T>{bias, qkv, tokens, heads, hd, dim, (long long) M * dim});
}

// ---- version 4: the same on Hopper's warpgroup MMAs (bf16, fp16; sm_90a) ---------------------------
// The main loop is gemm_wg_tile of gemm_wg.cuh; the stores are version 2's and 3's.
template <class Tile, int EPI, class T>
__device__ __forceinline__ void linear_v4(const T* A, const T* W, const T* bias, const T* residual, T* C, int M,
                                          int N, int K) {
    gemm_wg_tile<Tile>(A, W, M, N, K, RowMajorStore<T, EPI>{bias, residual, C, N});
}

// grid = (ceil(3D/Tile::BN), ceil(B*T/Tile::BM)), block = Tile::THREADS; M = B*T, N = 3D, K = D.
template <class Tile, class T>
__device__ __forceinline__ void linear_qkv_wg_tile(const T* x, const T* W, const T* bias, T* qkv, int batch,
                                                   int tokens, int dim, int heads) {
    const int M = batch * tokens, N = 3 * dim, K = dim;
    const int hd = dim / heads;
    gemm_wg_tile<Tile>(x, W, M, N, K, QkvStore<T>{bias, qkv, tokens, heads, hd, dim, (long long) M * dim});
}

// The same with TMA loads (gemm_wg_tile_tma): A and W come as tensor maps (row-major, boxes of Tile::BK x
// Tile::BM and Tile::BK x Tile::BN, the slabs' swizzle, zero fill), encoded by the host once per buffer,
// shape and box.
template <class Tile, int EPI, class T>
__device__ __forceinline__ void linear_v4_tma(const tma::TensorMap* map_a, const tma::TensorMap* map_w, const T* bias,
                                              const T* residual, T* C, int M, int N, int K) {
    gemm_wg_tile_tma<Tile, T>(map_a, map_w, M, N, K, RowMajorStore<T, EPI>{bias, residual, C, N});
}

template <class Tile, class T>
__device__ __forceinline__ void linear_qkv_wg_tma_tile(const tma::TensorMap* map_x, const tma::TensorMap* map_w,
                                                       const T* bias, T* qkv, int batch, int tokens, int dim, int heads) {
    const int M = batch * tokens, N = 3 * dim, K = dim;
    const int hd = dim / heads;
    gemm_wg_tile_tma<Tile, T>(map_x, map_w, M, N, K, QkvStore<T>{bias, qkv, tokens, heads, hd, dim, (long long) M * dim});
}

// ---- the entry points, per storage type ----------------------------------------------------------
#define LINEAR_PARAMS(T)                                                                                    \
    const T *__restrict__ A, const T *__restrict__ W, const T *__restrict__ bias, const T *residual, T *C, int M, \
        int N, int K
#define LINEAR_KERNELS(T, S)                                                                                \
    extern "C" __global__ void linear_v1##S(const T* A, const T* W, const T* bias, const T* residual, T* C, int M, \
                                            int N, int K, int epilogue) {                                   \
        linear_naive(A, W, bias, residual, C, M, N, K, epilogue);                                           \
    }                                                                                                       \
    extern "C" __global__ void __launch_bounds__(GEMM_THREADS) linear_v2_none##S(LINEAR_PARAMS(T)) {        \
        linear_v2<EPI_NONE>(A, W, bias, residual, C, M, N, K);                                              \
    }                                                                                                       \
    extern "C" __global__ void __launch_bounds__(GEMM_THREADS) linear_v2_bias##S(LINEAR_PARAMS(T)) {        \
        linear_v2<EPI_BIAS>(A, W, bias, residual, C, M, N, K);                                              \
    }                                                                                                       \
    extern "C" __global__ void __launch_bounds__(GEMM_THREADS) linear_v2_bias_gelu##S(LINEAR_PARAMS(T)) {   \
        linear_v2<EPI_BIAS_GELU>(A, W, bias, residual, C, M, N, K);                                         \
    }                                                                                                       \
    extern "C" __global__ void __launch_bounds__(GEMM_THREADS) linear_v2_bias_residual##S(LINEAR_PARAMS(T)) {  \
        linear_v2<EPI_BIAS_RESIDUAL>(A, W, bias, residual, C, M, N, K);                                     \
    }                                                                                                       \
    extern "C" __global__ void __launch_bounds__(GEMM_THREADS)                                              \
        linear_v2_qkv##S(const T* __restrict__ x, const T* __restrict__ W, const T* __restrict__ bias,      \
                      T* __restrict__ qkv, int batch, int tokens, int dim, int heads) {                     \
        linear_qkv_tile(x, W, bias, qkv, batch, tokens, dim, heads);                                        \
    }
VIT4J_FOR_EACH_DTYPE(LINEAR_KERNELS)
#undef LINEAR_KERNELS
// Each family twice: the large tile (TcLarge / WgLarge, the names of old) and the small one (TcSmall /
// WgSmall, *_small_*), which CudaKernels.TileChoice picks where the large one would leave SMs idle.
#define LINEAR_TC_KERNELS(T, H)                                                                                         \
    extern "C" __global__ void __launch_bounds__(TC_THREADS) linear_v3_none##H(LINEAR_PARAMS(T)) {                      \
        linear_v3<TcLarge, EPI_NONE>(A, W, bias, residual, C, M, N, K);                                                 \
    }                                                                                                                   \
    extern "C" __global__ void __launch_bounds__(TC_THREADS) linear_v3_bias##H(LINEAR_PARAMS(T)) {                      \
        linear_v3<TcLarge, EPI_BIAS>(A, W, bias, residual, C, M, N, K);                                                 \
    }                                                                                                                   \
    extern "C" __global__ void __launch_bounds__(TC_THREADS) linear_v3_bias_gelu##H(LINEAR_PARAMS(T)) {                 \
        linear_v3<TcLarge, EPI_BIAS_GELU>(A, W, bias, residual, C, M, N, K);                                            \
    }                                                                                                                   \
    extern "C" __global__ void __launch_bounds__(TC_THREADS) linear_v3_bias_residual##H(LINEAR_PARAMS(T)) {             \
        linear_v3<TcLarge, EPI_BIAS_RESIDUAL>(A, W, bias, residual, C, M, N, K);                                        \
    }                                                                                                                   \
    extern "C" __global__ void __launch_bounds__(TC_THREADS)                                                            \
        linear_v3_qkv##H(const T* __restrict__ x, const T* __restrict__ W, const T* __restrict__ bias,                  \
                         T* __restrict__ qkv, int batch, int tokens, int dim, int heads) {                              \
        linear_qkv_tc_tile<TcLarge>(x, W, bias, qkv, batch, tokens, dim, heads);                                        \
    }                                                                                                                   \
    extern "C" __global__ void __launch_bounds__(TC_SMALL_THREADS) linear_v3_small_none##H(LINEAR_PARAMS(T)) {          \
        linear_v3<TcSmall, EPI_NONE>(A, W, bias, residual, C, M, N, K);                                                 \
    }                                                                                                                   \
    extern "C" __global__ void __launch_bounds__(TC_SMALL_THREADS) linear_v3_small_bias##H(LINEAR_PARAMS(T)) {          \
        linear_v3<TcSmall, EPI_BIAS>(A, W, bias, residual, C, M, N, K);                                                 \
    }                                                                                                                   \
    extern "C" __global__ void __launch_bounds__(TC_SMALL_THREADS) linear_v3_small_bias_gelu##H(LINEAR_PARAMS(T)) {     \
        linear_v3<TcSmall, EPI_BIAS_GELU>(A, W, bias, residual, C, M, N, K);                                            \
    }                                                                                                                   \
    extern "C" __global__ void __launch_bounds__(TC_SMALL_THREADS) linear_v3_small_bias_residual##H(LINEAR_PARAMS(T)) { \
        linear_v3<TcSmall, EPI_BIAS_RESIDUAL>(A, W, bias, residual, C, M, N, K);                                        \
    }                                                                                                                   \
    extern "C" __global__ void __launch_bounds__(TC_SMALL_THREADS)                                                      \
        linear_v3_small_qkv##H(const T* __restrict__ x, const T* __restrict__ W, const T* __restrict__ bias,            \
                               T* __restrict__ qkv, int batch, int tokens, int dim, int heads) {                        \
        linear_qkv_tc_tile<TcSmall>(x, W, bias, qkv, batch, tokens, dim, heads);                                        \
    }
VIT4J_FOR_EACH_HALF_DTYPE(LINEAR_TC_KERNELS)
#undef LINEAR_TC_KERNELS
#define LINEAR_WG_KERNELS(T, H)                                                                                         \
    extern "C" __global__ void __launch_bounds__(WG_THREADS) linear_v4_none##H(LINEAR_PARAMS(T)) {                      \
        linear_v4<WgLarge, EPI_NONE>(A, W, bias, residual, C, M, N, K);                                                 \
    }                                                                                                                   \
    extern "C" __global__ void __launch_bounds__(WG_THREADS) linear_v4_bias##H(LINEAR_PARAMS(T)) {                      \
        linear_v4<WgLarge, EPI_BIAS>(A, W, bias, residual, C, M, N, K);                                                 \
    }                                                                                                                   \
    extern "C" __global__ void __launch_bounds__(WG_THREADS) linear_v4_bias_gelu##H(LINEAR_PARAMS(T)) {                 \
        linear_v4<WgLarge, EPI_BIAS_GELU>(A, W, bias, residual, C, M, N, K);                                            \
    }                                                                                                                   \
    extern "C" __global__ void __launch_bounds__(WG_THREADS) linear_v4_bias_residual##H(LINEAR_PARAMS(T)) {             \
        linear_v4<WgLarge, EPI_BIAS_RESIDUAL>(A, W, bias, residual, C, M, N, K);                                        \
    }                                                                                                                   \
    extern "C" __global__ void __launch_bounds__(WG_THREADS)                                                            \
        linear_v4_qkv##H(const T* __restrict__ x, const T* __restrict__ W, const T* __restrict__ bias,                  \
                         T* __restrict__ qkv, int batch, int tokens, int dim, int heads) {                              \
        linear_qkv_wg_tile<WgLarge>(x, W, bias, qkv, batch, tokens, dim, heads);                                        \
    }                                                                                                                   \
    extern "C" __global__ void __launch_bounds__(WG_SMALL_THREADS) linear_v4_small_none##H(LINEAR_PARAMS(T)) {          \
        linear_v4<WgSmall, EPI_NONE>(A, W, bias, residual, C, M, N, K);                                                 \
    }                                                                                                                   \
    extern "C" __global__ void __launch_bounds__(WG_SMALL_THREADS) linear_v4_small_bias##H(LINEAR_PARAMS(T)) {          \
        linear_v4<WgSmall, EPI_BIAS>(A, W, bias, residual, C, M, N, K);                                                 \
    }                                                                                                                   \
    extern "C" __global__ void __launch_bounds__(WG_SMALL_THREADS) linear_v4_small_bias_gelu##H(LINEAR_PARAMS(T)) {     \
        linear_v4<WgSmall, EPI_BIAS_GELU>(A, W, bias, residual, C, M, N, K);                                            \
    }                                                                                                                   \
    extern "C" __global__ void __launch_bounds__(WG_SMALL_THREADS) linear_v4_small_bias_residual##H(LINEAR_PARAMS(T)) { \
        linear_v4<WgSmall, EPI_BIAS_RESIDUAL>(A, W, bias, residual, C, M, N, K);                                        \
    }                                                                                                                   \
    extern "C" __global__ void __launch_bounds__(WG_SMALL_THREADS)                                                      \
        linear_v4_small_qkv##H(const T* __restrict__ x, const T* __restrict__ W, const T* __restrict__ bias,            \
                               T* __restrict__ qkv, int batch, int tokens, int dim, int heads) {                        \
        linear_qkv_wg_tile<WgSmall>(x, W, bias, qkv, batch, tokens, dim, heads);                                        \
    }
VIT4J_FOR_EACH_HALF_DTYPE(LINEAR_WG_KERNELS)
#undef LINEAR_WG_KERNELS
#define LINEAR_TMA_PARAMS(T)                                                                                \
    const __grid_constant__ tma::TensorMap map_a, const __grid_constant__ tma::TensorMap map_w,             \
        const T *__restrict__ bias, const T *residual, T *C, int M, int N, int K
#define LINEAR_WG_TMA_KERNELS(T, H)                                                                                             \
    extern "C" __global__ void __launch_bounds__(WG_THREADS) linear_v4_tma_none##H(LINEAR_TMA_PARAMS(T)) {                      \
        linear_v4_tma<WgLarge, EPI_NONE, T>(&map_a, &map_w, bias, residual, C, M, N, K);                                        \
    }                                                                                                                           \
    extern "C" __global__ void __launch_bounds__(WG_THREADS) linear_v4_tma_bias##H(LINEAR_TMA_PARAMS(T)) {                      \
        linear_v4_tma<WgLarge, EPI_BIAS, T>(&map_a, &map_w, bias, residual, C, M, N, K);                                        \
    }                                                                                                                           \
    extern "C" __global__ void __launch_bounds__(WG_THREADS) linear_v4_tma_bias_gelu##H(LINEAR_TMA_PARAMS(T)) {                 \
        linear_v4_tma<WgLarge, EPI_BIAS_GELU, T>(&map_a, &map_w, bias, residual, C, M, N, K);                                   \
    }                                                                                                                           \
    extern "C" __global__ void __launch_bounds__(WG_THREADS) linear_v4_tma_bias_residual##H(LINEAR_TMA_PARAMS(T)) {             \
        linear_v4_tma<WgLarge, EPI_BIAS_RESIDUAL, T>(&map_a, &map_w, bias, residual, C, M, N, K);                               \
    }                                                                                                                           \
    extern "C" __global__ void __launch_bounds__(WG_THREADS)                                                                    \
        linear_v4_tma_qkv##H(const __grid_constant__ tma::TensorMap map_x, const __grid_constant__ tma::TensorMap map_w,        \
                const T* __restrict__ bias, T* __restrict__ qkv, int batch, int tokens, int dim, int heads) {                   \
        linear_qkv_wg_tma_tile<WgLarge, T>(&map_x, &map_w, bias, qkv, batch, tokens, dim, heads);                               \
    }                                                                                                                           \
    extern "C" __global__ void __launch_bounds__(WG_SMALL_THREADS) linear_v4_tma_small_none##H(LINEAR_TMA_PARAMS(T)) {          \
        linear_v4_tma<WgSmall, EPI_NONE, T>(&map_a, &map_w, bias, residual, C, M, N, K);                                        \
    }                                                                                                                           \
    extern "C" __global__ void __launch_bounds__(WG_SMALL_THREADS) linear_v4_tma_small_bias##H(LINEAR_TMA_PARAMS(T)) {          \
        linear_v4_tma<WgSmall, EPI_BIAS, T>(&map_a, &map_w, bias, residual, C, M, N, K);                                        \
    }                                                                                                                           \
    extern "C" __global__ void __launch_bounds__(WG_SMALL_THREADS) linear_v4_tma_small_bias_gelu##H(LINEAR_TMA_PARAMS(T)) {     \
        linear_v4_tma<WgSmall, EPI_BIAS_GELU, T>(&map_a, &map_w, bias, residual, C, M, N, K);                                   \
    }                                                                                                                           \
    extern "C" __global__ void __launch_bounds__(WG_SMALL_THREADS) linear_v4_tma_small_bias_residual##H(LINEAR_TMA_PARAMS(T)) { \
        linear_v4_tma<WgSmall, EPI_BIAS_RESIDUAL, T>(&map_a, &map_w, bias, residual, C, M, N, K);                               \
    }                                                                                                                           \
    extern "C" __global__ void __launch_bounds__(WG_SMALL_THREADS)                                                              \
        linear_v4_tma_small_qkv##H(const __grid_constant__ tma::TensorMap map_x, const __grid_constant__ tma::TensorMap map_w,  \
                const T* __restrict__ bias, T* __restrict__ qkv, int batch, int tokens, int dim, int heads) {                   \
        linear_qkv_wg_tma_tile<WgSmall, T>(&map_x, &map_w, bias, qkv, batch, tokens, dim, heads);                               \
    }                                                                                                                           \
    extern "C" __global__ void __launch_bounds__(WG_WIDE_THREADS) linear_v4_tma_wide_none##H(LINEAR_TMA_PARAMS(T)) {            \
        linear_v4_tma<WgWide, EPI_NONE, T>(&map_a, &map_w, bias, residual, C, M, N, K);                                         \
    }                                                                                                                           \
    extern "C" __global__ void __launch_bounds__(WG_WIDE_THREADS) linear_v4_tma_wide_bias##H(LINEAR_TMA_PARAMS(T)) {            \
        linear_v4_tma<WgWide, EPI_BIAS, T>(&map_a, &map_w, bias, residual, C, M, N, K);                                         \
    }                                                                                                                           \
    extern "C" __global__ void __launch_bounds__(WG_WIDE_THREADS) linear_v4_tma_wide_bias_gelu##H(LINEAR_TMA_PARAMS(T)) {       \
        linear_v4_tma<WgWide, EPI_BIAS_GELU, T>(&map_a, &map_w, bias, residual, C, M, N, K);                                    \
    }                                                                                                                           \
    extern "C" __global__ void __launch_bounds__(WG_WIDE_THREADS) linear_v4_tma_wide_bias_residual##H(LINEAR_TMA_PARAMS(T)) {   \
        linear_v4_tma<WgWide, EPI_BIAS_RESIDUAL, T>(&map_a, &map_w, bias, residual, C, M, N, K);                                \
    }                                                                                                                           \
    extern "C" __global__ void __launch_bounds__(WG_WIDE_THREADS)                                                               \
        linear_v4_tma_wide_qkv##H(const __grid_constant__ tma::TensorMap map_x, const __grid_constant__ tma::TensorMap map_w,   \
                const T* __restrict__ bias, T* __restrict__ qkv, int batch, int tokens, int dim, int heads) {                   \
        linear_qkv_wg_tma_tile<WgWide, T>(&map_x, &map_w, bias, qkv, batch, tokens, dim, heads);                                \
    }
VIT4J_FOR_EACH_HALF_DTYPE(LINEAR_WG_TMA_KERNELS)
#undef LINEAR_WG_TMA_KERNELS
#undef LINEAR_TMA_PARAMS
#undef LINEAR_PARAMS

// ================================================================================================
#ifdef VIT4J_STANDALONE
#include <vector>
#if defined(__CUDACC__)
#include <cudaTypedefs.h> // PFN_cuTensorMapEncodeTiled_v12000: version 4's TMA maps from the driver
#endif

static void cpu_linear(const std::vector<float>& A, const std::vector<float>& W, const float* bias,
                       const std::vector<float>* res, int epi, int M, int N, int K, std::vector<double>& out) {
    out.assign((size_t) M * N, 0.0);
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            double acc = 0.0;
            for (int k = 0; k < K; k++) acc += (double) A[(size_t) m * K + k] * W[(size_t) n * K + k];
            if (epi >= EPI_BIAS) acc += bias[n];
            if (epi == EPI_BIAS_GELU) acc = 0.5 * acc * std::erfc(-acc / std::sqrt(2.0));
            if (epi == EPI_BIAS_RESIDUAL) acc += (*res)[(size_t) m * N + n];
            out[(size_t) m * N + n] = acc;
        }
}

static const char* kNames[4] = {"linear_v2_none", "linear_v2_bias", "linear_v2_bias_gelu", "linear_v2_bias_residual"};

// The entry points of one storage type.
template <class T> struct Kernels;
#define LINEAR_TABLE(T, S)                                                                                  \
    template <> struct Kernels<T> {                                                                         \
        static constexpr auto v1 = linear_v1##S; /* one more parameter: the epilogue */                     \
        static constexpr auto none = linear_v2_none##S;                                                     \
        static constexpr auto bias = linear_v2_bias##S;                                                     \
        static constexpr auto gelu = linear_v2_bias_gelu##S;                                                \
        static constexpr auto residual = linear_v2_bias_residual##S;                                        \
        static constexpr auto qkv = linear_v2_qkv##S;                                                       \
    };
VIT4J_FOR_EACH_DTYPE(LINEAR_TABLE)
#undef LINEAR_TABLE

template <class T>
static void launch_v2(int epi, const T* A, const T* W, const T* bias, const T* res, T* C, int M, int N, int K) {
    using Kn = Kernels<T>;
    dim3 grid(sa::ceil_div(N, GEMM_BN), sa::ceil_div(M, GEMM_BM));
    switch (epi) {
        case EPI_NONE: VIT4J_LAUNCH(Kn::none, grid, GEMM_THREADS, 0)(A, W, bias, res, C, M, N, K); break;
        case EPI_BIAS: VIT4J_LAUNCH(Kn::bias, grid, GEMM_THREADS, 0)(A, W, bias, res, C, M, N, K); break;
        case EPI_BIAS_GELU: VIT4J_LAUNCH(Kn::gelu, grid, GEMM_THREADS, 0)(A, W, bias, res, C, M, N, K); break;
        default: VIT4J_LAUNCH(Kn::residual, grid, GEMM_THREADS, 0)(A, W, bias, res, C, M, N, K); break;
    }
}

// Every epilogue of version 2 and of linear_v1 in storage type T, against the double reference on
// the T-rounded inputs; offset: A starts that many elements into its allocation (unaligned).
template <class T>
static void check_shape(int M, int N, int K, int offset) {
    std::printf("M=%d N=%d K=%d %s%s\n", M, N, K, sa::dtype_name<T>(),
                offset ? " (A at +1 element: unaligned, scalar path)" : "");
    auto hA = sa::rounded<T>(sa::random_vec((size_t) M * K + offset)), hW = sa::rounded<T>(sa::random_vec((size_t) N * K));
    auto hb = sa::rounded<T>(sa::random_vec(N)), hr = sa::rounded<T>(sa::random_vec((size_t) M * N));
    std::vector<float> hA0(hA.begin() + offset, hA.end());
    T *dAbase = sa::to_device_as<T>(hA), *dW = sa::to_device_as<T>(hW), *db = sa::to_device_as<T>(hb);
    const T* dA = dAbase + offset;
    const double tol = sa::tolerance<T>();
    std::vector<double> want;
    char what[128];
    for (int epi = 0; epi < 4; epi++) {
        cpu_linear(hA0, hW, hb.data(), &hr, epi, M, N, K, want);
        T* dC = sa::poisoned<T>((size_t) M * N);
        T* dR = sa::to_device_as<T>(hr);
        launch_v2<T>(epi, dA, dW, db, dR, dC, M, N, K);
        CUDA_CHECK(cudaDeviceSynchronize());
        std::snprintf(what, sizeof what, "%s %s", kNames[epi], sa::dtype_name<T>());
        sa::report(what, sa::rel_l2(sa::to_host(dC, (size_t) M * N), want), tol);
        if (epi == EPI_BIAS_RESIDUAL) { // in place: residual is the output buffer
            launch_v2<T>(epi, dA, dW, db, dR, dR, M, N, K);
            CUDA_CHECK(cudaDeviceSynchronize());
            std::snprintf(what, sizeof what, "linear_v2_bias_residual %s, residual aliasing C", sa::dtype_name<T>());
            sa::report(what, sa::rel_l2(sa::to_host(dR, (size_t) M * N), want), tol);
        }
        T* dC1 = sa::poisoned<T>((size_t) M * N);
        CUDA_CHECK(cudaFree(dR));
        dR = sa::to_device_as<T>(hr);
        VIT4J_LAUNCH(Kernels<T>::v1, dim3(sa::ceil_div(N, 16), sa::ceil_div(M, 16)), dim3(16, 16), 0)(dA, dW, db, dR, dC1, M, N, K, epi);
        CUDA_CHECK(cudaDeviceSynchronize());
        std::snprintf(what, sizeof what, "linear_v1 %s (epilogue %d)", sa::dtype_name<T>(), epi);
        sa::report(what, sa::rel_l2(sa::to_host(dC1, (size_t) M * N), want), tol);
        CUDA_CHECK(cudaFree(dC));
        CUDA_CHECK(cudaFree(dC1));
        CUDA_CHECK(cudaFree(dR));
    }
    CUDA_CHECK(cudaFree(dAbase));
    CUDA_CHECK(cudaFree(dW));
    CUDA_CHECK(cudaFree(db));
}

template <class T>
static void check_qkv(int B, int T_, int D, int H, bool withBias) {
    std::printf("qkv B=%d T=%d D=%d H=%d bias=%s %s\n", B, T_, D, H, withBias ? "yes" : "null", sa::dtype_name<T>());
    const int M = B * T_, N = 3 * D, K = D, hd = D / H;
    auto hx = sa::rounded<T>(sa::random_vec((size_t) M * K)), hW = sa::rounded<T>(sa::random_vec((size_t) N * K));
    auto hb = sa::rounded<T>(sa::random_vec(N));
    std::vector<double> flat;
    cpu_linear(hx, hW, hb.data(), nullptr, withBias ? EPI_BIAS : EPI_NONE, M, N, K, flat);
    std::vector<double> want((size_t) M * N);
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            int which = n / D, h = (n % D) / hd, e = n % hd, b = m / T_, t = m % T_;
            want[((((size_t) which * B + b) * H + h) * T_ + t) * hd + e] = flat[(size_t) m * N + n];
        }
    T *dx = sa::to_device_as<T>(hx), *dW = sa::to_device_as<T>(hW), *db = withBias ? sa::to_device_as<T>(hb) : nullptr;
    T* dq = sa::poisoned<T>((size_t) M * N);
    dim3 grid(sa::ceil_div(N, GEMM_BN), sa::ceil_div(M, GEMM_BM));
    VIT4J_LAUNCH(Kernels<T>::qkv, grid, GEMM_THREADS, 0)(dx, dW, db, dq, B, T_, D, H);
    CUDA_CHECK(cudaDeviceSynchronize());
    char what[64];
    std::snprintf(what, sizeof what, "linear_v2_qkv %s", sa::dtype_name<T>());
    sa::report(what, sa::rel_l2(sa::to_host(dq, (size_t) M * N), want), sa::tolerance<T>());
    CUDA_CHECK(cudaFree(dx));
    CUDA_CHECK(cudaFree(dW));
    if (db) CUDA_CHECK(cudaFree(db));
    CUDA_CHECK(cudaFree(dq));
}

// ---- version 3 (tensor cores, bf16/fp16) ----
template <class T, bool SMALL> struct TcKernels; // SMALL: the kernels of the small tile (*_small_*)
#define LINEAR_TC_TABLE(T, H)                                                                               \
    template <> struct TcKernels<T, false> {                                                                \
        static constexpr auto none = linear_v3_none##H;                                                     \
        static constexpr auto bias = linear_v3_bias##H;                                                     \
        static constexpr auto gelu = linear_v3_bias_gelu##H;                                                \
        static constexpr auto residual = linear_v3_bias_residual##H;                                        \
        static constexpr auto qkv = linear_v3_qkv##H;                                                       \
        static constexpr auto none4 = linear_v4_none##H;                                                    \
        static constexpr auto bias4 = linear_v4_bias##H;                                                    \
        static constexpr auto gelu4 = linear_v4_bias_gelu##H;                                               \
        static constexpr auto residual4 = linear_v4_bias_residual##H;                                       \
        static constexpr auto qkv4 = linear_v4_qkv##H;                                                      \
        static constexpr auto none4t = linear_v4_tma_none##H;                                               \
        static constexpr auto bias4t = linear_v4_tma_bias##H;                                               \
        static constexpr auto gelu4t = linear_v4_tma_bias_gelu##H;                                          \
        static constexpr auto residual4t = linear_v4_tma_bias_residual##H;                                  \
        static constexpr auto qkv4t = linear_v4_tma_qkv##H;                                                 \
    };                                                                                                      \
    template <> struct TcKernels<T, true> {                                                                 \
        static constexpr auto none = linear_v3_small_none##H;                                               \
        static constexpr auto bias = linear_v3_small_bias##H;                                               \
        static constexpr auto gelu = linear_v3_small_bias_gelu##H;                                          \
        static constexpr auto residual = linear_v3_small_bias_residual##H;                                  \
        static constexpr auto qkv = linear_v3_small_qkv##H;                                                 \
        static constexpr auto none4 = linear_v4_small_none##H;                                              \
        static constexpr auto bias4 = linear_v4_small_bias##H;                                              \
        static constexpr auto gelu4 = linear_v4_small_bias_gelu##H;                                         \
        static constexpr auto residual4 = linear_v4_small_bias_residual##H;                                 \
        static constexpr auto qkv4 = linear_v4_small_qkv##H;                                                \
        static constexpr auto none4t = linear_v4_tma_small_none##H;                                         \
        static constexpr auto bias4t = linear_v4_tma_small_bias##H;                                         \
        static constexpr auto gelu4t = linear_v4_tma_small_bias_gelu##H;                                    \
        static constexpr auto residual4t = linear_v4_tma_small_bias_residual##H;                            \
        static constexpr auto qkv4t = linear_v4_tma_small_qkv##H;                                           \
    };
VIT4J_FOR_EACH_HALF_DTYPE(LINEAR_TC_TABLE)
#undef LINEAR_TC_TABLE

// The wide tile's kernels (TMA loads only).
template <class T> struct WideKernels;
#define LINEAR_WIDE_TABLE(T, H)                                                                             \
    template <> struct WideKernels<T> {                                                                     \
        static constexpr auto none4t = linear_v4_tma_wide_none##H;                                          \
        static constexpr auto bias4t = linear_v4_tma_wide_bias##H;                                          \
        static constexpr auto gelu4t = linear_v4_tma_wide_bias_gelu##H;                                     \
        static constexpr auto residual4t = linear_v4_tma_wide_bias_residual##H;                             \
        static constexpr auto qkv4t = linear_v4_tma_wide_qkv##H;                                            \
    };
VIT4J_FOR_EACH_HALF_DTYPE(LINEAR_WIDE_TABLE)
#undef LINEAR_WIDE_TABLE

template <bool SMALL> using TcTileOf = std::conditional_t<SMALL, TcSmall, TcLarge>;
template <bool SMALL> using WgTileOf = std::conditional_t<SMALL, WgSmall, WgLarge>;

template <class T, bool SMALL = false>
static void launch_v3(int epi, const T* A, const T* W, const T* bias, const T* res, T* C, int M, int N, int K) {
    using Kn = TcKernels<T, SMALL>;
    using Tile = TcTileOf<SMALL>;
    dim3 grid(sa::ceil_div(N, Tile::BN), sa::ceil_div(M, Tile::BM));
    switch (epi) {
        case EPI_NONE: VIT4J_LAUNCH(Kn::none, grid, Tile::THREADS, 0)(A, W, bias, res, C, M, N, K); break;
        case EPI_BIAS: VIT4J_LAUNCH(Kn::bias, grid, Tile::THREADS, 0)(A, W, bias, res, C, M, N, K); break;
        case EPI_BIAS_GELU: VIT4J_LAUNCH(Kn::gelu, grid, Tile::THREADS, 0)(A, W, bias, res, C, M, N, K); break;
        default: VIT4J_LAUNCH(Kn::residual, grid, Tile::THREADS, 0)(A, W, bias, res, C, M, N, K); break;
    }
}

// Version 4 (sm_90a), Tile::SMEM_BYTES of dynamic shared memory.
template <class T, bool SMALL = false>
static void launch_v4(int epi, const T* A, const T* W, const T* bias, const T* res, T* C, int M, int N, int K) {
    using Kn = TcKernels<T, SMALL>;
    using Tile = WgTileOf<SMALL>;
    dim3 grid(sa::ceil_div(N, Tile::BN), sa::ceil_div(M, Tile::BM));
    constexpr int threads = Tile::THREADS, smem = Tile::SMEM_BYTES;
    switch (epi) {
        case EPI_NONE: VIT4J_LAUNCH(Kn::none4, grid, threads, smem)(A, W, bias, res, C, M, N, K); break;
        case EPI_BIAS: VIT4J_LAUNCH(Kn::bias4, grid, threads, smem)(A, W, bias, res, C, M, N, K); break;
        case EPI_BIAS_GELU: VIT4J_LAUNCH(Kn::gelu4, grid, threads, smem)(A, W, bias, res, C, M, N, K); break;
        default: VIT4J_LAUNCH(Kn::residual4, grid, threads, smem)(A, W, bias, res, C, M, N, K); break;
    }
}

// Version 4 with TMA loads: the maps of row-major [rows, K] operands in boxes of Tile::BK x box_rows, the
// slabs' swizzle, zero fill; from the driver's cuTensorMapEncodeTiled on a GPU, else tma.cuh's fallback.
#if defined(__CUDACC__)
static PFN_cuTensorMapEncodeTiled_v12000 driver_encode() {
    static PFN_cuTensorMapEncodeTiled_v12000 fn = nullptr;
    if (fn == nullptr) {
        void* p = nullptr;
        cudaDriverEntryPointQueryResult q = cudaDriverEntryPointSymbolNotFound;
        CUDA_CHECK(cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &p, 12000, cudaEnableDefault, &q));
        if (q != cudaDriverEntryPointSuccess || p == nullptr) {
            std::fprintf(stderr, "linear: the driver has no cuTensorMapEncodeTiled\n");
            std::exit(2);
        }
        fn = reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(p);
    }
    return fn;
}
#endif

template <class Tile, class T>
static tma::TensorMap wg_map(const T* dev, int rows, int K, int box_rows) {
    const uint32_t dtype = std::is_same<T, __half>::value ? tma::FLOAT16 : tma::BFLOAT16;
    const uint32_t swizzle = Tile::BK * 2 == 128 ? tma::SWIZZLE_128B : tma::SWIZZLE_64B;
    const uint64_t dims[2] = {(uint64_t) K, (uint64_t) rows}, strides[1] = {(uint64_t) K * 2};
    const uint32_t box[2] = {(uint32_t) Tile::BK, (uint32_t) box_rows}, es[2] = {1, 1};
    tma::TensorMap map;
#if defined(__CUDACC__)
    const CUresult r = driver_encode()(&map, (CUtensorMapDataType) dtype, 2, const_cast<T*>(dev), dims, strides, box, es,
                                       CU_TENSOR_MAP_INTERLEAVE_NONE, (CUtensorMapSwizzle) swizzle,
                                       CU_TENSOR_MAP_L2_PROMOTION_L2_128B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
    if (r != CUDA_SUCCESS) {
        std::fprintf(stderr, "linear: cuTensorMapEncodeTiled failed (%d)\n", (int) r);
        std::exit(2);
    }
#else
    const char* why = tma::encode_cpu_tensor_map(&map, dtype, 2, dev, dims, strides, box, es, 0, swizzle, 2, tma::OOB_ZERO);
    if (why != nullptr) {
        std::fprintf(stderr, "linear: %s\n", why);
        std::exit(2);
    }
#endif
    return map;
}

// A launch of Tile::TMA_SMEM_BYTES (above 48 KiB): opted into on a GPU, once per kernel.
template <class Tile, class K>
static void wg_tma_opt_in(K kernel) {
#if defined(__CUDACC__)
    CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, Tile::TMA_SMEM_BYTES));
#else
    (void) kernel;
#endif
}

// Kn: a table with the TMA kernels of Tile (none4t .. residual4t).
template <class T, class Kn, class Tile>
static void launch_tma_with(int epi, const T* A, const T* W, const T* bias, const T* res, T* C, int M, int N, int K) {
    const tma::TensorMap ma = wg_map<Tile>(A, M, K, Tile::BM), mw = wg_map<Tile>(W, N, K, Tile::BN);
    dim3 grid(sa::ceil_div(N, Tile::BN), sa::ceil_div(M, Tile::BM));
    constexpr int threads = Tile::THREADS, smem = Tile::TMA_SMEM_BYTES;
    switch (epi) {
        case EPI_NONE: wg_tma_opt_in<Tile>(Kn::none4t); VIT4J_LAUNCH(Kn::none4t, grid, threads, smem)(ma, mw, bias, res, C, M, N, K); break;
        case EPI_BIAS: wg_tma_opt_in<Tile>(Kn::bias4t); VIT4J_LAUNCH(Kn::bias4t, grid, threads, smem)(ma, mw, bias, res, C, M, N, K); break;
        case EPI_BIAS_GELU: wg_tma_opt_in<Tile>(Kn::gelu4t); VIT4J_LAUNCH(Kn::gelu4t, grid, threads, smem)(ma, mw, bias, res, C, M, N, K); break;
        default: wg_tma_opt_in<Tile>(Kn::residual4t); VIT4J_LAUNCH(Kn::residual4t, grid, threads, smem)(ma, mw, bias, res, C, M, N, K); break;
    }
}

template <class T, bool SMALL = false>
static void launch_v4_tma(int epi, const T* A, const T* W, const T* bias, const T* res, T* C, int M, int N, int K) {
    launch_tma_with<T, TcKernels<T, SMALL>, WgTileOf<SMALL>>(epi, A, W, bias, res, C, M, N, K);
}

// Which tensor-core version the checks below run: 3 (mma.sync) or 4 (wgmma); version 4 with TMA loads
// (linear_v4_tma_*) where g_tma; the small tile's kernels (*_small_*) where g_small.
static int g_tc_version = 3;
static bool g_tma = false;
static bool g_small = false;
static bool g_wide = false; // the wide tile (TMA loads only: with g_tc_version == 4 and g_tma)

// A kernel fault is sticky (on a GPU and on the CPU runtime): the check that met it fails, and every later
// check is left out (no further CUDA call), so a mutant that faults (a TMA phase that never completes)
// counts as caught (exit 1), not as a crash.
static bool g_context_lost = false;
static bool synced(const char* what) {
    const cudaError_t e = cudaDeviceSynchronize();
    if (e == cudaSuccess) return true;
    std::printf("  %s: kernel fault: %s\n", what, cudaGetErrorString(e));
    sa::report(what, 1.0, 0.0);
    std::printf("  (the context is lost: the remaining checks are left out)\n");
    g_context_lost = true;
    return false;
}

static const char* tc_prefix() {
    if (g_wide) return "linear_v4_tma_wide";
    if (g_small) return g_tc_version == 3 ? "linear_v3_small" : g_tma ? "linear_v4_tma_small" : "linear_v4_small";
    return g_tc_version == 3 ? "linear_v3" : g_tma ? "linear_v4_tma" : "linear_v4";
}

template <class T, bool SMALL>
static void launch_tc_of(int epi, const T* A, const T* W, const T* bias, const T* res, T* C, int M, int N, int K) {
    (g_tc_version == 3 ? launch_v3<T, SMALL> : g_tma ? launch_v4_tma<T, SMALL> : launch_v4<T, SMALL>)(epi, A, W, bias, res, C, M, N, K);
}

template <class T>
static void launch_tc(int epi, const T* A, const T* W, const T* bias, const T* res, T* C, int M, int N, int K) {
    if (g_wide) return launch_tma_with<T, WideKernels<T>, WgWide>(epi, A, W, bias, res, C, M, N, K);
    (g_small ? launch_tc_of<T, true> : launch_tc_of<T, false>)(epi, A, W, bias, res, C, M, N, K);
}

// The TMA QKV kernel of Tile (Kn::qkv4t), as launch_tma_with does the other epilogues.
template <class T, class Kn, class Tile>
static void launch_qkv_tma_with(const T* dx, const T* dW, const T* db, T* dq, int B, int T_, int D, int H) {
    const int M = B * T_, N = 3 * D, K = D;
    dim3 grid(sa::ceil_div(N, Tile::BN), sa::ceil_div(M, Tile::BM));
    const tma::TensorMap mx = wg_map<Tile, T>(dx, M, K, Tile::BM), mw = wg_map<Tile, T>(dW, N, K, Tile::BN);
    wg_tma_opt_in<Tile>(Kn::qkv4t);
    VIT4J_LAUNCH(Kn::qkv4t, grid, Tile::THREADS, Tile::TMA_SMEM_BYTES)(mx, mw, db, dq, B, T_, D, H);
}

// The QKV kernel of the version, loader and tile chosen above.
template <class T, bool SMALL>
static void launch_tc_qkv_of(const T* dx, const T* dW, const T* db, T* dq, int B, int T_, int D, int H) {
    using Kn = TcKernels<T, SMALL>;
    const int M = B * T_, N = 3 * D;
    if (g_tc_version == 4) {
        using Tile = WgTileOf<SMALL>;
        dim3 grid(sa::ceil_div(N, Tile::BN), sa::ceil_div(M, Tile::BM));
        if (g_tma) {
            launch_qkv_tma_with<T, Kn, Tile>(dx, dW, db, dq, B, T_, D, H);
        } else {
            VIT4J_LAUNCH(Kn::qkv4, grid, Tile::THREADS, Tile::SMEM_BYTES)(dx, dW, db, dq, B, T_, D, H);
        }
    } else {
        using Tile = TcTileOf<SMALL>;
        dim3 grid(sa::ceil_div(N, Tile::BN), sa::ceil_div(M, Tile::BM));
        VIT4J_LAUNCH(Kn::qkv, grid, Tile::THREADS, 0)(dx, dW, db, dq, B, T_, D, H);
    }
}

template <class T>
static void report_tc(const char* what, const std::vector<float>& got, const std::vector<double>& want) {
    sa::report(what, sa::rel_l2(got, want), sa::tolerance<T>());
    const int bad = sa::outside_one_ulp<T>(got, want, 1e-5);
    char line[128];
    std::snprintf(line, sizeof line, "  ... %d of %zu elements beyond 1 ulp of %s", bad, want.size(), sa::dtype_name<T>());
    sa::report(line, bad == 0 ? 0.0 : 1.0, 0.0);
}

// Every epilogue of version 3 (or the first `epilogues` of them) in storage type T against the double
// reference on the T-rounded inputs; A and W at an offset of `offset` elements (a multiple of 8: aligned).
template <class T>
static void check_tc_shape(int M, int N, int K, int epilogues = 4, int offset = 0) {
    if (g_context_lost) return;
    std::printf("tensor cores (%s): M=%d N=%d K=%d %s%s\n", tc_prefix(), M, N, K, sa::dtype_name<T>(), offset ? " (operands at an offset)" : "");
    auto hA = sa::rounded<T>(sa::random_vec((size_t) M * K + offset)), hW = sa::rounded<T>(sa::random_vec((size_t) N * K + offset));
    auto hb = sa::rounded<T>(sa::random_vec(N)), hr = sa::rounded<T>(sa::random_vec((size_t) M * N));
    std::vector<float> hA0(hA.begin() + offset, hA.end()), hW0(hW.begin() + offset, hW.end());
    T *dAbase = sa::to_device_as<T>(hA), *dWbase = sa::to_device_as<T>(hW), *db = sa::to_device_as<T>(hb);
    const T *dA = dAbase + offset, *dW = dWbase + offset;
    std::vector<double> want;
    char what[128];
    for (int epi = 0; epi < epilogues; epi++) {
        cpu_linear(hA0, hW0, hb.data(), &hr, epi, M, N, K, want);
        T* dC = sa::poisoned<T>((size_t) M * N);
        T* dR = sa::to_device_as<T>(hr);
        launch_tc<T>(epi, dA, dW, db, dR, dC, M, N, K);
        std::snprintf(what, sizeof what, "%s_%s %s", tc_prefix(), kNames[epi] + 10, sa::dtype_name<T>());
        if (!synced(what)) return;
        report_tc<T>(what, sa::to_host(dC, (size_t) M * N), want);
        if (epi == EPI_BIAS_RESIDUAL) { // in place: residual is the output buffer
            launch_tc<T>(epi, dA, dW, db, dR, dR, M, N, K);
            std::snprintf(what, sizeof what, "%s_bias_residual %s, residual aliasing C", tc_prefix(), sa::dtype_name<T>());
            if (!synced(what)) return;
            report_tc<T>(what, sa::to_host(dR, (size_t) M * N), want);
        }
        CUDA_CHECK(cudaFree(dC));
        CUDA_CHECK(cudaFree(dR));
    }
    CUDA_CHECK(cudaFree(dAbase));
    CUDA_CHECK(cudaFree(dWbase));
    CUDA_CHECK(cudaFree(db));
}

template <class T>
static void check_tc_qkv(int B, int T_, int D, int H, bool withBias) {
    if (g_context_lost) return;
    std::printf("tensor cores (%s): qkv B=%d T=%d D=%d H=%d bias=%s %s\n", tc_prefix(), B, T_, D, H, withBias ? "yes" : "null", sa::dtype_name<T>());
    const int M = B * T_, N = 3 * D, K = D, hd = D / H;
    auto hx = sa::rounded<T>(sa::random_vec((size_t) M * K)), hW = sa::rounded<T>(sa::random_vec((size_t) N * K));
    auto hb = sa::rounded<T>(sa::random_vec(N));
    std::vector<double> flat;
    cpu_linear(hx, hW, hb.data(), nullptr, withBias ? EPI_BIAS : EPI_NONE, M, N, K, flat);
    std::vector<double> want((size_t) M * N);
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            int which = n / D, h = (n % D) / hd, e = n % hd, b = m / T_, t = m % T_;
            want[((((size_t) which * B + b) * H + h) * T_ + t) * hd + e] = flat[(size_t) m * N + n];
        }
    T *dx = sa::to_device_as<T>(hx), *dW = sa::to_device_as<T>(hW), *db = withBias ? sa::to_device_as<T>(hb) : nullptr;
    T* dq = sa::poisoned<T>((size_t) M * N);
    if (g_wide) launch_qkv_tma_with<T, WideKernels<T>, WgWide>(dx, dW, db, dq, B, T_, D, H);
    else (g_small ? launch_tc_qkv_of<T, true> : launch_tc_qkv_of<T, false>)(dx, dW, db, dq, B, T_, D, H);
    char what[64];
    std::snprintf(what, sizeof what, "%s_qkv %s", tc_prefix(), sa::dtype_name<T>());
    if (!synced(what)) return;
    report_tc<T>(what, sa::to_host(dq, (size_t) M * N), want);
    CUDA_CHECK(cudaFree(dx));
    CUDA_CHECK(cudaFree(dW));
    if (db) CUDA_CHECK(cudaFree(db));
    CUDA_CHECK(cudaFree(dq));
}

#if !defined(__CUDACC__)
// `sa_linear tc-rejects-bad-k` (CTest linear.tc_rejects_bad_k): K % 8 != 0 breaks version 3's requirement,
// and the CPU runtime must report the kernel's fault. Alone in its process: a fault is sticky, as on a
// device (on a GPU the kernel traps, which ends the context: this runs on the CPU only).
static int tc_rejects_bad_k() {
    const int M = 3, N = 5, K = 12;
    __nv_bfloat16* d = sa::to_device_as<__nv_bfloat16>(sa::random_vec(64));
    __nv_bfloat16* c = sa::poisoned<__nv_bfloat16>(M * N);
    launch_v3<__nv_bfloat16>(EPI_NONE, d, d, d, d, c, M, N, K);
    const bool reported = cudaGetLastError() != cudaSuccess;
    std::printf("linear_v3_none with K = 12 (not a multiple of 8): %s\n", reported ? "fault reported, ok" : "NOT reported: FAIL");
    return reported ? 0 : 1;
}
#endif

template <class T>
static void check_tc(bool all_shapes) {
    // Small enough for the CPU runtime (each CUDA thread a fiber, each mma 16 warp shuffles there), yet
    // every path: M tails (1, 197, 591 = 3*197; a block holds TC_BM rows), N tails (100, 129: one column
    // past a pair), K tails (40, 8: part of a slab), several pipeline rounds (K = 384, 768), the ViT
    // widths 192..1152. The second type runs a subset: the code is the same but for the mma's input type
    // and the conversions.
    check_tc_shape<T>(197, 384, 64);
    check_tc_shape<T>(37, 129, 40, 4, 8);
    check_tc_qkv<T>(2, 5, 80, 1, false);
    if (!all_shapes) return;
    check_tc_shape<T>(1, 192, 192);
    check_tc_shape<T>(394, 100, 384, 1);
    check_tc_shape<T>(3 * 197, 40, 8, 1);
    check_tc_shape<T>(5, 100, 768, 2);
    check_tc_shape<T>(1, 1152, 64, 1);
    check_tc_qkv<T>(1, 197, 192, 3, true);
    if (g_tc_version == 4) check_tc_shape<T>(130, 72, 136, 2); // version 4: two slabs and a part
}

// The small tile (*_small_* kernels) of the version and loader chosen: the same main loop with other
// constants, so fewer shapes: M, N and K tails, several pipeline rounds, the QKV layout.
template <class T>
static void check_tc_small() {
    g_small = true;
    check_tc_shape<T>(197, 384, 64);
    check_tc_shape<T>(37, 129, 40, 4, 8);
    check_tc_shape<T>(130, 72, 264, 2);
    check_tc_qkv<T>(1, 197, 192, 3, true);
    g_small = false;
}

// Both types on the large tile, bf16 on the small one; with TMA loads bf16 on the wide one too.
static void check_tc_tiles() {
    check_tc<__nv_bfloat16>(true);
    check_tc<__half>(false);
    check_tc_small<__nv_bfloat16>();
    if (g_tc_version == 4 && g_tma) {
        g_wide = true; // the same shapes as the small tile's: tails in M, N, K, pipeline rounds, QKV
        check_tc_small<__nv_bfloat16>();
        check_tc_shape<__half>(300, 136, 520, 2); // fp16: 3 x 2 blocks, 9 slabs through 4 stages
        g_wide = false;
    }
}

#if defined(__CUDACC__)
__global__ void wg_probe(int* out) { *out = VIT4J_WGMMA_AVAILABLE; }
#endif

// Version 4 runs where wgmma does: everywhere on the CPU runtime (the fallback), on a GPU only on
// compute capability 9.0 (its SASS is sm_90a; built for another architecture it traps).
static bool wg_runs_here() {
#if defined(__CUDACC__)
    int dev = 0, major = 0, minor = 0;
    CUDA_CHECK(cudaGetDevice(&dev));
    CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev));
    CUDA_CHECK(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, dev));
    if (major != 9 || minor != 0) {
        std::printf("linear_v4 (wgmma) checks skipped: compute capability %d.%d is not 9.0\n", major, minor);
        return false;
    }
    // and the device code was built with wgmma (sm_90a, or the fallback): asked of the device itself
    int* d = nullptr;
    int built = 0;
    CUDA_CHECK(cudaMalloc(&d, sizeof(int)));
    VIT4J_LAUNCH(wg_probe, 1, 1, 0)(d);
    CUDA_CHECK(cudaMemcpy(&built, d, sizeof(int), cudaMemcpyDeviceToHost));
    CUDA_CHECK(cudaFree(d));
    if (!built) std::printf("linear_v4 (wgmma) checks skipped: this build's device code has no wgmma (build for sm_90a)\n");
    return built != 0;
#else
    return true;
#endif
}

static void time_shape(const char* label, int M, int N, int K) {
    auto hA = sa::random_vec((size_t) M * K), hW = sa::random_vec((size_t) N * K), hb = sa::random_vec(N);
    float *dA = sa::to_device(hA), *dW = sa::to_device(hW), *db = sa::to_device(hb);
    float* dC = sa::poisoned((size_t) M * N);
    const double flops = 2.0 * M * N * K;
    float ms1 = sa::time_ms([&] {
        VIT4J_LAUNCH(linear_v1, dim3(sa::ceil_div(N, 16), sa::ceil_div(M, 16)), dim3(16, 16), 0)(dA, dW, db, nullptr, dC, M, N, K, 1);
    });
    float ms2 = sa::time_ms([&] { launch_v2<float>(EPI_BIAS_GELU, dA, dW, db, nullptr, dC, M, N, K); });
    std::printf("  %-28s M=%5d N=%5d K=%5d  v1 %8.3f ms %7.1f GFLOP/s | v2 (bias+gelu) %8.3f ms %7.1f GFLOP/s\n", label,
                M, N, K, ms1, flops / ms1 * 1e-6, ms2, flops / ms2 * 1e-6);
    CUDA_CHECK(cudaFree(dA));
    CUDA_CHECK(cudaFree(dW));
    CUDA_CHECK(cudaFree(db));
    CUDA_CHECK(cudaFree(dC));
}

template <class T>
static void check_half() {
    // small shapes (the tiling is fp32's, checked above at ViT sizes), every path: partial tiles,
    // several K slabs, vector and scalar loads
    check_shape<T>(1, 1, 1, 0);
    check_shape<T>(67, 72, 96, 0);  // vector loads
    check_shape<T>(77, 129, 67, 0); // scalar path
    check_shape<T>(130, 70, 36, 1); // A unaligned (2 bytes off): scalar path for A, vector loads for W
    check_qkv<T>(2, 33, 96, 3, true);
    check_qkv<T>(1, 5, 48, 3, false);
}

int main(int argc, char** argv) {
#if !defined(__CUDACC__)
    if (argc > 1 && std::strcmp(argv[1], "tc-rejects-bad-k") == 0) return tc_rejects_bad_k();
#endif
    // `sa_linear tc`: version 3's checks alone (the mutants of gemm_tc.cuh run these)
    const bool tc_only = argc > 1 && std::strcmp(argv[1], "tc") == 0;
    if (tc_only) {
        check_tc<__nv_bfloat16>(true);
        check_tc_small<__nv_bfloat16>();
        return sa::finish("linear (tensor cores)");
    }
    // `sa_linear wg`: version 4's checks alone, cp.async and TMA loads (the mutants of gemm_wg.cuh run
    // these); `sa_linear wg-tma`: the TMA loads' alone
    const bool wg_tma_only = argc > 1 && std::strcmp(argv[1], "wg-tma") == 0;
    if (argc > 1 && (std::strcmp(argv[1], "wg") == 0 || wg_tma_only)) {
        g_tc_version = 4;
        if (wg_runs_here()) {
            for (int tma_loads = wg_tma_only ? 1 : 0; tma_loads < 2; tma_loads++) {
                g_tma = tma_loads == 1;
                check_tc_tiles();
            }
        }
        return sa::finish(wg_tma_only ? "linear (Hopper wgmma, TMA loads)" : "linear (Hopper wgmma)");
    }
    std::printf("linear.cu standalone check (tile %dx%dx%d, %d threads)\n", GEMM_BM, GEMM_BN, GEMM_BK, GEMM_THREADS);
    check_shape<float>(1, 1, 1, 0);
    check_shape<float>(197, 384, 384, 0);
    check_shape<float>(77, 129, 67, 0);   // no dimension a tile multiple, K % 4 != 0: scalar path
    check_shape<float>(130, 70, 36, 1);   // K % 4 == 0 but A unaligned: scalar path for A, float4 for W
    check_shape<float>(394, 1536, 384, 0);
    check_shape<float>(5, 3, 1537, 0);
    check_qkv<float>(2, 197, 384, 6, true);
    check_qkv<float>(1, 5, 48, 3, false);
    check_qkv<float>(3, 17, 80, 1, true);
    check_half<__nv_bfloat16>();
    check_half<__half>();
    check_tc_tiles();
    g_tc_version = 4;
    if (wg_runs_here()) {
        check_tc_tiles();
        g_tma = true; // version 4 with TMA loads
        check_tc_tiles();
        g_tma = false;
    }
    g_tc_version = 3;
    if (sa::timing()) {
        std::printf("timing (mean of 20 after 3 warm-up):\n");
        time_shape("ViT-S qkv, B=8", 8 * 197, 1152, 384);
        time_shape("ViT-S mlp1, B=8", 8 * 197, 1536, 384);
        time_shape("ViT-B mlp2, B=8", 8 * 197, 768, 3072);
        time_shape("square 2048", 2048, 2048, 2048);
    }
    return sa::finish("linear");
}
#endif // VIT4J_STANDALONE
