// vit4j's CUDA-on-the-CPU header: what a .cu file of kernels/cuda needs from CUDA, supplied for a
// plain C++17 compiler, so that every kernel runs (slowly, exactly) on the CPU. kernels/cuda/common.cuh
// includes this instead of <cuda_runtime.h> when the compiler is not nvcc.
//
// How a launch runs: each block's threads are fibers (Boost.Context's fcontext: a stack and a
// register switch, ~10 ns); a block runs on one worker thread, its fibers taking turns: a fiber runs
// until it reaches __syncthreads or a warp collective (shuffle, ballot, __syncwarp) or returns, then
// the next one runs. Blocks spread over the worker threads. So:
//  * __shared__ is thread_local storage: one worker runs one block at a time, and all of a block's
//    fibers stay on its worker;
//  * a barrier is released when every thread still running has reached it; a warp collective when
//    every lane of its mask has reached it (each lane then reads what the others left);
//  * the order in which a block's threads take turns is forward or reverse (runtime option): a
//    missing barrier between a shared-memory write and a read by another thread shows in one order;
//  * strict mode (the default) reports a barrier reached by part of a block while the rest exited, a
//    shuffle that names a lane outside its mask or an exited lane, a caller outside its own mask, and
//    a deadlock (no thread can run), naming the kernel, the block and the thread.
// Dynamic shared memory, by convention: VIT4J_DYNAMIC_SHARED(type, name) declares `type* name` (under
// nvcc: `extern __shared__ type name[]`), sized by the launch's shared-memory bytes.
//
// Written for vit4j (no code from other CUDA emulators). Runtime: native/cudacpu/runtime.cpp.
#pragma once
#if defined(__CUDACC__)
#error "cuda_cpu.h is for host compilers; under nvcc include <cuda_runtime.h>"
#endif

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#define VIT4J_CUDA_CPU 1

// ---- keywords -------------------------------------------------------------------------------
#define __global__
#define __device__
#define __host__
#define __constant__ static
#define __forceinline__ inline __attribute__((always_inline))
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
#define __shared__ static thread_local
#ifndef __restrict__
#define __restrict__ __restrict
#endif
#define VIT4J_DYNAMIC_SHARED(type, name) type* name = static_cast<type*>(::vit4j_cpu::dynamic_shared())

// ---- vector types ---------------------------------------------------------------------------
struct uint3 { unsigned x, y, z; };
struct dim3 {
    unsigned x = 1, y = 1, z = 1;
    constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
    constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
};
struct __attribute__((aligned(8))) float2 { float x, y; };
struct float3 { float x, y, z; };
struct __attribute__((aligned(16))) float4 { float x, y, z, w; };
struct __attribute__((aligned(8))) int2 { int x, y; };
struct int3 { int x, y, z; };
struct __attribute__((aligned(16))) int4 { int x, y, z, w; };
struct __attribute__((aligned(8))) uint2 { unsigned x, y; };
struct __attribute__((aligned(16))) uint4 { unsigned x, y, z, w; };
struct __attribute__((aligned(16))) double2 { double x, y; };
inline float2 make_float2(float x, float y) { return {x, y}; }
inline float3 make_float3(float x, float y, float z) { return {x, y, z}; }
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }
inline int2 make_int2(int x, int y) { return {x, y}; }
inline int4 make_int4(int x, int y, int z, int w) { return {x, y, z, w}; }
inline uint2 make_uint2(unsigned x, unsigned y) { return {x, y}; }
inline uint3 make_uint3(unsigned x, unsigned y, unsigned z) { return {x, y, z}; }
inline uint4 make_uint4(unsigned x, unsigned y, unsigned z, unsigned w) { return {x, y, z, w}; }

// ---- the runtime's side (runtime.cpp) ---------------------------------------------------------
namespace vit4j_cpu {

struct ThreadState; // one CUDA thread (a fiber)
struct BlockState;  // one running block

/** Launch flags: the order a block's threads take turns in, and strict checking. */
constexpr int REVERSE = 1, STRICT = 2;

/** The CUDA thread running on this worker now; null outside a kernel. */
extern thread_local ThreadState* tl_thread;
/** Its block's indices and the launch geometry, for the built-in variables. */
struct Geometry {
    uint3 block;
    dim3 block_dim, grid_dim;
};
extern thread_local Geometry tl_geometry;
const uint3& thread_idx();
/** The block's dynamic shared memory (1024-byte aligned; null where the launch gave none) and its size. */
void* dynamic_shared();
size_t dynamic_shared_bytes();

/** Runs body once per CUDA thread of grid x block; returns "" or the first error, naming the kernel. */
std::string run_grid(const char* kernel, dim3 grid, dim3 block, size_t shared_bytes, int flags,
                     const std::function<void()>& body);
/** Flags from the environment, for the standalone checks: VIT4J_CUDA_CPU_ORDER=reverse, VIT4J_CUDA_CPU_STRICT=0. */
int env_flags();

void syncthreads();
int syncthreads_reduce(int op, int predicate); // op 0: count, 1: and, 2: or
// Warp collectives. kind: 0 sync (idx), 1 up, 2 down, 3 xor, 4 ballot, 5 syncwarp. bits: the value's
// raw bits (up to 8 bytes); returns the bits read from the source lane (or the ballot).
uint64_t warp_collective(int kind, unsigned mask, uint64_t bits, int arg, int width);
unsigned active_mask();
void fail(const char* what); // reports a fault of the running thread (strict mode) and abandons it
int worker_count();          // worker threads blocks are spread over (VIT4J_CUDA_CPU_WORKERS, else the cores)
void set_last_error(const std::string& err); // what cudaGetLastError/cudaDeviceSynchronize then report

} // namespace vit4j_cpu

#define threadIdx (::vit4j_cpu::thread_idx())
#define blockIdx (::vit4j_cpu::tl_geometry.block)
#define blockDim (::vit4j_cpu::tl_geometry.block_dim)
#define gridDim (::vit4j_cpu::tl_geometry.grid_dim)
constexpr int warpSize = 32;

// ---- synchronisation --------------------------------------------------------------------------
inline void __syncthreads() { ::vit4j_cpu::syncthreads(); }
inline int __syncthreads_count(int p) { return ::vit4j_cpu::syncthreads_reduce(0, p); }
inline int __syncthreads_and(int p) { return ::vit4j_cpu::syncthreads_reduce(1, p); }
inline int __syncthreads_or(int p) { return ::vit4j_cpu::syncthreads_reduce(2, p); }
inline void __syncwarp(unsigned mask = 0xffffffffu) { ::vit4j_cpu::warp_collective(5, mask, 0, 0, 32); }
inline unsigned __activemask() { return ::vit4j_cpu::active_mask(); }
inline void __threadfence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
inline void __threadfence_block() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

namespace vit4j_cpu {
template <class T>
inline T shuffle(int kind, unsigned mask, T v, int arg, int width) {
    static_assert(sizeof(T) <= 8 && std::is_trivially_copyable<T>::value, "shuffle of a type over 8 bytes");
    uint64_t bits = 0;
    std::memcpy(&bits, &v, sizeof(T));
    bits = warp_collective(kind, mask, bits, arg, width);
    T out;
    std::memcpy(&out, &bits, sizeof(T));
    return out;
}
} // namespace vit4j_cpu

template <class T> inline T __shfl_sync(unsigned m, T v, int src, int w = 32) { return ::vit4j_cpu::shuffle(0, m, v, src, w); }
template <class T> inline T __shfl_up_sync(unsigned m, T v, unsigned d, int w = 32) { return ::vit4j_cpu::shuffle(1, m, v, (int) d, w); }
template <class T> inline T __shfl_down_sync(unsigned m, T v, unsigned d, int w = 32) { return ::vit4j_cpu::shuffle(2, m, v, (int) d, w); }
template <class T> inline T __shfl_xor_sync(unsigned m, T v, int lm, int w = 32) { return ::vit4j_cpu::shuffle(3, m, v, lm, w); }
inline unsigned __ballot_sync(unsigned m, int p) { return (unsigned) ::vit4j_cpu::warp_collective(4, m, p != 0, 0, 32); }
inline int __any_sync(unsigned m, int p) { return __ballot_sync(m, p) != 0; }
inline int __all_sync(unsigned m, int p) { return __ballot_sync(m, !p) == 0; } // no participating lane has p false

// ---- atomics (blocks run in parallel on worker threads: real atomics) ----------------------------
template <class T> inline T vit4j_atomic_cas_loop_(T* p, T (*f)(T, T), T v) {
    static_assert(sizeof(T) == 4 || sizeof(T) == 8, "atomic on a type of 4 or 8 bytes");
    using U = typename std::conditional<sizeof(T) == 4, uint32_t, uint64_t>::type;
    U* up = reinterpret_cast<U*>(p);
    U old = __atomic_load_n(up, __ATOMIC_RELAXED);
    for (;;) {
        T o;
        std::memcpy(&o, &old, sizeof(T));
        T n = f(o, v);
        U nb;
        std::memcpy(&nb, &n, sizeof(T));
        if (__atomic_compare_exchange_n(up, &old, nb, false, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) return o;
    }
}
inline int atomicAdd(int* p, int v) { return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); }
inline unsigned atomicAdd(unsigned* p, unsigned v) { return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); }
inline unsigned long long atomicAdd(unsigned long long* p, unsigned long long v) { return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); }
inline float atomicAdd(float* p, float v) { return vit4j_atomic_cas_loop_<float>(p, [](float a, float b) { return a + b; }, v); }
inline double atomicAdd(double* p, double v) { return vit4j_atomic_cas_loop_<double>(p, [](double a, double b) { return a + b; }, v); }
inline int atomicSub(int* p, int v) { return __atomic_fetch_sub(p, v, __ATOMIC_SEQ_CST); }
inline unsigned atomicSub(unsigned* p, unsigned v) { return __atomic_fetch_sub(p, v, __ATOMIC_SEQ_CST); }
inline int atomicExch(int* p, int v) { return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST); }
inline unsigned atomicExch(unsigned* p, unsigned v) { return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST); }
inline float atomicExch(float* p, float v) { return vit4j_atomic_cas_loop_<float>(p, [](float, float b) { return b; }, v); }
inline int atomicMax(int* p, int v) { return vit4j_atomic_cas_loop_<int>(p, [](int a, int b) { return a > b ? a : b; }, v); }
inline int atomicMin(int* p, int v) { return vit4j_atomic_cas_loop_<int>(p, [](int a, int b) { return a < b ? a : b; }, v); }
inline unsigned atomicMax(unsigned* p, unsigned v) { return vit4j_atomic_cas_loop_<unsigned>(p, [](unsigned a, unsigned b) { return a > b ? a : b; }, v); }
inline unsigned atomicMin(unsigned* p, unsigned v) { return vit4j_atomic_cas_loop_<unsigned>(p, [](unsigned a, unsigned b) { return a < b ? a : b; }, v); }
inline int atomicAnd(int* p, int v) { return __atomic_fetch_and(p, v, __ATOMIC_SEQ_CST); }
inline int atomicOr(int* p, int v) { return __atomic_fetch_or(p, v, __ATOMIC_SEQ_CST); }
inline int atomicXor(int* p, int v) { return __atomic_fetch_xor(p, v, __ATOMIC_SEQ_CST); }
inline unsigned atomicAnd(unsigned* p, unsigned v) { return __atomic_fetch_and(p, v, __ATOMIC_SEQ_CST); }
inline unsigned atomicOr(unsigned* p, unsigned v) { return __atomic_fetch_or(p, v, __ATOMIC_SEQ_CST); }
template <class T> inline T atomicCAS(T* p, T expected, T desired) {
    __atomic_compare_exchange_n(p, &expected, desired, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    return expected; // the old value either way
}

// ---- math: CUDA's device functions with their host meaning --------------------------------------
inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a > b ? a : b; }
inline unsigned min(unsigned a, unsigned b) { return a < b ? a : b; }
inline unsigned max(unsigned a, unsigned b) { return a > b ? a : b; }
inline long long min(long long a, long long b) { return a < b ? a : b; }
inline long long max(long long a, long long b) { return a > b ? a : b; }
inline unsigned long long min(unsigned long long a, unsigned long long b) { return a < b ? a : b; }
inline unsigned long long max(unsigned long long a, unsigned long long b) { return a > b ? a : b; }
inline float min(float a, float b) { return fminf(a, b); }
inline float max(float a, float b) { return fmaxf(a, b); }
inline double min(double a, double b) { return fmin(a, b); }
inline double max(double a, double b) { return fmax(a, b); }
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline double rsqrt(double x) { return 1.0 / sqrt(x); }
inline float __expf(float x) { return expf(x); }
inline float __logf(float x) { return logf(x); }
inline float __log2f(float x) { return log2f(x); }
inline float __sinf(float x) { return sinf(x); }
inline float __cosf(float x) { return cosf(x); }
inline float __powf(float a, float b) { return powf(a, b); }
inline float __fdividef(float a, float b) { return a / b; }
inline float __frcp_rn(float x) { return 1.0f / x; }
inline float __fsqrt_rn(float x) { return sqrtf(x); }
inline float __fmaf_rn(float a, float b, float c) { return fmaf(a, b, c); }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __saturatef(float x) { return x < 0.f ? 0.f : (x > 1.f ? 1.f : (x == x ? x : 0.f)); }
inline float exp10f(float x) { return powf(10.f, x); }
inline float normcdff(float x) { return 0.5f * erfcf(-x * 0.70710678118654752f); }
inline int __float_as_int(float f) { int i; std::memcpy(&i, &f, 4); return i; }
inline float __int_as_float(int i) { float f; std::memcpy(&f, &i, 4); return f; }
inline unsigned __float_as_uint(float f) { unsigned i; std::memcpy(&i, &f, 4); return i; }
inline float __uint_as_float(unsigned i) { float f; std::memcpy(&f, &i, 4); return f; }
inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz((unsigned) x); }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline unsigned __brev(unsigned x) {
    x = ((x >> 1) & 0x55555555u) | ((x & 0x55555555u) << 1);
    x = ((x >> 2) & 0x33333333u) | ((x & 0x33333333u) << 2);
    x = ((x >> 4) & 0x0f0f0f0fu) | ((x & 0x0f0f0f0fu) << 4);
    x = ((x >> 8) & 0x00ff00ffu) | ((x & 0x00ff00ffu) << 8);
    return (x >> 16) | (x << 16);
}
template <class T> inline T __ldg(const T* p) { return *p; }

// ---- half precision storage: __half (IEEE binary16) and __nv_bfloat16 ---------------------------
// Conversions round to nearest even and keep NaN (quieted), as cuda_fp16.h / cuda_bf16.h do.
namespace vit4j_cpu {
inline uint16_t float_to_half_bits(float f) {
    uint32_t x;
    std::memcpy(&x, &f, 4);
    const uint32_t sign = (x >> 16) & 0x8000u;
    x &= 0x7fffffffu;
    if (x >= 0x7f800000u) return (uint16_t) (sign | (x > 0x7f800000u ? 0x7e00u | ((x >> 13) & 0x3ffu) : 0x7c00u));
    if (x >= 0x477ff000u) return (uint16_t) (sign | 0x7c00u); // rounds to >= 65520: infinity
    if (x < 0x38800000u) {                                     // below 2^-14: a subnormal half or zero
        const int e = (int) (x >> 23);
        if (e < 102) return (uint16_t) sign; // below 2^-25: rounds to zero
        const uint32_t m = (x & 0x7fffffu) | 0x800000u;
        const int s = 126 - e; // value in units of 2^-24 is m >> s
        uint32_t r = m >> s;
        const uint32_t rem = m & ((1u << s) - 1), halfway = 1u << (s - 1);
        if (rem > halfway || (rem == halfway && (r & 1u))) r++;
        return (uint16_t) (sign | r);
    }
    x -= 0x38000000u; // exponent bias 127 -> 15
    uint32_t r = x >> 13;
    const uint32_t rem = x & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (r & 1u))) r++;
    return (uint16_t) (sign | r);
}
inline float half_bits_to_float(uint16_t h) {
    const uint32_t sign = (uint32_t) (h & 0x8000u) << 16;
    const uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    uint32_t x;
    if (e == 0x1f) x = sign | 0x7f800000u | (m << 13);
    else if (e != 0) x = sign | ((e + 112u) << 23) | (m << 13);
    else if (m == 0) x = sign;
    else { // subnormal: m * 2^-24, exact in float
        float f = (float) m * 5.9604644775390625e-8f;
        return sign ? -f : f;
    }
    float f;
    std::memcpy(&f, &x, 4);
    return f;
}
inline uint16_t float_to_bf16_bits(float f) {
    uint32_t x;
    std::memcpy(&x, &f, 4);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t) ((x >> 16) | 0x40u); // NaN stays NaN, quiet
    x += 0x7fffu + ((x >> 16) & 1u);
    return (uint16_t) (x >> 16);
}
inline float bf16_bits_to_float(uint16_t b) {
    const uint32_t x = (uint32_t) b << 16;
    float f;
    std::memcpy(&f, &x, 4);
    return f;
}
} // namespace vit4j_cpu

struct __half {
    uint16_t __x;
    __half() = default;
    __half(float f) : __x(::vit4j_cpu::float_to_half_bits(f)) {}
    operator float() const { return ::vit4j_cpu::half_bits_to_float(__x); }
};
struct __nv_bfloat16 {
    uint16_t __x;
    __nv_bfloat16() = default;
    __nv_bfloat16(float f) : __x(::vit4j_cpu::float_to_bf16_bits(f)) {}
    operator float() const { return ::vit4j_cpu::bf16_bits_to_float(__x); }
};
using half = __half;
struct __attribute__((aligned(4))) __half2 { __half x, y; };
struct __attribute__((aligned(4))) __nv_bfloat162 { __nv_bfloat16 x, y; };
inline __half __float2half(float f) { return __half(f); }
inline __half __float2half_rn(float f) { return __half(f); }
inline float __half2float(__half h) { return (float) h; }
inline __nv_bfloat16 __float2bfloat16(float f) { return __nv_bfloat16(f); }
inline __nv_bfloat16 __float2bfloat16_rn(float f) { return __nv_bfloat16(f); }
inline float __bfloat162float(__nv_bfloat16 b) { return (float) b; }
inline __half2 __floats2half2_rn(float a, float b) { return {__half(a), __half(b)}; }
inline __nv_bfloat162 __floats2bfloat162_rn(float a, float b) { return {__nv_bfloat16(a), __nv_bfloat16(b)}; }
inline float2 __half22float2(__half2 h) { return {(float) h.x, (float) h.y}; }
inline float2 __bfloat1622float2(__nv_bfloat162 b) { return {(float) b.x, (float) b.y}; }
inline unsigned short __half_as_ushort(__half h) { return h.__x; }
inline unsigned short __bfloat16_as_ushort(__nv_bfloat16 b) { return b.__x; }
inline __half __ushort_as_half(unsigned short u) { __half h; h.__x = u; return h; }
inline __nv_bfloat16 __ushort_as_bfloat16(unsigned short u) { __nv_bfloat16 b; b.__x = u; return b; }

// ---- launching from C++ (the standalone checks): VIT4J_LAUNCH(kernel, grid, block, smem)(args...) --
namespace vit4j_cpu {
/** Launches `kernel` with arguments converted to its parameter types, as <<<>>> does. */
template <class... P>
struct Launcher {
    const char* name;
    void (*kernel)(P...);
    dim3 grid, block;
    size_t shared;
    template <class... A>
    void operator()(A&&... args) const {
        static_assert(sizeof...(A) == sizeof...(P), "kernel launched with the wrong number of arguments");
        std::tuple<P...> params(std::forward<A>(args)...);
        auto k = kernel;
        std::string err = run_grid(name, grid, block, shared, env_flags(), [&] { std::apply(k, params); });
        if (!err.empty()) set_last_error(err);
    }
};
template <class... P>
Launcher<P...> launcher(const char* name, void (*k)(P...), dim3 g, dim3 b, size_t s) {
    return Launcher<P...>{name, k, g, b, s};
}
} // namespace vit4j_cpu

// ---- the runtime API the standalone checks use ------------------------------------------------
enum cudaError_t { cudaSuccess = 0, cudaErrorMemoryAllocation = 2, cudaErrorInvalidValue = 1, cudaErrorLaunchFailure = 719 };
enum cudaMemcpyKind { cudaMemcpyHostToHost = 0, cudaMemcpyHostToDevice = 1, cudaMemcpyDeviceToHost = 2, cudaMemcpyDeviceToDevice = 3, cudaMemcpyDefault = 4 };
typedef struct vit4j_cpu_event* cudaEvent_t;
typedef struct vit4j_cpu_stream* cudaStream_t;
cudaError_t cudaMalloc(void** p, size_t bytes);
template <class T> inline cudaError_t cudaMalloc(T** p, size_t bytes) { return cudaMalloc(reinterpret_cast<void**>(p), bytes); }
cudaError_t cudaFree(void* p);
cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemset(void* p, int value, size_t bytes);
cudaError_t cudaDeviceSynchronize();
cudaError_t cudaGetLastError();
cudaError_t cudaPeekAtLastError();
const char* cudaGetErrorName(cudaError_t e);
const char* cudaGetErrorString(cudaError_t e);
cudaError_t cudaEventCreate(cudaEvent_t* e);
cudaError_t cudaEventDestroy(cudaEvent_t e);
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s = nullptr);
cudaError_t cudaEventSynchronize(cudaEvent_t e);
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t a, cudaEvent_t b);
