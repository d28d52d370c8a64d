// The one place vit4j's kernels use inline PTX: the warp-level tensor-core instructions of sm_80+ and
// the asynchronous copy into shared memory, each wrapped in a function with a portable C++ fallback of
// the same semantics (the same fragment layouts, lane for lane), written with warp shuffles, so that a
// kernel built on these wrappers runs unchanged on native/cudacpu (each CUDA thread a fiber) and on any
// GPU.
//
//   mma_m16n8k16<T>(d, a, b)      mma.sync.aligned.m16n8k16.row.col.f32.{bf16,f16}.{bf16,f16}.f32:
//                                 d[16x8] += a[16x16] . b[16x8], fp32 accumulators, T the input type
//   ldmatrix_x4(r, row)           ldmatrix.sync.aligned.m8n8.x4.shared.b16: four 8x8 matrices of 16-bit
//   ldmatrix_x4_trans(r, row)     ... .trans: the same, each matrix transposed
//   AsyncCopies<N>::cg16 / ca<B>  cp.async.cg.shared.global (16 bytes) / cp.async.ca (4, 8, 16 bytes),
//                                 with a source size (the rest of the destination zero-filled)
//   AsyncCopies<N>::commit        cp.async.commit_group
//   AsyncCopies<N>::wait<G>       cp.async.wait_group G
//
// Which path: the PTX where __CUDA_ARCH__ >= 800 and VIT4J_MMA_FALLBACK is not defined; the fallback
// everywhere else (the host compiler of native/cudacpu always; nvcc with -DVIT4J_MMA_FALLBACK, which is
// how the fallback is checked against the instructions on a GPU: kernels/cuda/tests/mma_test.cu).
//
// Fragment layouts (PTX ISA, "Matrix Fragments for mma.m16n8k16 with floating point type", .f16/.bf16;
// and "ldmatrix"), with groupID g = lane >> 2 and threadID_in_group t = lane % 4; each 32-bit register
// holds two 16-bit elements, the lower-indexed one in the low half:
//   A (16x16, row-major), a[4]:  a[0] = A[g][2t, 2t+1]      a[1] = A[g+8][2t, 2t+1]
//                                a[2] = A[g][2t+8, 2t+9]    a[3] = A[g+8][2t+8, 2t+9]
//   B (16x8, "col": k-contiguous per column n), b[2]:
//                                b[0] = B[2t, 2t+1][g]      b[1] = B[2t+8, 2t+9][g]
//   C/D (16x8, fp32), d[4]:      d[0] = C[g][2t]  d[1] = C[g][2t+1]  d[2] = C[g+8][2t]  d[3] = C[g+8][2t+1]
//   ldmatrix .x4: lanes 8j..8j+7 give the addresses of rows 0..7 of matrix j (16 bytes each, 16-byte
//                aligned); lane l receives in r[j] row l/4, columns 2(l%4), 2(l%4)+1 of matrix j
//                (.trans: rows 2(l%4), 2(l%4)+1 of column l/4).
// So for a row-major [rows][k] tile in shared memory, one ldmatrix_x4 with lane l pointing at row
// (l % 8) + 8 * ((l / 8) % 2), column 8 * (l / 16) gives exactly an A fragment; for W stored [n][k]
// (which is B "col"), lane l pointing at row (l % 8) + 8 * (l / 16), column 8 * ((l / 8) % 2) gives the
// B fragments of two n8 tiles: {r[0], r[1]} and {r[2], r[3]}.
//
// Semantics the fallback keeps: every lane of the warp must call each wrapper (they are warp-collective:
// the fallback's shuffles use the full mask, and the cuda-cpu runtime's strict mode reports a lane that
// is missing); ldmatrix reads the addresses other lanes give. The fallback's sums run in k order with one
// fma per product in fp32; the tensor cores sum in an unspecified order, so results agree to fp32
// rounding, not bit for bit. cp.async in the fallback is deferred, as the real copy may be: an issued
// copy first fills its destination with all-ones bytes (a NaN in every 16-bit float type) and copies the
// data only when a wait_group covers its group; so a read of a stage before its wait, or a copy issued
// into a stage other warps still read (a missing barrier), shows as NaN in the standalone checks.
#pragma once

#include <cstdint>
#include <type_traits>

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800 && !defined(VIT4J_MMA_FALLBACK)
#define VIT4J_MMA_PTX 1
#else
#define VIT4J_MMA_PTX 0
#endif
// The same decision as host code sees it (host passes have no __CUDA_ARCH__): the kernels of this nvcc
// build run the PTX (on sm_80+, the only architectures the fatbins hold).
#if defined(__CUDACC__) && !defined(VIT4J_MMA_FALLBACK)
#define VIT4J_MMA_DEVICE_PTX 1
#else
#define VIT4J_MMA_DEVICE_PTX 0
#endif

namespace vit4j {
namespace mma {

// The lane of the calling thread (its linear index in the block mod 32, as warps are formed).
__device__ __forceinline__ int lane_id() {
    return (int) ((threadIdx.z * blockDim.y + threadIdx.y) * blockDim.x + threadIdx.x) & 31;
}

// A broken precondition inside a kernel: a fault naming it on cuda-cpu, a trap on a GPU.
__device__ __forceinline__ void device_fail(const char* what) {
#if defined(__CUDACC__)
    (void) what;
    __trap();
#else
    ::vit4j_cpu::fail(what);
#endif
}

template <class T> struct MmaType;
template <> struct MmaType<__nv_bfloat16> {};
template <> struct MmaType<__half> {};

#if !VIT4J_MMA_PTX
// The fallback's view of one 16-bit element of a packed register.
template <class T> __device__ __forceinline__ float half_bits(uint32_t bits16);
template <> __device__ __forceinline__ float half_bits<__nv_bfloat16>(uint32_t b) { return __uint_as_float(b << 16); }
template <> __device__ __forceinline__ float half_bits<__half>(uint32_t b) {
    return __half2float(__ushort_as_half((unsigned short) b));
}
#endif

// d += a . b for one m16n8k16 tile per warp; T is __nv_bfloat16 or __half (both operands).
template <class T>
__device__ __forceinline__ void mma_m16n8k16(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
    (void) sizeof(MmaType<T>); // bf16 or fp16 only
#if VIT4J_MMA_PTX
    if constexpr (std::is_same<T, __nv_bfloat16>::value) {
        asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
                     "{%0,%1,%2,%3};\n"
                     : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
    } else {
        asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
                     "{%0,%1,%2,%3};\n"
                     : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
    }
#else
    // Lane (g, t) needs rows g and g+8 of A and columns 2t, 2t+1 of B, all 16 k. Row g of A is spread
    // over the lanes 4g..4g+3 (lane 4g+j holds k 2j, 2j+1 in a[0] and 2j+8, 2j+9 in a[2]; row g+8 the
    // same in a[1], a[3]); column n of B over the lanes 4n..4n+3 (k 2j, 2j+1 in b[0], 2j+8, 2j+9 in b[1]).
    // Pairs of registers travel as one 64-bit shuffle: 16 shuffles per mma.
    const int lane = lane_id(), t = lane & 3;
    const uint64_t arow0 = (uint64_t) a[0] | ((uint64_t) a[2] << 32);
    const uint64_t arow1 = (uint64_t) a[1] | ((uint64_t) a[3] << 32);
    const uint64_t bcol = (uint64_t) b[0] | ((uint64_t) b[1] << 32);
    float A0[16], A1[16], B0[16], B1[16]; // rows g, g+8 of A; columns 2t, 2t+1 of B
#pragma unroll
    for (int j = 0; j < 4; j++) {
        const uint64_t r0 = __shfl_sync(0xffffffffu, arow0, (lane & ~3) | j);
        const uint64_t r1 = __shfl_sync(0xffffffffu, arow1, (lane & ~3) | j);
        const uint64_t c0 = __shfl_sync(0xffffffffu, bcol, 4 * (2 * t) + j);
        const uint64_t c1 = __shfl_sync(0xffffffffu, bcol, 4 * (2 * t + 1) + j);
        const uint64_t src[4] = {r0, r1, c0, c1};
        float* dst[4] = {A0, A1, B0, B1};
#pragma unroll
        for (int s = 0; s < 4; s++) {
            dst[s][2 * j] = half_bits<T>((uint32_t) src[s] & 0xffffu);
            dst[s][2 * j + 1] = half_bits<T>((uint32_t) (src[s] >> 16) & 0xffffu);
            dst[s][2 * j + 8] = half_bits<T>((uint32_t) (src[s] >> 32) & 0xffffu);
            dst[s][2 * j + 9] = half_bits<T>((uint32_t) (src[s] >> 48) & 0xffffu);
        }
    }
#pragma unroll
    for (int k = 0; k < 16; k++) {
        d[0] = fmaf(A0[k], B0[k], d[0]);
        d[1] = fmaf(A0[k], B1[k], d[1]);
        d[2] = fmaf(A1[k], B0[k], d[2]);
        d[3] = fmaf(A1[k], B1[k], d[3]);
    }
#endif
}

// Four 8x8 matrices of 16-bit elements from shared memory: row_addr is this lane's row (see above).
__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void* row_addr) {
#if VIT4J_MMA_PTX
    const unsigned s = (unsigned) __cvta_generic_to_shared(row_addr);
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(s));
#else
    const int lane = lane_id();
    const unsigned long long mine = (unsigned long long) reinterpret_cast<uintptr_t>(row_addr);
#pragma unroll
    for (int j = 0; j < 4; j++) {
        const unsigned long long row = __shfl_sync(0xffffffffu, mine, 8 * j + (lane >> 2));
        r[j] = *reinterpret_cast<const uint32_t*>(reinterpret_cast<const char*>((uintptr_t) row) + 4 * (lane & 3));
    }
#endif
}

// The same with each matrix transposed (.trans): lane l gets column l/4, rows 2(l%4) and 2(l%4)+1.
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], const void* row_addr) {
#if VIT4J_MMA_PTX
    const unsigned s = (unsigned) __cvta_generic_to_shared(row_addr);
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(s));
#else
    const int lane = lane_id();
    const unsigned long long mine = (unsigned long long) reinterpret_cast<uintptr_t>(row_addr);
#pragma unroll
    for (int j = 0; j < 4; j++) {
        const unsigned long long lo = __shfl_sync(0xffffffffu, mine, 8 * j + 2 * (lane & 3));
        const unsigned long long hi = __shfl_sync(0xffffffffu, mine, 8 * j + 2 * (lane & 3) + 1);
        const uint16_t l16 = *reinterpret_cast<const uint16_t*>(reinterpret_cast<const char*>((uintptr_t) lo) + 2 * (lane >> 2));
        const uint16_t h16 = *reinterpret_cast<const uint16_t*>(reinterpret_cast<const char*>((uintptr_t) hi) + 2 * (lane >> 2));
        r[j] = (uint32_t) l16 | ((uint32_t) h16 << 16);
    }
#endif
}

// This thread's asynchronous copies global -> shared. MAX_PENDING bounds the copies the fallback holds
// (issued, not yet waited for); the PTX path holds nothing (the hardware tracks the groups per thread).
template <int MAX_PENDING>
struct AsyncCopies {
#if !VIT4J_MMA_PTX
    struct Op {
        void* dst;
        const void* src;
        int size, src_bytes, group;
    };
    Op ops[MAX_PENDING];
    int pending = 0;
    int group = 0; // the open group: copies issued since the last commit
#endif

    // cp.async.cg: 16 bytes (src 16-byte aligned, dst 16-byte aligned in shared memory); src_bytes of them
    // (0..16) are read from src, the rest of dst is zero-filled (src_bytes 0: src is not read).
    __device__ __forceinline__ void cg16(void* dst, const void* src, int src_bytes) {
#if VIT4J_MMA_PTX
        const unsigned s = (unsigned) __cvta_generic_to_shared(dst);
        asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(s), "l"(src), "r"(src_bytes));
#else
        issue(dst, src, 16, src_bytes);
#endif
    }

    // cp.async.ca: BYTES (4, 8 or 16) bytes, aligned to BYTES; the same zero fill.
    template <int BYTES>
    __device__ __forceinline__ void ca(void* dst, const void* src, int src_bytes) {
        static_assert(BYTES == 4 || BYTES == 8 || BYTES == 16, "cp.async.ca copies 4, 8 or 16 bytes");
#if VIT4J_MMA_PTX
        const unsigned s = (unsigned) __cvta_generic_to_shared(dst);
        asm volatile("cp.async.ca.shared.global [%0], [%1], %2, %3;\n" ::"r"(s), "l"(src), "n"(BYTES), "r"(src_bytes));
#else
        issue(dst, src, BYTES, src_bytes);
#endif
    }

    // cp.async.commit_group: the copies issued since the last commit form one group.
    __device__ __forceinline__ void commit() {
#if VIT4J_MMA_PTX
        asm volatile("cp.async.commit_group;\n" ::: "memory");
#else
        group++;
#endif
    }

    // cp.async.wait_group G: every committed group but the G most recent is complete. Other threads see
    // the data only after a barrier, as with the instruction.
    template <int G>
    __device__ __forceinline__ void wait() {
#if VIT4J_MMA_PTX
        asm volatile("cp.async.wait_group %0;\n" ::"n"(G) : "memory");
#else
        int kept = 0;
        for (int i = 0; i < pending; i++) {
            if (ops[i].group < group - G) {
                char* d = static_cast<char*>(ops[i].dst);
                const char* s = static_cast<const char*>(ops[i].src);
                for (int b = 0; b < ops[i].size; b++) d[b] = b < ops[i].src_bytes ? s[b] : 0;
            } else {
                ops[kept++] = ops[i];
            }
        }
        pending = kept;
#endif
    }

#if !VIT4J_MMA_PTX
  private:
    __device__ __forceinline__ void issue(void* dst, const void* src, int size, int src_bytes) {
        if (src_bytes < 0 || src_bytes > size) device_fail("cp.async: source size outside 0..copy size");
        if ((reinterpret_cast<uintptr_t>(dst) | (src_bytes > 0 ? reinterpret_cast<uintptr_t>(src) : 0)) & (size - 1))
            device_fail("cp.async: address not aligned to the copy size");
        if (pending == MAX_PENDING) device_fail("cp.async fallback: more copies in flight than MAX_PENDING");
        char* d = static_cast<char*>(dst);
        for (int b = 0; b < size; b++) d[b] = (char) 0xff; // undefined until waited for: NaN
        ops[pending++] = Op{dst, src, size, src_bytes, group};
    }
#endif
};

} // namespace mma
} // namespace vit4j
