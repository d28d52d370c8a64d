package org.vit4j.io;

import java.util.List;
import org.vit4j.model.VitConfig;
import org.vit4j.model.VitWeights;

/**
 * A checkpoint ready to run: the weights under canonical names with their config, how images must
 * be prepared for it, and its class names (one per logit; "class_N" where none were given).
 */
public record LoadedModel(VitWeights weights, Preprocessing preprocessing, List<String> labels, String source) {
    public VitConfig config() {
        return weights.config();
    }
}
