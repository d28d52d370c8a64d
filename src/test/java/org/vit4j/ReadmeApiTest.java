package org.vit4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.vit4j.backend.Backend;
import org.vit4j.backend.Backends;
import org.vit4j.io.CheckpointLoader;
import org.vit4j.io.EmbeddedDefaultModel;
import org.vit4j.io.ImagePreprocessor;
import org.vit4j.io.LoadedModel;
import org.vit4j.model.Predictions;
import org.vit4j.model.VisionTransformer;
import org.vit4j.model.VitOutput;

/** The README's "Java API in ten lines", verbatim but for the paths: it must compile and work. */
class ReadmeApiTest {

    @Test
    void theTenLinesClassifyASample() {
        Path dir = EmbeddedDefaultModel.extract();
        Path weights = dir.resolve("model.safetensors"), image = dir.resolve("samples/digit-7.png");
        String printed;
        // ---- from README.md ----
        LoadedModel m = CheckpointLoader.load(weights); // + config.json beside it
        try (Backend backend = Backends.open("auto");                                 // cuda > opencl > cpu
             VisionTransformer vit = new VisionTransformer(m.weights(), backend)) {    // uploads the weights once
            HostTensor images = ImagePreprocessor.loadBatch(List.of(image), m.preprocessing());
            VitOutput out = vit.forward(images);      // out.logits() [B, classes], out.preLogits() [B, D]
            Predictions top = out.topK(5, m.labels()).get(0);   // softmax, the 5 most probable, labels from id2label
            printed = top.best().label() + " " + top.best().probability();
            assertEquals(5, top.top().size());
        }
        // ----
        assertTrue(printed.startsWith("7 0.9"), printed);
    }
}
