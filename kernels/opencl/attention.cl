// Scaled dot-product self-attention per (batch, head): out = softmax(q k^T * scale) v.
// q, k, v read from qkv [3, B, H, T, hd]; out [B, T, H * hd] (heads concatenated for the projection).
// FLOPs 4*B*H*T*T*hd; least bytes 4*(3*B*T*D + B*T*D).
// CPU reference: CpuBackend.attention.

// Version 1: one work-item per query row, online softmax over the keys (FlashAttention's
// recurrence: keep the running max m and sum l; when a score exceeds m, rescale what was
// accumulated by exp(m_old - m_new)), so no T x T matrix exists anywhere. global = (B * H * T).
#ifndef HD_MAX
#define HD_MAX 128
#endif
__kernel void attention_v1(__global const float* qkv, __global float* out, int batch, int tokens, int heads,
                           int hd, float scale) {
    int idx = get_global_id(0);
    if (idx >= batch * heads * tokens) return;
    int t = idx % tokens, bh = idx / tokens, b = bh / heads, h = bh % heads;
    long plane = (long) batch * heads * tokens * hd;
    __global const float* q = qkv + ((long) bh * tokens + t) * hd;
    __global const float* k = qkv + plane + (long) bh * tokens * hd;
    __global const float* v = qkv + 2 * plane + (long) bh * tokens * hd;
    float acc[HD_MAX];
    for (int e = 0; e < hd; e++) acc[e] = 0.0f;
    float m = -INFINITY, l = 0.0f;
    for (int s = 0; s < tokens; s++) {
        float score = 0.0f;
        for (int e = 0; e < hd; e++) score += q[e] * k[(long) s * hd + e];
        score *= scale;
        float m_new = fmax(m, score);
        float correction = exp(m - m_new);
        float p = exp(score - m_new);
        l = l * correction + p;
        for (int e = 0; e < hd; e++) acc[e] = acc[e] * correction + p * v[(long) s * hd + e];
        m = m_new;
    }
    __global float* o = out + ((long) b * tokens + t) * heads * hd + h * hd;
    for (int e = 0; e < hd; e++) o[e] = acc[e] / l;
}
