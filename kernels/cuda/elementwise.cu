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
// Tricks: each thread owns 4 consecutive elements, moved as one float4 (16-byte load/store) when every
// pointer is 16-byte aligned (a uniform test) and the quad is whole; otherwise (unaligned views, the
// tail of n) 4 scalar accesses. In-place use is safe: each element is read and written by one thread,
// read first (hence no __restrict__). grid = ceil(n / (4*EW_THREADS)), block = EW_THREADS.
#include "common.cuh"

using namespace vit4j;

constexpr int EW_THREADS = 256;

extern "C" __global__ void __launch_bounds__(EW_THREADS) gelu(const float* x, float* out, int n) {
    const long long i = ((long long) blockIdx.x * EW_THREADS + threadIdx.x) * 4;
    if (i >= n) return;
    if (i + 3 < n && aligned16(x) && aligned16(out)) {
        float4 v = *reinterpret_cast<const float4*>(x + i);
        v.x = gelu_exact(v.x);
        v.y = gelu_exact(v.y);
        v.z = gelu_exact(v.z);
        v.w = gelu_exact(v.w);
        *reinterpret_cast<float4*>(out + i) = v;
    } else {
        for (long long k = i; k < i + 4 && k < n; k++) out[k] = gelu_exact(x[k]);
    }
}

extern "C" __global__ void __launch_bounds__(EW_THREADS) add(const float* a, const float* b, float* out, int n) {
    const long long i = ((long long) blockIdx.x * EW_THREADS + threadIdx.x) * 4;
    if (i >= n) return;
    if (i + 3 < n && aligned16(a) && aligned16(b) && aligned16(out)) {
        const float4 u = *reinterpret_cast<const float4*>(a + i);
        const float4 v = *reinterpret_cast<const float4*>(b + i);
        *reinterpret_cast<float4*>(out + i) = make_float4(u.x + v.x, u.y + v.y, u.z + v.z, u.w + v.w);
    } else {
        for (long long k = i; k < i + 4 && k < n; k++) out[k] = a[k] + b[k];
    }
}

// out[b, :] = x[b, token, :] for x [batch, tokens, dim]. n = batch*dim outputs; float4 when dim % 4 == 0
// and both pointers are aligned (then a quad never crosses a row and the source row start is aligned).
extern "C" __global__ void __launch_bounds__(EW_THREADS)
    select_token(const float* __restrict__ x, float* __restrict__ out, int batch, int tokens, int dim, int token) {
    const long long n = (long long) batch * dim;
    const long long i = ((long long) blockIdx.x * EW_THREADS + threadIdx.x) * 4;
    if (i >= n) return;
    if ((dim & 3) == 0 && aligned16(x) && aligned16(out)) {
        const long long b = i / dim, c = i - b * dim;
        *reinterpret_cast<float4*>(out + i) = *reinterpret_cast<const float4*>(x + (b * tokens + token) * dim + c);
    } else {
        for (long long k = i; k < i + 4 && k < n; k++) {
            const long long b = k / dim, c = k - b * dim;
            out[k] = x[(b * tokens + token) * dim + c];
        }
    }
}

// ================================================================================================
#ifdef VIT4J_STANDALONE
#include <vector>

static unsigned blocks_for(long long n) {
    return sa::ceil_div(n, 4LL * EW_THREADS);
}

static void check(int n, int offset, bool time) {
    std::printf("n=%d%s\n", n, offset ? " (inputs at +1 float: scalar path)" : "");
    auto ha = sa::random_vec(n + offset, 4.0f), hb = sa::random_vec(n + offset);
    std::vector<double> wg(n), wa(n);
    for (int i = 0; i < n; i++) {
        const double x = ha[i + offset];
        wg[i] = 0.5 * x * std::erfc(-x / std::sqrt(2.0));
        wa[i] = (double) ha[i + offset] + hb[i + offset];
    }
    float *da = sa::to_device(ha), *db = sa::to_device(hb);
    float *og = sa::poisoned(n), *oa = sa::poisoned(n);
    auto g = [&] { VIT4J_LAUNCH(gelu, blocks_for(n), EW_THREADS, 0)(da + offset, og, n); };
    auto a = [&] { VIT4J_LAUNCH(add, blocks_for(n), EW_THREADS, 0)(da + offset, db + offset, oa, n); };
    g();
    a();
    CUDA_CHECK(cudaDeviceSynchronize());
    sa::report("gelu", sa::rel_l2(sa::to_host(og, n), wg));
    sa::report("add", sa::rel_l2(sa::to_host(oa, n), wa));
    // in place
    VIT4J_LAUNCH(add, blocks_for(n), EW_THREADS, 0)(da + offset, db + offset, db + offset, n);
    CUDA_CHECK(cudaDeviceSynchronize());
    std::vector<float> got = sa::to_host(db + offset, n);
    sa::report("add in place (out = b)", sa::rel_l2(got, wa));
    VIT4J_LAUNCH(gelu, blocks_for(n), EW_THREADS, 0)(da + offset, da + offset, n);
    CUDA_CHECK(cudaDeviceSynchronize());
    sa::report("gelu in place", sa::rel_l2(sa::to_host(da + offset, n), wg));
    if (time && sa::timing()) {
        float msg = sa::time_ms(g), msa = sa::time_ms(a);
        std::printf("  timing: gelu %.4f ms (%.0f GB/s), add %.4f ms (%.0f GB/s)\n", msg, 8.0 * n / msg * 1e-6, msa,
                    12.0 * n / msa * 1e-6);
    }
    for (float* p : {da, db, og, oa}) CUDA_CHECK(cudaFree(p));
}

static void check_select(int B, int T, int D, int token) {
    std::printf("select_token B=%d T=%d D=%d token=%d\n", B, T, D, token);
    auto hx = sa::random_vec((size_t) B * T * D);
    std::vector<double> want((size_t) B * D);
    for (int b = 0; b < B; b++)
        for (int c = 0; c < D; c++) want[(size_t) b * D + c] = hx[((size_t) b * T + token) * D + c];
    float* dx = sa::to_device(hx);
    float* o = sa::poisoned((size_t) B * D);
    VIT4J_LAUNCH(select_token, blocks_for((long long) B * D), EW_THREADS, 0)(dx, o, B, T, D, token);
    CUDA_CHECK(cudaDeviceSynchronize());
    sa::report("select_token", sa::rel_l2(sa::to_host(o, (size_t) B * D), want));
    CUDA_CHECK(cudaFree(dx));
    CUDA_CHECK(cudaFree(o));
}

int main() {
    std::printf("elementwise.cu standalone check\n");
    check(1, 0, false);
    check(7, 0, false);
    check(1001, 0, false);
    check(1001, 1, false);
    check(8 * 197 * 1536, 0, true); // ViT-S MLP hidden, batch 8
    check_select(1, 1, 1, 0);
    check_select(3, 197, 384, 0);
    check_select(2, 5, 7, 4);
    check_select(4, 17, 768, 3);
    return sa::finish("elementwise");
}
#endif // VIT4J_STANDALONE
