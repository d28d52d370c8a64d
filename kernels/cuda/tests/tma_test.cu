// Unit tests of kernels/cuda/tma.cuh: the mbarrier wrappers (init, arrive, arrive.expect_tx,
// try_wait.parity over two phases, the "preceding phase" rule) and cp.async.bulk.tensor.2d's tile copy
// (every swizzle the wrapper supports, odd box sizes and tensor shapes, padded rows, coordinates partly,
// wholly and negatively out of bounds with zero and NaN fill, 1-, 2- and 4-byte elements, the
// transaction bytes that complete the phase). The expected shared-memory box of each copy is written
// out here from the ISA's description, independently of tma.cuh: element (row r, element e) of the box
// is tensor[c1 + r][c0 + e] (or the fill), at byte r * rowBytes + e * elementBytes, whose 16-byte chunk
// c becomes, in the row form of the swizzles, c ^ (r % 8) (128B), c ^ ((r % 8) / 2) (64B),
// c ^ ((r % 8) / 4) (32B) for a box aligned to the pattern's repeat. And TMA feeding wgmma as a Hopper
// GEMM would (bf16 A and B tiles loaded 128B-swizzled, four chained m64n64k16 on descriptors of that
// layout, A's tail rows zero-filled by the copy): that the copy's swizzle is the one wgmma reads.
//
// On the CPU (CTest: build/sa_tma, forward and reverse thread order, ASan) this tests the fallback, with
// maps from tma.cuh's encode_cpu_tensor_map. On a GPU (sm_90) it runs twice: as is, the instructions
// with maps from the driver's cuTensorMapEncodeTiled (found through the runtime, so nothing links
// libcuda); with -DVIT4J_MMA_FALLBACK, the fallback on the GPU:
//   nvcc -DVIT4J_STANDALONE -std=c++17 -O3 -arch=sm_90a -Ikernels/cuda kernels/cuda/tests/tma_test.cu -o /tmp/tma && /tmp/tma
//   nvcc -DVIT4J_STANDALONE -DVIT4J_MMA_FALLBACK -std=c++17 -O3 -arch=sm_90a -Ikernels/cuda kernels/cuda/tests/tma_test.cu -o /tmp/tma_fb && /tmp/tma_fb
// (elsewhere than compute capability 9.x the checks are skipped with a line saying so).
// Mutants of the fallback (native/cudacpu/cudacpu.cmake, mutant.tma_*) must fail here.
#include "common.cuh"
#include "tma.cuh"
#include "wgmma.cuh"

#if defined(VIT4J_STANDALONE)
#if defined(__CUDACC__) && !defined(VIT4J_MMA_FALLBACK)
#include <cudaTypedefs.h> // PFN_cuTensorMapEncodeTiled_v12000
#define TMA_TEST_DRIVER_MAPS 1
#else
#define TMA_TEST_DRIVER_MAPS 0
#endif
#endif

using namespace vit4j;

// One block of 64 threads (two warps). The mbarrier expects two arrivals a phase: thread 0's
// arrive.expect_tx (with the copy it then issues) and thread 32's plain arrive. Phase 0 copies the box
// at (c0, c1) into box 0, phase 1 the box at (c0b, c1b) into box 1; every thread waits on each phase and
// copies the box's bytes out. Both boxes are first poisoned with 0xA5 bytes, so an element the copy does
// not write shows. flags (thread 0): try_wait(0) on the fresh barrier, try_wait(1) on it (the preceding
// phase: true), try_wait(0) after the expect_tx but before the copy, try_wait(1) in phase 1 before
// thread 0 arrives, try_wait(0) once phase 1 is done (phase 2 pending); and whether box 0's first
// bytes were all ones right after the copy was issued (the CPU fallback's asynchronous copy).
__global__ void tma_kernel(const __grid_constant__ tma::TensorMap map, int c0, int c1, int c0b, int c1b, int box_bytes,
                           unsigned char* out0, unsigned char* out1, int* flags) {
#if defined(__CUDACC__)
    extern __shared__ __align__(1024) unsigned char tma_test_smem[];
#else
    unsigned char* tma_test_smem = static_cast<unsigned char*>(::vit4j_cpu::dynamic_shared());
#endif
    __shared__ __align__(8) uint64_t bar;
    // Each box at a multiple of 1024 bytes (the 128B swizzle's repeat), whatever the base's alignment.
    const int stride = (box_bytes + 1023) / 1024 * 1024;
    unsigned char* box0 = tma_test_smem + ((1024 - (uintptr_t) tma_test_smem % 1024) % 1024);
    unsigned char* box1 = box0 + stride;
    const int t = threadIdx.x;
    for (int i = t; i < 2 * stride; i += blockDim.x) box0[i] = 0xA5;
    if (t == 0) {
        tma::mbarrier_init(&bar, 2);
        tma::fence_mbarrier_init();
    }
    wgmma::fence_proxy_async(); // the poison (generic proxy) before the copies (async proxy)
    __syncthreads();
    if (t == 0) {
        flags[0] = tma::mbarrier_try_wait_parity(&bar, 0);
        flags[1] = tma::mbarrier_try_wait_parity(&bar, 1);
        tma::mbarrier_arrive_expect_tx(&bar, (uint32_t) box_bytes);
        flags[2] = tma::mbarrier_try_wait_parity(&bar, 0);
        tma::tma_load_2d(box0, &map, c0, c1, &bar);
        // Before anyone waits: the fallback's box still all ones (the copy is asynchronous there).
        int ones = 1;
        for (int i = 0; i < 16 && i < box_bytes; i++) ones &= box0[i] == 0xFF;
        flags[5] = ones;
    }
    if (t == 32) tma::mbarrier_arrive(&bar);
    __syncthreads(); // every arrival and copy of the phase issued (the fallback cannot block: tma.cuh)
    tma::mbarrier_wait_parity(&bar, 0);
    for (int i = t; i < box_bytes; i += blockDim.x) out0[i] = box0[i];
    __syncthreads();
    if (t == 0) {
        flags[3] = tma::mbarrier_try_wait_parity(&bar, 1);
        tma::mbarrier_arrive_expect_tx(&bar, (uint32_t) box_bytes);
        tma::tma_load_2d(box1, &map, c0b, c1b, &bar);
    }
    if (t == 32) tma::mbarrier_arrive(&bar);
    __syncthreads();
    tma::mbarrier_wait_parity(&bar, 1);
    if (t == 0) flags[4] = tma::mbarrier_try_wait_parity(&bar, 0);
    for (int i = t; i < box_bytes; i += blockDim.x) out1[i] = box1[i];
}

// TMA feeding wgmma, as a Hopper GEMM would: one warpgroup loads A [64 rows x 64 k] and B [64 n x 64 k]
// (bf16, k contiguous; A has only `a_rows` rows, the rest the copy's zero fill, as a B*197 tail) with
// the 128-byte swizzle into 1024-byte-aligned shared memory, both completing on one mbarrier, then
// runs four chained wgmma m64n64k16 on descriptors of that layout (SBO 1024: eight 128-byte rows; each
// k16 step 32 bytes on). D [64 x 64] out, row-major. That the copy's swizzle is the one wgmma reads is
// what this checks (on a GPU, of the hardware; here, of the two fallbacks).
__global__ void tma_wgmma_kernel(const __grid_constant__ tma::TensorMap map_a, const __grid_constant__ tma::TensorMap map_b,
                                 float* D) {
#if defined(__CUDACC__)
    extern __shared__ __align__(1024) unsigned char tma_test_smem[];
#else
    unsigned char* tma_test_smem = static_cast<unsigned char*>(::vit4j_cpu::dynamic_shared());
#endif
    __shared__ __align__(8) uint64_t bar;
    unsigned char* a = tma_test_smem + ((1024 - (uintptr_t) tma_test_smem % 1024) % 1024);
    unsigned char* b = a + 64 * 128;
    const int t = threadIdx.x;
    if (t == 0) {
        tma::mbarrier_init(&bar, 1);
        tma::fence_mbarrier_init();
    }
    __syncthreads();
    if (t == 0) {
        tma::mbarrier_arrive_expect_tx(&bar, 2 * 64 * 128);
        tma::tma_load_2d(a, &map_a, 0, 0, &bar);
        tma::tma_load_2d(b, &map_b, 0, 0, &bar);
    }
    __syncthreads();
    tma::mbarrier_wait_parity(&bar, 0);
    float d[32];
    wgmma::Warpgroup<__nv_bfloat16, 64, 4> wg; // the four k16 steps in one group
    wg.fence();
    for (int step = 0; step < 4; step++) {
        const uint64_t da = wgmma::make_desc(a + 32 * step, 16, 1024, wgmma::SWIZZLE_128B);
        const uint64_t db = wgmma::make_desc(b + 32 * step, 16, 1024, wgmma::SWIZZLE_128B);
        wg.mma(d, da, db, step == 0 ? 0 : 1);
    }
    wg.commit();
    wg.template wait<0>(d);
    // The D fragment, from the ISA's table (as mma_test.cu's isa_wg_d): element e of thread t.
    const int warp = t / 32, lane = t % 32;
    for (int e = 0; e < 32; e++) {
        const int i = e / 4, j = e % 4;
        D[(warp * 16 + lane / 4 + (j / 2) * 8) * 64 + i * 8 + (lane % 4) * 2 + j % 2] = d[e];
    }
}
__global__ void tma_wgmma_available_kernel(int* out) { *out = VIT4J_WGMMA_AVAILABLE; }

// Whether the copies run here: always on the CPU runtime; on a GPU, compute capability 9.x with device
// code that has them.
__global__ void tma_available_kernel(int* out) { *out = VIT4J_TMA_AVAILABLE; }

#if defined(VIT4J_STANDALONE)
#include <cstdlib>
#include <string>
#include <vector>

namespace {

struct Case {
    const char* what;
    uint32_t dtype;    // tma::DataType
    uint32_t swizzle;  // tma::Swizzle
    uint32_t oob;      // tma::OobFill
    int rows, cols;    // the tensor, row-major, rows padded to `pitch` bytes
    int box0, box1;    // elements, rows
    int c0, c1;        // phase 0's box
    int c0b, c1b;      // phase 1's box
};

// A kernel fault is sticky (on a GPU the context is lost; native/cudacpu keeps it the same way): after
// one, the checks that would launch again are left out (the fault has been reported as a failure).
bool context_lost = false;

int swizzle_width(uint32_t s) { return s == tma::SWIZZLE_128B ? 128 : s == tma::SWIZZLE_64B ? 64 : s == tma::SWIZZLE_32B ? 32 : 0; }

// The ISA's placement, in the row form (see the top of this file): byte offset of element e of box row r.
int expected_offset(const Case& k, int eb, int r, int e) {
    const int row_bytes = k.box0 * eb, byte = e * eb;
    const int w = swizzle_width(k.swizzle);
    if (w == 0) return r * row_bytes + byte;
    const int chunk = byte / 16, within = byte % 16;
    const int x = w == 128 ? r % 8 : w == 64 ? (r % 8) / 2 : (r % 8) / 4;
    return r * row_bytes + ((chunk ^ x) * 16) + within;
}

bool is_nan_bits(uint32_t dtype, const unsigned char* p) {
    if (dtype == tma::FLOAT32) {
        uint32_t v;
        std::memcpy(&v, p, 4);
        return (v & 0x7F800000u) == 0x7F800000u && (v & 0x7FFFFFu) != 0;
    }
    uint16_t v;
    std::memcpy(&v, p, 2);
    if (dtype == tma::BFLOAT16) return (v & 0x7F80u) == 0x7F80u && (v & 0x7Fu) != 0;
    return (v & 0x7C00u) == 0x7C00u && (v & 0x3FFu) != 0; // FLOAT16
}

#if TMA_TEST_DRIVER_MAPS
PFN_cuTensorMapEncodeTiled_v12000 driver_encode() {
    static PFN_cuTensorMapEncodeTiled_v12000 fn = nullptr;
    if (fn == nullptr) {
        void* p = nullptr;
        cudaDriverEntryPointQueryResult q = cudaDriverEntryPointSymbolNotFound;
        CUDA_CHECK(cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &p, 12000, cudaEnableDefault, &q));
        if (q != cudaDriverEntryPointSuccess || p == nullptr) {
            std::fprintf(stderr, "tma: the driver has no cuTensorMapEncodeTiled\n");
            std::exit(2);
        }
        fn = reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(p);
    }
    return fn;
}
#endif

// The map of a row-major [rows, cols] tensor at `dev` (rows `pitch` bytes apart), boxes of box1 rows x
// box0 elements: the driver's on a GPU with the instructions, else the fallback's.
bool encode_matrix(tma::TensorMap* map, const char* what, uint32_t dtype, const void* dev, int rows, int cols, uint64_t pitch,
                   int box0, int box1, uint32_t swizzle, uint32_t oob) {
    const uint64_t dims[2] = {(uint64_t) cols, (uint64_t) rows}, strides[1] = {pitch};
    const uint32_t box[2] = {(uint32_t) box0, (uint32_t) box1}, es[2] = {1, 1};
#if TMA_TEST_DRIVER_MAPS
    const CUresult r = driver_encode()(map, (CUtensorMapDataType) dtype, 2, const_cast<void*>(dev), dims, strides, box, es,
                                       CU_TENSOR_MAP_INTERLEAVE_NONE, (CUtensorMapSwizzle) swizzle,
                                       CU_TENSOR_MAP_L2_PROMOTION_L2_128B, (CUtensorMapFloatOOBfill) oob);
    if (r != CUDA_SUCCESS) std::printf("  %s: cuTensorMapEncodeTiled failed (%d)\n", what, (int) r);
    return r == CUDA_SUCCESS;
#else
    const char* why = tma::encode_cpu_tensor_map(map, dtype, 2, dev, dims, strides, box, es, 0, swizzle, 2, oob);
    if (why != nullptr) std::printf("  %s: %s\n", what, why);
    return why == nullptr;
#endif
}

bool encode(tma::TensorMap* map, const Case& k, const void* dev, uint64_t pitch) {
    return encode_matrix(map, k.what, k.dtype, dev, k.rows, k.cols, pitch, k.box0, k.box1, k.swizzle, k.oob);
}

void check(const Case& k) {
    if (context_lost) return;
    const int eb = (int) tma::element_bytes(k.dtype);
    const uint64_t pitch = ((uint64_t) k.cols * eb + 15) / 16 * 16 + 16; // padded past the row's end
    // The tensor: distinct byte patterns per element; the padding past each row 0x5A (a copy that reads
    // past `cols` instead of filling shows it).
    std::vector<unsigned char> host(pitch * k.rows, 0x5A);
    for (int y = 0; y < k.rows; y++)
        for (int x = 0; x < k.cols; x++)
            for (int b = 0; b < eb; b++) {
                // Never all ones (a NaN fill would pass for it) nor 0xA5 / 0 (the poison, the zero fill).
                unsigned v = (unsigned) ((y * 131 + x * 7 + b * 29 + (unsigned) std::lround(sa::rand_nonzero(50.f) + 50.f)) % 200) + 20;
                host[y * pitch + x * eb + b] = (unsigned char) (v == 0xA5 ? 0x33 : v);
            }
    unsigned char *dev = nullptr, *out0 = nullptr, *out1 = nullptr;
    int* flags = nullptr;
    const int box_bytes = k.box0 * k.box1 * eb;
    CUDA_CHECK(cudaMalloc(&dev, host.size()));
    CUDA_CHECK(cudaMemcpy(dev, host.data(), host.size(), cudaMemcpyHostToDevice));
    CUDA_CHECK(cudaMalloc(&out0, box_bytes));
    CUDA_CHECK(cudaMalloc(&out1, box_bytes));
    CUDA_CHECK(cudaMalloc(&flags, 6 * sizeof(int)));
    CUDA_CHECK(cudaMemset(out0, 0xC3, box_bytes));
    CUDA_CHECK(cudaMemset(out1, 0xC3, box_bytes));
    CUDA_CHECK(cudaMemset(flags, 0xFF, 6 * sizeof(int)));
    tma::TensorMap map;
    std::memset(&map, 0, sizeof map);
    char what[200];
    if (!encode(&map, k, dev, pitch)) {
        std::snprintf(what, sizeof what, "tma %s: the map", k.what);
        sa::report(what, 1.0, 0.0);
        return;
    }
    const int smem = 2 * ((box_bytes + 1023) / 1024 * 1024) + 1024;
    VIT4J_LAUNCH(tma_kernel, 1, 64, smem)(map, k.c0, k.c1, k.c0b, k.c1b, box_bytes, out0, out1, flags);
    const cudaError_t launched = cudaDeviceSynchronize();
    if (launched != cudaSuccess) {
        std::printf("  tma %s: the kernel failed: %s\n", k.what, cudaGetErrorString(launched));
        context_lost = true;
        sa::report("  ... kernel ran (later checks left out: the fault is sticky)", 1.0, 0.0);
        return;
    }
    std::vector<unsigned char> got0(box_bytes), got1(box_bytes);
    int f[6];
    CUDA_CHECK(cudaMemcpy(got0.data(), out0, box_bytes, cudaMemcpyDeviceToHost));
    CUDA_CHECK(cudaMemcpy(got1.data(), out1, box_bytes, cudaMemcpyDeviceToHost));
    CUDA_CHECK(cudaMemcpy(f, flags, sizeof f, cudaMemcpyDeviceToHost));
    int wrong = 0, oob = 0;
    for (int phase = 0; phase < 2; phase++) {
        const int c0 = phase ? k.c0b : k.c0, c1 = phase ? k.c1b : k.c1;
        const std::vector<unsigned char>& got = phase ? got1 : got0;
        std::vector<int> seen(box_bytes, 0);
        for (int r = 0; r < k.box1; r++)
            for (int e = 0; e < k.box0; e++) {
                const int at = expected_offset(k, eb, r, e);
                for (int b = 0; b < eb; b++) seen[at + b]++;
                const long long x = (long long) c0 + e, y = (long long) c1 + r;
                const bool inside = x >= 0 && y >= 0 && x < k.cols && y < k.rows;
                bool ok;
                if (inside) {
                    ok = std::memcmp(&got[at], &host[y * pitch + x * eb], eb) == 0;
                } else {
                    oob++;
                    if (k.oob == tma::OOB_NAN) {
                        ok = is_nan_bits(k.dtype, &got[at]);
                    } else {
                        ok = true;
                        for (int b = 0; b < eb; b++) ok &= got[at + b] == 0;
                    }
                }
                wrong += !ok;
            }
        for (int i = 0; i < box_bytes; i++) wrong += seen[i] != 1; // the placement is a bijection of the box
    }
    std::snprintf(what, sizeof what, "tma %s: %d of %d elements wrong (%d filled)", k.what, wrong, 2 * k.box0 * k.box1, oob);
    sa::report(what, wrong == 0 ? 0.0 : 1.0, 0.0);
    const int want[5] = {0, 1, 0, 0, 0};
    int flags_wrong = 0;
    for (int i = 0; i < 5; i++) flags_wrong += f[i] != want[i];
    std::snprintf(what, sizeof what, "  ... mbarrier try_wait.parity answers %d%d%d%d%d (want 01000)", f[0], f[1], f[2], f[3], f[4]);
    sa::report(what, flags_wrong == 0 ? 0.0 : 1.0, 0.0);
#if !defined(__CUDACC__)
    std::snprintf(what, sizeof what, "  ... box all ones between issue and wait (asynchronous): %s", f[5] == 1 ? "yes" : "no");
    sa::report(what, f[5] == 1 ? 0.0 : 1.0, 0.0);
#endif
    CUDA_CHECK(cudaFree(dev));
    CUDA_CHECK(cudaFree(out0));
    CUDA_CHECK(cudaFree(out1));
    CUDA_CHECK(cudaFree(flags));
}

void check_tma_wgmma(int a_rows) {
    if (context_lost) return;
    int* avail = nullptr;
    int built = 0;
    CUDA_CHECK(cudaMalloc(&avail, sizeof(int)));
    VIT4J_LAUNCH(tma_wgmma_available_kernel, 1, 1, 0)(avail);
    CUDA_CHECK(cudaDeviceSynchronize());
    CUDA_CHECK(cudaMemcpy(&built, avail, sizeof(int), cudaMemcpyDeviceToHost));
    CUDA_CHECK(cudaFree(avail));
    if (!built) {
        std::printf("tma -> wgmma check skipped: this build's device code has no wgmma (build for sm_90a)\n");
        return;
    }
    // Small integers: every product and sum exact in fp32, so any misplaced element shows.
    std::vector<float> A(a_rows * 64), B(64 * 64);
    for (auto& v : A) v = (float) std::lround(sa::rand_nonzero(8.4f));
    for (auto& v : B) v = (float) std::lround(sa::rand_nonzero(8.4f));
    std::vector<__nv_bfloat16> Ah(A.size()), Bh(B.size());
    for (size_t i = 0; i < A.size(); i++) Ah[i] = from_f<__nv_bfloat16>(A[i]);
    for (size_t i = 0; i < B.size(); i++) Bh[i] = from_f<__nv_bfloat16>(B[i]);
    __nv_bfloat16 *dA = nullptr, *dB = nullptr;
    CUDA_CHECK(cudaMalloc(&dA, Ah.size() * 2));
    CUDA_CHECK(cudaMalloc(&dB, Bh.size() * 2));
    CUDA_CHECK(cudaMemcpy(dA, Ah.data(), Ah.size() * 2, cudaMemcpyHostToDevice));
    CUDA_CHECK(cudaMemcpy(dB, Bh.data(), Bh.size() * 2, cudaMemcpyHostToDevice));
    float* dD = sa::poisoned<float>(64 * 64);
    tma::TensorMap ma, mb;
    char what[160];
    std::snprintf(what, sizeof what, "tma -> wgmma, A %d x 64", a_rows);
    if (!encode_matrix(&ma, what, tma::BFLOAT16, dA, a_rows, 64, 128, 64, 64, tma::SWIZZLE_128B, tma::OOB_ZERO)
        || !encode_matrix(&mb, what, tma::BFLOAT16, dB, 64, 64, 128, 64, 64, tma::SWIZZLE_128B, tma::OOB_ZERO)) {
        sa::report(what, 1.0, 0.0);
        return;
    }
    VIT4J_LAUNCH(tma_wgmma_kernel, 1, 128, 3 * 64 * 128)(ma, mb, dD);
    const cudaError_t launched = cudaDeviceSynchronize();
    if (launched != cudaSuccess) {
        std::printf("  %s: the kernel failed: %s\n", what, cudaGetErrorString(launched));
        context_lost = true;
        sa::report("  ... kernel ran (later checks left out: the fault is sticky)", 1.0, 0.0);
        return;
    }
    std::vector<float> D = sa::to_host(dD, 64 * 64);
    int wrong = 0;
    for (int m = 0; m < 64; m++)
        for (int n = 0; n < 64; n++) {
            double want = 0;
            for (int k = 0; m < a_rows && k < 64; k++) want += (double) A[m * 64 + k] * B[n * 64 + k];
            wrong += D[m * 64 + n] != (float) want;
        }
    std::snprintf(what, sizeof what, "tma -> wgmma m64n64, 128B swizzle, A %d rows (tail zero-filled): %d of 4096 wrong", a_rows, wrong);
    sa::report(what, wrong == 0 ? 0.0 : 1.0, 0.0);
    CUDA_CHECK(cudaFree(dA));
    CUDA_CHECK(cudaFree(dB));
    CUDA_CHECK(cudaFree(dD));
}

bool tma_runs_here() {
#if defined(__CUDACC__)
    int dev = 0, major = 0;
    CUDA_CHECK(cudaGetDevice(&dev));
    CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev));
    if (major < 9) {
        std::printf("tma checks skipped: compute capability %d.x has no TMA\n", major);
        return false;
    }
#endif
    int* d = nullptr;
    int built = 0;
    CUDA_CHECK(cudaMalloc(&d, sizeof(int)));
    VIT4J_LAUNCH(tma_available_kernel, 1, 1, 0)(d);
    CUDA_CHECK(cudaDeviceSynchronize());
    CUDA_CHECK(cudaMemcpy(&built, d, sizeof(int), cudaMemcpyDeviceToHost));
    CUDA_CHECK(cudaFree(d));
    if (!built) std::printf("tma checks skipped: this build's device code has no TMA (build for sm_90)\n");
    return built != 0;
}

} // namespace

// `tma_test` runs every case; `tma_test N` only case N (0-based; N = the case count: the two TMA -> wgmma
// checks), so that a case that faults the GPU (the fault is sticky: later launches in the process fail
// too) can be told apart from the ones after it, each in a process of its own (bench/gpu-check.sh does).
int main(int argc, char** argv) {
    std::printf("tma.cuh checks (%s)\n", VIT4J_MMA_DEVICE_PTX ? "PTX, driver-encoded maps" : "fallback, our maps");
    using namespace tma;
    // what, dtype, swizzle, oob, rows, cols, box0, box1, (c0, c1), (c0b, c1b)
    const Case cases[] = {
        {"bf16 no swizzle 24x5 in / right+bottom edge", BFLOAT16, SWIZZLE_NONE, OOB_ZERO, 53, 77, 24, 5, 8, 3, 64, 50},
        {"fp32 no swizzle 4x7 above-left / mostly out, NaN", FLOAT32, SWIZZLE_NONE, OOB_NAN, 31, 45, 4, 7, -2, -3, 44, 30},
        {"u8 no swizzle 48x3 edge / wholly out", UINT8, SWIZZLE_NONE, OOB_ZERO, 19, 100, 48, 3, 50, 17, 200, 40},
        {"bf16 no swizzle 256x1 (the longest box row)", BFLOAT16, SWIZZLE_NONE, OOB_ZERO, 9, 300, 256, 1, 10, 8, 100, 0},
        {"fp16 no swizzle 8x13 odd", FLOAT16, SWIZZLE_NONE, OOB_NAN, 29, 13, 8, 13, 5, 20, -7, -12},
        {"bf16 128B swizzle 64x13", BFLOAT16, SWIZZLE_128B, OOB_ZERO, 41, 150, 64, 13, 0, 0, 100, 33},
        {"fp32 128B swizzle 32x9, NaN", FLOAT32, SWIZZLE_128B, OOB_NAN, 23, 37, 32, 9, 3, 1, -5, 18},
        {"u8 128B swizzle 128x8", UINT8, SWIZZLE_128B, OOB_ZERO, 17, 200, 128, 8, 16, 2, 150, -3},
        {"bf16 64B swizzle 32x11", BFLOAT16, SWIZZLE_64B, OOB_ZERO, 27, 61, 32, 11, 2, 5, 40, 20},
        {"fp32 64B swizzle 16x8", FLOAT32, SWIZZLE_64B, OOB_ZERO, 12, 21, 16, 8, 0, 0, 9, 7},
        {"bf16 32B swizzle 16x7", BFLOAT16, SWIZZLE_32B, OOB_NAN, 15, 19, 16, 7, 1, 1, 10, 12},
        {"u8 32B swizzle 32x5", UINT8, SWIZZLE_32B, OOB_ZERO, 11, 45, 32, 5, 4, 0, 30, 9},
    };
    const int count = int(sizeof cases / sizeof cases[0]);
    int only = -1;
    if (argc > 1) {
        char* end = nullptr;
        long n = std::strtol(argv[1], &end, 10);
        if (*end != 0 || n < 0 || n > count) {
            std::fprintf(stderr, "tma: case '%s': expected 0..%d (%d: the TMA -> wgmma checks)\n", argv[1], count, count);
            return 2;
        }
        only = int(n);
    }
    if (!tma_runs_here()) return sa::finish("tma");
    for (int i = 0; i < count; i++)
        if (only < 0 || only == i) check(cases[i]);
    if (only < 0 || only == count) {
        check_tma_wgmma(64);
        check_tma_wgmma(53);
    }
    return sa::finish("tma");
}
#endif // VIT4J_STANDALONE
