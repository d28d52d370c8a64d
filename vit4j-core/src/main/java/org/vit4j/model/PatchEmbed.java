package org.vit4j.model;

import org.vit4j.backend.Backend;
import org.vit4j.backend.DeviceBuffer;
import org.vit4j.backend.PatchEmbedShape;

/**
 * Section 3.1, eq. 1: z0 = [x_class; x_p^1 E; ...; x_p^N E] + E_pos. The image is cut into P x P
 * patches, each flattened and projected by E (a convolution with stride = kernel = P); the learned
 * class token is prepended and the learned position embedding added, all in one op.
 */
final class PatchEmbed {
    private final VitConfig config;
    private final DeviceBuffer proj;
    private final DeviceBuffer projBias;
    private final DeviceBuffer classToken;
    private final DeviceBuffer positionEmbedding;

    PatchEmbed(DeviceWeights w, VitConfig config) {
        this.config = config;
        this.proj = w.get("patch_embed.proj.weight");
        this.projBias = w.get("patch_embed.proj.bias");
        this.classToken = w.get("cls_token");
        this.positionEmbedding = w.get("pos_embed");
    }

    /** images [B, C, H, W] to tokens [B, N + 1, D]. */
    void forward(Backend be, DeviceBuffer images, DeviceBuffer tokens, int batch) {
        PatchEmbedShape shape = new PatchEmbedShape(batch, config.channels(), config.imageHeight(),
                config.imageWidth(), config.patchSize(), config.hiddenSize());
        be.patchEmbed(shape, images, proj, projBias, classToken, positionEmbedding, tokens);
    }
}
