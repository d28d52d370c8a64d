package org.vit4j.io.checkpoint;

import java.util.List;
import org.vit4j.model.Predictions;
import org.vit4j.model.VitConfig;
import org.vit4j.model.VitOutput;
import org.vit4j.model.VitWeights;
import org.vit4j.io.image.Preprocessing;

/**
 * A checkpoint ready to run: the weights under canonical names with their config, how images must
 * be prepared for it, and its class names (one per logit; "class_N" where none were given).
 */
public record LoadedModel(VitWeights weights, Preprocessing preprocessing, List<String> labels, String source) {
    public VitConfig config() {
        return weights.config();
    }

    /** The {@code k} most probable classes of each image of {@code out}, with this checkpoint's labels. */
    public List<Predictions> topK(VitOutput out, int k) {
        return out.topK(k, labels);
    }
}
