package org.vit4j.backend.opencl;

import java.util.EnumMap;
import java.util.HashMap;
import java.util.Map;
import org.jocl.cl_kernel;
import org.vit4j.ElementType;
import org.vit4j.Vit4jException;

/**
 * Scaled dot-product attention (kernels/opencl/attention.cl). Four variants, chosen by {@link #VARIANT}:
 * the naive v1 baseline, a GPU kernel that tiles K/V through local memory (v2), and two CPU kernels
 * that read K transposed once into a scratch buffer: v3 streams the keys with an online softmax in
 * vector registers, v4 materialises a block of rows' scores (in private memory) so both matmuls run as
 * register-blocked outer products (the CPU default, its vectors and accumulator budget sized from the
 * device's native float width).
 * The v2-v4 kernels are built per head dim (a -D define), so their loops over it are unrolled, v4 also
 * per padded token count, and per storage type; the K^T scratch has the op's storage type (an exact
 * copy of K).
 */
final class AttentionOps {
    static final TuningParam VARIANT = new TuningParam("ATTN_VARIANT", 2, 4,
            "1 = attention_v1 (naive), 2 = attention_v2 (local-memory tiles), 3 = attention_v3 (streaming, vector"
                    + " registers), 4 = attention_v4 (scores of a row block materialised)");
    static final TuningParam WG = new TuningParam("ATTN_WG", 64, 8, "work-group size of attention_v1");
    static final TuningParam GPU_BQ = new TuningParam("ATTN_GPU_BQ", 64, 64,
            "query rows (= work-items) per work-group of attention_v2");
    static final TuningParam GPU_BK = new TuningParam("ATTN_GPU_BK", 32, 32,
            "keys per K/V tile in local memory of attention_v2");
    static final TuningParam CPU_QR = new TuningParam("ATTN_CPU_QR", 4, 4,
            "most query rows per work-item of attention_v3");
    static final TuningParam CPU_ACC = new TuningParam("ATTN_CPU_ACC", 16, 16,
            "most output accumulator vectors per work-item of attention_v3: rows = min(ATTN_CPU_QR, this / (hd / vw)),"
                    + " so the accumulators stay in registers (16 of AVX-512's 32) at large head dims");
    static final TuningParam CPU_KB = new TuningParam("ATTN_CPU_KB", 16, 16,
            "keys per score vector of attention_v3 (8 or 16)");
    static final TuningParam CPU_KN = new TuningParam("ATTN_CPU_KN", 1, 1,
            "score vectors (of ATTN_CPU_KB keys) per key block of attention_v3: each broadcast q element feeds this many FMAs");
    static final TuningParam CPU_SLACK = new TuningParam("ATTN_CPU_SLACK", 8, 8,
            "log2 units a key block's max may exceed attention_v3's running max before l and acc are rebased (0 = every raise)");
    static final TuningParam CPU_VW = new TuningParam("ATTN_CPU_VW", 16, 16,
            "widest vector along the head dim in attention_v3 (the widest power of two <= it dividing hd is used)");
    static final TuningParam CPU_WG = new TuningParam("ATTN_CPU_WG", 4, 4, "work-group size of attention_v3 and v4");
    static final TuningParam V4_QR = new TuningParam("ATTN_V4_QR", 6, 6, "most query rows per work-item of attention_v4");
    static final TuningParam V4_NK = new TuningParam("ATTN_V4_NK", 4, 4,
            "key vectors (of ATTN_CPU_KB keys) per score chunk of attention_v4");
    static final TuningParam V4_ACC = new TuningParam("ATTN_V4_ACC", 0, 0,
            "most accumulator vectors per work-item of attention_v4: rows = min(ATTN_V4_QR, this), key vectors per"
                    + " score chunk min(ATTN_V4_NK, this / rows), V column vectors per P V pass min(hd / vw, this / rows),"
                    + " so each matmul's accumulators stay in registers (0: 24 where the native float width is 16, of"
                    + " AVX-512's 32 registers; 12 below, of AVX2's 16)");
    static final TuningParam V4_KB = new TuningParam("ATTN_V4_KB", 0, 0,
            "keys per score vector of attention_v4, 8 or 16 (0: the device's native float width, at least 8); its vectors"
                    + " along the head dim are at most this wide too");
    /** attention_v4 keeps ATTN_V4_QR rows of scores in private memory: past this many (padded) keys v3 runs. */
    static final int V4_MAX_TOKENS = 1024;
    static final int MAX_HEAD_DIM = 128;

    private final ClRuntime rt;
    private final Tuning tuning;
    private final int variant;
    /** attention_v4's keys per score vector and accumulator budget, resolved from the device where the tuning says 0. */
    private final int v4Kb, v4Acc;
    private final Map<ElementType, Map<Shape, Built>> built = new EnumMap<>(ElementType.class);
    private final Allocator allocate;
    /**
     * K^T for attention_v3 per storage type, kept between calls and regrown when a call needs more;
     * absent until needed.
     */
    private final Map<ElementType, ClBuffer> scratch = new EnumMap<>(ElementType.class);

    /** The kernels built for one head dim (and, for v4, padded token count), and the rows per work-item of v3/v4. */
    private record Built(cl_kernel flash, cl_kernel kt, cl_kernel cpu, int rows) {}

    /** What a program is built for: the head dim and v4's padded key count (0 for the others). */
    private record Shape(int headDim, int tmax) {}

    /** attention_v4's use of its accumulators: query rows, key vectors per score chunk, V column vectors per P V pass. */
    record V4Split(int rows, int keyVectors, int columnVectors) {}

    /**
     * Splits {@code acc} accumulator vectors: {@code qr} rows where they fit, then as many key vectors (at most
     * {@code nk}) and V column vectors (at most {@code nv}, the head dim's vectors) as the rows leave room for.
     */
    static V4Split v4Split(int qr, int nk, int acc, int nv) {
        int rows = Math.max(1, Math.min(qr, acc));
        int room = Math.max(1, acc / rows);
        return new V4Split(rows, Math.min(nk, room), Math.min(nv, room));
    }

    /** Buffers from the backend's pool. */
    interface Allocator {
        ClBuffer allocate(ElementType type, long length);
    }

    /** @param allocate buffers from the backend's pool, for the K^T scratch */
    AttentionOps(ClRuntime rt, Tuning tuning, Allocator allocate) {
        this.rt = rt;
        this.allocate = allocate;
        this.tuning = tuning;
        this.variant = tuning.get(VARIANT);
        if (variant < 1 || variant > 4) throw new Vit4jException("ATTN_VARIANT must be 1, 2, 3 or 4, got " + variant);
        int w = rt.device.nativeFloatWidth();
        this.v4Kb = tuning.get(V4_KB) != 0 ? tuning.get(V4_KB) : w >= 16 ? 16 : 8;
        if (v4Kb != 8 && v4Kb != 16) throw new Vit4jException("ATTN_V4_KB must be 8 or 16 (or 0: the device's), got " + v4Kb);
        this.v4Acc = tuning.get(V4_ACC) != 0 ? tuning.get(V4_ACC) : w >= 16 ? 24 : 12;
        int kb = tuning.get(CPU_KB);
        if (kb != 8 && kb != 16) throw new Vit4jException("ATTN_CPU_KB must be 8 or 16, got " + kb);
        int kn = tuning.get(CPU_KN);
        if (kn < 1 || kn > 4) throw new Vit4jException("ATTN_CPU_KN must be 1 to 4, got " + kn);
        for (TuningParam p : new TuningParam[] {V4_QR, V4_NK}) {
            if (tuning.get(p) < 1) throw new Vit4jException(p.name() + " must be >= 1, got " + tuning.get(p));
        }
        if (v4Acc < 1) throw new Vit4jException("ATTN_V4_ACC must be >= 1 (or 0: the device's), got " + v4Acc);
    }

    void attention(ClBuffer qkv, ClBuffer out, int batch, int tokens, int heads, int headDim, float scale) {
        if (headDim > MAX_HEAD_DIM) {
            throw new Vit4jException("attention: head dim " + headDim + " exceeds the OpenCL kernels' maximum of "
                    + MAX_HEAD_DIM);
        }
        switch (variant) {
            case 1 -> v1(qkv, out, batch, tokens, heads, headDim, scale);
            case 2 -> flash(qkv, out, batch, tokens, heads, headDim, scale);
            default -> cpu(qkv, out, batch, tokens, heads, headDim, scale);
        }
    }

    private void v1(ClBuffer qkv, ClBuffer out, int batch, int tokens, int heads, int headDim, float scale) {
        int wg = tuning.get(WG);
        cl_kernel k = rt.kernel("attention", "attention_v1", tuning.defines(WG) + " -D HD_MAX=" + MAX_HEAD_DIM,
                qkv.dtype());
        long n = (long) batch * heads * tokens;
        rt.launch(k, "attention_v1", new long[] {(n + wg - 1) / wg * wg}, new long[] {wg}, qkv, out, batch, tokens,
                heads, headDim, scale);
    }

    private void flash(ClBuffer qkv, ClBuffer out, int batch, int tokens, int heads, int headDim, float scale) {
        int bq = tuning.get(GPU_BQ);
        cl_kernel k = kernels(qkv.dtype(), headDim, 0).flash();
        rt.launch(k, "attention_v2", new long[] {(tokens + bq - 1L) / bq * bq, (long) batch * heads},
                new long[] {bq, 1}, qkv, out, batch, tokens, heads, scale);
    }

    /** The attention kernel in force, e.g. "attention_v4 QR=6 NK=4 (v3 past 1024 keys)" (vit4j bench prints it). */
    String describe() {
        return switch (variant) {
            case 4 -> "attention_v4 KB=" + v4Kb + " ACC=" + v4Acc + " (v3 past " + V4_MAX_TOKENS + " keys)";
            case 3 -> "attention_v3 QR=" + tuning.get(CPU_QR);
            default -> "attention_v" + variant;
        };
    }

    private void cpu(ClBuffer qkv, ClBuffer out, int batch, int tokens, int heads, int headDim, float scale) {
        ElementType type = qkv.dtype();
        // v4's keys are padded to one vector, v3's to its key block
        int kb4 = v4Kb, tpad4 = (tokens + kb4 - 1) / kb4 * kb4;
        boolean v4 = variant == 4 && tpad4 <= V4_MAX_TOKENS;
        // v4's private score block is sized in steps of 64 keys, so nearby token counts share a program
        Built k = kernels(type, headDim, v4 ? (tpad4 + 63) / 64 * 64 : 0);
        int kb = v4 ? kb4 : tuning.get(CPU_KB) * tuning.get(CPU_KN), qr = k.rows(), wg = tuning.get(CPU_WG);
        int tpad = (tokens + kb - 1) / kb * kb;
        long bh = (long) batch * heads;
        // Scratch K^T, kept between calls (the in-order queue runs a call's attention_v3_kt only after the
        // previous attention_v3 has read it) and regrown when a call needs more: a fresh buffer per call
        // cost ~5% here (allocation plus first-touch page faults on PoCL).
        long elements = bh * headDim * tpad;
        ClBuffer ktBuf = scratch.get(type);
        if (ktBuf == null || ktBuf.length() < elements) {
            // Giving the old one back is safe: the queue is in order, so whoever gets it next runs after us.
            if (ktBuf != null) ktBuf.close();
            ktBuf = allocate.allocate(type, elements);
            scratch.put(type, ktBuf);
        }
        // one work-item per block of ATTN_CPU_KB keys (tpad is a multiple of it: kb above is KB or KB * KN)
        int ktKb = v4 ? kb4 : tuning.get(CPU_KB);
        rt.launch(k.kt(), "attention_v3_kt", new long[] {tpad / ktKb, bh}, null, qkv, ktBuf, batch, tokens, heads, tpad);
        long n = bh * ((tokens + qr - 1) / qr);
        String name = v4 ? "attention_v4" : "attention_v3";
        rt.launch(k.cpu(), name, new long[] {(n + wg - 1) / wg * wg}, new long[] {wg}, qkv, ktBuf, out,
                batch, tokens, heads, tpad, scale);
    }

    /**
     * The attention probabilities, float32 [batch, heads, tokens, tokens], from qkv of any storage type
     * (attention_probs: a work-item per query row, the same kernel on every device; for analysis, never
     * on the fused path).
     */
    void probs(ClBuffer qkv, ClBuffer probs, int batch, int tokens, int heads, int headDim, float scale) {
        int wg = tuning.get(WG);
        // Quads where the head dim allows (each is its own program, cached like the others).
        cl_kernel k = rt.kernel("attention", "attention_probs", tuning.defines(WG) + " -D HD_MAX=" + MAX_HEAD_DIM
                + " -D PROBS_VW=" + (headDim % 4 == 0 ? 4 : 1), qkv.dtype());
        long n = (long) batch * heads * tokens;
        rt.launch(k, "attention_probs", new long[] {(n + wg - 1) / wg * wg}, new long[] {wg}, qkv, probs, batch,
                tokens, heads, headDim, scale);
    }

    /** Gives the scratch back to the pool; the backend calls this before it closes the pool. */
    void close() {
        scratch.values().forEach(ClBuffer::close);
        scratch.clear();
    }

    /**
     * The kernels for one storage type and head dim (null where the variant needs none); {@code tmax}
     * &gt; 0: attention_v4's, its private score block sized for that many (padded) keys.
     */
    private Built kernels(ElementType type, int headDim, int tmax) {
        return built.computeIfAbsent(type, t -> new HashMap<>()).computeIfAbsent(new Shape(headDim, tmax), key -> {
            int hd = headDim;
            String defines = " -D HD=" + hd;
            if (variant == 2) {
                String o = defines + tuning.defines(GPU_BQ, GPU_BK);
                return new Built(rt.kernel("attention", "attention_v2", o, type), null, null, 0);
            }
            int vw = Math.max(1, Integer.highestOneBit(tuning.get(CPU_VW)));
            while (hd % vw != 0) vw /= 2;
            if (tmax > 0) {
                int vw4 = Math.min(vw, v4Kb); // vectors along the head dim no wider than the score vectors
                V4Split split = v4Split(tuning.get(V4_QR), tuning.get(V4_NK), v4Acc, hd / vw4);
                int rows = split.rows();
                String o = defines + " -D ATTN_CPU_KB=" + v4Kb + tuning.defines(CPU_KN, CPU_SLACK) + " -D ATTN_CPU_VW=" + vw4
                        + " -D ATTN_CPU_QR=1" + " -D ATTN_V4_QR=" + rows + " -D ATTN_V4_NK=" + split.keyVectors()
                        + " -D ATTN_V4_CV=" + split.columnVectors() + " -D ATTN_V4_TMAX=" + tmax;
                return new Built(null, rt.kernel("attention", "attention_v3_kt", o, type),
                        rt.kernel("attention", "attention_v4", o, type), rows);
            }
            int rows = Math.max(1, Math.min(tuning.get(CPU_QR), tuning.get(CPU_ACC) / (hd / vw)));
            String o = defines + tuning.defines(CPU_KB, CPU_KN, CPU_SLACK) + " -D ATTN_CPU_VW=" + vw + " -D ATTN_CPU_QR=" + rows;
            return new Built(null, rt.kernel("attention", "attention_v3_kt", o, type),
                    rt.kernel("attention", "attention_v3", o, type), rows);
        });
    }
}
