// Linear layers: C[M, N] = epilogue(A[M, K] . W[N, K]^T), W in PyTorch's [out, in] layout.
// FLOPs 2*M*N*K; least bytes 4*(M*K + N*K + M*N) (+ M*N for a residual).
// CPU reference: CpuBackend.linear and CpuBackend.linearQkv.
//
// Epilogues (EPILOGUE, a build-time define so each variant is its own kernel):
//   0 none, 1 + bias, 2 + bias then exact GELU, 3 + bias + residual.
// QKV layout (argument heads > 0): output column n = which * D + h * hd + e goes to
//   qkv[which, b, h, t, e] for row m = b * T + t, so attention reads per-head rows contiguously
//   and no transpose kernel runs.

#ifndef EPILOGUE
#define EPILOGUE 0
#endif

float gelu_exact(float x) {
    return 0.5f * x * erfc(-x * 0.70710678118654752f);
}

// Where output element (m, n) is stored: row-major [M, N], or the per-head QKV layout.
long out_index(int m, int n, int M, int N, int tokens, int heads) {
    if (heads == 0) return (long) m * N + n;
    int D = N / 3, hd = D / heads, batch = M / tokens;
    int which = n / D, h = (n % D) / hd, e = n % hd, b = m / tokens, t = m % tokens;
    return ((((long) which * batch + b) * heads + h) * tokens + t) * hd + e;
}

float apply_epilogue(float acc, __global const float* bias, __global const float* residual, long at, int n) {
#if EPILOGUE >= 1
    acc += bias[n];
#endif
#if EPILOGUE == 2
    acc = gelu_exact(acc);
#elif EPILOGUE == 3
    acc += residual[at];
#endif
    return acc;
}

// Version 1: one output per work-item, straight from the definition. Kept as the baseline the
// tuned versions are measured against. global = (N, M).
__kernel void linear_v1(__global const float* A, __global const float* W, __global const float* bias,
                        __global const float* residual, __global float* C, int M, int N, int K,
                        int tokens, int heads) {
    int n = get_global_id(0), m = get_global_id(1);
    if (n >= N || m >= M) return;
    float acc = 0.0f;
    for (int k = 0; k < K; k++) acc += A[(long) m * K + k] * W[(long) n * K + k];
    long at = out_index(m, n, M, N, tokens, heads);
    C[at] = apply_epilogue(acc, bias, residual, at, n);
}
