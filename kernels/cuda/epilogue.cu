// Epilogues for the cuBLAS path (--gemm cublas): cuBLAS computes the GEMM, these apply what vit4j's
// own linear kernels fuse.
//   bias_rows:   out[m, n] = act(out[m, n] + bias[n]), act = identity or exact GELU   least bytes 8*M*N
//   qkv_scatter: qkv[which, b, h, t, e] = flat[b*T + t, which*D + h*hd + e] + bias     least bytes 8*M*3D
// (A residual needs no kernel: cuBLAS adds it with beta = 1 onto an output that already holds it.)
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

// ================================================================================================
#ifdef VIT4J_STANDALONE
#include <cmath>
#include <vector>

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
    const int batch = 2, tokens = 197, dim = 192, heads = 3, hd = dim / heads;
    const long long total = 3LL * batch * tokens * dim;
    auto flat = sa::random_vec((size_t) total), hb = sa::random_vec(3 * dim);
    std::vector<double> want((size_t) total);
    for (long long i = 0; i < total; i++) {
        const int m = (int) (i / (3 * dim)), n = (int) (i % (3 * dim));
        const int which = n / dim, h = (n % dim) / hd, e = n % hd, b = m / tokens, t = m % tokens;
        want[((((long long) which * batch + b) * heads + h) * tokens + t) * hd + e] = (double) flat[i] + hb[n];
    }
    float* df = sa::to_device(flat);
    float* db = sa::to_device(hb);
    float* dq = sa::poisoned((size_t) total);
    VIT4J_LAUNCH(qkv_scatter, sa::ceil_div(total, EP_THREADS), EP_THREADS, 0)(df, db, dq, batch, tokens, dim, heads);
    CUDA_CHECK(cudaGetLastError());
    sa::report("qkv_scatter", sa::rel_l2(sa::to_host(dq, (size_t) total), want));
    return sa::finish("epilogue");
}
#endif
