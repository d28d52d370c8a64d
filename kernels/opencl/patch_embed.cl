// Patch embedding, eq. 1 of the paper: out[b, 0] = cls + pos[0];
// out[b, 1 + p] = patch_p . W^T + bias + pos[1 + p], with patch p read in (c, y, x) order straight
// from the NCHW image [B, C, height, width] (patches row-major over a (height / P) x (width / P)
// grid, which need not be square): the stride-P convolution as a GEMM whose A operand is formed on the fly,
// so no im2col buffer exists in global memory.
// FLOPs 2*B*Np*D*C*P*P; least bytes s*(B*C*H*W + D*C*P*P + (Np+1)*D + B*(Np+1)*D), s = sizeof(store_t).
// CPU reference: CpuBackend.patchEmbed.
// Storage: every tensor is store_t (common.cl, per VIT4J_STORAGE_*); loads convert to float (v3 as
// it stages its tiles), the dot product, bias and position embedding are summed in float, and each
// output (cls + pos for the class-token rows) is rounded once at its store.
//
// Versions (PatchEmbedOps picks one by the tuning value PE_VARIANT; sizes are PE_V<n>_* values):
//   v1  one output per work-item.                                             the baseline
//   v2  CPU (default before v4): linear_v2's register blocking (RM x RN  no im2col, no local
//       per work-item, vector accumulators) with A read from the image: K is  memory, no barriers
//       C * P runs of P contiguous pixels, each met by a float{VW} load.
//   v3  GPU default: linear_v3's local-memory tiles, the patch tile gathered  im2col while staging
//       from the image as it is staged.
//   v4  CPU default: linear_v5's outer product over weights packed once into  no im2col, no lane
//       its panels, one pixel of each of MR patches broadcast per k.          sums, no barriers
// Every version writes the class-token rows in the same launch.
// Measured 2026-11-28 on PoCL 3.1, 2 AMD EPYC cores (AVX-512), 224 x 224, P = 16, K = 768,
// median GFLOP/s (numpy/OpenBLAS GEMM of the same size: ~200):
//   ViT-S/16 (dim 384), batch 8:  v1 3.8   v2 185   v3 (GPU tiles) 5.7
//   ViT-B/16 (dim 768), batch 8:           v2 185
//   ViT-S/16, batch 1:                     v2 174-186

// Version 1: one output per work-item. global = (D, B * (Np + 1)).
__kernel void patch_embed_v1(__global const store_t* image, __global const store_t* W, __global const store_t* bias,
                             __global const store_t* cls, __global const store_t* pos, __global store_t* out,
                             int batch, int channels, int height, int width, int patch, int dim) {
    int j = get_global_id(0), row = get_global_id(1);
    int gw = width / patch, tokens = (height / patch) * gw + 1;
    if (j >= dim || row >= batch * tokens) return;
    int b = row / tokens, t = row % tokens;
    float acc;
    if (t == 0) {
        acc = ld1(j, cls);
    } else {
        int p = t - 1, py = p / gw, px = p % gw, K = channels * patch * patch;
        acc = ld1(j, bias);
        int k = 0;
        for (int c = 0; c < channels; c++)
            for (int dy = 0; dy < patch; dy++) {
                __global const store_t* src = image + (((long) b * channels + c) * height + py * patch + dy) * width + px * patch;
                for (int dx = 0; dx < patch; dx++, k++) acc += ld1(dx, src) * ld1((long) j * K + k, W);
            }
    }
    st1(acc + ld1((long) t * dim + j, pos), (long) row * dim + j, out);
}

// The class-token rows out[b, 0] = cls + pos[0] for columns j0 .. j0 + count - 1 of every image.
#define WRITE_CLS_ROWS(j0, count)                                                   \
    for (int b_ = 0; b_ < batch; b_++)                                              \
        for (int j_ = (j0); j_ < min((j0) + (count), dim); j_++)                    \
            st1(ld1(j_, cls) + ld1(j_, pos), (long) b_ * tokens * dim + j_, out);

// ---- Version 2 (CPU devices): register-blocked vector dot products, no local memory ----
// linear_v2's shape with the A operand read straight from the image: each work-item owns
// PE_V2_RM patches x PE_V2_RN output channels; K is walked as C * P rows of P contiguous pixels
// (one image row segment, matching one contiguous run of the weight), PE_V2_VW at a time with
// vector loads, the remainder of a row (P % PE_V2_VW) in scalars. The work-items of the first
// row block also write the class-token rows, so one launch writes every output.
// global = (ceil(dim / PE_V2_RN), ceil(B * Np / PE_V2_RM)) rounded up to (PE_V2_WGX, PE_V2_WGY).
#ifdef PE_V2_VW
#define floatV CAT(float, PE_V2_VW)
#define ldV CAT(ld, PE_V2_VW)
float hsum2(float2 v) { return v.s0 + v.s1; }
float hsum4(float4 v) { return hsum2(v.lo + v.hi); }
float hsum8(float8 v) { return hsum4(v.lo + v.hi); }
float hsum16(float16 v) { return hsum8(v.lo + v.hi); }
#define hsumV CAT(hsum, PE_V2_VW)

__kernel void patch_embed_v2(__global const store_t* image, __global const store_t* W, __global const store_t* bias,
                             __global const store_t* cls, __global const store_t* pos, __global store_t* out,
                             int batch, int channels, int height, int width, int patch, int dim) {
    int gw = width / patch, np = (height / patch) * gw, tokens = np + 1, M = batch * np, K = channels * patch * patch;
    int j0 = get_global_id(0) * PE_V2_RN, r0 = get_global_id(1) * PE_V2_RM;
    if (j0 >= dim || r0 >= M) return;
    if (r0 == 0) WRITE_CLS_ROWS(j0, PE_V2_RN)

    __global const store_t* a[PE_V2_RM];
    __global const store_t* w[PE_V2_RN];
#pragma unroll
    for (int i = 0; i < PE_V2_RM; i++) {
        int p = min(r0 + i, M - 1), b = p / np, q = p % np;
        a[i] = image + ((long) b * channels * height + (q / gw) * patch) * width + (q % gw) * patch;
    }
#pragma unroll
    for (int j = 0; j < PE_V2_RN; j++) w[j] = W + (long) min(j0 + j, dim - 1) * K;

    floatV acc[PE_V2_RM][PE_V2_RN];
    float s[PE_V2_RM][PE_V2_RN];
#pragma unroll
    for (int i = 0; i < PE_V2_RM; i++)
#pragma unroll
        for (int j = 0; j < PE_V2_RN; j++) {
            acc[i][j] = (floatV) 0.0f;
            s[i][j] = 0.0f;
        }

    int pv = patch - patch % PE_V2_VW;
    for (int c = 0; c < channels; c++)
        for (int dy = 0; dy < patch; dy++) {
            long ao = ((long) c * height + dy) * width;
            int wo = (c * patch + dy) * patch;
            for (int dx = 0; dx < pv; dx += PE_V2_VW) {
                floatV av[PE_V2_RM];
#pragma unroll
                for (int i = 0; i < PE_V2_RM; i++) av[i] = ldV(0, a[i] + ao + dx);
#pragma unroll
                for (int j = 0; j < PE_V2_RN; j++) {
                    floatV wv = ldV(0, w[j] + wo + dx);
#pragma unroll
                    for (int i = 0; i < PE_V2_RM; i++) acc[i][j] = fma(av[i], wv, acc[i][j]);
                }
            }
            for (int dx = pv; dx < patch; dx++) {
#pragma unroll
                for (int i = 0; i < PE_V2_RM; i++)
#pragma unroll
                    for (int j = 0; j < PE_V2_RN; j++) s[i][j] = fma(ld1(ao + dx, a[i]), ld1(wo + dx, w[j]), s[i][j]);
            }
        }

#pragma unroll
    for (int i = 0; i < PE_V2_RM; i++) {
        int p = r0 + i;
        if (p >= M) break;
        int b = p / np, t = 1 + p % np;
#pragma unroll
        for (int j = 0; j < PE_V2_RN; j++) {
            int n = j0 + j;
            if (n < dim)
                st1(s[i][j] + hsumV(acc[i][j]) + ld1(n, bias) + ld1((long) t * dim + n, pos),
                    ((long) b * tokens + t) * dim + n, out);
        }
    }
}
#endif

// ---- Version 4 (CPU devices): linear_v5's outer product, A gathered from the image ----
// The weight [dim, C*P*P] is packed once into linear_v5's panels (LinearOps.packed: NR columns,
// K-major, k = (c * P + dy) * P + dx, the image's own order), so per k a work-item loads NR / VW
// vectors of the panel and broadcasts one pixel of each of its PE_V4_MR patches: MR * NR / VW vector
// FMAs (6 x 4 = 24 zmm accumulators on AVX-512), no lane sums. K is walked as C * P runs of P
// contiguous pixels per patch (the address of a run computed once). The epilogue adds bias and the
// position embedding on whole vectors. The first row block's work-items write the class-token rows.
// Rows past the end are clamped to the last patch (recomputed, not stored).
// The work-groups run in linear_v5's grouped order (`group`, common.cl's grouped_work_group), so that
// a group's patches stay in L2 across the panels instead of being gathered from the image again for
// each panel (PatchEmbedOps picks the group by LinearOps.v5Group's estimate).
// global = (ceil(B * Np / MR) rounded up to PE_V4_WGX, ceil(dim / NR)), local = (PE_V4_WGX, 1).
#ifdef PE_V4_VW
#define floatP4 CAT(float, PE_V4_VW)
#define ldP4 CAT(ld, PE_V4_VW)
#define stP4 CAT(st, PE_V4_VW)
#define P4_NV (PE_V4_NR / PE_V4_VW)
#if PE_V4_NR % PE_V4_VW != 0
#error PE_V4_NR must be a multiple of PE_V4_VW
#endif

__kernel void patch_embed_v4(__global const store_t* image, __global const store_t* Wp, __global const store_t* bias,
                             __global const store_t* cls, __global const store_t* pos, __global store_t* out,
                             int batch, int channels, int height, int width, int patch, int dim, int group) {
    const int gw = width / patch, np = (height / patch) * gw, tokens = np + 1, M = batch * np;
    const int2 tile = grouped_work_group(group); // (row work-group, panel): common.cl
    const int row = tile.x * (int) get_local_size(0) + (int) get_local_id(0);
    const int m0 = row * PE_V4_MR, n0 = tile.y * PE_V4_NR;
    if (n0 >= dim) return;
    if (row == 0) WRITE_CLS_ROWS(n0, PE_V4_NR)
    if (m0 >= M) return;
    const int K = channels * patch * patch;
    __global const store_t* wp = Wp + (long) tile.y * K * PE_V4_NR;
    __global const store_t* a[PE_V4_MR];
#pragma unroll
    for (int r = 0; r < PE_V4_MR; r++) {
        const int p = min(m0 + r, M - 1), b = p / np, q = p % np;
        a[r] = image + ((long) b * channels * height + (q / gw) * patch) * width + (q % gw) * patch;
    }
    floatP4 acc[PE_V4_MR][P4_NV];
#pragma unroll
    for (int r = 0; r < PE_V4_MR; r++)
#pragma unroll
        for (int j = 0; j < P4_NV; j++) acc[r][j] = (floatP4) 0.0f;

    int k = 0;
    for (int c = 0; c < channels; c++)
        for (int dy = 0; dy < patch; dy++) {
            const long run = ((long) c * height + dy) * width; // this pixel run's offset from each patch's corner
            for (int dx = 0; dx < patch; dx++, k++) {
                floatP4 w[P4_NV];
#pragma unroll
                for (int j = 0; j < P4_NV; j++) w[j] = ldP4(j, wp + (long) k * PE_V4_NR);
#pragma unroll
                for (int r = 0; r < PE_V4_MR; r++) {
                    const floatP4 av = (floatP4) ld1(run + dx, a[r]);
#pragma unroll
                    for (int j = 0; j < P4_NV; j++) acc[r][j] = fma(av, w[j], acc[r][j]);
                }
            }
        }

    const bool whole = n0 + PE_V4_NR <= dim;
#pragma unroll
    for (int r = 0; r < PE_V4_MR; r++) {
        const int p = m0 + r;
        if (p >= M) break;
        const int b = p / np, t = 1 + p % np;
        __global store_t* o = out + ((long) b * tokens + t) * dim + n0;
        __global const store_t* pe = pos + (long) t * dim + n0;
        if (whole) {
#pragma unroll
            for (int j = 0; j < P4_NV; j++) stP4(acc[r][j] + ldP4(j, bias + n0) + ldP4(j, pe), j, o); // one rounding
        } else {
            float v[PE_V4_NR];
#pragma unroll
            for (int j = 0; j < P4_NV; j++) CAT(vstore, PE_V4_VW)(acc[r][j], j, v);
            for (int c = 0; c < dim - n0; c++) st1(v[c] + ld1(n0 + c, bias) + ld1(c, pe), c, o);
        }
    }
}
#endif

// ---- Version 3 (GPUs): local-memory tiles, register blocking, im2col on the fly ----
// linear_v3's shape: a work-group stages a PE_V3_TM x PE_V3_TK tile of patches (gathered from the
// image as it is loaded: k -> (c, dy, dx)) and a PE_V3_TN x PE_V3_TK tile of weights in local
// memory; each work-item accumulates PE_V3_RM x PE_V3_RN outputs. Groups with tile row 0 write the
// class-token rows of their columns.
#ifdef PE_V3_TM
#define PE_V3_WGX (PE_V3_TN / PE_V3_RN)
#define PE_V3_WGY (PE_V3_TM / PE_V3_RM)
#define PE_V3_WGS (PE_V3_WGX * PE_V3_WGY)

__kernel __attribute__((reqd_work_group_size(PE_V3_WGX, PE_V3_WGY, 1)))
void patch_embed_v3(__global const store_t* image, __global const store_t* W, __global const store_t* bias,
                    __global const store_t* cls, __global const store_t* pos, __global store_t* out,
                    int batch, int channels, int height, int width, int patch, int dim) {
    __local float As[PE_V3_TK][PE_V3_TM + 1];
    __local float Ws[PE_V3_TK][PE_V3_TN + 1];
    int gw = width / patch, np = (height / patch) * gw, tokens = np + 1, M = batch * np, K = channels * patch * patch;
    int pp = patch * patch;
    int tx = get_local_id(0), ty = get_local_id(1), tid = ty * PE_V3_WGX + tx;
    int mTile = get_group_id(1) * PE_V3_TM, nTile = get_group_id(0) * PE_V3_TN;
    if (mTile == 0 && ty == 0) {
        for (int b = 0; b < batch; b++)
            for (int n = nTile + tx; n < min(nTile + PE_V3_TN, dim); n += PE_V3_WGX)
                st1(ld1(n, cls) + ld1(n, pos), (long) b * tokens * dim + n, out);
    }

    float acc[PE_V3_RM][PE_V3_RN];
#pragma unroll
    for (int i = 0; i < PE_V3_RM; i++)
#pragma unroll
        for (int j = 0; j < PE_V3_RN; j++) acc[i][j] = 0.0f;

    for (int k0 = 0; k0 < K; k0 += PE_V3_TK) {
        for (int idx = tid; idx < PE_V3_TM * PE_V3_TK; idx += PE_V3_WGS) {
            int r = idx / PE_V3_TK, kk = idx % PE_V3_TK, p = mTile + r, k = k0 + kk;
            float v = 0.0f;
            if (p < M && k < K) {
                int b = p / np, q = p % np, c = k / pp, dy = (k % pp) / patch, dx = k % patch;
                long row = ((long) b * channels + c) * height + (q / gw) * patch + dy;
                v = ld1(row * width + (q % gw) * patch + dx, image);
            }
            As[kk][r] = v;
        }
        for (int idx = tid; idx < PE_V3_TN * PE_V3_TK; idx += PE_V3_WGS) {
            int r = idx / PE_V3_TK, kk = idx % PE_V3_TK, n = nTile + r, k = k0 + kk;
            Ws[kk][r] = (n < dim && k < K) ? ld1((long) n * K + k, W) : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
#pragma unroll
        for (int kk = 0; kk < PE_V3_TK; kk++) {
            float av[PE_V3_RM], wv[PE_V3_RN];
#pragma unroll
            for (int i = 0; i < PE_V3_RM; i++) av[i] = As[kk][ty + i * PE_V3_WGY];
#pragma unroll
            for (int j = 0; j < PE_V3_RN; j++) wv[j] = Ws[kk][tx + j * PE_V3_WGX];
#pragma unroll
            for (int i = 0; i < PE_V3_RM; i++)
#pragma unroll
                for (int j = 0; j < PE_V3_RN; j++) acc[i][j] = fma(av[i], wv[j], acc[i][j]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }

#pragma unroll
    for (int i = 0; i < PE_V3_RM; i++) {
        int p = mTile + ty + i * PE_V3_WGY;
        if (p >= M) break;
        int b = p / np, t = 1 + p % np;
#pragma unroll
        for (int j = 0; j < PE_V3_RN; j++) {
            int n = nTile + tx + j * PE_V3_WGX;
            if (n < dim) st1(acc[i][j] + ld1(n, bias) + ld1((long) t * dim + n, pos), ((long) b * tokens + t) * dim + n, out);
        }
    }
}
#endif
