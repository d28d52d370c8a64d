// Unit tests of kernels/cuda/mma.cuh, the PTX wrappers (mma.sync m16n8k16, ldmatrix .x4 / .x4.trans,
// cp.async), of the shared-memory swizzle of gemm_tc.cuh, and of kernels/cuda/wgmma.cuh (Hopper's
// wgmma.mma_async m64nNk16: descriptor fields, the K-major shared-memory layouts of each swizzle mode,
// the D fragment of a warpgroup, scale-d, chaining, the asynchronous completion). Each fragment is filled and read back
// through the layout tables of the PTX ISA, written out here independently of mma.cuh (element by
// element, from the ISA's row/column formulas), with small integers, so every product and sum is exact
// and any lane or register permutation shows as a wrong value.
//
// On the CPU (CTest: build/sa_mma, forward and reverse thread order, ASan) this tests the portable
// fallback. On a GPU it runs twice: built as is, it tests the real instructions against the same tables;
// built with -DVIT4J_MMA_FALLBACK, the fallback on the GPU:
//   nvcc -DVIT4J_STANDALONE -std=c++17 -O3 -arch=sm_90 -Ikernels/cuda kernels/cuda/tests/mma_test.cu -o /tmp/mma && /tmp/mma
//   nvcc -DVIT4J_STANDALONE -DVIT4J_MMA_FALLBACK -std=c++17 -O3 -arch=sm_90 -Ikernels/cuda kernels/cuda/tests/mma_test.cu -o /tmp/mma_fb && /tmp/mma_fb
// (the wgmma checks need -arch=sm_90a for the instructions, and an H100/H200; elsewhere they are skipped
// with a line saying so)
// Mutants of the fallback's layouts (native/cudacpu/cudacpu.cmake, mutant.mma_*) must fail here.
#include "common.cuh"
#include "mma.cuh"
#include "gemm_tc.cuh"
#include "wgmma.cuh"

using namespace vit4j;
using namespace vit4j::mma;

// ---- the ISA's tables, independently: (row, col) of element i of a lane's fragment -----------------
// A 16x16 .f16/.bf16, elements a0..a7 (two per register, a0 low half of register 0).
__host__ __device__ inline void isa_a(int lane, int i, int& row, int& col) {
    const int g = lane >> 2, t = lane % 4;
    row = (i < 2 || (i >= 4 && i < 6)) ? g : g + 8;
    col = t * 2 + (i & 1) + (i >= 4 ? 8 : 0);
}
// B 16x8, elements b0..b3: row = k, col = n.
__host__ __device__ inline void isa_b(int lane, int i, int& row, int& col) {
    const int g = lane >> 2, t = lane % 4;
    row = t * 2 + (i & 1) + (i >= 2 ? 8 : 0);
    col = g;
}
// C/D 16x8 .f32, elements c0..c3.
__host__ __device__ inline void isa_c(int lane, int i, int& row, int& col) {
    const int g = lane >> 2, t = lane % 4;
    row = i < 2 ? g : g + 8;
    col = t * 2 + (i & 1);
}

template <class T> __device__ inline uint32_t bits16(float v) {
    const T h = from_f<T>(v);
    return (uint32_t) *reinterpret_cast<const uint16_t*>(&h);
}

// One warp per 16x16 A / 16x8 B / 16x8 C problem (blockDim 64: two warps, two problems, so lanes are not
// thread indices). A [16][16], B [16][8] (k, n), C [16][8] row-major floats per problem; D out.
template <class T>
__global__ void mma_kernel(const float* A, const float* B, const float* C, float* D) {
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    A += warp * 256;
    B += warp * 128;
    C += warp * 128;
    D += warp * 128;
    uint32_t a[4], b[2];
    float d[4];
    for (int r = 0; r < 4; r++) {
        int row, col;
        isa_a(lane, 2 * r, row, col);
        const uint32_t lo = bits16<T>(A[row * 16 + col]);
        isa_a(lane, 2 * r + 1, row, col);
        a[r] = lo | (bits16<T>(A[row * 16 + col]) << 16);
    }
    for (int r = 0; r < 2; r++) {
        int row, col;
        isa_b(lane, 2 * r, row, col);
        const uint32_t lo = bits16<T>(B[row * 8 + col]);
        isa_b(lane, 2 * r + 1, row, col);
        b[r] = lo | (bits16<T>(B[row * 8 + col]) << 16);
    }
    for (int i = 0; i < 4; i++) {
        int row, col;
        isa_c(lane, i, row, col);
        d[i] = C[row * 8 + col];
    }
    mma_m16n8k16<T>(d, a, b);
    for (int i = 0; i < 4; i++) {
        int row, col;
        isa_c(lane, i, row, col);
        D[row * 8 + col] = d[i];
    }
}

// ldmatrix: a 32 x 24 (u16) shared array holds codes (row << 8 | col); lane l points at the row
// perm(l) of its matrix's 8x8 block, the blocks at scattered places, so that which lane's address feeds
// which matrix row is checked. out[lane * 8 + j * 2 + h]: register j, half h (low, high).
constexpr int LDM_ROWS = 32, LDM_COLS = 24;
__host__ __device__ inline int ldm_perm(int i) { return (i * 5 + 3) % 8; } // a permutation of 0..7
__host__ __device__ inline int ldm_block_row(int j) { return (j * 8 + 16) % 32; }
__host__ __device__ inline int ldm_block_col(int j) { return (j % 2) * 8 + (j / 2) * 8; }

template <bool TRANS>
__global__ void ldmatrix_kernel(unsigned* out) {
    __shared__ __align__(16) uint16_t s[LDM_ROWS * LDM_COLS];
    for (int i = threadIdx.x; i < LDM_ROWS * LDM_COLS; i += blockDim.x) s[i] = (uint16_t) ((i / LDM_COLS) << 8 | (i % LDM_COLS));
    __syncthreads();
    const int lane = threadIdx.x % 32, j = lane / 8;
    const int row = ldm_block_row(j) + ldm_perm(lane % 8), col = ldm_block_col(j);
    uint32_t r[4];
    if (TRANS) ldmatrix_x4_trans(r, &s[row * LDM_COLS + col]);
    else ldmatrix_x4(r, &s[row * LDM_COLS + col]);
    for (int q = 0; q < 4; q++) {
        out[threadIdx.x * 8 + q * 2] = r[q] & 0xffffu;
        out[threadIdx.x * 8 + q * 2 + 1] = r[q] >> 16;
    }
}

// ldmatrix feeding mma, addressed as gemm_tc does: C[16x16] = A[16x16] . W[16x16]^T (two n8 tiles),
// A and W row-major [rows][16] in shared memory (A's rows padded to 24 to move them around).
template <class T>
__global__ void ldmatrix_mma_kernel(const float* A, const float* W, float* C) {
    __shared__ __align__(16) T As[16 * 24];
    __shared__ __align__(16) T Ws[16 * 16];
    for (int i = threadIdx.x; i < 256; i += blockDim.x) {
        As[(i / 16) * 24 + i % 16] = from_f<T>(A[i]);
        Ws[i] = from_f<T>(W[i]);
    }
    __syncthreads();
    const int lane = threadIdx.x % 32;
    uint32_t a[4], w[4];
    ldmatrix_x4(a, &As[((lane % 8) + 8 * ((lane / 8) % 2)) * 24 + 8 * (lane / 16)]);
    ldmatrix_x4(w, &Ws[((lane % 8) + 8 * (lane / 16)) * 16 + 8 * ((lane / 8) % 2)]);
    float d0[4] = {0, 0, 0, 0}, d1[4] = {0, 0, 0, 0};
    const uint32_t b0[2] = {w[0], w[1]}, b1[2] = {w[2], w[3]};
    mma_m16n8k16<T>(d0, a, b0);
    mma_m16n8k16<T>(d1, a, b1);
    for (int i = 0; i < 4; i++) {
        int row, col;
        isa_c(lane, i, row, col);
        C[row * 16 + col] = d0[i];
        C[row * 16 + 8 + col] = d1[i];
    }
}

// cp.async: each of 32 threads copies 16 bytes (cg16) in group 0 and 8 bytes (ca<8>, 5 of them real,
// the rest zero-filled) in group 1; after wait<1> group 0 is in and, in the fallback, group 1 still
// reads as the all-ones poison; after wait<0> both are in. out: the shared array after each wait.
__global__ void cp_async_kernel(const uint16_t* src, uint16_t* after1, uint16_t* after0) {
    __shared__ __align__(16) uint16_t s[32 * 8 + 32 * 4];
    AsyncCopies<4> cp;
    const int t = threadIdx.x;
    cp.cg16(&s[t * 8], src + t * 8, 16);
    cp.commit();
    cp.ca<8>(&s[256 + t * 4], src + 256 + t * 4, 5 + (t % 2));
    cp.commit();
    cp.wait<1>();
    __syncthreads();
    for (int i = t; i < 384; i += 32) after1[i] = s[i];
    __syncthreads();
    cp.wait<0>();
    __syncthreads();
    for (int i = t; i < 384; i += 32) after0[i] = s[i];
}


// ---- wgmma (wgmma.cuh) ------------------------------------------------------------------------------
// The ISA's tables again, written here from their own formulas, not from wgmma.cuh:
// D of m64nNk16 (f32): thread `thread` of a warpgroup (0..127), element e of its N/2.
__host__ __device__ inline void isa_wg_d(int thread, int e, int& row, int& col) {
    const int warp = thread / 32, lane = thread % 32, i = e / 4, j = e % 4;
    row = warp * 16 + lane / 4 + (j / 2) * 8;
    col = i * 8 + (lane % 4) * 2 + j % 2;
}
// Byte offset, from the operand's region start, of element (row, k) (k = 0..WG_TEST_K - 1) of a K-major
// operand with `rows` rows in layout `mode`, with the LBO / SBO / per-k16-step start the test's
// descriptors give (wg_test_desc_params). In the row form of the swizzles (CUTLASS's Swizzle<B, 4, 3>
// on an atom-aligned region): chunk c of row r of an atom is stored at chunk c ^ ((r % 8) / (8 / (W / 16))).
constexpr int WG_TEST_K = 32; // two k16 steps, chained in one group
__host__ __device__ inline int wg_test_width(int mode) { return mode == 1 ? 128 : mode == 2 ? 64 : mode == 3 ? 32 : 0; }
__host__ __device__ inline void wg_test_desc_params(int mode, int rows, int step, int& start, int& lbo, int& sbo) {
    const int W = wg_test_width(mode);
    if (mode == 0) {          // core matrices: the 4 along k adjacent (LBO 128), row groups 512 apart
        lbo = 128;
        sbo = 512;
        start = step * 2 * lbo; // k16 = two core matrices
    } else if (W == 32) {     // one k16 per 32-byte row: the second step is a second region
        lbo = 16;
        sbo = 8 * W;
        start = step * rows * W;
    } else {                  // both steps in one row of W bytes, 32 bytes apart
        lbo = 16;
        sbo = 8 * W;
        start = step * 32;
    }
}
__host__ __device__ inline int wg_test_offset(int mode, int rows, int row, int k) {
    const int W = wg_test_width(mode);
    if (mode == 0) return (row / 8) * 512 + (k / 8) * 128 + (row % 8) * 16 + (k % 8) * 2;
    if (W == 32) return (k / 16) * rows * 32 + (row / 8) * 256 + (row % 8) * 32 + ((((k % 16) / 8) ^ ((row % 8) / 4)) * 16) + (k % 8) * 2;
    return (row / 8) * 8 * W + (row % 8) * W + (((k / 8) ^ ((row % 8) / (8 / (W / 16)))) * 16) + (k % 8) * 2;
}
__host__ __device__ inline int wg_test_region(int mode, int rows) { // bytes, a multiple of 1024
    const int W = wg_test_width(mode);
    const int bytes = mode == 0 ? rows / 8 * 512 : W == 32 ? 2 * rows * 32 : rows * W;
    return (bytes + 1023) / 1024 * 1024;
}

// Two warpgroups (256 threads), one problem each: D[64 x N] = scale_d ? C + A.B : A.B, A [64 x 32] and
// B [N x 32] (k contiguous) placed in dynamic shared memory by wg_test_offset, K in two chained wgmmas.
// early[thread]: 1 where, in the fallback, an accumulator read between mma and wait is not NaN.
template <class T, int N>
__global__ void wgmma_kernel(int mode, int scale_d, const float* A, const float* B, const float* C, float* D, int* early) {
#if defined(__CUDACC__)
    extern __shared__ __align__(1024) unsigned char wg_test_smem[];
#else
    unsigned char* wg_test_smem = static_cast<unsigned char*>(::vit4j_cpu::dynamic_shared());
#endif
    const int q = threadIdx.x / 128, thread = threadIdx.x % 128;
    const int ra = wg_test_region(mode, 64), rb = wg_test_region(mode, N);
    unsigned char* a_region = wg_test_smem + q * (ra + rb);
    unsigned char* b_region = a_region + ra;
    A += q * 64 * WG_TEST_K;
    B += q * N * WG_TEST_K;
    C += q * 64 * N;
    D += q * 64 * N;
    for (int i = thread; i < 64 * WG_TEST_K; i += 128)
        *reinterpret_cast<T*>(a_region + wg_test_offset(mode, 64, i / WG_TEST_K, i % WG_TEST_K)) = from_f<T>(A[i]);
    for (int i = thread; i < N * WG_TEST_K; i += 128)
        *reinterpret_cast<T*>(b_region + wg_test_offset(mode, N, i / WG_TEST_K, i % WG_TEST_K)) = from_f<T>(B[i]);
    wgmma::fence_proxy_async();
    __syncthreads();
    float d[N / 2];
    for (int e = 0; e < N / 2; e++) {
        int row, col;
        isa_wg_d(thread, e, row, col);
        d[e] = C[row * N + col];
    }
    wgmma::Warpgroup<T, N, 2> wg;
    wg.fence();
    for (int step = 0; step < 2; step++) {
        int sa0, lbo, sbo, sb0;
        wg_test_desc_params(mode, 64, step, sa0, lbo, sbo);
        const uint64_t da = wgmma::make_desc(a_region + sa0, lbo, sbo, (wgmma::Swizzle) mode);
        wg_test_desc_params(mode, N, step, sb0, lbo, sbo);
        const uint64_t db = wgmma::make_desc(b_region + sb0, lbo, sbo, (wgmma::Swizzle) mode);
        wg.mma(d, da, db, step == 0 ? scale_d : 1);
    }
    wg.commit();
#if VIT4J_WGMMA_FALLBACK
    early[threadIdx.x] = d[0] == d[0] ? 1 : 0; // the fallback completes at the wait: NaN until then
#else
    early[threadIdx.x] = 0;
#endif
    wg.template wait<0>(d);
    for (int e = 0; e < N / 2; e++) {
        int row, col;
        isa_wg_d(thread, e, row, col);
        D[row * N + col] = d[e];
    }
}

// The descriptor's fields at the ISA's bit positions, for a few (address, LBO, SBO, mode): out[i] = 1
// where make_desc agrees with the packing written here.
__global__ void wg_desc_kernel(int* out) {
#if defined(__CUDACC__)
    extern __shared__ __align__(1024) unsigned char wg_test_smem[];
#else
    unsigned char* wg_test_smem = static_cast<unsigned char*>(::vit4j_cpu::dynamic_shared());
#endif
    const int offsets[4] = {0, 1024 + 32, 4096 + 96, 16};
    const unsigned lbos[4] = {16, 128, 4096, 65520};
    const unsigned sbos[4] = {1024, 512, 65520, 16};
    for (int i = 0; i < 4; i++) {
        const unsigned char* p = wg_test_smem + offsets[i];
        const unsigned long long addr = wgmma::smem_address(p);
        const unsigned long long want = ((addr >> 4) & 0x3FFF) | ((unsigned long long) (lbos[i] / 16) << 16) |
                                        ((unsigned long long) (sbos[i] / 16) << 32) | ((unsigned long long) (i % 4) << 62);
        out[i] = wgmma::make_desc(p, lbos[i], sbos[i], (wgmma::Swizzle) (i % 4)) == want ? 1 : 0;
        // and advancing the start by 32 bytes adds 2 to the address field alone
        out[4 + i] = wgmma::advance(want, 32) == want + 2 ? 1 : 0;
    }
}

// ---- host ---------------------------------------------------------------------------------------
#ifdef VIT4J_STANDALONE
#include <vector>

static int small_int() { // -8..8, never 0
    for (;;) {
        const int v = (int) std::lround(sa::rand_nonzero(8.4f));
        if (v != 0 && v >= -8 && v <= 8) return v;
    }
}

template <class T>
static void check_mma() {
    const int P = 2; // problems (warps)
    std::vector<float> A(P * 256), B(P * 128), C(P * 128);
    for (auto& v : A) v = (float) small_int();
    for (auto& v : B) v = (float) small_int();
    for (auto& v : C) v = (float) small_int() * 16.0f;
    float *dA = sa::to_device(A), *dB = sa::to_device(B), *dC = sa::to_device(C), *dD = sa::poisoned<float>(P * 128);
    VIT4J_LAUNCH(mma_kernel<T>, 1, 64, 0)(dA, dB, dC, dD);
    CUDA_CHECK(cudaDeviceSynchronize());
    auto D = sa::to_host(dD, P * 128);
    int wrong = 0;
    for (int p = 0; p < P; p++)
        for (int m = 0; m < 16; m++)
            for (int n = 0; n < 8; n++) {
                double want = C[p * 128 + m * 8 + n];
                for (int k = 0; k < 16; k++) want += (double) A[p * 256 + m * 16 + k] * B[p * 128 + k * 8 + n];
                if (D[p * 128 + m * 8 + n] != (float) want) wrong++;
            }
    char what[96];
    std::snprintf(what, sizeof what, "mma m16n8k16 %s: D = A.B + C, %d of %d elements wrong", sa::dtype_name<T>(), wrong, P * 128);
    sa::report(what, wrong == 0 ? 0.0 : 1.0, 0.0);
    CUDA_CHECK(cudaFree(dA));
    CUDA_CHECK(cudaFree(dB));
    CUDA_CHECK(cudaFree(dC));
    CUDA_CHECK(cudaFree(dD));
}

template <bool TRANS>
static void check_ldmatrix() {
    unsigned* d = nullptr;
    CUDA_CHECK(cudaMalloc(&d, 64 * 8 * sizeof(unsigned)));
    VIT4J_LAUNCH(ldmatrix_kernel<TRANS>, 1, 64, 0)(d);
    CUDA_CHECK(cudaDeviceSynchronize());
    std::vector<unsigned> got(64 * 8);
    CUDA_CHECK(cudaMemcpy(got.data(), d, got.size() * sizeof(unsigned), cudaMemcpyDeviceToHost));
    // row r of matrix j is the address lane 8j + r gave: shared row block_row(j) + perm(r)
    int wrong_by_lane = 0;
    for (int thread = 0; thread < 64; thread++) {
        const int lane = thread % 32;
        for (int j = 0; j < 4; j++)
            for (int h = 0; h < 2; h++) {
                int r, c;
                if (!TRANS) { r = lane / 4; c = 2 * (lane % 4) + h; }
                else { r = 2 * (lane % 4) + h; c = lane / 4; }
                const unsigned want = (unsigned) ((ldm_block_row(j) + ldm_perm(r)) << 8 | (ldm_block_col(j) + c));
                if (got[thread * 8 + j * 2 + h] != want) wrong_by_lane++;
            }
    }
    char what[96];
    std::snprintf(what, sizeof what, "ldmatrix.x4%s: %d of 512 halves wrong", TRANS ? ".trans" : "", wrong_by_lane);
    sa::report(what, wrong_by_lane == 0 ? 0.0 : 1.0, 0.0);
    CUDA_CHECK(cudaFree(d));
}

template <class T>
static void check_ldmatrix_mma() {
    std::vector<float> A(256), W(256);
    for (auto& v : A) v = (float) small_int();
    for (auto& v : W) v = (float) small_int();
    float *dA = sa::to_device(A), *dW = sa::to_device(W), *dC = sa::poisoned<float>(256);
    VIT4J_LAUNCH(ldmatrix_mma_kernel<T>, 1, 32, 0)(dA, dW, dC);
    CUDA_CHECK(cudaDeviceSynchronize());
    auto C = sa::to_host(dC, 256);
    int wrong = 0;
    for (int m = 0; m < 16; m++)
        for (int n = 0; n < 16; n++) {
            double want = 0;
            for (int k = 0; k < 16; k++) want += (double) A[m * 16 + k] * W[n * 16 + k];
            if (C[m * 16 + n] != (float) want) wrong++;
        }
    char what[96];
    std::snprintf(what, sizeof what, "ldmatrix -> mma, C = A.W^T %s: %d of 256 wrong", sa::dtype_name<T>(), wrong);
    sa::report(what, wrong == 0 ? 0.0 : 1.0, 0.0);
    CUDA_CHECK(cudaFree(dA));
    CUDA_CHECK(cudaFree(dW));
    CUDA_CHECK(cudaFree(dC));
}

static void check_cp_async() {
    std::vector<uint16_t> src(384);
    for (int i = 0; i < 384; i++) src[i] = (uint16_t) (i * 7 + 1);
    uint16_t *ds = nullptr, *d1 = nullptr, *d0 = nullptr;
    CUDA_CHECK(cudaMalloc(&ds, 384 * 2));
    CUDA_CHECK(cudaMalloc(&d1, 384 * 2));
    CUDA_CHECK(cudaMalloc(&d0, 384 * 2));
    CUDA_CHECK(cudaMemcpy(ds, src.data(), 384 * 2, cudaMemcpyHostToDevice));
    VIT4J_LAUNCH(cp_async_kernel, 1, 32, 0)(ds, d1, d0);
    CUDA_CHECK(cudaDeviceSynchronize());
    std::vector<uint16_t> a1(384), a0(384);
    CUDA_CHECK(cudaMemcpy(a1.data(), d1, 384 * 2, cudaMemcpyDeviceToHost));
    CUDA_CHECK(cudaMemcpy(a0.data(), d0, 384 * 2, cudaMemcpyDeviceToHost));
    int wrong0 = 0, wrong1 = 0;
    for (int i = 0; i < 384; i++) {
        uint16_t want = src[i];
        if (i >= 256) { // ca<8> with 5 or 6 source bytes: the rest zero
            const int t = (i - 256) / 4, byte = ((i - 256) % 4) * 2, n = 5 + (t % 2);
            const uint16_t s = src[i];
            want = (uint16_t) ((byte < n ? (s & 0xff) : 0) | (byte + 1 < n ? (s & 0xff00) : 0));
        }
        if (a0[i] != want) wrong0++;
        if (i < 256 && a1[i] != want) wrong1++;
#if !VIT4J_MMA_DEVICE_PTX
        if (i >= 256 && a1[i] != 0xffff) wrong1++; // the fallback's poison: group 1 not waited for yet
#endif
    }
    char what[96];
    std::snprintf(what, sizeof what, "cp.async: after wait_group 1 (group 0 in), %d wrong", wrong1);
    sa::report(what, wrong1 == 0 ? 0.0 : 1.0, 0.0);
    std::snprintf(what, sizeof what, "cp.async: after wait_group 0 (all in, zero fill), %d wrong", wrong0);
    sa::report(what, wrong0 == 0 ? 0.0 : 1.0, 0.0);
    CUDA_CHECK(cudaFree(ds));
    CUDA_CHECK(cudaFree(d1));
    CUDA_CHECK(cudaFree(d0));
}

// The swizzle of gemm_tc.cuh: a bijection of each row's 16-byte chunks, and conflict-free for what reads
// and writes the tiles: any 8 consecutive rows (from a multiple of 8) at one logical chunk (an ldmatrix
// phase) and any 8 consecutive chunks in row-major order (a phase of the cp.async writes) fall in 8
// different 16-byte bank groups.
static void check_swizzle() {
    int bad = 0;
    constexpr int CPR = TC_BK / 8;
    auto group = [](int row, int chunk) { return (row * CPR + tc_swizzle(row, chunk)) % 8; };
    for (int row = 0; row < 64; row++) {
        unsigned seen = 0;
        for (int c = 0; c < CPR; c++) seen |= 1u << tc_swizzle(row, c);
        if (seen != (1u << CPR) - 1) bad++;
    }
    for (int r0 = 0; r0 < 64; r0 += 8)
        for (int c = 0; c < CPR; c++) {
            unsigned seen = 0;
            for (int r = r0; r < r0 + 8; r++) seen |= 1u << group(r, c);
            if (seen != 0xffu) bad++;
        }
    for (int first = 0; first < 64 * CPR; first += 8) {
        unsigned seen = 0;
        for (int i = first; i < first + 8; i++) seen |= 1u << group(i / CPR, i % CPR);
        if (seen != 0xffu) bad++;
    }
    char what[96];
    std::snprintf(what, sizeof what, "gemm_tc swizzle (%d chunks a row): %d conflicting phases", CPR, bad);
    sa::report(what, bad == 0 ? 0.0 : 1.0, 0.0);
}


// Whether wgmma runs here: always on the CPU runtime (the fallback); on a GPU, on compute capability 9.0
// with device code built for sm_90a (or the fallback), as the device itself says.
__global__ void wg_available_kernel(int* out) { *out = VIT4J_WGMMA_AVAILABLE; }
static bool wgmma_runs_here() {
#if defined(__CUDACC__)
    int dev = 0, major = 0, minor = 0;
    CUDA_CHECK(cudaGetDevice(&dev));
    CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev));
    CUDA_CHECK(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, dev));
    if (major != 9 || minor != 0) {
        std::printf("wgmma checks skipped: compute capability %d.%d is not 9.0\n", major, minor);
        return false;
    }
#endif
    int* d = nullptr;
    int built = 0;
    CUDA_CHECK(cudaMalloc(&d, sizeof(int)));
    VIT4J_LAUNCH(wg_available_kernel, 1, 1, 0)(d);
    CUDA_CHECK(cudaDeviceSynchronize());
    CUDA_CHECK(cudaMemcpy(&built, d, sizeof(int), cudaMemcpyDeviceToHost));
    CUDA_CHECK(cudaFree(d));
    if (!built) std::printf("wgmma checks skipped: this build's device code has no wgmma (build for sm_90a)\n");
    return built != 0;
}

static void check_wg_desc() {
    int* d = nullptr;
    CUDA_CHECK(cudaMalloc(&d, 8 * sizeof(int)));
    VIT4J_LAUNCH(wg_desc_kernel, 1, 1, 8192)(d);
    CUDA_CHECK(cudaDeviceSynchronize());
    int got[8];
    CUDA_CHECK(cudaMemcpy(got, d, sizeof got, cudaMemcpyDeviceToHost));
    int wrong = 0;
    for (int i = 0; i < 8; i++) wrong += got[i] != 1;
    char what[96];
    std::snprintf(what, sizeof what, "wgmma descriptor fields (start, LBO, SBO, swizzle; advance): %d of 8 wrong", wrong);
    sa::report(what, wrong == 0 ? 0.0 : 1.0, 0.0);
    CUDA_CHECK(cudaFree(d));
}

template <class T, int N>
static void check_wgmma(int mode, int scale_d) {
    const int P = 2; // problems (warpgroups)
    std::vector<float> A(P * 64 * WG_TEST_K), B(P * N * WG_TEST_K), C(P * 64 * N);
    for (auto& v : A) v = (float) small_int();
    for (auto& v : B) v = (float) small_int();
    for (auto& v : C) v = (float) small_int() * 16.0f;
    float *dA = sa::to_device(A), *dB = sa::to_device(B), *dC = sa::to_device(C), *dD = sa::poisoned<float>(P * 64 * N);
    int* dE = nullptr;
    CUDA_CHECK(cudaMalloc(&dE, 256 * sizeof(int)));
    const int smem = P * (wg_test_region(mode, 64) + wg_test_region(mode, N));
    const auto kernel = wgmma_kernel<T, N>;
    VIT4J_LAUNCH(kernel, 1, 256, smem)(mode, scale_d, dA, dB, dC, dD, dE);
    CUDA_CHECK(cudaDeviceSynchronize());
    auto D = sa::to_host(dD, P * 64 * N);
    std::vector<int> early(256);
    CUDA_CHECK(cudaMemcpy(early.data(), dE, 256 * sizeof(int), cudaMemcpyDeviceToHost));
    int wrong = 0, not_async = 0;
    for (int p = 0; p < P; p++)
        for (int m = 0; m < 64; m++)
            for (int n = 0; n < N; n++) {
                double want = scale_d ? C[p * 64 * N + m * N + n] : 0.0;
                for (int k = 0; k < WG_TEST_K; k++)
                    want += (double) A[p * 64 * WG_TEST_K + m * WG_TEST_K + k] * B[p * N * WG_TEST_K + n * WG_TEST_K + k];
                if (D[p * 64 * N + m * N + n] != (float) want) wrong++;
            }
    for (int v : early) not_async += v;
    static const char* modes[4] = {"no swizzle", "128B swizzle", "64B swizzle", "32B swizzle"};
    char what[160];
    std::snprintf(what, sizeof what, "wgmma m64n%dk16 %s, %s, scale-d %d: D = A.B%s, %d of %d elements wrong", N,
                  sa::dtype_name<T>(), modes[mode], scale_d, scale_d ? " + C" : "", wrong, P * 64 * N);
    sa::report(what, wrong == 0 ? 0.0 : 1.0, 0.0);
#if VIT4J_WGMMA_FALLBACK || !defined(__CUDACC__)
    std::snprintf(what, sizeof what, "  ... accumulators NaN between mma and wait (asynchronous), %d threads not", not_async);
    sa::report(what, not_async == 0 ? 0.0 : 1.0, 0.0);
#endif
    CUDA_CHECK(cudaFree(dA));
    CUDA_CHECK(cudaFree(dB));
    CUDA_CHECK(cudaFree(dC));
    CUDA_CHECK(cudaFree(dD));
    CUDA_CHECK(cudaFree(dE));
}

static void check_wgmma_all() {
    if (!wgmma_runs_here()) return;
    check_wg_desc();
    for (int mode = 0; mode < 4; mode++) check_wgmma<__nv_bfloat16, 64>(mode, 1);
    check_wgmma<__half, 64>(1, 1);
    check_wgmma<__nv_bfloat16, 64>(1, 0);
    check_wgmma<__nv_bfloat16, 128>(1, 1);
    check_wgmma<__half, 128>(0, 0);
}

int main() {
    std::printf("mma.cuh checks (%s)\n", VIT4J_MMA_DEVICE_PTX ? "PTX" : "fallback");
    check_mma<__nv_bfloat16>();
    check_mma<__half>();
    check_ldmatrix<false>();
    check_ldmatrix<true>();
    check_ldmatrix_mma<__nv_bfloat16>();
    check_ldmatrix_mma<__half>();
    check_cp_async();
    check_swizzle();
    check_wgmma_all();
    return sa::finish("mma");
}
#endif // VIT4J_STANDALONE
