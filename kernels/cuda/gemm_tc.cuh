// The tensor-core GEMM main loop for 16-bit storage (bf16, fp16) with fp32 accumulators: C tile
// [TC_BM, TC_BN] of C = A . W^T, both operands K-contiguous ("NT": A [M, K], W PyTorch's [N, K]), as
// gemm_tile of common.cuh computes it in fp32 on the SIMT pipes. The kernels that run it (linear.cu,
// version 3) differ only in the store, which gets every in-range (m, n) and its fp32 sum and applies its
// epilogue (bias, GELU, residual, the QKV layout) before the one rounding to T. All PTX goes through
// mma.cuh, so this runs unchanged on native/cudacpu (the wrappers' fallbacks).
//
// Tricks, by name:
//  * tensor cores: mma.sync m16n8k16, bf16/fp16 inputs, fp32 accumulators (mma.cuh);
//  * ldmatrix: a warp loads its A fragments (16x16 each) and B fragments (two n8 tiles at a time) from
//    shared memory with one ldmatrix.x4 each, instead of 8 scalar loads per lane;
//  * cp.async multi-stage pipeline: TC_STAGES shared-memory stages, each a TC_BM x TC_BK slab of A and a
//    TC_BN x TC_BK slab of W, filled by 16-byte cp.async.cg copies (global -> shared without registers),
//    TC_STAGES - 1 slabs in flight while the tensor cores work on the oldest; one commit group per slab;
//  * swizzled shared memory (tc_swizzle): rows of TC_BK 16-bit elements are 64 bytes (4 chunks of 16
//    bytes); chunk c of row r is stored at chunk c ^ ((r / 2) % 4). Then the 8 rows an ldmatrix phase
//    reads at one logical chunk, and the 8 chunks a phase of cp.async writes, fall in 8 different
//    16-byte bank groups: no bank conflicts, and no padding (3 stages fit the 48 KiB of static shared
//    memory every architecture gives without opt-in). kernels/cuda/tests/mma_test.cu checks this;
//  * warp tiling: TC_WARPS_M x TC_WARPS_N warps, each owning a (TC_BM / TC_WARPS_M) x (TC_BN / TC_WARPS_N)
//    piece of the tile: TcTile::MI x TcTile::NI mma tiles, their fp32 accumulators in registers;
//  * tails: rows of A past M and of W past N, and chunks past K, are zero-filled by the copy itself
//    (cp.async with source size 0), so the main loop has no bounds checks; the store skips (m, n) past
//    the edges. Any M and N.
// Requirement: K % 8 == 0 (TC_K_MULTIPLE) and A, W 16-byte aligned, so that every 8-element chunk of a
// row is one aligned 16-byte copy. The kernel checks it (uniformly, once) and faults otherwise; the host
// picks the SIMT kernel for such shapes (CudaKernels.linear). ViT's K (D, 4D, C*P*P) all qualify.
//
// Tile sizes are tuning values: #define VIT4J_TC_* (the large tile) and VIT4J_TC_SMALL_* (the small one)
// before including this (or -D on the command line) to change them; the constexpr TC_* and TC_SMALL_*
// below are what the host reads (CudaKernels.TensorCoreGemm, through KernelConstants, which also
// evaluates the #define defaults). The main loop takes its tile as a type (TcTile: TcLarge, TcSmall).
#pragma once

#include "common.cuh"
#include "mma.cuh"

#ifndef VIT4J_TC_BM
#define VIT4J_TC_BM 128
#endif
#ifndef VIT4J_TC_BN
#define VIT4J_TC_BN 128
#endif
#ifndef VIT4J_TC_BK
#define VIT4J_TC_BK 32
#endif
#ifndef VIT4J_TC_WARPS_M
#define VIT4J_TC_WARPS_M 2
#endif
#ifndef VIT4J_TC_WARPS_N
#define VIT4J_TC_WARPS_N 4
#endif
#ifndef VIT4J_TC_STAGES
#define VIT4J_TC_STAGES 3
#endif
// The small tile, for problems whose large tiles would leave most SMs idle (ViT-B at batch 1: M = 197
// rows are two 128-row tiles; the projection and fc2 (N = 768) then make 12 blocks for 108..132 SMs).
// The host picks one of the two per problem (CudaKernels.TileChoice: the fewest waves of blocks,
// weighted by each tile's operand bytes per FLOP); the kernels of this tile are named *_small_*.
#ifndef VIT4J_TC_SMALL_BM
#define VIT4J_TC_SMALL_BM 64
#endif
#ifndef VIT4J_TC_SMALL_BN
#define VIT4J_TC_SMALL_BN 64
#endif
#ifndef VIT4J_TC_SMALL_BK
#define VIT4J_TC_SMALL_BK 32
#endif
#ifndef VIT4J_TC_SMALL_WARPS_M
#define VIT4J_TC_SMALL_WARPS_M 2
#endif
#ifndef VIT4J_TC_SMALL_WARPS_N
#define VIT4J_TC_SMALL_WARPS_N 2
#endif
#ifndef VIT4J_TC_SMALL_STAGES
#define VIT4J_TC_SMALL_STAGES 4
#endif

namespace vit4j {

// What the host reads (names as the tuning values without VIT4J_): the large tile ...
constexpr int TC_BM = VIT4J_TC_BM;         // rows of C per block
constexpr int TC_BN = VIT4J_TC_BN;         // columns of C per block
constexpr int TC_BK = VIT4J_TC_BK;         // k per shared-memory slab
constexpr int TC_WARPS_M = VIT4J_TC_WARPS_M;
constexpr int TC_WARPS_N = VIT4J_TC_WARPS_N;
constexpr int TC_STAGES = VIT4J_TC_STAGES; // slabs in shared memory (TC_STAGES - 1 in flight)
constexpr int TC_THREADS = TC_WARPS_M * TC_WARPS_N * 32;
constexpr int TC_SMEM_BYTES = TC_STAGES * (TC_BM + TC_BN) * TC_BK * 2;
// ... and the small one
constexpr int TC_SMALL_BM = VIT4J_TC_SMALL_BM;
constexpr int TC_SMALL_BN = VIT4J_TC_SMALL_BN;
constexpr int TC_SMALL_BK = VIT4J_TC_SMALL_BK;
constexpr int TC_SMALL_WARPS_M = VIT4J_TC_SMALL_WARPS_M;
constexpr int TC_SMALL_WARPS_N = VIT4J_TC_SMALL_WARPS_N;
constexpr int TC_SMALL_STAGES = VIT4J_TC_SMALL_STAGES;
constexpr int TC_SMALL_THREADS = TC_SMALL_WARPS_M * TC_SMALL_WARPS_N * 32;
constexpr int TC_SMALL_SMEM_BYTES = TC_SMALL_STAGES * (TC_SMALL_BM + TC_SMALL_BN) * TC_SMALL_BK * 2;
constexpr int TC_K_MULTIPLE = 8;           // K must be a multiple of this

// One tile configuration of the main loop, everything derived from it in one place (FlashAttention's
// kernel traits): the main loop, its kernels and their launches take the tile as a type.
template <int BM_, int BN_, int BK_, int WARPS_M_, int WARPS_N_, int STAGES_>
struct TcTile {
    static constexpr int BM = BM_, BN = BN_, BK = BK_, WARPS_M = WARPS_M_, WARPS_N = WARPS_N_, STAGES = STAGES_;
    static constexpr int THREADS = WARPS_M * WARPS_N * 32;
    static constexpr int WTM = BM / WARPS_M; // a warp's rows
    static constexpr int WTN = BN / WARPS_N; // a warp's columns
    static constexpr int MI = WTM / 16;      // m16 tiles per warp
    static constexpr int NI = WTN / 8;       // n8 tiles per warp
    static constexpr int STAGE_ELEMS = (BM + BN) * BK;
    static constexpr int SMEM_BYTES = STAGES * STAGE_ELEMS * 2;

    static_assert(BK == 32 || BK == 64, "swizzle is written for rows of 4 or 8 16-byte chunks");
    static_assert(WTM % 16 == 0 && WTN % 16 == 0, "a warp tile is whole m16 tiles and pairs of n8 tiles");
    static_assert((BM * BK / 8) % THREADS == 0 && (BN * BK / 8) % THREADS == 0,
                  "every thread copies the same number of 16-byte chunks per slab");
    static_assert(SMEM_BYTES <= 48 * 1024, "static shared memory is limited to 48 KiB");
    static_assert(STAGES >= 2, "a pipeline needs two stages at least");

    // Where chunk `chunk` (8 elements, 16 bytes) of row `row` of a [rows][BK] slab is stored, in chunks
    // from the row's start: an XOR of the chunk with a few bits of the row (see above).
    __host__ __device__ __forceinline__ static int swizzle(int row, int chunk) {
        return BK == 64 ? chunk ^ (row & 7) : chunk ^ ((row >> 1) & 3);
    }
};
using TcLarge = TcTile<TC_BM, TC_BN, TC_BK, TC_WARPS_M, TC_WARPS_N, TC_STAGES>;
using TcSmall = TcTile<TC_SMALL_BM, TC_SMALL_BN, TC_SMALL_BK, TC_SMALL_WARPS_M, TC_SMALL_WARPS_N, TC_SMALL_STAGES>;
static_assert(TcLarge::THREADS == TC_THREADS && TcLarge::SMEM_BYTES == TC_SMEM_BYTES, "host constants = the tile's");
static_assert(TcSmall::THREADS == TC_SMALL_THREADS && TcSmall::SMEM_BYTES == TC_SMALL_SMEM_BYTES, "host constants = the tile's");

// The large tile's swizzle (kernels/cuda/tests/mma_test.cu checks it is conflict-free).
__host__ __device__ __forceinline__ int tc_swizzle(int row, int chunk) { return TcLarge::swizzle(row, chunk); }

// The A operand as the main loop reads it: chunk(m, k) is the address of A[m][k .. k + 7] (k % 8 == 0),
// 16-byte aligned, or null past the edges (the chunk is then zero). A row-major [M, K] matrix is
// TcRowMajor; patch_embed.cu forms its A from the image (im2col in the copy).
template <class T>
struct TcRowMajor {
    const T* p;
    int rows, K;
    __device__ __forceinline__ const T* operator()(int m, int k) const {
        return m < rows && k < K ? p + (long long) m * K + k : nullptr;
    }
};

// Runs the main loop for this block's tile and hands every in-range result to store(m, n, value).
// T: __nv_bfloat16 or __half; Tile: a TcTile (TcLarge, TcSmall). Call with blockDim = Tile::THREADS,
// grid (ceil(N / Tile::BN), ceil(M / Tile::BM)).
// A: an A-chunk source as above (its alignment is the caller's to check); W row-major [N, K].
template <class Tile, class T, class ASrc, class Store>
__device__ __forceinline__ void gemm_tc_tile_src(const ASrc& asrc, const T* W, int M, int N, int K,
                                                 const Store& store) {
    static_assert(sizeof(T) == 2, "tensor-core GEMM: 16-bit storage types only");
    __shared__ __align__(128) T smem[Tile::STAGES * Tile::STAGE_ELEMS];

    if ((K % TC_K_MULTIPLE) != 0 || (reinterpret_cast<uintptr_t>(W) & 15) != 0) {
        mma::device_fail("tensor-core GEMM: K must be a multiple of 8 and A, W 16-byte aligned");
        return;
    }
    constexpr int CPR = Tile::BK / 8; // 16-byte chunks per slab row
    constexpr int A_PER = Tile::BM * CPR / Tile::THREADS, W_PER = Tile::BN * CPR / Tile::THREADS;
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int wm = warp % Tile::WARPS_M, wn = warp / Tile::WARPS_M;
    const int m0 = blockIdx.y * Tile::BM, n0 = blockIdx.x * Tile::BN;
    const int KT = (K + Tile::BK - 1) / Tile::BK;
    mma::AsyncCopies<(A_PER + W_PER) * Tile::STAGES> cp;

    // Issues the copies of slab kt into stage `stage`: chunk c of the slab is row c / CPR, chunk c % CPR;
    // consecutive threads take consecutive chunks, so a warp reads whole 64-byte row pieces.
    auto load = [&](int kt, int stage) {
        T* As = smem + stage * Tile::STAGE_ELEMS;
        T* Ws = As + Tile::BM * Tile::BK;
        const int k0 = kt * Tile::BK;
#pragma unroll
        for (int i = 0; i < A_PER; i++) {
            const int c = tid + i * Tile::THREADS, row = c / CPR, ch = c % CPR;
            const T* src = asrc(m0 + row, k0 + ch * 8);
            cp.cg16(As + row * Tile::BK + Tile::swizzle(row, ch) * 8, src != nullptr ? src : W, src != nullptr ? 16 : 0);
        }
#pragma unroll
        for (int i = 0; i < W_PER; i++) {
            const int c = tid + i * Tile::THREADS, row = c / CPR, ch = c % CPR;
            const int gn = n0 + row, gk = k0 + ch * 8;
            const bool in = gn < N && gk < K;
            cp.cg16(Ws + row * Tile::BK + Tile::swizzle(row, ch) * 8, in ? W + (long long) gn * K + gk : W, in ? 16 : 0);
        }
    };

    float acc[Tile::MI][Tile::NI][4];
#pragma unroll
    for (int i = 0; i < Tile::MI; i++)
#pragma unroll
        for (int j = 0; j < Tile::NI; j++)
#pragma unroll
            for (int e = 0; e < 4; e++) acc[i][j][e] = 0.f;

    // prologue: slabs 0 .. Tile::STAGES - 2 in flight (a group per slab, empty past the last one, so that
    // the group count, which wait<> counts in, is the same whatever KT is)
#pragma unroll
    for (int s = 0; s < Tile::STAGES - 1; s++) {
        if (s < KT) load(s, s);
        cp.commit();
    }
    for (int kt = 0; kt < KT; kt++) {
        cp.template wait<Tile::STAGES - 2>(); // this thread's copies of slab kt have landed ...
        __syncthreads();          // ... and everyone's; and every warp is done with slab kt - 1
        {
            const int next = kt + Tile::STAGES - 1; // into the stage slab kt - 1 used
            if (next < KT) load(next, next % Tile::STAGES);
            cp.commit();
        }
        const T* As = smem + (kt % Tile::STAGES) * Tile::STAGE_ELEMS;
        const T* Ws = As + Tile::BM * Tile::BK;
#pragma unroll
        for (int kk = 0; kk < Tile::BK / 16; kk++) {
            uint32_t af[Tile::MI][4], bf[Tile::NI][2];
#pragma unroll
            for (int i = 0; i < Tile::MI; i++) { // A fragment: rows +0..15, k +0..15 of this kk
                const int row = wm * Tile::WTM + i * 16 + (lane & 7) + 8 * ((lane >> 3) & 1);
                const int ch = kk * 2 + (lane >> 4);
                mma::ldmatrix_x4(af[i], As + row * Tile::BK + Tile::swizzle(row, ch) * 8);
            }
#pragma unroll
            for (int j = 0; j < Tile::NI / 2; j++) { // B fragments of two n8 tiles: W rows +0..15
                const int row = wn * Tile::WTN + j * 16 + (lane & 7) + 8 * (lane >> 4);
                const int ch = kk * 2 + ((lane >> 3) & 1);
                uint32_t r[4];
                mma::ldmatrix_x4(r, Ws + row * Tile::BK + Tile::swizzle(row, ch) * 8);
                bf[2 * j][0] = r[0];
                bf[2 * j][1] = r[1];
                bf[2 * j + 1][0] = r[2];
                bf[2 * j + 1][1] = r[3];
            }
#pragma unroll
            for (int i = 0; i < Tile::MI; i++)
#pragma unroll
                for (int j = 0; j < Tile::NI; j++) mma::mma_m16n8k16<T>(acc[i][j], af[i], bf[j]);
        }
    }
    cp.template wait<0>(); // nothing real is left (the trailing groups are empty); no copy outlives the block

    // Epilogue straight from the accumulators: lane (g, t) holds rows g and g + 8, columns 2t and 2t + 1
    // of each m16n8 tile.
    const int g = lane >> 2, t = lane & 3;
#pragma unroll
    for (int i = 0; i < Tile::MI; i++)
#pragma unroll
        for (int h = 0; h < 2; h++) {
            const int m = m0 + wm * Tile::WTM + i * 16 + g + 8 * h;
            if (m >= M) continue;
#pragma unroll
            for (int j = 0; j < Tile::NI; j++) {
                const int n = n0 + wn * Tile::WTN + j * 8 + 2 * t;
                if (n < N) store(m, n, acc[i][j][2 * h]);
                if (n + 1 < N) store(m, n + 1, acc[i][j][2 * h + 1]);
            }
        }
}

// The main loop on a row-major A [M, K].
template <class Tile, class T, class Store>
__device__ __forceinline__ void gemm_tc_tile(const T* A, const T* W, int M, int N, int K, const Store& store) {
    if ((reinterpret_cast<uintptr_t>(A) & 15) != 0) {
        mma::device_fail("tensor-core GEMM: K must be a multiple of 8 and A, W 16-byte aligned");
        return;
    }
    gemm_tc_tile_src<Tile>(TcRowMajor<T>{A, M, K}, W, M, N, K, store);
}

} // namespace vit4j
