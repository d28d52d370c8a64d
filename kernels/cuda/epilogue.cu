// Epilogues for the cuBLAS path (--gemm cublas): cuBLAS computes the GEMM, these apply what vit4j's
// own linear kernels fuse.
//   bias_rows:   out[m, n] = act(out[m, n] + bias[n]), act = identity or exact GELU   least bytes 8*M*N
//   qkv_scatter: qkv[which, b, h, t, e] = flat[b*T + t, which*D + h*hd + e] + bias     least bytes 8*M*3D
// (A residual needs no kernel in fp32: cuBLAS adds it with beta = 1 onto an output that already holds it.)
// In bf16/fp16 (name_bf16, name_f16), cuBLAS writes its fp32 accumulators to a float scratch and these
// round once to T after the whole epilogue, as vit4j's own half GEMMs do (a half C from cuBLAS would
// be rounded before the bias and GELU):
//   bias_rows_acc: out[m, n] = T(act(acc[m, n] + bias[n]) + residual[m, n])  bias, residual optional
//   qkv_scatter_acc: qkv[which, b, h, t, e] = T(flat[b*T + t, which*D + h*hd + e] + bias)
// Memory-bound, one thread per output element. CPU reference: CpuBackend.linear / linearQkv (the
// GEMM and its epilogue together). Launch plans: CudaKernels.biasRows / qkvScatter.
//
// Build: cmake -S . -B build && cmake --build build          -> build/kernels/epilogue.fatbin
// Standalone: nvcc -DVIT4J_STANDALONE -std=c++17 -O3 -arch=sm_90 kernels/cuda/epilogue.cu -o /tmp/epilogue && /tmp/epilogue
#include "common.cuh"

using namespace vit4j;

constexpr int EP_THREADS = 256;

extern "C" __global__ void __launch_bounds__(EP_THREADS)
    bias_rows(float* out, const float* __restrict__ bias, int rows, int cols, int gelu) {
    const long long i = (long long) blockIdx.x * EP_THREADS + threadIdx.x;
    if (i >= (long long) rows * cols) return;
    float v = out[i] + bias[i % cols];
    out[i] = gelu ? gelu_exact(v) : v;
}

extern "C" __global__ void __launch_bounds__(EP_THREADS)
    qkv_scatter(const float* __restrict__ flat, const float* __restrict__ bias, float* __restrict__ qkv, int batch,
                int tokens, int dim, int heads) {
    const long long n3 = 3LL * dim, i = (long long) blockIdx.x * EP_THREADS + threadIdx.x;
    if (i >= (long long) batch * tokens * n3) return;
    const int m = (int) (i / n3), n = (int) (i - (long long) m * n3);
    const int hd = dim / heads, which = n / dim, h = (n % dim) / hd, e = n % hd, b = m / tokens, t = m % tokens;
    const float v = flat[i] + (bias != nullptr ? bias[n] : 0.0f);
    qkv[((((long long) which * batch + b) * heads + h) * tokens + t) * hd + e] = v;
}

// residual MAY alias out (each element is read by the thread that then writes it): no __restrict__.
#define VIT4J_EPILOGUE_ACC(T, H)                                                                              \
    extern "C" __global__ void __launch_bounds__(EP_THREADS)                                                   \
        bias_rows_acc##H(const float* __restrict__ acc, const T* __restrict__ bias, const T* residual, T* out, \
                         int rows, int cols, int gelu) {                                                      \
        const long long i = (long long) blockIdx.x * EP_THREADS + threadIdx.x;                                \
        if (i >= (long long) rows * cols) return;                                                             \
        float v = acc[i] + (bias != nullptr ? ld(bias + i % cols) : 0.0f);                                   \
        if (gelu) v = gelu_exact(v);                                                                          \
        if (residual != nullptr) v += ld(residual + i);                                                       \
        st(out + i, v);                                                                                       \
    }                                                                                                         \
    extern "C" __global__ void __launch_bounds__(EP_THREADS)                                                   \
        qkv_scatter_acc##H(const float* __restrict__ flat, const T* __restrict__ bias, T* __restrict__ qkv,   \
                           int batch, int tokens, int dim, int heads) {                                       \
        const long long n3 = 3LL * dim, i = (long long) blockIdx.x * EP_THREADS + threadIdx.x;                \
        if (i >= (long long) batch * tokens * n3) return;                                                     \
        const int m = (int) (i / n3), n = (int) (i - (long long) m * n3);                                     \
        const int hd = dim / heads, which = n / dim, h = (n % dim) / hd, e = n % hd, b = m / tokens,          \
                  t = m % tokens;                                                                             \
        st(qkv + ((((long long) which * batch + b) * heads + h) * tokens + t) * hd + e,                       \
           flat[i] + (bias != nullptr ? ld(bias + n) : 0.0f));                                                \
    }
VIT4J_FOR_EACH_HALF_DTYPE(VIT4J_EPILOGUE_ACC)

// ================================================================================================
#ifdef VIT4J_STANDALONE
#include <cmath>
#include <vector>

// The QKV scatter's expected output: flat [B * T, 3 * D] + bias, moved to [3, B, H, T, hd].
static std::vector<double> qkv_reference(const std::vector<float>& flat, const std::vector<float>& bias, int batch,
                                         int tokens, int dim, int heads) {
    const int hd = dim / heads;
    std::vector<double> want(flat.size());
    for (long long i = 0; i < (long long) flat.size(); i++) {
        const int m = (int) (i / (3 * dim)), n = (int) (i % (3 * dim));
        const int which = n / dim, h = (n % dim) / hd, e = n % hd, b = m / tokens, t = m % tokens;
        want[((((long long) which * batch + b) * heads + h) * tokens + t) * hd + e] = (double) flat[i] + bias[n];
    }
    return want;
}

// The half epilogues: fp32 accumulators in, T out, rounded once; bias, GELU and residual as asked.
template <class T>
void check_acc(void (*bias_rows)(const float*, const T*, const T*, T*, int, int, int),
               void (*scatter)(const float*, const T*, T*, int, int, int, int)) {
    char what[96];
    const int rows = 197, cols = 775;
    for (int mode = 0; mode < 4; mode++) { // 0 none, 1 bias, 2 bias + GELU, 3 bias + residual
        auto acc = sa::random_vec((size_t) rows * cols, 3.0f);
        auto hb = sa::rounded<T>(sa::random_vec(cols)), hr = sa::rounded<T>(sa::random_vec((size_t) rows * cols));
        std::vector<double> want(acc.size());
        for (int i = 0; i < rows * cols; i++) {
            double v = (double) acc[i] + (mode >= 1 ? hb[i % cols] : 0.0);
            if (mode == 2) v = 0.5 * v * std::erfc(-v / std::sqrt(2.0));
            if (mode == 3) v += hr[i];
            want[i] = v;
        }
        float* da = sa::to_device(acc);
        T* db = sa::to_device_as<T>(hb);
        T* dr = sa::to_device_as<T>(hr);
        T* out = sa::poisoned<T>(acc.size());
        VIT4J_LAUNCH(bias_rows, sa::ceil_div((long long) rows * cols, EP_THREADS), EP_THREADS, 0)
        (da, mode >= 1 ? db : nullptr, mode == 3 ? dr : nullptr, out, rows, cols, mode == 2);
        CUDA_CHECK(cudaGetLastError());
        const char* names[] = {"none", "bias", "bias gelu", "bias residual"};
        std::snprintf(what, sizeof what, "bias_rows_acc %s %s", sa::dtype_name<T>(), names[mode]);
        sa::report(what, sa::rel_l2(sa::to_host(out, acc.size()), want), sa::tolerance<T>());
        // In place: the residual is the output (as the backend calls it for x += proj(...)).
        if (mode == 3) {
            VIT4J_LAUNCH(bias_rows, sa::ceil_div((long long) rows * cols, EP_THREADS), EP_THREADS, 0)
            (da, db, dr, dr, rows, cols, 0);
            CUDA_CHECK(cudaGetLastError());
            std::snprintf(what, sizeof what, "bias_rows_acc %s bias residual in place", sa::dtype_name<T>());
            sa::report(what, sa::rel_l2(sa::to_host(dr, acc.size()), want), sa::tolerance<T>());
        }
    }
    const int batch = 3, tokens = 37, dim = 80, heads = 5;
    const long long total = 3LL * batch * tokens * dim;
    auto flat = sa::random_vec((size_t) total), hb = sa::rounded<T>(sa::random_vec(3 * dim));
    const std::vector<double> want = qkv_reference(flat, hb, batch, tokens, dim, heads);
    float* df = sa::to_device(flat);
    T* db = sa::to_device_as<T>(hb);
    T* dq = sa::poisoned<T>((size_t) total);
    VIT4J_LAUNCH(scatter, sa::ceil_div(total, EP_THREADS), EP_THREADS, 0)(df, db, dq, batch, tokens, dim, heads);
    CUDA_CHECK(cudaGetLastError());
    std::snprintf(what, sizeof what, "qkv_scatter_acc %s", sa::dtype_name<T>());
    sa::report(what, sa::rel_l2(sa::to_host(dq, (size_t) total), want), sa::tolerance<T>());
}

int main() {
    for (int gelu = 0; gelu <= 1; gelu++) {
        const int rows = 197, cols = 775;
        auto h = sa::random_vec((size_t) rows * cols, 3.0f), hb = sa::random_vec(cols);
        std::vector<double> want(h.size());
        for (int i = 0; i < rows * cols; i++) {
            const double v = (double) h[i] + hb[i % cols];
            want[i] = gelu ? 0.5 * v * std::erfc(-v / std::sqrt(2.0)) : v;
        }
        float* d = sa::to_device(h);
        float* db = sa::to_device(hb);
        VIT4J_LAUNCH(bias_rows, sa::ceil_div((long long) rows * cols, EP_THREADS), EP_THREADS, 0)(d, db, rows, cols, gelu);
        CUDA_CHECK(cudaGetLastError());
        sa::report(gelu ? "bias_rows gelu" : "bias_rows", sa::rel_l2(sa::to_host(d, h.size()), want));
    }
    const int batch = 2, tokens = 197, dim = 192, heads = 3;
    const long long total = 3LL * batch * tokens * dim;
    auto flat = sa::random_vec((size_t) total), hb = sa::random_vec(3 * dim);
    const std::vector<double> want = qkv_reference(flat, hb, batch, tokens, dim, heads);
    float* df = sa::to_device(flat);
    float* db = sa::to_device(hb);
    float* dq = sa::poisoned((size_t) total);
    VIT4J_LAUNCH(qkv_scatter, sa::ceil_div(total, EP_THREADS), EP_THREADS, 0)(df, db, dq, batch, tokens, dim, heads);
    CUDA_CHECK(cudaGetLastError());
    sa::report("qkv_scatter", sa::rel_l2(sa::to_host(dq, (size_t) total), want));
    check_acc<__nv_bfloat16>(bias_rows_acc_bf16, qkv_scatter_acc_bf16);
    check_acc<__half>(bias_rows_acc_f16, qkv_scatter_acc_f16);
    return sa::finish("epilogue");
}
#endif
