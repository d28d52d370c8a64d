// The CPU's fp32 FMA peak measured outside OpenCL, to check the figure kernels/opencl/peak.cl gives
// `vit4j bench` (DevicePeaks): T threads, each running 12 independent FMA chains on 512-bit (or, built
// without -mavx512f, 256-bit) registers, the best of 5 runs per thread count.
//   gcc -O2 -march=native -pthread -o /tmp/fma_peak bench/cpu/fma_peak.c && /tmp/fma_peak [THREADS]
// The 12 accumulators are 12 named variables so that they stay in registers: with an array the
// compiler kept them on the stack and every FMA waited for a store-to-load forward (that version read
// about half of one core's rate, the "C loop" figure of the 2026-12-02 README).
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#ifdef __AVX512F__
typedef __m512 vec;
#define LANES 16
#define SET1 _mm512_set1_ps
#define FMA _mm512_fmadd_ps
#define ADD _mm512_add_ps
#define STORE _mm512_storeu_ps
#else
typedef __m256 vec;
#define LANES 8
#define SET1 _mm256_set1_ps
#define FMA _mm256_fmadd_ps
#define ADD _mm256_add_ps
#define STORE _mm256_storeu_ps
#endif

static const long ITERS = 20000000;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void* chains(void* out) {
    vec b = SET1(0.999f), c = SET1(0.001f);
    vec a0 = SET1(0), a1 = SET1(1), a2 = SET1(2), a3 = SET1(3), a4 = SET1(4), a5 = SET1(5);
    vec a6 = SET1(6), a7 = SET1(7), a8 = SET1(8), a9 = SET1(9), a10 = SET1(10), a11 = SET1(11);
    for (long i = 0; i < ITERS; i++) {
        a0 = FMA(a0, b, c); a1 = FMA(a1, b, c); a2 = FMA(a2, b, c); a3 = FMA(a3, b, c);
        a4 = FMA(a4, b, c); a5 = FMA(a5, b, c); a6 = FMA(a6, b, c); a7 = FMA(a7, b, c);
        a8 = FMA(a8, b, c); a9 = FMA(a9, b, c); a10 = FMA(a10, b, c); a11 = FMA(a11, b, c);
    }
    vec s = ADD(ADD(ADD(a0, a1), ADD(a2, a3)), ADD(ADD(ADD(a4, a5), ADD(a6, a7)), ADD(ADD(a8, a9), ADD(a10, a11))));
    STORE((float*) out, s); // the sums are used: the chains are not dead code
    return NULL;
}

int main(int argc, char** argv) {
    int most = argc > 1 ? atoi(argv[1]) : 2;
    printf("fma_peak: %d-bit vectors, 12 chains per thread, %ld iterations\n", LANES * 32, ITERS);
    for (int t = 1; t <= most; t++) {
        double best = 0;
        for (int rep = 0; rep < 5; rep++) {
            pthread_t th[64];
            float out[64][LANES];
            double s = now();
            for (int i = 0; i < t; i++) pthread_create(&th[i], NULL, chains, out[i]);
            for (int i = 0; i < t; i++) pthread_join(th[i], NULL);
            double gflops = t * ITERS * 12.0 * LANES * 2 / (now() - s) * 1e-9;
            if (gflops > best) best = gflops;
        }
        printf("threads %d: %.1f GFLOP/s (best of 5)\n", t, best);
    }
    return 0;
}
