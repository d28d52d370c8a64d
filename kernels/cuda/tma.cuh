// Hopper's (sm_90) asynchronous tensor copy and the shared-memory barrier it completes on, wrapped as
// mma.cuh and wgmma.cuh wrap theirs: each inline PTX instruction in one small function with a portable
// C++ fallback of the same semantics, so that a kernel built on these runs on native/cudacpu.
//
//   mbarrier_init(bar, count)              mbarrier.init.shared::cta.b64 [bar], count
//   fence_mbarrier_init()                  fence.mbarrier_init.release.cluster (an init seen by the
//                                          async proxy / the cluster before the first copy uses it)
//   mbarrier_arrive(bar)                   mbarrier.arrive.shared::cta.b64
//   mbarrier_arrive_expect_tx(bar, bytes)  mbarrier.arrive.expect_tx.shared::cta.b64 (expect `bytes`
//                                          more transaction bytes in this phase, then arrive)
//   mbarrier_try_wait_parity(bar, parity)  mbarrier.try_wait.parity.shared::cta.b64: true once the phase
//                                          of parity `parity` has completed
//   mbarrier_wait_parity(bar, parity)      try_wait until true
//   tma_load_2d(dst, map, c0, c1, bar)     cp.async.bulk.tensor.2d.shared::cluster.global.tile
//                                          .mbarrier::complete_tx::bytes [dst], [map, {c0, c1}], [bar]
//
// Which path (VIT4J_TMA_MODE): the PTX under nvcc for sm_90 and later without VIT4J_MMA_FALLBACK; the
// fallback on the host compiler (native/cudacpu) and under nvcc with -DVIT4J_MMA_FALLBACK; otherwise
// (older architectures, nvcc's host pass) none: VIT4J_TMA_AVAILABLE is 0 and the functions trap.
//
// From the PTX ISA ("mbarrier", "cp.async.bulk.tensor", "Tensor Access Modes: tile"):
//  * An mbarrier is 8 bytes of shared memory, 8-byte aligned. A phase completes when its pending
//    arrival count has reached zero and its transaction count is zero; the barrier then starts the
//    next phase with the pending count reset to the init count. arrive decrements the pending count;
//    expect_tx adds to the transaction count, and a copy's complete_tx subtracts the bytes it wrote
//    (the whole box, out-of-bounds elements included). try_wait.parity p is true when the phase whose
//    parity is p has completed, i.e. when the current phase's parity is no longer p.
//  * Tile mode, 2D: the box of box[1] rows x box[0] elements whose first element is at coordinates
//    (c0, c1) (innermost first; signed, and may lie partly or wholly outside the tensor) lands at the
//    shared address dst (128-byte aligned) as box[1] rows of box[0] * element bytes, densely. Elements
//    outside [0, dims) are filled: with zeros, or with NaN where the map asks for NaN fill (float types).
//  * Swizzle of the shared box, W = 128, 64 or 32 bytes: the 16-byte chunk of each byte address is
//    XORed with the address's bits from bit 7 on, (addr >> 7) % (W / 16), as wgmma reads its
//    swizzled operands (wgmma.cuh's desc_address): on the absolute shared address, so dst must be
//    aligned to the pattern's repeat (8 W bytes) for row r of the box to have chunk c at c ^ (r % 8)
//    (128B) and likewise for 64B ((r % 8) / 2) and 32B ((r % 8) / 4). The box's inner extent in bytes
//    must then be W exactly (the case the GEMMs use; the fallback refuses others).
//
// The map: on a GPU, a CUtensorMap from cuTensorMapEncodeTiled (NVIDIA's opaque 128 bytes, passed to
// the kernel as a `const __grid_constant__` parameter). In the fallback, the 128 bytes are OUR layout,
// CpuTensorMap below, the one place it is defined: what encode_cpu_tensor_map writes from the same
// arguments as cuTensorMapEncodeTiled (TensorMapSpec's fields, with cuda.h's enum numbers), and what
// the fallback's copy reads. A map must go to the fallback it was encoded for (a magic word checks it).
//
// Semantics the fallback keeps: the barrier arithmetic above exactly (atomically, so the nvcc build of
// the fallback runs on a GPU as well), the copy's data, swizzle, out-of-bounds fill and transaction
// bytes. On native/cudacpu the copy is also asynchronous, as mma.cuh's cp.async and wgmma.cuh's
// fallbacks are: at issue the box is filled with all-ones bytes (a NaN in every float type) and the
// copy is recorded; it lands, and completes its bytes on the barrier, at the first try_wait on that
// barrier by any thread. So a kernel that reads a box before waiting for its phase reads NaN in the
// standalone checks. (Under nvcc with -DVIT4J_MMA_FALLBACK the copy lands at issue.) What the fallback
// cannot do: on native/cudacpu a thread cannot block (a block's threads are fibers that switch only
// at barriers and warp collectives), so mbarrier_wait_parity on a phase that has not completed is a
// fault naming it, not a wait: a kernel must have every arrival and copy of a phase issued before the
// first thread waits on it there (e.g. issue, then __syncthreads, then wait), which the GPU does not
// need. And the proxy fences are no-ops there: a missing fence_mbarrier_init or fence.proxy.async
// does not show.
#pragma once

#include <cstdint>
#include <cstring>
#if !defined(__CUDACC__)
#include <vector>
#endif
#include "mma.cuh"

#if defined(__CUDACC__)
#include <cuda.h> // CUtensorMap and its enums (types only; nothing of the driver is linked)
#endif

#if defined(__CUDACC__)
#if defined(VIT4J_MMA_FALLBACK)
#define VIT4J_TMA_MODE 1
#elif defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
#define VIT4J_TMA_MODE 2
#else
#define VIT4J_TMA_MODE 0
#endif
#else
#define VIT4J_TMA_MODE 1
#endif
#define VIT4J_TMA_FALLBACK (VIT4J_TMA_MODE == 1)
#define VIT4J_TMA_PTX (VIT4J_TMA_MODE == 2)
#define VIT4J_TMA_AVAILABLE (VIT4J_TMA_MODE != 0)

#if !defined(__CUDACC__) && !defined(__grid_constant__)
#define __grid_constant__
#endif

namespace vit4j {
namespace tma {

// The kernel parameter type of a map: CUtensorMap under nvcc (128 bytes, 64-byte aligned), the same
// size and alignment on the CPU.
#if defined(__CUDACC__)
using TensorMap = CUtensorMap;
#else
struct alignas(64) TensorMap {
    unsigned char opaque[128];
    // native/cudacpu's parameter kind of a kernel taking a map by value (registry.h): 'm', as
    // KernelArg.TensorMap in Java; a launch passes the 128 bytes encode_cpu_tensor_map wrote.
    static constexpr char vit4j_kernel_arg_kind = 'm';
};
#endif
static_assert(sizeof(TensorMap) == 128, "a tensor map is 128 bytes");

// ---- the fallback's map: our layout of the 128 bytes --------------------------------------------------
// Enum numbers as cuda.h's CUtensorMapDataType / Interleave / Swizzle / L2promotion / FloatOOBfill
// (TensorMapSpec's codes).
enum DataType : uint32_t { UINT8 = 0, UINT16 = 1, UINT32 = 2, INT32 = 3, FLOAT16 = 6, FLOAT32 = 7, BFLOAT16 = 9 };
enum Swizzle : uint32_t { SWIZZLE_NONE = 0, SWIZZLE_32B = 1, SWIZZLE_64B = 2, SWIZZLE_128B = 3 };
enum OobFill : uint32_t { OOB_ZERO = 0, OOB_NAN = 1 };
constexpr uint32_t CPU_MAP_MAGIC = 0x4d543456u; // "V4TM"

struct CpuTensorMap {
    uint32_t magic;         //   0: CPU_MAP_MAGIC
    uint32_t dtype;         //   4: DataType
    uint32_t rank;          //   8: 1..5
    uint32_t interleave;    //  12: 0 (the only one the fallback copies)
    uint32_t swizzle;       //  16: Swizzle
    uint32_t l2;            //  20: L2 promotion (no effect here)
    uint32_t oob;           //  24: OobFill
    uint32_t element_bytes; //  28: of dtype
    uint64_t address;       //  32: the tensor's global address
    uint64_t dims[5];       //  40: elements, innermost first
    uint64_t strides[4];    //  80: bytes between consecutive indices of dims 1..rank-1
    uint16_t box[5];        // 112: 1..256 elements
    uint8_t estrides[5];    // 122: 1..8
    uint8_t pad;            // 127
};
static_assert(sizeof(CpuTensorMap) == 128, "CpuTensorMap fills the 128 bytes of a CUtensorMap");

__host__ __device__ inline uint32_t element_bytes(uint32_t dtype) {
    switch (dtype) {
    case UINT8: return 1;
    case UINT16: case FLOAT16: case BFLOAT16: return 2;
    case UINT32: case INT32: case FLOAT32: return 4;
    default: return 0;
    }
}

// The fallback's map of a tensor, from cuTensorMapEncodeTiled's arguments; null, or what is wrong with
// them (the driver's checks that matter to the copy: TensorMapSpec checks the rest before the driver).
inline const char* encode_cpu_tensor_map(TensorMap* out, uint32_t dtype, uint32_t rank, const void* address,
                                         const uint64_t* dims, const uint64_t* strides, const uint32_t* box,
                                         const uint32_t* estrides, uint32_t interleave, uint32_t swizzle, uint32_t l2,
                                         uint32_t oob) {
    CpuTensorMap m;
    std::memset(&m, 0, sizeof m);
    if (element_bytes(dtype) == 0) return "tensor map: dtype is not one the fallback knows";
    if (rank < 1 || rank > 5) return "tensor map: rank must be 1..5";
    if (address == nullptr || (uintptr_t) address % 16 != 0) return "tensor map: address must be 16-byte aligned";
    if (interleave != 0) return "tensor map: the fallback copies without interleave only";
    if (swizzle > SWIZZLE_128B) return "tensor map: swizzle must be 0..3";
    if (oob > OOB_NAN) return "tensor map: oobFill must be 0 or 1";
    if (oob == OOB_NAN && dtype != FLOAT16 && dtype != FLOAT32 && dtype != BFLOAT16)
        return "tensor map: oobFill NaN needs a floating-point dtype";
    if (l2 > 3) return "tensor map: l2Promotion must be 0..3";
    m.magic = CPU_MAP_MAGIC;
    m.dtype = dtype;
    m.rank = rank;
    m.interleave = interleave;
    m.swizzle = swizzle;
    m.l2 = l2;
    m.oob = oob;
    m.element_bytes = element_bytes(dtype);
    m.address = (uint64_t) (uintptr_t) address;
    for (uint32_t i = 0; i < rank; i++) {
        if (dims[i] < 1 || dims[i] > (1ull << 32)) return "tensor map: dims must be 1..2^32";
        if (box[i] < 1 || box[i] > 256) return "tensor map: box sizes must be 1..256";
        if (estrides[i] < 1 || estrides[i] > 8) return "tensor map: element strides must be 1..8";
        m.dims[i] = dims[i];
        m.box[i] = (uint16_t) box[i];
        m.estrides[i] = (uint8_t) estrides[i];
        if (i + 1 < rank) {
            if (strides[i] % 16 != 0) return "tensor map: strides must be multiples of 16 bytes";
            m.strides[i] = strides[i];
        }
    }
    if ((box[0] * m.element_bytes) % 16 != 0) return "tensor map: the box's inner extent must be a multiple of 16 bytes";
    if (swizzle != SWIZZLE_NONE) {
        const uint32_t w = swizzle == SWIZZLE_128B ? 128 : swizzle == SWIZZLE_64B ? 64 : 32;
        if (box[0] * m.element_bytes > w) return "tensor map: the box's inner extent exceeds the swizzle width";
    }
    std::memcpy(out, &m, sizeof m);
    return nullptr;
}

// ---- the mbarrier ------------------------------------------------------------------------------------
// The fallback's 64 bits: [0, 20) pending arrivals, [20, 40) the init count, [40, 63) the transaction
// count (two's complement in 23 bits: a copy may complete before its bytes are expected), bit 63 the
// current phase's parity.
#if VIT4J_TMA_FALLBACK
namespace detail {
constexpr uint64_t PENDING = (1ull << 20) - 1, TX_MASK = (1ull << 23) - 1;
__host__ __device__ inline uint64_t pack(uint64_t pending, uint64_t count, int64_t tx, uint64_t phase) {
    return (pending & PENDING) | (count & PENDING) << 20 | ((uint64_t) tx & TX_MASK) << 40 | phase << 63;
}
__host__ __device__ inline int64_t tx_of(uint64_t s) {
    int64_t t = (int64_t) ((s >> 40) & TX_MASK);
    return t >= (1ll << 22) ? t - (1ll << 23) : t;
}
// One atomic step: arrivals (0 or 1) and a change of the transaction count; completes the phase when
// both are then zero.
__device__ inline uint64_t update(uint64_t* bar, int arrivals, int64_t tx_delta) {
    unsigned long long* p = reinterpret_cast<unsigned long long*>(bar);
    unsigned long long old = *p, next;
    for (;;) {
        const uint64_t pending = old & PENDING, count = (old >> 20) & PENDING, phase = old >> 63;
        if (arrivals > (int) pending) mma::device_fail("mbarrier: more arrivals than the phase expects");
        const uint64_t left = pending - (uint64_t) arrivals;
        const int64_t tx = tx_of(old) + tx_delta;
        next = left == 0 && tx == 0 ? pack(count, count, 0, phase ^ 1) : pack(left, count, tx, phase);
        const unsigned long long seen = atomicCAS(p, old, next);
        if (seen == old) return old;
        old = seen;
    }
}
} // namespace detail
#endif

#if VIT4J_TMA_FALLBACK
namespace detail {
// The map of a fallback copy, checked against what the copy needs (at issue, so that a fault names the
// issuing thread); its swizzle width (0: none) and repeat.
__device__ inline CpuTensorMap checked_map(const void* dst, const TensorMap* map, uint32_t& width, uint32_t& repeat) {
    CpuTensorMap m;
    std::memcpy(&m, map, sizeof m);
    if (m.magic != CPU_MAP_MAGIC) mma::device_fail("cp.async.bulk.tensor fallback: the map was not made by encode_cpu_tensor_map");
    if (m.rank != 2) mma::device_fail("cp.async.bulk.tensor.2d: the map is not of rank 2");
    if (m.estrides[0] != 1 || m.estrides[1] != 1) mma::device_fail("cp.async.bulk.tensor fallback: element strides other than 1");
    if ((uintptr_t) dst % 128 != 0) mma::device_fail("cp.async.bulk.tensor: shared destination not 128-byte aligned");
    width = 0;
    repeat = 128;
    if (m.swizzle != SWIZZLE_NONE) {
        width = m.swizzle == SWIZZLE_128B ? 128 : m.swizzle == SWIZZLE_64B ? 64 : 32;
        if (m.box[0] * m.element_bytes != width)
            mma::device_fail("cp.async.bulk.tensor fallback: a swizzled box's inner extent must be the swizzle width");
        repeat = 8 * width;
    }
    if ((uintptr_t) dst % repeat != 0) mma::device_fail("cp.async.bulk.tensor: shared destination not aligned to the swizzle's repeat");
    return m;
}

// The copy itself: the 2D box at (c0, c1) into dst, then complete_tx of its bytes (the whole box) on bar.
__device__ inline void copy_box(void* dst, const CpuTensorMap& m, uint32_t width, int c0, int c1, uint64_t* bar) {
    const uint32_t eb = m.element_bytes, row_bytes = m.box[0] * eb;
    const unsigned char* src = reinterpret_cast<const unsigned char*>((uintptr_t) m.address);
    unsigned char* out = static_cast<unsigned char*>(dst);
    for (uint32_t r = 0; r < m.box[1]; r++) {
        const int64_t y = (int64_t) c1 + r;
        for (uint32_t e = 0; e < m.box[0]; e++) {
            const int64_t x = (int64_t) c0 + e;
            uint32_t at = r * row_bytes + e * eb; // offset from dst, then swizzled on the address
            // The swizzle is a function of the shared address; dst is aligned to its repeat, so of `at`.
            if (width != 0) at ^= ((at >> 7) & (width / 16 - 1)) << 4;
            if (x >= 0 && y >= 0 && (uint64_t) x < m.dims[0] && (uint64_t) y < m.dims[1])
                std::memcpy(out + at, src + (uint64_t) y * m.strides[0] + (uint64_t) x * eb, eb);
            else if (m.oob == OOB_NAN)
                std::memset(out + at, 0xFF, eb); // all ones: a NaN of fp32, fp16 and bf16
            else
                std::memset(out + at, 0, eb);
        }
    }
    update(bar, 0, -(int64_t) (m.box[0] * m.box[1] * eb));
}

#if !defined(__CUDACC__)
// native/cudacpu: copies in flight, landed by the first try_wait on their barrier (a block's threads
// share one worker thread, and its blocks run one after another there). Until then the box holds
// all-ones bytes, so a read before the wait shows.
struct PendingCopy {
    uint64_t* bar;
    void* dst;
    CpuTensorMap map;
    uint32_t width;
    int c0, c1;
};
inline std::vector<PendingCopy>& pending_copies() {
    static thread_local std::vector<PendingCopy> copies;
    return copies;
}
inline void land_copies(uint64_t* bar) {
    std::vector<PendingCopy>& copies = pending_copies();
    for (size_t i = 0; i < copies.size();) {
        if (copies[i].bar == bar) {
            const PendingCopy c = copies[i];
            copies.erase(copies.begin() + (long) i);
            copy_box(c.dst, c.map, c.width, c.c0, c.c1, c.bar);
        } else {
            i++;
        }
    }
}
inline void forget_copies(uint64_t* bar) {
    std::vector<PendingCopy>& copies = pending_copies();
    for (size_t i = 0; i < copies.size();) {
        if (copies[i].bar == bar) copies.erase(copies.begin() + (long) i);
        else i++;
    }
}
#endif
} // namespace detail
#endif

__device__ __forceinline__ void mbarrier_init(uint64_t* bar, uint32_t count) {
#if VIT4J_TMA_PTX
    asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"((uint32_t) __cvta_generic_to_shared(bar)), "r"(count)
                 : "memory");
#elif VIT4J_TMA_FALLBACK
    if ((uintptr_t) bar % 8 != 0) mma::device_fail("mbarrier: not 8-byte aligned");
    if (count < 1 || count > detail::PENDING) mma::device_fail("mbarrier.init: count outside 1 .. 2^20 - 1");
    *bar = detail::pack(count, count, 0, 0);
#if !defined(__CUDACC__)
    detail::forget_copies(bar); // left by a block that never waited on this address
#endif
#else
    (void) bar, (void) count;
    mma::device_fail("mbarrier needs sm_90");
#endif
}

__device__ __forceinline__ void fence_mbarrier_init() {
#if VIT4J_TMA_PTX
    asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
#endif
}

// Both arrives return the barrier's state before the arrival (the instruction's opaque token; in the
// fallback, its 64 bits).
__device__ __forceinline__ uint64_t mbarrier_arrive(uint64_t* bar) {
#if VIT4J_TMA_PTX
    uint64_t state;
    asm volatile("mbarrier.arrive.shared::cta.b64 %0, [%1];\n"
                 : "=l"(state)
                 : "r"((uint32_t) __cvta_generic_to_shared(bar))
                 : "memory");
    return state;
#elif VIT4J_TMA_FALLBACK
    return detail::update(bar, 1, 0);
#else
    (void) bar;
    mma::device_fail("mbarrier needs sm_90");
    return 0;
#endif
}

__device__ __forceinline__ uint64_t mbarrier_arrive_expect_tx(uint64_t* bar, uint32_t bytes) {
#if VIT4J_TMA_PTX
    uint64_t state;
    asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 %0, [%1], %2;\n"
                 : "=l"(state)
                 : "r"((uint32_t) __cvta_generic_to_shared(bar)), "r"(bytes)
                 : "memory");
    return state;
#elif VIT4J_TMA_FALLBACK
    // expect-tx, then arrive: one step, as the instruction is one operation on the barrier.
    return detail::update(bar, 1, (int64_t) bytes);
#else
    (void) bar, (void) bytes;
    mma::device_fail("mbarrier needs sm_90");
    return 0;
#endif
}

__device__ __forceinline__ bool mbarrier_try_wait_parity(uint64_t* bar, uint32_t parity) {
#if VIT4J_TMA_PTX
    uint32_t done;
    asm volatile(
        "{\n.reg .pred p;\nmbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\nselp.u32 %0, 1, 0, p;\n}\n"
        : "=r"(done)
        : "r"((uint32_t) __cvta_generic_to_shared(bar)), "r"(parity)
        : "memory");
    return done != 0;
#elif VIT4J_TMA_FALLBACK
#if !defined(__CUDACC__)
    detail::land_copies(bar);
#endif
    const uint64_t s = *reinterpret_cast<volatile unsigned long long*>(bar);
    return (s >> 63) != (uint64_t) (parity & 1);
#else
    (void) bar, (void) parity;
    mma::device_fail("mbarrier needs sm_90");
    return false;
#endif
}

__device__ __forceinline__ void mbarrier_wait_parity(uint64_t* bar, uint32_t parity) {
#if defined(__CUDACC__)
    while (!mbarrier_try_wait_parity(bar, parity)) {
    }
#else
    if (!mbarrier_try_wait_parity(bar, parity))
        mma::device_fail("mbarrier wait (cuda-cpu fallback): the phase has not completed and a fiber cannot block: "
                         "issue every arrival and copy of the phase before the first wait");
#endif
}

// ---- the tensor copy ---------------------------------------------------------------------------------

// cp.async.bulk.tensor.2d, tile mode: the box at element coordinates (c0 innermost, c1) of the tensor
// `map` describes into shared `dst`, completing box bytes of transactions on `bar`. `map` must point
// at the kernel's `const __grid_constant__` parameter (or other constant/global memory) on a GPU.
__device__ __forceinline__ void tma_load_2d(void* dst, const TensorMap* map, int c0, int c1, uint64_t* bar) {
#if VIT4J_TMA_PTX
    asm volatile(
        "cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3}], [%4];\n"
        ::"r"((uint32_t) __cvta_generic_to_shared(dst)), "l"((uint64_t) (uintptr_t) map), "r"(c0), "r"(c1),
          "r"((uint32_t) __cvta_generic_to_shared(bar))
        : "memory");
#elif VIT4J_TMA_FALLBACK
    uint32_t width = 0, repeat = 0;
    const CpuTensorMap m = detail::checked_map(dst, map, width, repeat);
#if defined(__CUDACC__)
    detail::copy_box(dst, m, width, c0, c1, bar); // the fallback on a GPU: the copy lands at issue
#else
    std::vector<detail::PendingCopy>& copies = detail::pending_copies();
    if (copies.size() >= 4096) mma::device_fail("cp.async.bulk.tensor fallback: more than 4096 copies in flight (none waited for?)");
    std::memset(dst, 0xFF, (size_t) m.box[0] * m.box[1] * m.element_bytes);
    copies.push_back(detail::PendingCopy{bar, dst, m, width, c0, c1});
#endif
#else
    (void) dst, (void) map, (void) c0, (void) c1, (void) bar;
    mma::device_fail("cp.async.bulk.tensor needs sm_90");
#endif
}

} // namespace tma
} // namespace vit4j
