package org.vit4j.backend.opencl;

import java.util.EnumMap;
import java.util.HashMap;
import java.util.Map;
import org.jocl.cl_kernel;
import org.vit4j.ElementType;
import org.vit4j.Vit4jException;

/**
 * Flash-style scaled dot-product attention (kernels/opencl/attention.cl). Three variants, chosen by
 * {@link #VARIANT}: the naive v1 baseline, a GPU kernel that tiles K/V through local memory, and a
 * CPU kernel that keeps everything in vector registers (K transposed once into a scratch buffer).
 * The v2/v3 kernels are built per head dim (a -D define), so their loops over it are unrolled, and
 * per storage type; the K^T scratch has the op's storage type (an exact copy of K).
 */
final class AttentionOps {
    static final TuningParam VARIANT = new TuningParam("ATTN_VARIANT", 2, 3,
            "1 = attention_v1 (naive), 2 = attention_v2 (local-memory tiles), 3 = attention_v3 (vector registers)");
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
    static final TuningParam CPU_WG = new TuningParam("ATTN_CPU_WG", 4, 4, "work-group size of attention_v3");
    static final int MAX_HEAD_DIM = 128;

    private final ClRuntime rt;
    private final Tuning tuning;
    private final int variant;
    private final Map<ElementType, Map<Integer, Built>> built = new EnumMap<>(ElementType.class);
    private final Allocator allocate;
    /**
     * K^T for attention_v3 per storage type, kept between calls and regrown when a call needs more;
     * absent until needed.
     */
    private final Map<ElementType, ClBuffer> scratch = new EnumMap<>(ElementType.class);

    /** The kernels built for one head dim, and the rows per work-item attention_v3 was built with. */
    private record Built(cl_kernel flash, cl_kernel kt, cl_kernel cpu, int rows) {}

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
        if (variant < 1 || variant > 3) throw new Vit4jException("ATTN_VARIANT must be 1, 2 or 3, got " + variant);
        int kb = tuning.get(CPU_KB);
        if (kb != 8 && kb != 16) throw new Vit4jException("ATTN_CPU_KB must be 8 or 16, got " + kb);
        int kn = tuning.get(CPU_KN);
        if (kn < 1 || kn > 4) throw new Vit4jException("ATTN_CPU_KN must be 1 to 4, got " + kn);
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
        cl_kernel k = kernels(qkv.dtype(), headDim).flash();
        rt.launch(k, "attention_v2", new long[] {(tokens + bq - 1L) / bq * bq, (long) batch * heads},
                new long[] {bq, 1}, qkv, out, batch, tokens, heads, scale);
    }

    private void cpu(ClBuffer qkv, ClBuffer out, int batch, int tokens, int heads, int headDim, float scale) {
        ElementType type = qkv.dtype();
        Built k = kernels(type, headDim);
        int kb = tuning.get(CPU_KB) * tuning.get(CPU_KN), qr = k.rows(), wg = tuning.get(CPU_WG);
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
        rt.launch(k.kt(), "attention_v3_kt", new long[] {tpad, bh}, null, qkv, ktBuf, batch, tokens, heads, tpad);
        long n = bh * ((tokens + qr - 1) / qr);
        rt.launch(k.cpu(), "attention_v3", new long[] {(n + wg - 1) / wg * wg}, new long[] {wg}, qkv, ktBuf, out,
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

    /** The kernels for one storage type and head dim (null where the variant needs none). */
    private Built kernels(ElementType type, int headDim) {
        return built.computeIfAbsent(type, t -> new HashMap<>()).computeIfAbsent(headDim, hd -> {
            String defines = " -D HD=" + hd;
            if (variant == 2) {
                String o = defines + tuning.defines(GPU_BQ, GPU_BK);
                return new Built(rt.kernel("attention", "attention_v2", o, type), null, null, 0);
            }
            int vw = Math.max(1, Integer.highestOneBit(tuning.get(CPU_VW)));
            while (hd % vw != 0) vw /= 2;
            int rows = Math.max(1, Math.min(tuning.get(CPU_QR), tuning.get(CPU_ACC) / (hd / vw)));
            String o = defines + tuning.defines(CPU_KB, CPU_KN, CPU_SLACK) + " -D ATTN_CPU_VW=" + vw + " -D ATTN_CPU_QR=" + rows;
            return new Built(null, rt.kernel("attention", "attention_v3_kt", o, type),
                    rt.kernel("attention", "attention_v3", o, type), rows);
        });
    }
}
