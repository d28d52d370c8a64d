// Patch embedding, eq. 1 of the ViT paper: out[b, 0] = cls + pos[0];
// out[b, 1 + p] = patch_p . W^T + bias + pos[1 + p], patch p read in (c, y, x) order straight from the
// NCHW image [B, C, H, W], patches row-major over an (H/P) x (W/P) grid that need not be square
// (kernel arguments height, width). The stride-P convolution is one GEMM with M = B*Np, N = D, K = C*P*P whose A operand
// is formed on the fly from the image: no im2col buffer exists in global memory.
// FLOPs 2*B*Np*D*C*P*P; least bytes 4*(B*C*H*W + D*C*P*P + (Np+1)*D + 2*D + B*(Np+1)*D).
// CPU reference: CpuBackend.patchEmbed. Launch plan: CudaKernels.patchEmbed (GEMM tile of common.cuh).
//
// Build: cmake -S . -B build && cmake --build build          -> build/kernels/patch_embed.fatbin
// Standalone: nvcc -DVIT4J_STANDALONE -std=c++17 -O3 -arch=sm_90 kernels/cuda/patch_embed.cu -o /tmp/patch_embed && /tmp/patch_embed
//
// Kernels: patch_embed_v1 (one output per thread, the baseline), patch_embed_v2 (the tiled GEMM); each in
// three storage types (VIT4J_FOR_EACH_DTYPE of common.cuh: name, name_bf16, name_f16). The sum
// acc + bias + pos (cls + pos for the class rows) is formed in float and rounded once at the store.
// patch_embed_v3 (bf16 and fp16 only: name_bf16, name_f16): the same on tensor cores, the main loop of
// gemm_tc.cuh with the image read as its A operand (im2col folded into the cp.async copies: one 16-byte
// copy is 8 pixels of one patch row). Needs P % 8 == 0, W % 8 == 0 (width) and image, weight 16-byte aligned
// (CudaKernels.patchEmbed picks patch_embed_v2 otherwise; the kernel checks). ViT's P = 16 qualifies,
// P = 14 does not. patch_embed_v3_small: the same on gemm_tc.cuh's small tile (TcSmall), which
// CudaKernels picks where the large one's blocks would leave multiprocessors idle (batch 1).
#include "common.cuh"
#include "gemm_tc.cuh"

using namespace vit4j;

// ---- version 1: one output per thread ----------------------------------------------------------
// grid = (ceil(D/16), ceil(B*(Np+1)/16)), block = (16, 16).
template <class T>
__device__ __forceinline__ void patch_embed_naive(const T* image, const T* W, const T* bias, const T* cls,
                                                  const T* pos, T* out, int batch, int channels, int height, int width,
                                                  int patch, int dim) {
    const int j = blockIdx.x * blockDim.x + threadIdx.x;
    const int row = blockIdx.y * blockDim.y + threadIdx.y;
    const int gw = width / patch, tokens = (height / patch) * gw + 1;
    if (j >= dim || row >= batch * tokens) return;
    const int b = row / tokens, t = row % tokens;
    float acc;
    if (t == 0) {
        acc = ld(cls + j);
    } else {
        const int p = t - 1, py = p / gw, px = p % gw, K = channels * patch * patch;
        acc = ld(bias + j);
        int k = 0;
        for (int c = 0; c < channels; c++)
            for (int dy = 0; dy < patch; dy++) {
                const T* src = image + (((long long) b * channels + c) * height + py * patch + dy) * width + px * patch;
                for (int dx = 0; dx < patch; dx++, k++) acc = fmaf(ld(src + dx), ld(W + (long long) j * K + k), acc);
            }
    }
    st(out + (long long) row * dim + j, acc + ld(pos + (long long) t * dim + j));
}

// ---- version 2: the tiled GEMM with an on-the-fly A operand -------------------------------------
// Loads 4 consecutive k of patch row m: k = (c*P + dy)*P + dx lands on image pixel
// (b, c, py*P + dy, px*P + dx). The patch's top-left corner is fixed per row, so only the (c, dy, dx)
// split of k costs divisions: once per quad per slab, not per FMA.
// Vector path when P % 4 == 0, W % 4 == 0 (the image width) and the image is aligned to 4 elements: then k % 4 == 0
// gives dx % 4 == 0, the quad never crosses a patch row, and its address is a multiple of 4 elements.
template <class T>
struct PatchLoader {
    const T* image;
    int rows, K, Np, gw, channels, height, width, patch;
    bool vec;
    __device__ __forceinline__ float4 operator()(int m, int k) const {
        float4 v = make_float4(0.f, 0.f, 0.f, 0.f);
        if (m >= rows) return v;
        const int b = m / Np, p = m - b * Np, py = p / gw, px = p - py * gw;
        const T* corner = image + ((long long) b * channels * height + py * patch) * width + px * patch;
        const int pp = patch * patch;
        if (vec) {
            if (k < K) {
                const int c = k / pp, r = k - c * pp, dy = r / patch, dx = r - dy * patch;
                v = ld4(corner + ((long long) c * height + dy) * width + dx);
            }
        } else {
            float e[4];
#pragma unroll
            for (int i = 0; i < 4; i++) {
                e[i] = 0.f;
                const int kk = k + i;
                if (kk < K) {
                    const int c = kk / pp, r = kk - c * pp, dy = r / patch, dx = r - dy * patch;
                    e[i] = ld(corner + ((long long) c * height + dy) * width + dx);
                }
            }
            v = make_float4(e[0], e[1], e[2], e[3]);
        }
        return v;
    }
};

template <class T>
struct PatchStore {
    const T* bias;
    const T* pos;
    T* out;
    int Np, dim;
    __device__ __forceinline__ void operator()(int m, int n, float v) const {
        const int b = m / Np, p = m - b * Np;
        st(out + ((long long) b * (Np + 1) + 1 + p) * dim + n, v + ld(bias + n) + ld(pos + (long long) (1 + p) * dim + n));
    }
};

// grid = (ceil(D/GEMM_BN), ceil(B*Np/GEMM_BM)), block = GEMM_THREADS. The blocks of the first row
// of the grid (blockIdx.y == 0) also write the class-token rows of their GEMM_BN columns, for every
// image: B*GEMM_BN stores, so no second launch is needed for them.
template <class T>
__device__ __forceinline__ void patch_embed_tiled(const T* image, const T* W, const T* bias, const T* cls,
                                                  const T* pos, T* out, int batch, int channels, int height, int width,
                                                  int patch, int dim) {
    const int gw = width / patch, Np = (height / patch) * gw;
    const int M = batch * Np, N = dim, K = channels * patch * patch;
    if (blockIdx.y == 0) {
        for (int i = threadIdx.x; i < batch * GEMM_BN; i += GEMM_THREADS) {
            const int b = i / GEMM_BN, n = blockIdx.x * GEMM_BN + i % GEMM_BN;
            if (n < dim) st(out + (long long) b * (Np + 1) * dim + n, ld(cls + n) + ld(pos + n));
        }
    }
    const PatchLoader<T> la{image, M, K, Np, gw, channels, height, width, patch,
                            (patch & 3) == 0 && (width & 3) == 0 && aligned4<T>(image)};
    gemm_tile(la, row_major(W, N, K), M, N, K, PatchStore<T>{bias, pos, out, Np, dim});
}

// ---- version 3: tensor cores (bf16, fp16) ----------------------------------------------------------
// A chunk (8 consecutive k of patch row m) of the image: k = (c*P + dy)*P + dx with dx % 8 == 0, so the
// 8 pixels are contiguous in one image row.
template <class T>
struct PatchChunks {
    const T* image;
    int rows, K, Np, gw, channels, height, width, patch;
    __device__ __forceinline__ const T* operator()(int m, int k) const {
        if (m >= rows || k >= K) return nullptr;
        const int b = m / Np, p = m - b * Np, py = p / gw, px = p - py * gw;
        const int pp = patch * patch, c = k / pp, r = k - c * pp, dy = r / patch, dx = r - dy * patch;
        return image + (((long long) b * channels + c) * height + py * patch + dy) * width + px * patch + dx;
    }
};

// grid = (ceil(D/Tile::BN), ceil(B*Np/Tile::BM)), block = Tile::THREADS (Tile: gemm_tc.cuh's TcLarge or
// TcSmall, as the linears: CudaKernels picks per shape); the first grid row also writes the class-token
// rows, as version 2 does.
template <class Tile, class T>
__device__ __forceinline__ void patch_embed_tc(const T* image, const T* W, const T* bias, const T* cls, const T* pos,
                                               T* out, int batch, int channels, int height, int width, int patch,
                                               int dim) {
    const int gw = width / patch, Np = (height / patch) * gw;
    const int M = batch * Np, N = dim, K = channels * patch * patch;
    // Only the row stride (the width) matters to the 16-byte copies: the height may be any multiple of P.
    if ((patch % 8) != 0 || (width % 8) != 0 || (reinterpret_cast<uintptr_t>(image) & 15) != 0) {
        mma::device_fail("patch_embed_v3: P and the image width must be multiples of 8 and the image 16-byte aligned");
        return;
    }
    if (blockIdx.y == 0) {
        for (int i = threadIdx.x; i < batch * Tile::BN; i += Tile::THREADS) {
            const int b = i / Tile::BN, n = blockIdx.x * Tile::BN + i % Tile::BN;
            if (n < dim) st(out + (long long) b * (Np + 1) * dim + n, ld(cls + n) + ld(pos + n));
        }
    }
    gemm_tc_tile_src<Tile>(PatchChunks<T>{image, M, K, Np, gw, channels, height, width, patch}, W, M, N, K,
                     PatchStore<T>{bias, pos, out, Np, dim});
}

// ---- the entry points, per storage type ----------------------------------------------------------
#define PATCH_EMBED_KERNELS(T, S)                                                                           \
    extern "C" __global__ void patch_embed_v1##S(const T* image, const T* W, const T* bias, const T* cls,   \
                                                 const T* pos, T* out, int batch, int channels, int height, \
                                                 int width, int patch, int dim) {                           \
        patch_embed_naive(image, W, bias, cls, pos, out, batch, channels, height, width, patch, dim);       \
    }                                                                                                       \
    extern "C" __global__ void __launch_bounds__(GEMM_THREADS)                                              \
        patch_embed_v2##S(const T* __restrict__ image, const T* __restrict__ W, const T* __restrict__ bias, \
                       const T* __restrict__ cls, const T* __restrict__ pos, T* __restrict__ out, int batch, \
                       int channels, int height, int width, int patch, int dim) {                           \
        patch_embed_tiled(image, W, bias, cls, pos, out, batch, channels, height, width, patch, dim);       \
    }
VIT4J_FOR_EACH_DTYPE(PATCH_EMBED_KERNELS)
#undef PATCH_EMBED_KERNELS
#define PATCH_EMBED_TC_KERNELS(T, H)                                                                        \
    extern "C" __global__ void __launch_bounds__(TC_THREADS)                                                \
        patch_embed_v3##H(const T* __restrict__ image, const T* __restrict__ W, const T* __restrict__ bias,  \
                          const T* __restrict__ cls, const T* __restrict__ pos, T* __restrict__ out, int batch, \
                          int channels, int height, int width, int patch, int dim) {                        \
        patch_embed_tc<TcLarge>(image, W, bias, cls, pos, out, batch, channels, height, width, patch, dim); \
    }                                                                                                       \
    extern "C" __global__ void __launch_bounds__(TC_SMALL_THREADS)                                          \
        patch_embed_v3_small##H(const T* __restrict__ image, const T* __restrict__ W,                       \
                                const T* __restrict__ bias, const T* __restrict__ cls,                      \
                                const T* __restrict__ pos, T* __restrict__ out, int batch, int channels,    \
                                int height, int width, int patch, int dim) {                                \
        patch_embed_tc<TcSmall>(image, W, bias, cls, pos, out, batch, channels, height, width, patch, dim); \
    }
VIT4J_FOR_EACH_HALF_DTYPE(PATCH_EMBED_TC_KERNELS)
#undef PATCH_EMBED_TC_KERNELS

// ================================================================================================
#ifdef VIT4J_STANDALONE
#include <vector>

static void cpu_patch_embed(const std::vector<float>& img, const std::vector<float>& W, const std::vector<float>& bias,
                            const std::vector<float>& cls, const std::vector<float>& pos, int B, int C, int H, int Wd,
                            int P, int D, std::vector<double>& out) {
    const int G = Wd / P, Np = (H / P) * G, T = Np + 1, K = C * P * P;
    out.assign((size_t) B * T * D, 0.0);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            for (int j = 0; j < D; j++) {
                double acc;
                if (t == 0) {
                    acc = cls[j];
                } else {
                    int p = t - 1, py = p / G, px = p % G, k = 0;
                    acc = bias[j];
                    for (int c = 0; c < C; c++)
                        for (int dy = 0; dy < P; dy++)
                            for (int dx = 0; dx < P; dx++, k++)
                                acc += (double) img[(((size_t) b * C + c) * H + py * P + dy) * Wd + px * P + dx] *
                                       W[(size_t) j * K + k];
                }
                out[((size_t) b * T + t) * D + j] = acc + pos[(size_t) t * D + j];
            }
}

// H x W images: the grid is (H / P) x (W / P), not square in general.
struct PeCase {
    int B, C, H, W, P, D;
};

template <class T> struct Kernels;
#define PATCH_EMBED_TABLE(T, S)                                                                             \
    template <> struct Kernels<T> {                                                                         \
        static constexpr auto v1 = patch_embed_v1##S;                                                       \
        static constexpr auto v2 = patch_embed_v2##S;                                                       \
    };
VIT4J_FOR_EACH_DTYPE(PATCH_EMBED_TABLE)
#undef PATCH_EMBED_TABLE

// offset: the image starts that many elements into its allocation (unaligned: scalar A path).
template <class T>
static void check(PeCase s, bool time, int offset = 0) {
    const int T_ = (s.H / s.P) * (s.W / s.P) + 1, K = s.C * s.P * s.P;
    std::printf("B=%d C=%d H=%d W=%d P=%d D=%d (tokens %d, K %d) %s%s\n", s.B, s.C, s.H, s.W, s.P, s.D, T_, K,
                sa::dtype_name<T>(), offset ? " (image at +1 element: scalar path)" : "");
    auto himg = sa::rounded<T>(sa::random_vec((size_t) s.B * s.C * s.H * s.W + offset));
    auto hW = sa::rounded<T>(sa::random_vec((size_t) s.D * K));
    auto hb = sa::rounded<T>(sa::random_vec(s.D)), hc = sa::rounded<T>(sa::random_vec(s.D));
    auto hp = sa::rounded<T>(sa::random_vec((size_t) T_ * s.D));
    std::vector<float> img0(himg.begin() + offset, himg.end());
    std::vector<double> want;
    cpu_patch_embed(img0, hW, hb, hc, hp, s.B, s.C, s.H, s.W, s.P, s.D, want);
    T *dimg = sa::to_device_as<T>(himg), *dW = sa::to_device_as<T>(hW), *db = sa::to_device_as<T>(hb),
      *dc = sa::to_device_as<T>(hc), *dp = sa::to_device_as<T>(hp);
    const T* di = dimg + offset;
    const size_t n = (size_t) s.B * T_ * s.D;
    const double tol = sa::tolerance<T>();
    char what[64];
    T* o2 = sa::poisoned<T>(n);
    dim3 g2(sa::ceil_div(s.D, GEMM_BN), sa::ceil_div((long long) s.B * (T_ - 1), GEMM_BM));
    auto v2 = [&] { VIT4J_LAUNCH(Kernels<T>::v2, g2, GEMM_THREADS, 0)(di, dW, db, dc, dp, o2, s.B, s.C, s.H, s.W, s.P, s.D); };
    v2();
    CUDA_CHECK(cudaDeviceSynchronize());
    std::snprintf(what, sizeof what, "patch_embed %s", sa::dtype_name<T>());
    sa::report(what, sa::rel_l2(sa::to_host(o2, n), want), tol);
    T* o1 = sa::poisoned<T>(n);
    dim3 g1(sa::ceil_div(s.D, 16), sa::ceil_div((long long) s.B * T_, 16));
    auto v1 = [&] { VIT4J_LAUNCH(Kernels<T>::v1, g1, dim3(16, 16), 0)(di, dW, db, dc, dp, o1, s.B, s.C, s.H, s.W, s.P, s.D); };
    v1();
    CUDA_CHECK(cudaDeviceSynchronize());
    std::snprintf(what, sizeof what, "patch_embed_v1 %s", sa::dtype_name<T>());
    sa::report(what, sa::rel_l2(sa::to_host(o1, n), want), tol);
    if (time && sa::timing()) {
        const double flops = 2.0 * s.B * (T_ - 1) * s.D * K;
        float ms1 = sa::time_ms(v1), ms2 = sa::time_ms(v2);
        std::printf("  timing: v1 %.3f ms (%.1f GFLOP/s), v2 %.3f ms (%.1f GFLOP/s)\n", ms1, flops / ms1 * 1e-6, ms2,
                    flops / ms2 * 1e-6);
    }
    for (T* p : {dimg, dW, db, dc, dp, o1, o2}) CUDA_CHECK(cudaFree(p));
}

// ---- version 3 (tensor cores) ----
template <class T> struct TcKernel;
#define PATCH_EMBED_TC_TABLE(T, H) \
    template <> struct TcKernel<T> {                                                                         \
        static constexpr auto v3 = patch_embed_v3##H;                                                       \
        static constexpr auto v3_small = patch_embed_v3_small##H;                                           \
    };
VIT4J_FOR_EACH_HALF_DTYPE(PATCH_EMBED_TC_TABLE)
#undef PATCH_EMBED_TC_TABLE

template <class T, bool SMALL = false>
static void check_tc(PeCase s) {
    using Tile = std::conditional_t<SMALL, TcSmall, TcLarge>;
    const int T_ = (s.H / s.P) * (s.W / s.P) + 1, K = s.C * s.P * s.P;
    std::printf("tensor cores%s: B=%d C=%d H=%d W=%d P=%d D=%d (tokens %d, K %d) %s\n", SMALL ? " (small tile)" : "", s.B, s.C, s.H, s.W, s.P,
                s.D, T_, K, sa::dtype_name<T>());
    auto himg = sa::rounded<T>(sa::random_vec((size_t) s.B * s.C * s.H * s.W));
    auto hW = sa::rounded<T>(sa::random_vec((size_t) s.D * K));
    auto hb = sa::rounded<T>(sa::random_vec(s.D)), hc = sa::rounded<T>(sa::random_vec(s.D));
    auto hp = sa::rounded<T>(sa::random_vec((size_t) T_ * s.D));
    std::vector<double> want;
    cpu_patch_embed(himg, hW, hb, hc, hp, s.B, s.C, s.H, s.W, s.P, s.D, want);
    T *di = sa::to_device_as<T>(himg), *dW = sa::to_device_as<T>(hW), *db = sa::to_device_as<T>(hb),
      *dc = sa::to_device_as<T>(hc), *dp = sa::to_device_as<T>(hp);
    const size_t n = (size_t) s.B * T_ * s.D;
    T* o = sa::poisoned<T>(n);
    dim3 g(sa::ceil_div(s.D, Tile::BN), sa::ceil_div((long long) s.B * (T_ - 1), Tile::BM));
    constexpr auto v3 = SMALL ? TcKernel<T>::v3_small : TcKernel<T>::v3;
    VIT4J_LAUNCH(v3, g, Tile::THREADS, 0)(di, dW, db, dc, dp, o, s.B, s.C, s.H, s.W, s.P, s.D);
    CUDA_CHECK(cudaDeviceSynchronize());
    const auto got = sa::to_host(o, n);
    char what[96];
    std::snprintf(what, sizeof what, "patch_embed_v3%s %s", SMALL ? "_small" : "", sa::dtype_name<T>());
    sa::report(what, sa::rel_l2(got, want), sa::tolerance<T>());
    const int bad = sa::outside_one_ulp<T>(got, want, 1e-5);
    std::snprintf(what, sizeof what, "  ... %d of %zu elements beyond 1 ulp of %s", bad, n, sa::dtype_name<T>());
    sa::report(what, bad == 0 ? 0.0 : 1.0, 0.0);
    for (T* p : {di, dW, db, dc, dp, o}) CUDA_CHECK(cudaFree(p));
}

template <class T>
static void check_half() {
    check<T>({1, 1, 4, 4, 2, 3}, false);     // scalar A path
    check<T>({2, 3, 32, 32, 16, 40}, false);  // vector path, D not a tile multiple
    check<T>({2, 3, 32, 32, 16, 40}, false, 1); // image unaligned: scalar A path
    check<T>({3, 3, 15, 15, 5, 70}, false);   // odd everything
    check<T>({2, 3, 15, 35, 5, 70}, false);   // 3 x 7 grid: rows and columns differ
    check<T>({2, 3, 48, 16, 8, 40}, false);   // 6 x 2 grid, vector path
}

int main() {
    std::printf("patch_embed.cu standalone check\n");
    check<float>({1, 1, 4, 4, 2, 3}, false);      // P % 4 != 0: scalar A path
    check<float>({2, 3, 32, 32, 16, 40}, false);   // float4 path, D not a tile multiple
    check<float>({2, 3, 32, 32, 16, 40}, false, 1); // image unaligned: scalar A path
    check<float>({3, 3, 15, 15, 5, 70}, false);    // odd everything
    check<float>({2, 3, 15, 35, 5, 70}, false);    // 3 x 7 grid: rows and columns differ
    check<float>({3, 2, 36, 12, 4, 40}, false);    // 9 x 3 grid, float4 path
    check<float>({2, 3, 224, 224, 16, 384}, false); // ViT-S/16
    check<float>({8, 3, 224, 224, 16, 384}, true);  // ViT-S/16, batch 8, timed
    check<float>({8, 3, 224, 224, 16, 768}, true);  // ViT-B/16, batch 8, timed
    check_half<__nv_bfloat16>();
    check_half<__half>();
    check_tc<__nv_bfloat16>({2, 3, 32, 32, 16, 40});  // P = 16: K = 768, D not a tile multiple
    check_tc<__nv_bfloat16>({3, 2, 40, 40, 8, 136});  // P = 8, 5x5 patches, D past one column tile
    check_tc<__nv_bfloat16>({2, 3, 24, 56, 8, 72});   // 3 x 7 grid
    check_tc<__half>({2, 3, 32, 32, 16, 40});
    check_tc<__half>({2, 1, 48, 16, 16, 40});         // 3 x 1 grid
    check_tc<__nv_bfloat16, true>({2, 3, 32, 32, 16, 40}); // the small tile: D not a tile multiple
    check_tc<__nv_bfloat16, true>({3, 2, 40, 40, 8, 136}); // past two column tiles, rows past one
    return sa::finish("patch_embed");
}
#endif // VIT4J_STANDALONE
