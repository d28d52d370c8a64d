// Tests of the CUDA-on-CPU runtime itself (native/cudacpu): built-in variables, barriers, warp
// collectives, atomics, dynamic shared memory, the two thread orders, strict-mode faults and the
// half-precision conversions. Built and run by CTest like a kernel's standalone checks:
//   cmake -S . -B build && cmake --build build --target sa_runtime && build/sa_runtime
#include "common.cuh"

#include <cstdio>
#include <string>
#include <vector>

using vit4j_cpu::run_grid;

static int failures = 0;
static void expect(bool ok, const std::string& what) {
    if (!ok) failures++;
    std::printf("  %-84s %s\n", what.c_str(), ok ? "ok" : "FAIL");
}
static bool has(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

// ---- kernels under test -----------------------------------------------------------------------------

// Every thread writes who it is: checks the built-in variables over a 3-D grid of 3-D blocks.
__global__ void whoami(int* out) {
    const int b = (blockIdx.z * gridDim.y + blockIdx.y) * gridDim.x + blockIdx.x;
    const int t = (threadIdx.z * blockDim.y + threadIdx.y) * blockDim.x + threadIdx.x;
    const int per = blockDim.x * blockDim.y * blockDim.z;
    out[b * per + t] = b * 100000 + t;
}

// Neighbour exchange through shared memory across a barrier, then a tree reduction (many barriers).
__global__ void neighbour_and_sum(const int* in, int* out, int* sums) {
    __shared__ int s[1024];
    const int t = threadIdx.x, n = blockDim.x;
    s[t] = in[blockIdx.x * n + t];
    __syncthreads();
    out[blockIdx.x * n + t] = s[(t + 1) % n];
    __syncthreads();
    for (int stride = 1; stride < n; stride *= 2) {
        const int v = (t % (2 * stride) == 0 && t + stride < n) ? s[t + stride] : 0;
        __syncthreads();
        s[t] += v;
        __syncthreads();
    }
    if (t == 0) sums[blockIdx.x] = s[0];
}

__global__ void shuffles(int* out) {
    const int t = threadIdx.x, lane = t % 32;
    int* o = out + t * 8;
    o[0] = __shfl_sync(0xffffffffu, t, 5);                // broadcast lane 5 of the warp
    int v = t;
    for (int m = 16; m > 0; m >>= 1) v += __shfl_xor_sync(0xffffffffu, v, m);
    o[1] = v;                                             // warp sum
    o[2] = __shfl_up_sync(0xffffffffu, t, 3, 8);          // within groups of 8
    o[3] = __shfl_down_sync(0xffffffffu, t, 2, 16);       // within groups of 16
    o[4] = (int) __ballot_sync(0xffffffffu, lane % 3 == 0);
    o[5] = __any_sync(0xffffffffu, lane == 31) * 10 + __all_sync(0xffffffffu, lane < 31);
    __syncwarp();
    o[6] = __syncthreads_count(t % 2 == 0) * 100 + __syncthreads_and(t >= 0) * 10 + __syncthreads_or(t == 7);
    o[7] = (int) __shfl_xor_sync(0xffffffffu, 1.5f * t, 1);
}

// Lanes 32.. of a block of 40: a partial last warp. Its active mask has 8 lanes.
__global__ void partial_warp(unsigned* out) {
    out[threadIdx.x] = __activemask();
}

__global__ void atomics(int* counter, float* fsum, int* imax, unsigned* cas) {
    atomicAdd(counter, 1);
    atomicAdd(fsum, 1.0f);
    atomicMax(imax, (int) (blockIdx.x * blockDim.x + threadIdx.x));
    if (threadIdx.x == 0) {
        unsigned old, want;
        do {
            old = *cas;
            want = old + 2;
        } while (atomicCAS(cas, old, want) != old);
    }
}

__global__ void dynamic_shared(const float* in, float* out, float* first_read) {
    VIT4J_DYNAMIC_SHARED(float, buf);
    const int t = threadIdx.x, n = blockDim.x;
    if (t == 0) first_read[blockIdx.x] = buf[n - 1]; // nothing written yet: must read NaN, not a stale value
    __syncthreads();
    buf[t] = in[blockIdx.x * n + t] * 2.f;
    __syncthreads();
    out[blockIdx.x * n + t] = buf[n - 1 - t];
}

// Reads a neighbour's shared slot with no barrier: the result depends on the thread order.
__global__ void racy(int* out) {
    __shared__ int s[64];
    s[threadIdx.x] = (int) threadIdx.x + 1000;
    out[threadIdx.x] = s[(threadIdx.x + 1) % 64]; // bug on purpose: no __syncthreads before the read
    __syncthreads();
    s[threadIdx.x] = -1; // leave the slots stale for the next block's first reads
}

__global__ void partial_barrier(int* out) {
    if (threadIdx.x >= 16) return;
    __syncthreads();
    out[threadIdx.x] = 1;
}
__global__ void shuffle_outside_mask(int* out) {
    if (threadIdx.x >= 16) return;
    out[threadIdx.x] = __shfl_sync(0x0000ffffu, (int) threadIdx.x, 20);
}
__global__ void shuffle_exited_lane(int* out) {
    if (threadIdx.x >= 16) return;
    out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, (int) threadIdx.x, 16);
}
__global__ void caller_outside_mask(int* out) {
    out[threadIdx.x] = __shfl_sync(threadIdx.x == 3 ? 0x1u : 0xffffffffu, (int) threadIdx.x, 0);
}
__global__ void deadlock(int* out) {
    if (threadIdx.x == 0) out[0] = __shfl_sync(0xffffffffu, 1, 0);
    else __syncthreads();
}

// ---- tests ---------------------------------------------------------------------------------------

static void test_geometry() {
    const dim3 grid(3, 2, 2), block(5, 4, 3);
    const int per = 60, n = 12 * per;
    int* d;
    cudaMalloc(&d, n * sizeof(int));
    VIT4J_LAUNCH(whoami, grid, block, 0)(d);
    std::vector<int> h(n);
    cudaMemcpy(h.data(), d, n * sizeof(int), cudaMemcpyDeviceToHost);
    bool ok = cudaDeviceSynchronize() == cudaSuccess;
    for (int i = 0; i < n; i++) ok = ok && h[i] == (i / per) * 100000 + i % per;
    expect(ok, "threadIdx/blockIdx/blockDim/gridDim over a 3x2x2 grid of 5x4x3 blocks");
    cudaFree(d);
}

static void test_barriers() {
    for (int n : {1, 31, 100, 256, 1024}) {
        const int blocks = 3;
        std::vector<int> in(blocks * n);
        for (int i = 0; i < blocks * n; i++) in[i] = i * 7 + 1;
        int *din, *dout, *dsum;
        cudaMalloc(&din, in.size() * sizeof(int));
        cudaMalloc(&dout, in.size() * sizeof(int));
        cudaMalloc(&dsum, blocks * sizeof(int));
        cudaMemcpy(din, in.data(), in.size() * sizeof(int), cudaMemcpyHostToDevice);
        VIT4J_LAUNCH(neighbour_and_sum, blocks, n, 0)(din, dout, dsum);
        std::vector<int> out(in.size()), sums(blocks);
        cudaMemcpy(out.data(), dout, out.size() * sizeof(int), cudaMemcpyDeviceToHost);
        cudaMemcpy(sums.data(), dsum, blocks * sizeof(int), cudaMemcpyDeviceToHost);
        bool ok = true;
        for (int b = 0; b < blocks; b++) {
            long want = 0;
            for (int t = 0; t < n; t++) {
                want += in[b * n + t];
                ok = ok && out[b * n + t] == in[b * n + (t + 1) % n];
            }
            ok = ok && sums[b] == want;
        }
        expect(ok, "barriers: neighbour exchange and tree sum, block of " + std::to_string(n));
        cudaFree(din);
        cudaFree(dout);
        cudaFree(dsum);
    }
}

static void test_shuffles() {
    const int n = 64;
    int* d;
    cudaMalloc(&d, n * 8 * sizeof(int));
    VIT4J_LAUNCH(shuffles, 1, n, 0)(d);
    std::vector<int> h(n * 8);
    cudaMemcpy(h.data(), d, h.size() * sizeof(int), cudaMemcpyDeviceToHost);
    bool bcast = true, sum = true, up = true, down = true, ballot = true, anyall = true, bar = true, fl = true;
    unsigned want_ballot = 0;
    for (int l = 0; l < 32; l += 3) want_ballot |= 1u << l;
    for (int t = 0; t < n; t++) {
        const int* o = &h[t * 8];
        const int w0 = t / 32 * 32, lane = t % 32;
        bcast = bcast && o[0] == w0 + 5;
        sum = sum && o[1] == 32 * w0 + 496;
        up = up && o[2] == (lane % 8 >= 3 ? t - 3 : t);
        down = down && o[3] == (lane % 16 < 14 ? t + 2 : t);
        ballot = ballot && (unsigned) o[4] == want_ballot;
        anyall = anyall && o[5] == 10;
        bar = bar && o[6] == 32 * 100 + 10 + 1;
        fl = fl && o[7] == (int) (1.5f * (t ^ 1));
    }
    expect(bcast, "__shfl_sync broadcast");
    expect(sum, "__shfl_xor_sync butterfly sum");
    expect(up, "__shfl_up_sync with width 8 (lanes below delta keep their value)");
    expect(down, "__shfl_down_sync with width 16 (lanes past the segment keep their value)");
    expect(ballot, "__ballot_sync");
    expect(anyall, "__any_sync / __all_sync");
    expect(bar, "__syncthreads_count / _and / _or");
    expect(fl, "__shfl_xor_sync of a float");
    cudaFree(d);

    unsigned* m;
    cudaMalloc(&m, 40 * sizeof(unsigned));
    VIT4J_LAUNCH(partial_warp, 1, 40, 0)(m);
    std::vector<unsigned> hm(40);
    cudaMemcpy(hm.data(), m, 40 * sizeof(unsigned), cudaMemcpyDeviceToHost);
    expect(hm[0] == 0xffffffffu && hm[39] == 0xffu, "__activemask of a full and of a partial warp");
    cudaFree(m);
}

static void test_atomics() {
    int *counter, *imax;
    float* fsum;
    unsigned* cas;
    cudaMalloc(&counter, 4);
    cudaMalloc(&imax, 4);
    cudaMalloc(&fsum, 4);
    cudaMalloc(&cas, 4);
    cudaMemset(counter, 0, 4);
    cudaMemset(fsum, 0, 4);
    cudaMemset(cas, 0, 4);
    const int m1 = -1;
    cudaMemcpy(imax, &m1, 4, cudaMemcpyHostToDevice);
    VIT4J_LAUNCH(atomics, 64, 128, 0)(counter, fsum, imax, cas);
    int c, mx;
    float f;
    unsigned k;
    cudaMemcpy(&c, counter, 4, cudaMemcpyDeviceToHost);
    cudaMemcpy(&mx, imax, 4, cudaMemcpyDeviceToHost);
    cudaMemcpy(&f, fsum, 4, cudaMemcpyDeviceToHost);
    cudaMemcpy(&k, cas, 4, cudaMemcpyDeviceToHost);
    expect(c == 8192 && f == 8192.f && mx == 8191 && k == 128,
           "atomicAdd (int, float), atomicMax, atomicCAS across 64 blocks on the worker threads");
    for (void* p : {(void*) counter, (void*) imax, (void*) fsum, (void*) cas}) cudaFree(p);
}

static void test_dynamic_shared() {
    const int n = 96, blocks = 4;
    std::vector<float> in(n * blocks);
    for (int i = 0; i < n * blocks; i++) in[i] = 0.5f + i;
    float *din, *dout, *dfirst;
    cudaMalloc(&din, in.size() * 4);
    cudaMalloc(&dout, in.size() * 4);
    cudaMalloc(&dfirst, blocks * 4);
    cudaMemcpy(din, in.data(), in.size() * 4, cudaMemcpyHostToDevice);
    VIT4J_LAUNCH(dynamic_shared, blocks, n, n * sizeof(float))(din, dout, dfirst);
    std::vector<float> out(in.size()), first(blocks);
    cudaMemcpy(out.data(), dout, out.size() * 4, cudaMemcpyDeviceToHost);
    cudaMemcpy(first.data(), dfirst, blocks * 4, cudaMemcpyDeviceToHost);
    bool ok = true, nan = true;
    for (int b = 0; b < blocks; b++) {
        nan = nan && std::isnan(first[b]);
        for (int t = 0; t < n; t++) ok = ok && out[b * n + t] == 2.f * in[b * n + n - 1 - t];
    }
    expect(ok, "dynamic shared memory (VIT4J_DYNAMIC_SHARED) sized by the launch");
    expect(nan, "dynamic shared memory reads NaN before it is written, in every block");
    cudaFree(din);
    cudaFree(dout);
    cudaFree(dfirst);
}

// Runs a kernel of one int* argument through run_grid with explicit flags; returns the error.
static std::string run(const char* name, void (*k)(int*), int* d, dim3 grid, dim3 block, int flags) {
    return run_grid(name, grid, block, 0, flags, [&] { k(d); });
}

static void test_orders() {
    int* d;
    cudaMalloc(&d, 64 * sizeof(int));
    std::vector<int> fwd(64), rev(64);
    std::string e1 = run("racy", racy, d, 1, 64, vit4j_cpu::STRICT);
    cudaMemcpy(fwd.data(), d, 64 * sizeof(int), cudaMemcpyDeviceToHost);
    std::string e2 = run("racy", racy, d, 1, 64, vit4j_cpu::STRICT | vit4j_cpu::REVERSE);
    cudaMemcpy(rev.data(), d, 64 * sizeof(int), cudaMemcpyDeviceToHost);
    // Forward: thread t runs to its read before t+1 has written, so it reads a stale slot; reverse:
    // thread t+1 ran first, so t reads 1000 + t + 1 (all but the last thread).
    bool fwd_stale = true, rev_right = true;
    for (int t = 0; t < 63; t++) {
        fwd_stale = fwd_stale && fwd[t] != 1000 + t + 1;
        rev_right = rev_right && rev[t] == 1000 + t + 1;
    }
    expect(e1.empty() && e2.empty() && fwd_stale && rev_right,
           "a missing barrier gives wrong results in forward order and right ones in reverse");
    cudaFree(d);
}

static void test_strict_faults() {
    int* d;
    cudaMalloc(&d, 64 * sizeof(int));
    const int S = vit4j_cpu::STRICT;
    for (int order : {0, vit4j_cpu::REVERSE}) {
        const std::string o = order ? " (reverse order)" : "";
        std::string e = run("partial_barrier", partial_barrier, d, 2, 64, S | order);
        // Two blocks run on two workers: either may report first, so the block is not pinned down.
        expect((has(e, "kernel partial_barrier, block (0,0,0), thread (")
                || has(e, "kernel partial_barrier, block (1,0,0), thread ("))
                   && has(e, "reached by part of the block")
                   && has(e, "48 have exited"),
               "strict: a barrier reached by part of a block" + o);
        e = run("partial_barrier", partial_barrier, d, 2, 64, order);
        expect(e.empty(), "not strict: the barrier counts the threads still running" + o);
        e = run("shuffle_outside_mask", shuffle_outside_mask, d, 1, 32, S | order);
        expect(has(e, "kernel shuffle_outside_mask") && has(e, "reads lane 20, which is outside its mask 0xffff"),
               "strict: a shuffle naming a lane outside its mask" + o);
        e = run("shuffle_exited_lane", shuffle_exited_lane, d, 1, 32, S | order);
        expect(has(e, "kernel shuffle_exited_lane") && has(e, "__shfl_xor_sync reads lane 1") && has(e, "has exited"),
               "strict: a shuffle reading an exited lane" + o);
        e = run("caller_outside_mask", caller_outside_mask, d, 1, 32, S | order);
        expect(has(e, "thread (3,0,0) (warp 0, lane 3): __shfl_sync with mask 0x1, which does not include the calling lane 3"),
               "strict: a lane calling a collective outside its own mask" + o);
        e = run("deadlock", deadlock, d, 1, 64, S | order);
        expect(has(e, "kernel deadlock, block (0,0,0): deadlock: no thread can run") && has(e, "63 thread(s) wait at __syncthreads")
                   && has(e, "1 thread(s) wait at a warp collective, first (0,0,0) at __shfl_sync"),
               "a deadlock names the kernel, the block and what each thread waits at" + o);
    }
    std::string e = run("whoami", [](int* p) { whoami(p); }, d, 1, dim3(2048), S);
    expect(has(e, "invalid launch: block (2048,1,1)"), "a block of 2048 threads is an invalid launch");
    cudaFree(d);
}

// Round to nearest even through double: the representable neighbours of x, the nearer (or even) one.
static void test_half_types() {
    bool half_ok = true, bf_ok = true, back_ok = true;
    unsigned long long s = 0x1234567887654321ull;
    std::vector<uint32_t> bits = {0x00000000u, 0x80000000u, 0x7f800000u, 0xff800000u, 0x7fc00000u, 0x7f800001u,
                                  0x477fe000u, 0x477fefffu, 0x477ff000u, 0x38800000u, 0x387fffffu, 0x33000000u,
                                  0x33000001u, 0x32ffffffu, 0x3f800000u, 0x3f801000u, 0x3f803000u, 0x00000001u};
    for (int i = 0; i < 2000000; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        bits.push_back((uint32_t) s);
    }
    for (uint32_t b : bits) {
        float f;
        std::memcpy(&f, &b, 4);
        const uint16_t h = vit4j_cpu::float_to_half_bits(f);
        const _Float16 ref = (_Float16) f; // the compiler's conversion: round to nearest even
        uint16_t rb;
        std::memcpy(&rb, &ref, 2);
        if (std::isnan(f)) half_ok = half_ok && (h & 0x7c00u) == 0x7c00u && (h & 0x3ffu) != 0;
        else half_ok = half_ok && h == rb;
        if (!std::isnan(f)) back_ok = back_ok && vit4j_cpu::half_bits_to_float(h) == (float) ref;
        // bf16: the nearest of the two truncations, ties to the even one
        const uint16_t bfb = vit4j_cpu::float_to_bf16_bits(f);
        if (std::isnan(f)) {
            bf_ok = bf_ok && std::isnan(vit4j_cpu::bf16_bits_to_float(bfb));
        } else {
            const uint32_t lo = b & 0xffff0000u, hi = lo + 0x10000u;
            float flo, fhi;
            std::memcpy(&flo, &lo, 4);
            std::memcpy(&fhi, &hi, 4);
            // past the largest bf16 the upper neighbour is 2^128 (which rounds to infinity), not infinity itself
            const double dhi_val = (hi & 0x7fffffffu) == 0x7f800000u ? std::copysign(std::ldexp(1.0, 128), (double) f) : fhi;
            const double dlo = std::fabs((double) f - flo), dhi = std::fabs((double) f - dhi_val);
            uint16_t want = (uint16_t) (lo >> 16);
            if (dhi < dlo || (dhi == dlo && ((lo >> 16) & 1u))) want = (uint16_t) (hi >> 16);
            if (std::isinf(f)) want = (uint16_t) (b >> 16);
            if (bfb != want && bf_ok) std::printf("  bf16 of 0x%08x: got 0x%04x, want 0x%04x\n", b, bfb, want);
            bf_ok = bf_ok && bfb == want;
        }
    }
    expect(half_ok, "float -> __half rounds to nearest even like the compiler's _Float16 (2M values + edges)");
    expect(back_ok, "__half -> float is exact");
    expect(bf_ok, "float -> __nv_bfloat16 rounds to nearest even, NaN stays NaN (2M values + edges)");
}

int main() {
    std::printf("cuda-cpu runtime tests (%d worker threads, %s order)\n", vit4j_cpu::worker_count(),
                vit4j_cpu::env_flags() & vit4j_cpu::REVERSE ? "reverse" : "forward");
    test_geometry();
    test_barriers();
    test_shuffles();
    test_atomics();
    test_dynamic_shared();
    test_orders();
    test_strict_faults();
    test_half_types();
    if (failures || cudaPeekAtLastError() != cudaSuccess) {
        std::printf("runtime: %d check(s) FAILED\n", failures);
        return 1;
    }
    std::printf("runtime: all checks passed\n");
    return 0;
}
