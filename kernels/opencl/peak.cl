// The device's fp32 FMA rate, measured: what the GEMMs are held to in `vit4j bench` (DevicePeaks).
// Each work-item runs PEAK_CHAINS independent chains a = fma(a, b, c) on float{PEAK_VW} vectors
// (PEAK_VW: the device's native float width, so one chain is one SIMD register), PEAK_ITERS steps
// each. Independent chains hide the FMA latency (4 cycles x 2 units on AVX-512 cores: 8 in flight;
// 12 leaves slack), and b, c are kernel arguments, so the compiler can neither fold nor reorder the
// chains away. FLOPs = 2 * PEAK_VW * PEAK_CHAINS * iters per work-item. One work-item per work-group,
// so PoCL runs no work-item loop around it. The sum is stored so the work is not dead code.
// Host: OpenClBackend.fmaPeakGflops.
#ifndef PEAK_VW
#define PEAK_VW 16
#endif
#define PEAK_CHAINS 12
#define floatP CAT(float, PEAK_VW)

__kernel void fma_peak(__global float* out, int iters, float b, float c) {
    float seed = (float) get_global_id(0);
    floatP a0 = (floatP) seed, a1 = a0 + 1.0f, a2 = a0 + 2.0f, a3 = a0 + 3.0f, a4 = a0 + 4.0f, a5 = a0 + 5.0f;
    floatP a6 = a0 + 6.0f, a7 = a0 + 7.0f, a8 = a0 + 8.0f, a9 = a0 + 9.0f, a10 = a0 + 10.0f, a11 = a0 + 11.0f;
    for (int i = 0; i < iters; i++) {
        a0 = fma(a0, b, c);
        a1 = fma(a1, b, c);
        a2 = fma(a2, b, c);
        a3 = fma(a3, b, c);
        a4 = fma(a4, b, c);
        a5 = fma(a5, b, c);
        a6 = fma(a6, b, c);
        a7 = fma(a7, b, c);
        a8 = fma(a8, b, c);
        a9 = fma(a9, b, c);
        a10 = fma(a10, b, c);
        a11 = fma(a11, b, c);
    }
    floatP s = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11));
    float r[PEAK_VW];
    CAT(vstore, PEAK_VW)(s, 0, r);
    float sum = 0.0f;
    for (int i = 0; i < PEAK_VW; i++) sum += r[i];
    out[get_global_id(0)] = sum;
}
