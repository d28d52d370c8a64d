// Elementwise ops of the ViT encoder: exact GELU, add, and picking the class token.
//   gelu:         out = x / 2 * erfc(-x / sqrt 2)   ~20 FLOPs/element; least bytes 8*n. out may be x.
//   add:          out = a + b                       1 FLOP/element;  least bytes 12*n. out may be a or b.
//   select_token: out[b, :] = x[b, token, :]        0 FLOPs;         least bytes 8*B*D.
// All memory-bound: each reads its inputs once and writes its output once; nothing to tile.
// CPU reference: CpuBackend.gelu / add / selectToken. Launch plans: CudaKernels.gelu / add / selectToken
// (EW_THREADS mirrored there as Elementwise.THREADS).
//
// Build: cmake -S . -B build && cmake --build build          -> build/kernels/elementwise.fatbin
// Standalone: nvcc -DVIT4J_STANDALONE -std=c++17 -O3 -arch=sm_90 kernels/cuda/elementwise.cu -o /tmp/elementwise && /tmp/elementwise
//
// Each kernel exists in three storage types (VIT4J_FOR_EACH_DTYPE of common.cuh: name, name_bf16,
// name_f16); gelu and add compute in float and round once per output; select_token copies bits.
// Least bytes above are for float; the half types halve them.
//
// Tricks: each thread owns 4 consecutive elements, moved as one vector access (16 bytes of float, 8 of
// bf16/fp16) when every pointer is aligned to 4 elements (a uniform test) and the quad is whole;
// otherwise (unaligned views, the tail of n) 4 scalar accesses. In-place use is safe: each element is
// read and written by one thread, read first (hence no __restrict__).
// grid = ceil(n / (4*EW_THREADS)), block = EW_THREADS.
#include "common.cuh"

using namespace vit4j;

constexpr int EW_THREADS = 256;

template <class T>
__device__ __forceinline__ void gelu_quad(const T* x, T* out, int n) {
    const long long i = ((long long) blockIdx.x * EW_THREADS + threadIdx.x) * 4;
    if (i >= n) return;
    if (i + 3 < n && aligned4<T>(x) && aligned4<T>(out)) {
        float4 v = ld4(x + i);
        v.x = gelu_exact(v.x);
        v.y = gelu_exact(v.y);
        v.z = gelu_exact(v.z);
        v.w = gelu_exact(v.w);
        st4(out + i, v);
    } else {
        for (long long k = i; k < i + 4 && k < n; k++) st(out + k, gelu_exact(ld(x + k)));
    }
}

template <class T>
__device__ __forceinline__ void add_quad(const T* a, const T* b, T* out, int n) {
    const long long i = ((long long) blockIdx.x * EW_THREADS + threadIdx.x) * 4;
    if (i >= n) return;
    if (i + 3 < n && aligned4<T>(a) && aligned4<T>(b) && aligned4<T>(out)) {
        const float4 u = ld4(a + i);
        const float4 v = ld4(b + i);
        st4(out + i, make_float4(u.x + v.x, u.y + v.y, u.z + v.z, u.w + v.w));
    } else {
        for (long long k = i; k < i + 4 && k < n; k++) st(out + k, ld(a + k) + ld(b + k));
    }
}

// out[b, :] = x[b, token, :] for x [batch, tokens, dim]. n = batch*dim outputs; vector copies when
// dim % 4 == 0 and both pointers are aligned to 4 elements (then a quad never crosses a row and the
// source row start is aligned). The elements are copied as they are, not converted.
template <class T>
__device__ __forceinline__ void select_quad(const T* __restrict__ x, T* __restrict__ out, int batch, int tokens,
                                            int dim, int token) {
    const long long n = (long long) batch * dim;
    const long long i = ((long long) blockIdx.x * EW_THREADS + threadIdx.x) * 4;
    if (i >= n) return;
    if ((dim & 3) == 0 && aligned4<T>(x) && aligned4<T>(out)) {
        const long long b = i / dim, c = i - b * dim;
        *reinterpret_cast<raw4<T>*>(out + i) = *reinterpret_cast<const raw4<T>*>(x + (b * tokens + token) * dim + c);
    } else {
        for (long long k = i; k < i + 4 && k < n; k++) {
            const long long b = k / dim, c = k - b * dim;
            out[k] = x[(b * tokens + token) * dim + c];
        }
    }
}

#define ELEMENTWISE_KERNELS(T, S)                                                                           \
    extern "C" __global__ void __launch_bounds__(EW_THREADS) gelu##S(const T* x, T* out, int n) {           \
        gelu_quad(x, out, n);                                                                               \
    }                                                                                                       \
    extern "C" __global__ void __launch_bounds__(EW_THREADS) add##S(const T* a, const T* b, T* out, int n) { \
        add_quad(a, b, out, n);                                                                             \
    }                                                                                                       \
    extern "C" __global__ void __launch_bounds__(EW_THREADS)                                                \
        select_token##S(const T* __restrict__ x, T* __restrict__ out, int batch, int tokens, int dim, int token) { \
        select_quad(x, out, batch, tokens, dim, token);                                                     \
    }
VIT4J_FOR_EACH_DTYPE(ELEMENTWISE_KERNELS)
#undef ELEMENTWISE_KERNELS

// ================================================================================================
#ifdef VIT4J_STANDALONE
#include <vector>

static unsigned blocks_for(long long n) {
    return sa::ceil_div(n, 4LL * EW_THREADS);
}

template <class T> struct Kernels;
#define ELEMENTWISE_TABLE(T, S)                                                                             \
    template <> struct Kernels<T> {                                                                         \
        static constexpr auto gelu_k = gelu##S;                                                             \
        static constexpr auto add_k = add##S;                                                               \
        static constexpr auto select_k = select_token##S;                                                   \
    };
VIT4J_FOR_EACH_DTYPE(ELEMENTWISE_TABLE)
#undef ELEMENTWISE_TABLE

template <class T>
static void check(int n, int offset, bool time) {
    std::printf("n=%d %s%s\n", n, sa::dtype_name<T>(), offset ? " (inputs at +1 element: scalar path)" : "");
    auto ha = sa::rounded<T>(sa::random_vec(n + offset, 4.0f)), hb = sa::rounded<T>(sa::random_vec(n + offset));
    std::vector<double> wg(n), wa(n);
    for (int i = 0; i < n; i++) {
        const double x = ha[i + offset];
        wg[i] = 0.5 * x * std::erfc(-x / std::sqrt(2.0));
        wa[i] = (double) ha[i + offset] + hb[i + offset];
    }
    const double tol = sa::tolerance<T>();
    const char* ty = sa::dtype_name<T>();
    char what[64];
    T *da = sa::to_device_as<T>(ha), *db = sa::to_device_as<T>(hb);
    T *og = sa::poisoned<T>(n), *oa = sa::poisoned<T>(n);
    auto g = [&] { VIT4J_LAUNCH(Kernels<T>::gelu_k, blocks_for(n), EW_THREADS, 0)(da + offset, og, n); };
    auto a = [&] { VIT4J_LAUNCH(Kernels<T>::add_k, blocks_for(n), EW_THREADS, 0)(da + offset, db + offset, oa, n); };
    g();
    a();
    CUDA_CHECK(cudaDeviceSynchronize());
    std::snprintf(what, sizeof what, "gelu %s", ty);
    sa::report(what, sa::rel_l2(sa::to_host(og, n), wg), tol);
    std::snprintf(what, sizeof what, "add %s", ty);
    sa::report(what, sa::rel_l2(sa::to_host(oa, n), wa), tol);
    // in place
    VIT4J_LAUNCH(Kernels<T>::add_k, blocks_for(n), EW_THREADS, 0)(da + offset, db + offset, db + offset, n);
    CUDA_CHECK(cudaDeviceSynchronize());
    std::snprintf(what, sizeof what, "add %s in place (out = b)", ty);
    sa::report(what, sa::rel_l2(sa::to_host(db + offset, n), wa), tol);
    VIT4J_LAUNCH(Kernels<T>::gelu_k, blocks_for(n), EW_THREADS, 0)(da + offset, da + offset, n);
    CUDA_CHECK(cudaDeviceSynchronize());
    std::snprintf(what, sizeof what, "gelu %s in place", ty);
    sa::report(what, sa::rel_l2(sa::to_host(da + offset, n), wg), tol);
    if (time && sa::timing()) {
        float msg = sa::time_ms(g), msa = sa::time_ms(a);
        std::printf("  timing: gelu %.4f ms (%.0f GB/s), add %.4f ms (%.0f GB/s)\n", msg, 2.0 * sizeof(T) * n / msg * 1e-6,
                    msa, 3.0 * sizeof(T) * n / msa * 1e-6);
    }
    for (T* p : {da, db, og, oa}) CUDA_CHECK(cudaFree(p));
}

// A copy: exact in every type (the check's tolerance is 0 for the half types too).
template <class T>
static void check_select(int B, int T_, int D, int token, int offset = 0) {
    std::printf("select_token B=%d T=%d D=%d token=%d %s%s\n", B, T_, D, token, sa::dtype_name<T>(),
                offset ? " (x at +1 element: scalar path)" : "");
    auto hx = sa::rounded<T>(sa::random_vec((size_t) B * T_ * D + offset));
    std::vector<double> want((size_t) B * D);
    for (int b = 0; b < B; b++)
        for (int c = 0; c < D; c++) want[(size_t) b * D + c] = hx[offset + ((size_t) b * T_ + token) * D + c];
    T* dx = sa::to_device_as<T>(hx);
    T* o = sa::poisoned<T>((size_t) B * D);
    VIT4J_LAUNCH(Kernels<T>::select_k, blocks_for((long long) B * D), EW_THREADS, 0)(dx + offset, o, B, T_, D, token);
    CUDA_CHECK(cudaDeviceSynchronize());
    char what[64];
    std::snprintf(what, sizeof what, "select_token %s", sa::dtype_name<T>());
    sa::report(what, sa::rel_l2(sa::to_host(o, (size_t) B * D), want), 0.0);
    CUDA_CHECK(cudaFree(dx));
    CUDA_CHECK(cudaFree(o));
}

template <class T>
static void check_half() {
    check<T>(7, 0, false);
    check<T>(1001, 0, false);
    check<T>(1001, 1, false);
    check_select<T>(3, 197, 384, 0);
    check_select<T>(2, 5, 7, 4);
    check_select<T>(2, 5, 8, 1, 1);
}

int main() {
    std::printf("elementwise.cu standalone check\n");
    check<float>(1, 0, false);
    check<float>(7, 0, false);
    check<float>(1001, 0, false);
    check<float>(1001, 1, false);
    check<float>(8 * 197 * 1536, 0, true); // ViT-S MLP hidden, batch 8
    check_select<float>(1, 1, 1, 0);
    check_select<float>(3, 197, 384, 0);
    check_select<float>(2, 5, 7, 4);
    check_select<float>(4, 17, 768, 3);
    check_select<float>(2, 5, 8, 1, 1);
    check_half<__nv_bfloat16>();
    check_half<__half>();
    return sa::finish("elementwise");
}
#endif // VIT4J_STANDALONE
