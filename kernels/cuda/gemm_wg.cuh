// The Hopper (sm_90a) GEMM main loop for 16-bit storage (bf16, fp16) with fp32 accumulators: C tile
// [WG_BM, WG_BN] of C = A . W^T, both operands K-contiguous (A [M, K], W PyTorch's [N, K]), as
// gemm_tc.cuh computes it with mma.sync. The kernels that run it (linear.cu, version 4: linear_v4_*)
// differ only in the store, the same stores as version 3 (bias, GELU, residual, the QKV layout). Every
// PTX instruction goes through wgmma.cuh / mma.cuh, so this runs unchanged on native/cudacpu.
//
// Tricks, by name:
//  * warpgroup MMA: WG_BM / 64 warpgroups of 128 threads, each owning 64 rows of the tile: one
//    wgmma.mma_async m64nWG_BNk16 per k16 (A and B read by the tensor cores straight from shared memory
//    through matrix descriptors; no ldmatrix, no A/B registers), WG_BN / 2 fp32 accumulators a thread;
//  * 128-byte swizzle (WG_BK = 64: a slab row is 128 bytes) or 64-byte (WG_BK = 32): the layout wgmma
//    reads (wgmma.cuh): 16-byte chunk c of row r stored at chunk c ^ (r % 8) (resp. c ^ ((r / 2) % 4)),
//    8-row atoms contiguous (SBO = 8 rows), every stage 1024-byte aligned, k16 steps advancing the
//    descriptors' start by 32 bytes; conflict-free for the cp.async writes as gemm_tc.cuh's swizzle;
//  * cp.async multi-stage pipeline into that layout: WG_STAGES stages, 16-byte cp.async.cg copies,
//    tails zero-filled by the copy (source size 0), one commit group per slab, WG_STAGES - 1 in flight;
//    after a slab's wait each thread fences its writes to the async proxy (fence.proxy.async) before
//    the barrier, as wgmma reads through that proxy;
//  * dynamic shared memory (the fallback's shared window; 1024-byte alignment), WG_SMEM_BYTES of it,
//    kept within the 48 KiB a launch gets without an opt-in attribute (CudaDriver's plain launch sets
//    none), hence 128 x 64 tiles and two stages by default; the TMA kernels' launches opt in, which the
//    wide tile (WG_WIDE_*: 128 x 128, 4 stages, 128 KiB) uses.
// Each is instantiated per tile (WgTile below); the comments name the large tile's constants (WG_*).
// Requirement: K % 8 == 0 and A, W 16-byte aligned (as version 3; checked here, the host picks version
// 2 otherwise). Built for sm_90a only: elsewhere (sm_80..sm_90 without "a") the kernels compile to a trap,
// and CudaKernels runs version 4 on compute capability 9.0 devices only.
//
// Tile sizes are tuning values (#define VIT4J_WG_*, VIT4J_WG_SMALL_* and VIT4J_WG_WIDE_* before including
// this, or -D), read by the host as WG_*, WG_SMALL_* and WG_WIDE_* (CudaKernels.HopperGemm, through
// KernelConstants); the main loops take their tile as a type (WgTile: WgLarge, WgSmall, WgWide).
#pragma once

#include "common.cuh"
#include "mma.cuh"
#include "wgmma.cuh"
#include "gemm_tc.cuh"
#include "tma.cuh"

#ifndef VIT4J_WG_BM
#define VIT4J_WG_BM 128
#endif
#ifndef VIT4J_WG_BN
#define VIT4J_WG_BN 64
#endif
#ifndef VIT4J_WG_BK
#define VIT4J_WG_BK 64
#endif
#ifndef VIT4J_WG_STAGES
#define VIT4J_WG_STAGES 2
#endif
// The small tile (one warpgroup), for problems whose large tiles leave SMs idle, as gemm_tc.cuh's
// TC_SMALL_*: ViT-B at batch 1 makes 24 blocks of the large tile for fc2 and 132 SMs, 48 of this one;
// a third stage in the same 48 KiB. The host picks per problem (CudaKernels.TileChoice).
#ifndef VIT4J_WG_SMALL_BM
#define VIT4J_WG_SMALL_BM 64
#endif
#ifndef VIT4J_WG_SMALL_BN
#define VIT4J_WG_SMALL_BN 64
#endif
#ifndef VIT4J_WG_SMALL_BK
#define VIT4J_WG_SMALL_BK 64
#endif
#ifndef VIT4J_WG_SMALL_STAGES
#define VIT4J_WG_SMALL_STAGES 3
#endif
// The wide tile, for the TMA kernels alone (linear_v4_tma_wide_*): 128 x 128, 4 stages, 128 KiB of shared
// memory (above the 48 KiB the cp.async launches get). Per k it loads 2 (BM + BN) = 512 bytes for 2 BM BN
// = 32768 FLOPs, 1.5x the large tile's FLOPs per byte, and keeps three slabs in flight where the large
// tile keeps one. Not picked by the model: VIT4J_CUDA_TILE=wide asks for it, so that the GPU run can
// measure it against the large tile before it becomes a default.
#ifndef VIT4J_WG_WIDE_BM
#define VIT4J_WG_WIDE_BM 128
#endif
#ifndef VIT4J_WG_WIDE_BN
#define VIT4J_WG_WIDE_BN 128
#endif
#ifndef VIT4J_WG_WIDE_BK
#define VIT4J_WG_WIDE_BK 64
#endif
#ifndef VIT4J_WG_WIDE_STAGES
#define VIT4J_WG_WIDE_STAGES 4
#endif

namespace vit4j {

// What the host reads: the large tile ...
constexpr int WG_BM = VIT4J_WG_BM;         // rows of C per block: 64 per warpgroup
constexpr int WG_BN = VIT4J_WG_BN;         // columns of C per block: the N of the wgmma
constexpr int WG_BK = VIT4J_WG_BK;         // k per shared-memory slab: 128-byte rows at 64
constexpr int WG_STAGES = VIT4J_WG_STAGES; // slabs in shared memory (WG_STAGES - 1 in flight)
constexpr int WG_THREADS = WG_BM / 64 * 128;
constexpr int WG_SMEM_BYTES = WG_STAGES * (WG_BM + WG_BN) * WG_BK * 2; // dynamic shared memory of a launch
// The TMA variant (gemm_wg_tile_tma): the same slabs, then one 8-byte mbarrier per stage (room for 8)
constexpr int WG_TMA_BARRIER_BYTES = 64;
constexpr int WG_TMA_SMEM_BYTES = WG_SMEM_BYTES + WG_TMA_BARRIER_BYTES; // above 48 KiB: opted into
// ... and the small one
constexpr int WG_SMALL_BM = VIT4J_WG_SMALL_BM;
constexpr int WG_SMALL_BN = VIT4J_WG_SMALL_BN;
constexpr int WG_SMALL_BK = VIT4J_WG_SMALL_BK;
constexpr int WG_SMALL_STAGES = VIT4J_WG_SMALL_STAGES;
constexpr int WG_SMALL_THREADS = WG_SMALL_BM / 64 * 128;
constexpr int WG_SMALL_SMEM_BYTES = WG_SMALL_STAGES * (WG_SMALL_BM + WG_SMALL_BN) * WG_SMALL_BK * 2;
constexpr int WG_SMALL_TMA_SMEM_BYTES = WG_SMALL_SMEM_BYTES + WG_TMA_BARRIER_BYTES;
// ... and the wide one (TMA loads only)
constexpr int WG_WIDE_BM = VIT4J_WG_WIDE_BM;
constexpr int WG_WIDE_BN = VIT4J_WG_WIDE_BN;
constexpr int WG_WIDE_BK = VIT4J_WG_WIDE_BK;
constexpr int WG_WIDE_STAGES = VIT4J_WG_WIDE_STAGES;
constexpr int WG_WIDE_THREADS = WG_WIDE_BM / 64 * 128;
constexpr int WG_WIDE_TMA_SMEM_BYTES = WG_WIDE_STAGES * (WG_WIDE_BM + WG_WIDE_BN) * WG_WIDE_BK * 2 + WG_TMA_BARRIER_BYTES;
constexpr int WG_K_MULTIPLE = 8;           // K must be a multiple of this

// One tile configuration (kernel traits, as gemm_tc.cuh's TcTile): BM rows (64 per warpgroup), BN
// columns (the wgmma's N), slabs of BK, STAGES of them.
template <int BM_, int BN_, int BK_, int STAGES_>
struct WgTile {
    static constexpr int BM = BM_, BN = BN_, BK = BK_, STAGES = STAGES_;
    static constexpr int GROUPS = BM / 64; // warpgroups per block
    static constexpr int THREADS = GROUPS * 128;
    static constexpr int STAGE_ELEMS = (BM + BN) * BK;
    static constexpr int SMEM_BYTES = STAGES * STAGE_ELEMS * 2;
    static constexpr int TMA_SMEM_BYTES = SMEM_BYTES + WG_TMA_BARRIER_BYTES;

    static_assert(BK == 64 || BK == 32, "slab rows of 128 bytes (128-byte swizzle) or 64 bytes (64-byte swizzle)");
    static_assert(BN == 64 || BN == 128, "wgmma.cuh wraps m64n64k16 and m64n128k16");
    static_assert(BM % 64 == 0 && GROUPS >= 1, "a warpgroup owns 64 rows");
    static_assert((BM * BK / 8) % THREADS == 0 && (BN * BK / 8) % THREADS == 0,
                  "every thread copies the same number of 16-byte chunks per slab");
    static_assert((STAGE_ELEMS * 2) % 1024 == 0 && (BM * BK * 2) % 1024 == 0,
                  "every stage and its W slab start on a 1024-byte boundary (the swizzle's period)");
    static_assert(STAGES >= 2, "a pipeline needs two stages at least");
    static_assert(STAGES * 8 <= WG_TMA_BARRIER_BYTES, "one mbarrier per stage after the slabs");
    static_assert(TMA_SMEM_BYTES <= 227 * 1024, "an sm_90 block has at most 227 KiB of shared memory");
    static_assert(BM <= 256 && BN <= 256, "a TMA box has at most 256 rows");

    // Where chunk `chunk` (16 bytes) of row `row` of a slab is stored, in chunks from the row's start: the
    // swizzle wgmma applies to its shared addresses (wgmma.cuh), for 1024-byte aligned slabs.
    __host__ __device__ __forceinline__ static int swizzle(int row, int chunk) {
        return BK == 64 ? chunk ^ (row & 7) : chunk ^ ((row >> 1) & 3);
    }
};
using WgLarge = WgTile<WG_BM, WG_BN, WG_BK, WG_STAGES>;
using WgSmall = WgTile<WG_SMALL_BM, WG_SMALL_BN, WG_SMALL_BK, WG_SMALL_STAGES>;
using WgWide = WgTile<WG_WIDE_BM, WG_WIDE_BN, WG_WIDE_BK, WG_WIDE_STAGES>;
static_assert(WgWide::THREADS == WG_WIDE_THREADS && WgWide::TMA_SMEM_BYTES == WG_WIDE_TMA_SMEM_BYTES,
              "host constants = the tile's");
static_assert(WgLarge::THREADS == WG_THREADS && WgLarge::SMEM_BYTES == WG_SMEM_BYTES &&
              WgLarge::TMA_SMEM_BYTES == WG_TMA_SMEM_BYTES, "host constants = the tile's");
static_assert(WgSmall::THREADS == WG_SMALL_THREADS && WgSmall::SMEM_BYTES == WG_SMALL_SMEM_BYTES &&
              WgSmall::TMA_SMEM_BYTES == WG_SMALL_TMA_SMEM_BYTES, "host constants = the tile's");

// The epilogue of gemm_wg_tile_src and gemm_wg_tile_tma: hands every in-range result (m < M, n < N) of
// thread tid's accumulators for the tile at (m0, n0) to store(m, n, value).
// Epilogue from the accumulators (wgmma.cuh's D fragment): warp w of the group holds rows 16 w + g
// and + 8, element 4 i + j column 8 i + 2 t + j % 2.
template <class Tile, class Store>
__device__ __forceinline__ void wg_store_acc(const float (&acc)[Tile::BN / 2], int tid, int m0, int n0, int M, int N,
                                             const Store& store) {
    const int group = tid >> 7, lane = tid & 31, w = (tid >> 5) & 3, g = lane >> 2, t = lane & 3;
#pragma unroll
    for (int h = 0; h < 2; h++) {
        const int m = m0 + group * 64 + 16 * w + g + 8 * h;
        if (m >= M) continue;
#pragma unroll
        for (int i = 0; i < Tile::BN / 8; i++) {
            const int n = n0 + 8 * i + 2 * t;
            if (n < N) store(m, n, acc[4 * i + 2 * h]);
            if (n + 1 < N) store(m, n + 1, acc[4 * i + 2 * h + 1]);
        }
    }
}

// Runs the main loop for this block's tile and hands every in-range result to store(m, n, value).
// Call with blockDim = Tile::THREADS, Tile::SMEM_BYTES of dynamic shared memory, grid (ceil(N / Tile::BN),
// ceil(M / Tile::BM)). asrc: an A-chunk source as gemm_tc.cuh's (TcRowMajor); W row-major [N, K].
template <class Tile, class T, class ASrc, class Store>
__device__ __forceinline__ void gemm_wg_tile_src(const ASrc& asrc, const T* W, int M, int N, int K,
                                                 const Store& store) {
    static_assert(sizeof(T) == 2, "Hopper GEMM: 16-bit storage types only");
    static_assert(Tile::SMEM_BYTES <= 48 * 1024,
                  "the cp.async kernels launch without the opt-in above 48 KiB of dynamic shared memory");
#if !VIT4J_WGMMA_AVAILABLE
    (void) asrc;
    (void) W;
    (void) M;
    (void) N;
    (void) K;
    (void) store;
    mma::device_fail("linear_v4: wgmma needs sm_90a");
#else
#if defined(__CUDACC__)
    extern __shared__ __align__(1024) unsigned char wg_smem_raw[];
#else
    unsigned char* wg_smem_raw = static_cast<unsigned char*>(::vit4j_cpu::dynamic_shared());
#endif
    T* smem = reinterpret_cast<T*>(wg_smem_raw);
    if ((K % WG_K_MULTIPLE) != 0 || (reinterpret_cast<uintptr_t>(W) & 15) != 0) {
        mma::device_fail("Hopper GEMM: K must be a multiple of 8 and A, W 16-byte aligned");
        return;
    }
    if ((wgmma::smem_address(smem) & 1023) != 0) {
        mma::device_fail("Hopper GEMM: dynamic shared memory not 1024-byte aligned");
        return;
    }
    constexpr int CPR = Tile::BK / 8; // 16-byte chunks per slab row
    constexpr int A_PER = Tile::BM * CPR / Tile::THREADS, W_PER = Tile::BN * CPR / Tile::THREADS;
    constexpr int KSTEPS = Tile::BK / 16;
    constexpr uint32_t ROW_BYTES = Tile::BK * 2, SBO = 8 * ROW_BYTES;
    constexpr wgmma::Swizzle SWIZZLE = Tile::BK == 64 ? wgmma::SWIZZLE_128B : wgmma::SWIZZLE_64B;
    const int tid = threadIdx.x, group = tid >> 7;
    const int m0 = blockIdx.y * Tile::BM, n0 = blockIdx.x * Tile::BN;
    const int KT = (K + Tile::BK - 1) / Tile::BK;
    mma::AsyncCopies<(A_PER + W_PER) * Tile::STAGES> cp;
    // room for twice the operations one slab issues: a wait that leaves a group pending (a bug) then
    // shows as wrong values in the checks, not as the fallback's limit
    wgmma::Warpgroup<T, Tile::BN, 2 * KSTEPS> mm;

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

    float acc[Tile::BN / 2];
#pragma unroll
    for (int e = 0; e < Tile::BN / 2; e++) acc[e] = 0.f;

#pragma unroll
    for (int s = 0; s < Tile::STAGES - 1; s++) {
        if (s < KT) load(s, s);
        cp.commit();
    }
    for (int kt = 0; kt < KT; kt++) {
        cp.template wait<Tile::STAGES - 2>();    // this thread's copies of slab kt have landed ...
        wgmma::fence_proxy_async(); // ... where the async proxy (wgmma) sees them ...
        __syncthreads();            // ... and everyone's; every warpgroup's wgmma on slab kt - 1 is done
        {
            const int next = kt + Tile::STAGES - 1; // into the stage slab kt - 1 used
            if (next < KT) load(next, next % Tile::STAGES);
            cp.commit();
        }
        const T* As = smem + (kt % Tile::STAGES) * Tile::STAGE_ELEMS + group * 64 * Tile::BK;
        const T* Ws = smem + (kt % Tile::STAGES) * Tile::STAGE_ELEMS + Tile::BM * Tile::BK;
        // LBO 16: not used by swizzled K-major layouts (wgmma.cuh), 16 by convention
        const uint64_t da = wgmma::make_desc(As, 16, SBO, SWIZZLE), db = wgmma::make_desc(Ws, 16, SBO, SWIZZLE);
        mm.fence();
#pragma unroll
        for (int kk = 0; kk < KSTEPS; kk++) mm.mma(acc, wgmma::advance(da, 32 * kk), wgmma::advance(db, 32 * kk), 1);
        mm.commit();
        mm.template wait<0>(acc); // slab kt is free for the copies issued after the next barrier
    }
    cp.template wait<0>(); // nothing real is left (the trailing groups are empty)

    wg_store_acc<Tile>(acc, tid, m0, n0, M, N, store);
#endif
}

// The main loop with TMA loads (Hopper's tensor memory accelerator): the same tiles, slabs, swizzle,
// wgmma and store as gemm_wg_tile_src, but each stage's A and W slabs come from one elected thread's
// two cp.async.bulk.tensor.2d copies (tma.cuh) instead of every thread's 16-byte cp.async copies:
//  * the maps (host side: CudaKernels.HopperGemm.tensorMap, cuTensorMapEncodeTiled) describe A [M, K]
//    and W [N, K] row-major with boxes of Tile::BK x Tile::BM and Tile::BK x Tile::BN elements and the 128-byte
//    swizzle (Tile::BK = 64: a box row is 128 bytes; 64-byte at Tile::BK = 32), so a box lands as the layout
//    the descriptors declare (WgTile::swizzle; stages 1024-byte aligned); elements past M, N or K (the B * 197
//    tail, N and K tails) are zero-filled by the copy, so no bounds checks in the loop;
//  * one mbarrier per stage (after the slabs in dynamic shared memory: Tile::TMA_SMEM_BYTES, above 48 KiB,
//    so the launch opts in), initialised with one arrival: thread 0's arrive.expect_tx of the stage's
//    bytes (Tile::STAGE_ELEMS * 2, the whole boxes, out-of-bounds elements included), which the two copies
//    complete; the consumers wait on the stage's phase parity ((kt / Tile::STAGES) % 2 for slab kt);
//  * the stage that slab kt - 1 used is refilled (slab kt + Tile::STAGES - 1) right after the barrier that
//    follows every warpgroup's wgmma.wait_group 0 on it, and before anyone waits on slab kt: on the
//    CPU runtime a thread cannot block, so every arrival and copy of a phase is issued before a
//    __syncthreads that precedes the first wait on it (on a GPU the wait would simply spin).
// Requirements as gemm_wg_tile_src (K % 8 == 0: the maps' row pitch a multiple of 16 bytes; A and W
// 16-byte aligned, which the maps' encoding checks). Call with blockDim = Tile::THREADS,
// Tile::TMA_SMEM_BYTES of dynamic shared memory, grid (ceil(N / Tile::BN), ceil(M / Tile::BM)); the maps must
// be the kernel's __grid_constant__ parameters.
template <class Tile, class T, class Store>
__device__ __forceinline__ void gemm_wg_tile_tma(const tma::TensorMap* map_a, const tma::TensorMap* map_w, int M, int N,
                                                 int K, const Store& store) {
    static_assert(sizeof(T) == 2, "Hopper GEMM: 16-bit storage types only");
#if !VIT4J_WGMMA_AVAILABLE || !VIT4J_TMA_AVAILABLE
    (void) map_a;
    (void) map_w;
    (void) M;
    (void) N;
    (void) K;
    (void) store;
    mma::device_fail("linear_v4_tma: wgmma and TMA need sm_90a");
#else
#if defined(__CUDACC__)
    extern __shared__ __align__(1024) unsigned char wg_smem_raw[];
#else
    unsigned char* wg_smem_raw = static_cast<unsigned char*>(::vit4j_cpu::dynamic_shared());
#endif
    T* smem = reinterpret_cast<T*>(wg_smem_raw);
    uint64_t* bars = reinterpret_cast<uint64_t*>(wg_smem_raw + Tile::SMEM_BYTES);
    if ((K % WG_K_MULTIPLE) != 0) {
        mma::device_fail("Hopper GEMM: K must be a multiple of 8 and A, W 16-byte aligned");
        return;
    }
    if ((wgmma::smem_address(smem) & 1023) != 0) {
        mma::device_fail("Hopper GEMM: dynamic shared memory not 1024-byte aligned");
        return;
    }
    constexpr int KSTEPS = Tile::BK / 16;
    constexpr uint32_t ROW_BYTES = Tile::BK * 2, SBO = 8 * ROW_BYTES;
    constexpr uint32_t STAGE_TX = Tile::STAGE_ELEMS * 2; // both boxes' bytes: what the copies complete
    constexpr wgmma::Swizzle SWIZZLE = Tile::BK == 64 ? wgmma::SWIZZLE_128B : wgmma::SWIZZLE_64B; // the maps' too
    const int tid = threadIdx.x, group = tid >> 7;
    const int m0 = blockIdx.y * Tile::BM, n0 = blockIdx.x * Tile::BN;
    const int KT = (K + Tile::BK - 1) / Tile::BK;
    wgmma::Warpgroup<T, Tile::BN, 2 * KSTEPS> mm;

    // thread 0: slab kt into stage `stage`, both boxes completing on that stage's barrier
    auto issue = [&](int kt, int stage) {
        T* As = smem + stage * Tile::STAGE_ELEMS;
        T* Ws = As + Tile::BM * Tile::BK;
        tma::mbarrier_arrive_expect_tx(&bars[stage], STAGE_TX);
        tma::tma_load_2d(As, map_a, kt * Tile::BK, m0, &bars[stage]);
        tma::tma_load_2d(Ws, map_w, kt * Tile::BK, n0, &bars[stage]);
    };

    if (tid == 0) {
#pragma unroll
        for (int s = 0; s < Tile::STAGES; s++) tma::mbarrier_init(&bars[s], 1);
        tma::fence_mbarrier_init();  // the inits seen by the async proxy (the copies' complete_tx) ...
        wgmma::fence_proxy_async(); // ... and the generic writes to shared memory before it
    }
    __syncthreads(); // every thread sees initialised barriers before it waits on one
    if (tid == 0) {
#pragma unroll
        for (int s = 0; s < Tile::STAGES - 1; s++)
            if (s < KT) issue(s, s);
    }

    float acc[Tile::BN / 2];
#pragma unroll
    for (int e = 0; e < Tile::BN / 2; e++) acc[e] = 0.f;

    for (int kt = 0; kt < KT; kt++) {
        __syncthreads(); // every warpgroup's wgmma on slab kt - 1 is done; slab kt's copies are issued
        if (tid == 0) {
            const int next = kt + Tile::STAGES - 1; // into the stage slab kt - 1 used
            if (next < KT) issue(next, next % Tile::STAGES);
        }
        const int stage = kt % Tile::STAGES;
        tma::mbarrier_wait_parity(&bars[stage], (uint32_t) ((kt / Tile::STAGES) & 1)); // slab kt has landed
        const T* As = smem + stage * Tile::STAGE_ELEMS + group * 64 * Tile::BK;
        const T* Ws = smem + stage * Tile::STAGE_ELEMS + Tile::BM * Tile::BK;
        const uint64_t da = wgmma::make_desc(As, 16, SBO, SWIZZLE), db = wgmma::make_desc(Ws, 16, SBO, SWIZZLE);
        mm.fence();
#pragma unroll
        for (int kk = 0; kk < KSTEPS; kk++) mm.mma(acc, wgmma::advance(da, 32 * kk), wgmma::advance(db, 32 * kk), 1);
        mm.commit();
        mm.template wait<0>(acc); // slab kt is free for the copies issued after the next barrier
    }

    wg_store_acc<Tile>(acc, tid, m0, n0, M, N, store);
#endif
}

// The main loop on a row-major A [M, K].
template <class Tile, class T, class Store>
__device__ __forceinline__ void gemm_wg_tile(const T* A, const T* W, int M, int N, int K, const Store& store) {
    if ((reinterpret_cast<uintptr_t>(A) & 15) != 0) {
        mma::device_fail("Hopper GEMM: K must be a multiple of 8 and A, W 16-byte aligned");
        return;
    }
    gemm_wg_tile_src<Tile>(TcRowMajor<T>{A, M, K}, W, M, N, K, store);
}

} // namespace vit4j
