package org.vit4j.backend.opencl;

import org.jocl.cl_kernel;
import org.vit4j.Vit4jException;

/** Flash-style scaled dot-product attention (kernels/opencl/attention.cl). */
final class AttentionOps {
    static final TuningParam WG = new TuningParam("ATTN_WG", 64, 8, "work-group size of attention_v1");
    static final int MAX_HEAD_DIM = 128;

    private final ClRuntime rt;
    private final int wg;
    private final cl_kernel kernel;

    AttentionOps(ClRuntime rt, Tuning tuning) {
        this.rt = rt;
        this.wg = tuning.get(WG);
        this.kernel = rt.kernel("attention", "attention_v1", tuning.defines(WG) + " -D HD_MAX=" + MAX_HEAD_DIM);
    }

    void attention(ClBuffer qkv, ClBuffer out, int batch, int tokens, int heads, int headDim, float scale) {
        if (headDim > MAX_HEAD_DIM) {
            throw new Vit4jException("attention: head dim " + headDim + " exceeds the OpenCL kernel's maximum of "
                    + MAX_HEAD_DIM);
        }
        long n = (long) batch * heads * tokens;
        rt.launch(kernel, "attention_v1", new long[] {(n + wg - 1) / wg * wg}, new long[] {wg}, qkv, out, batch,
                tokens, heads, headDim, scale);
    }
}
