package org.vit4j.backend.opencl;

import org.jocl.cl_kernel;
import org.vit4j.backend.PatchEmbedShape;

/** The fused patch-embedding GEMM (kernels/opencl/patch_embed.cl). */
final class PatchEmbedOps {
    static final TuningParam WG = new TuningParam("PE_WG", 16, 8, "work-group side of patch_embed_v1");

    private final ClRuntime rt;
    private final int wg;
    private final cl_kernel kernel;

    PatchEmbedOps(ClRuntime rt, Tuning tuning) {
        this.rt = rt;
        this.wg = tuning.get(WG);
        this.kernel = rt.kernel("patch_embed", "patch_embed_v1", tuning.defines(WG));
    }

    void patchEmbed(PatchEmbedShape s, ClBuffer images, ClBuffer w, ClBuffer bias, ClBuffer cls, ClBuffer pos,
            ClBuffer out) {
        long rows = (long) s.batch() * s.tokens();
        long[] global = {(s.dim() + wg - 1) / wg * (long) wg, (rows + wg - 1) / wg * wg};
        rt.launch(kernel, "patch_embed_v1", global, new long[] {wg, wg}, images, w, bias, cls, pos, out, s.batch(),
                s.channels(), s.imageSize(), s.patch(), s.dim());
    }
}
