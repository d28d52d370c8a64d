// The Hopper (sm_90a) warpgroup-level tensor-core instructions, wrapped as mma.cuh wraps those of sm_80:
// every inline PTX instruction in one small function with a portable C++ fallback of the same semantics,
// so that a kernel built on these runs unchanged on native/cudacpu (each CUDA thread a fiber).
//
//   make_desc(smem, lbo, sbo, swizzle)    the 64-bit shared-memory matrix descriptor of an operand
//   Warpgroup<T, N, P>::fence()           wgmma.fence.sync.aligned
//   Warpgroup<T, N, P>::mma(d, da, db, s) wgmma.mma_async.sync.aligned.m64nNk16.f32.T.T d, da, db, s, 1, 1, 0, 0
//                                         (N = 64 or 128; T bf16 or f16; A and B from shared memory,
//                                         both K-major: no transpose; s = 0: D = A.B, else D = A.B + D)
//   Warpgroup<T, N, P>::commit()          wgmma.commit_group.sync.aligned
//   Warpgroup<T, N, P>::wait<G>(d)        wgmma.wait_group.sync.aligned G, then d is the compiler's again
//   fence_proxy_async()                   fence.proxy.async.shared::cta: this thread's generic-proxy
//                                         writes of shared memory (cp.async, st.shared) are seen by the
//                                         async proxy, which wgmma reads its operands through
//
// Which path (VIT4J_WGMMA_MODE): the PTX under nvcc for sm_90a (__CUDA_ARCH_FEAT_SM90_ALL) without
// VIT4J_MMA_FALLBACK; the fallback on the host compiler (native/cudacpu) and under nvcc with
// -DVIT4J_MMA_FALLBACK; otherwise (sm_80..sm_90 without the "a" features, and nvcc's host pass) none:
// VIT4J_WGMMA_AVAILABLE is 0 there, and kernels built on this compile to a trap (linear.cu's
// linear_v4_*, which CudaKernels runs on compute capability 9.0 only).
//
// From the PTX ISA ("Asynchronous Warpgroup Level Matrix Multiply-Accumulate", sm_90a):
//  * Matrix descriptor, 64 bits: [0,14) start address >> 4 (an address in the shared window, 18 bits);
//    [16,30) leading dimension byte offset >> 4; [32,46) stride dimension byte offset >> 4; [49,52)
//    matrix base offset; [62,64) swizzle mode: 0 none (interleave), 1 128-byte, 2 64-byte, 3 32-byte.
//  * K-major operand layouts, 16-bit elements (A is M x K, B is N x K "column-major", both with k
//    contiguous; a "row" below is one m of A or one n of B), for the k16 of one instruction:
//      no swizzle: core matrices of 8 rows x 16 bytes, stored as 128 contiguous bytes (row r at 16 r);
//        the core matrix next in k at + LBO, the one next in rows (8 rows on) at + SBO:
//          address(row, kbyte) = start + (row / 8) SBO + (kbyte / 16) LBO + (row % 8) 16 + kbyte % 16
//      swizzled, W = 128, 64 or 32 bytes: rows of W bytes, 8 rows (an atom of 8 W bytes) contiguous,
//        the next 8 rows at + SBO; the LBO is not used (k16 is 32 bytes, within one row); the 16-byte
//        chunk of an address is XORed with the address's bits from bit 7 on (the row within the atom):
//          linear = start + (row / 8) SBO + (row % 8) W + kbyte
//          address = linear ^ (((linear >> 7) % (W / 16)) << 4)
//        on the absolute shared address: an atom starts at a multiple of 8 W bytes (the swizzle repeats
//        every 1024, 512, 256 bytes), and the k16 steps within a row advance the start address by 32
//        bytes with the base offset 0, as the swizzle is a function of the address, not of the start.
//  * D fragment of m64nNk16 (f32), a warpgroup of 128 threads: warp w of the group (its rank within
//    the group, warp index % 4) holds rows 16 w .. 16 w + 15; with groupID g = lane / 4 and
//    threadID_in_group t = lane % 4, thread element d[4 i + j] (i = 0 .. N/8 - 1) is
//          row 16 w + g + 8 (j / 2), column 8 i + 2 t + j % 2
//    (each n8 piece laid out as mma.m16n8's C fragment). N / 2 floats a thread.
//
// Semantics the fallback keeps (lane for lane, as mma.cuh's): every thread of the warpgroup calls each
// function; a thread's D elements are computed from shared memory by decoding the descriptors as above
// (the fallback reads the operands itself: a CPU block sees its shared memory), with one fmaf per
// product in k order onto the fp32 accumulator, so results equal the instruction's to fp32 rounding
// (exact for small integers). The instruction is asynchronous, and so is the fallback: mma() records
// the operation and fills d with NaN; wait<G>() computes every operation of the groups it waits for, in
// issue order, reading shared memory then. So a kernel that reads d before the wait, or overwrites an
// operand's shared memory before the wait, gets NaN or wrong values in the standalone checks.
// Operations on one accumulator chain (as on the hardware, without a fence between them). What the
// fallback cannot show: a missing fence() or fence_proxy_async() (no-ops here), and bank conflicts.
// Shared addresses: on native/cudacpu, the shared window is the block's dynamic shared memory (1024-byte
// aligned by the runtime), so wgmma operands must lie there (the fallback fails otherwise); under nvcc
// the window is the hardware's (__cvta_generic_to_shared). The fallback supports base offset 0 only.
#pragma once

#include <cstdint>
#include "common.cuh"
#include "mma.cuh"

#if defined(__CUDACC__)
#if defined(VIT4J_MMA_FALLBACK)
#define VIT4J_WGMMA_MODE 1
#elif defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define VIT4J_WGMMA_MODE 2
#else
#define VIT4J_WGMMA_MODE 0
#endif
#else
#define VIT4J_WGMMA_MODE 1
#endif
#define VIT4J_WGMMA_FALLBACK (VIT4J_WGMMA_MODE == 1)
#define VIT4J_WGMMA_PTX (VIT4J_WGMMA_MODE == 2)
#define VIT4J_WGMMA_AVAILABLE (VIT4J_WGMMA_MODE != 0)

namespace vit4j {
namespace wgmma {

enum Swizzle : int { SWIZZLE_NONE = 0, SWIZZLE_128B = 1, SWIZZLE_64B = 2, SWIZZLE_32B = 3 };

// The address of shared memory `p` in the shared window (what a descriptor's start address encodes).
__device__ __forceinline__ uint32_t smem_address(const void* p) {
#if defined(__CUDACC__)
    return (uint32_t) __cvta_generic_to_shared(p);
#else
    const uintptr_t base = reinterpret_cast<uintptr_t>(::vit4j_cpu::dynamic_shared()), at = reinterpret_cast<uintptr_t>(p);
    if (base == 0 || at < base || at >= base + ::vit4j_cpu::dynamic_shared_bytes())
        mma::device_fail("wgmma fallback: an operand outside the block's dynamic shared memory (the fallback's shared window)");
    return (uint32_t) (at - base);
#endif
}

#if VIT4J_WGMMA_FALLBACK
// The inverse: a pointer to shared address `a`.
__device__ __forceinline__ const unsigned char* smem_pointer(uint32_t a) {
#if defined(__CUDACC__)
    return static_cast<const unsigned char*>(__cvta_shared_to_generic((size_t) a));
#else
    if (a >= ::vit4j_cpu::dynamic_shared_bytes())
        mma::device_fail("wgmma fallback: a descriptor addresses past the block's dynamic shared memory");
    return static_cast<const unsigned char*>(::vit4j_cpu::dynamic_shared()) + a;
#endif
}
#endif

// The descriptor of a K-major operand whose first row starts at `smem` (see above for lbo, sbo in bytes).
__device__ __forceinline__ uint64_t make_desc(const void* smem, uint32_t lbo, uint32_t sbo, Swizzle swizzle) {
    return (uint64_t) ((smem_address(smem) & 0x3FFFFu) >> 4) | (uint64_t) ((lbo >> 4) & 0x3FFFu) << 16 |
           (uint64_t) ((sbo >> 4) & 0x3FFFu) << 32 | (uint64_t) swizzle << 62;
}

// The descriptor with its start address `bytes` further on (a multiple of 16; no carry out of the field:
// shared addresses are below 2^18).
__host__ __device__ __forceinline__ uint64_t advance(uint64_t desc, uint32_t bytes) { return desc + (bytes >> 4); }

// The shared address of byte `kbyte` (0 .. 31: k 0..15 of 16-bit elements) of row `row` of the operand
// `desc` describes, decoded as the hardware does (the ISA's layouts above).
__host__ __device__ __forceinline__ uint32_t desc_address(uint64_t desc, int row, int kbyte) {
    const uint32_t start = (uint32_t) (desc & 0x3FFFu) << 4;
    const uint32_t lbo = (uint32_t) ((desc >> 16) & 0x3FFFu) << 4;
    const uint32_t sbo = (uint32_t) ((desc >> 32) & 0x3FFFu) << 4;
    const int mode = (int) (desc >> 62);
    if (mode == SWIZZLE_NONE)
        return start + (uint32_t) (row / 8) * sbo + (uint32_t) (kbyte / 16) * lbo + (uint32_t) (row % 8) * 16 + kbyte % 16;
    const uint32_t width = mode == SWIZZLE_128B ? 128 : mode == SWIZZLE_64B ? 64 : 32;
    const uint32_t linear = start + (uint32_t) (row / 8) * sbo + (uint32_t) (row % 8) * width + (uint32_t) kbyte;
    return linear ^ (((linear >> 7) & (width / 16 - 1)) << 4);
}

// fence.proxy.async.shared::cta (see above).
__device__ __forceinline__ void fence_proxy_async() {
#if VIT4J_WGMMA_PTX
    asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
#endif
}

#if VIT4J_WGMMA_PTX
template <class T, int N> struct MmaAsm;

// The accumulator operands, "+f"(d[0]) .. "+f"(d[N/2 - 1]), and their register lists in the PTX text.
#define VIT4J_WG_D8(i) "+f"(d[i]), "+f"(d[i + 1]), "+f"(d[i + 2]), "+f"(d[i + 3]), \
                       "+f"(d[i + 4]), "+f"(d[i + 5]), "+f"(d[i + 6]), "+f"(d[i + 7])
#define VIT4J_WG_D32 VIT4J_WG_D8(0), VIT4J_WG_D8(8), VIT4J_WG_D8(16), VIT4J_WG_D8(24)
#define VIT4J_WG_D64 VIT4J_WG_D32, VIT4J_WG_D8(32), VIT4J_WG_D8(40), VIT4J_WG_D8(48), VIT4J_WG_D8(56)
#define VIT4J_WG_REGS32 "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}"
#define VIT4J_WG_REGS64 "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}"

// m64{N}k16 on PTXTYPE inputs (bf16 or f16), fp32 accumulators: N / 2 registers a thread. After the
// accumulators come the two descriptors (%A, %B) and scale-d (%S, as the predicate p).
#define VIT4J_WGMMA_ASM(T, N, PTXTYPE, REGS, D, A, B, S)                                                    \
    template <> struct MmaAsm<T, N> {                                                                    \
        static __device__ __forceinline__ void run(float (&d)[N / 2], uint64_t da, uint64_t db, int scale_d) { \
            asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %" S ", 0;\n"                                  \
                         "wgmma.mma_async.sync.aligned.m64n" #N "k16.f32." PTXTYPE "." PTXTYPE " " REGS ", " \
                         "%" A ", %" B ", p, 1, 1, 0, 0;\n}\n"                                            \
                         : D                                                                             \
                         : "l"(da), "l"(db), "r"(scale_d));                                              \
        }                                                                                                \
    };
VIT4J_WGMMA_ASM(__nv_bfloat16, 64, "bf16", VIT4J_WG_REGS32, VIT4J_WG_D32, "32", "33", "34")
VIT4J_WGMMA_ASM(__half, 64, "f16", VIT4J_WG_REGS32, VIT4J_WG_D32, "32", "33", "34")
VIT4J_WGMMA_ASM(__nv_bfloat16, 128, "bf16", VIT4J_WG_REGS64, VIT4J_WG_D64, "64", "65", "66")
VIT4J_WGMMA_ASM(__half, 128, "f16", VIT4J_WG_REGS64, VIT4J_WG_D64, "64", "65", "66")
#undef VIT4J_WGMMA_ASM
#undef VIT4J_WG_D8
#undef VIT4J_WG_D32
#undef VIT4J_WG_D64
#undef VIT4J_WG_REGS32
#undef VIT4J_WG_REGS64
#endif

// One warpgroup's wgmma.mma_async of shape m64nNk16 on 16-bit T (bf16 or fp16) with fp32 accumulators
// d[N / 2] (the D fragment above). MAX_PENDING bounds the operations the fallback holds between mma()
// and the wait that completes them; the PTX path holds nothing (the hardware tracks the groups).
template <class T, int N, int MAX_PENDING>
struct Warpgroup {
    static_assert(sizeof(T) == 2, "wgmma: 16-bit inputs only (bf16, fp16)");
    static_assert(N == 64 || N == 128, "wgmma wrappers exist for m64n64k16 and m64n128k16");
    static constexpr int REGS = N / 2;
#if VIT4J_WGMMA_FALLBACK
    struct Op {
        float* d;
        uint64_t da, db;
        int scale_d, group;
        bool chained;    // issued while an earlier operation on the same d was pending: d is its result
        float c[N / 2];  // d as it was at issue (the C of an operation that does not chain)
    };
    Op ops[MAX_PENDING];
    int pending = 0;
    int group = 0;
#endif

    // wgmma.fence: orders this thread's earlier register accesses (of d) before the wgmma that follows.
    __device__ __forceinline__ void fence() {
#if VIT4J_WGMMA_PTX
        asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
#elif !VIT4J_WGMMA_AVAILABLE
        mma::device_fail("wgmma: sm_90a only");
#endif
    }

    // d = A.B (scale_d == 0) or A.B + d, A from descriptor da (64 x 16), B from db (N x 16, K-major).
    __device__ __forceinline__ void mma(float (&d)[N / 2], uint64_t da, uint64_t db, int scale_d) {
#if VIT4J_WGMMA_PTX
#pragma unroll
        for (int i = 0; i < N / 2; i++) asm volatile("" : "+f"(d[i])::"memory"); // d as it is now
        MmaAsm<T, N>::run(d, da, db, scale_d);
#elif VIT4J_WGMMA_FALLBACK
        if (pending == MAX_PENDING) mma::device_fail("wgmma fallback: more operations in flight than MAX_PENDING");
        Op& op = ops[pending];
        op.d = d;
        op.da = da;
        op.db = db;
        op.scale_d = scale_d;
        op.group = group;
        op.chained = false;
        for (int i = 0; i < pending; i++) op.chained = op.chained || ops[i].d == d;
        for (int i = 0; i < N / 2; i++) {
            op.c[i] = d[i];
            d[i] = __int_as_float(0x7fffffff); // undefined until waited for: NaN
        }
        pending++;
#else
        (void) d;
        (void) da;
        (void) db;
        (void) scale_d;
        mma::device_fail("wgmma: sm_90a only");
#endif
    }

    // wgmma.commit_group: the operations issued since the last commit form one group.
    __device__ __forceinline__ void commit() {
#if VIT4J_WGMMA_PTX
        asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
#elif VIT4J_WGMMA_FALLBACK
        group++;
#endif
    }

    // wgmma.wait_group G: every committed group but the G most recent is complete; d (the accumulators of
    // the operations waited for) holds their results.
    template <int G>
    __device__ __forceinline__ void wait(float (&d)[N / 2]) {
#if VIT4J_WGMMA_PTX
        asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(G) : "memory");
#pragma unroll
        for (int i = 0; i < N / 2; i++) asm volatile("" : "+f"(d[i])::"memory"); // not read before the wait
#elif VIT4J_WGMMA_FALLBACK
        (void) d;
        int kept = 0;
        for (int i = 0; i < pending; i++) {
            if (ops[i].group < group - G) run(ops[i]);
            else ops[kept++] = ops[i];
        }
        pending = kept;
#else
        (void) d;
#endif
    }

#if VIT4J_WGMMA_FALLBACK
  private:
    // This thread's D elements of one operation, from shared memory.
    __device__ __forceinline__ void run(const Op& op) {
        const int linear = (int) ((threadIdx.z * blockDim.y + threadIdx.y) * blockDim.x + threadIdx.x);
        const int w = (linear >> 5) & 3, lane = linear & 31, g = lane >> 2, t = lane & 3;
        if (((op.da | op.db) >> 49 & 7) != 0) mma::device_fail("wgmma fallback: matrix base offset other than 0");
        float a[2][16];
        for (int h = 0; h < 2; h++)
            for (int k = 0; k < 16; k++)
                a[h][k] = to_f(*reinterpret_cast<const T*>(smem_pointer(desc_address(op.da, 16 * w + g + 8 * h, 2 * k))));
        for (int i = 0; i < N / 8; i++)
            for (int j = 0; j < 4; j++) {
                const int e = 4 * i + j, n = 8 * i + 2 * t + (j & 1);
                float acc = op.scale_d == 0 ? 0.f : op.chained ? op.d[e] : op.c[e];
                for (int k = 0; k < 16; k++)
                    acc = fmaf(a[j >> 1][k], to_f(*reinterpret_cast<const T*>(smem_pointer(desc_address(op.db, n, 2 * k)))), acc);
                op.d[e] = acc;
            }
    }
#endif
};

} // namespace wgmma
} // namespace vit4j
