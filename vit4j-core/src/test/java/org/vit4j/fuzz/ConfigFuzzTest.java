package org.vit4j.fuzz;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.vit4j.io.checkpoint.CheckpointLoader;
import org.vit4j.io.checkpoint.ConfigOverrides;
import org.vit4j.io.checkpoint.LoadedModel;
import org.vit4j.io.checkpoint.ModelConfigFile;
import org.vit4j.io.checkpoint.SafetensorsFile;

/**
 * Fuzzes the config reader with whole {@code config.json} files: {@link ModelConfigFile#read}, the
 * same bytes read again as a Hugging Face {@code preprocessor_config.json}
 * ({@link ModelConfigFile#withPreprocessorConfig}), then the config applied to a fixed tiny valid
 * checkpoint ({@link CheckpointLoader#load(SafetensorsFile, ModelConfigFile, ConfigOverrides)}), which
 * checks what it states against the tensors, builds the model's config and its preprocessing, and
 * resizes the position embedding where it asks for another image size. Seeds: Hugging Face, timm
 * and preprocessor configs in {@code src/test/resources/org/vit4j/fuzz/ConfigFuzzTestInputs/fuzz}.
 *
 * <p>The checkpoint: image 8, patch 4, 3 channels, D 8, 1 block, MLP 16, 3 classes (2 heads fit).
 * Memory bound per input: 48 MiB, plus 64 bytes per input byte (Jackson's tree of a JSON file is a
 * few times its size), plus 16 bytes per element of the position embedding the model ends up with
 * (a config {@code image_size} larger than the checkpoint's resizes it, up to the model size
 * {@code VitConfig} accepts: 2^31 / 64 activations per image; image_size 5792 on this checkpoint
 * makes 16.8M elements, 64 MB).
 */
class ConfigFuzzTest {
    private static final Path DIR = FuzzProperty.workDir("config");
    private static final Path FILE = DIR.resolve("config.json");
    private static final SafetensorsFile TINY = SafetensorsFile.open(FuzzSeeds.tinyCheckpoint(DIR.resolve("model.safetensors")));

    @FuzzTest
    @Timeout(value = 10, unit = TimeUnit.SECONDS)
    @DictionaryEntries({"\"hidden_size\"", "\"num_hidden_layers\"", "\"num_attention_heads\"", "\"intermediate_size\"",
        "\"image_size\"", "\"patch_size\"", "\"num_channels\"", "\"layer_norm_eps\"", "\"id2label\"", "\"label2id\"",
        "\"architecture\"", "\"num_classes\"", "\"label_names\"", "\"pretrained_cfg\"", "\"input_size\"", "\"mean\"",
        "\"std\"", "\"crop_pct\"", "\"interpolation\"", "\"image_mean\"", "\"image_std\"", "\"resample\"", "\"size\"",
        "\"do_center_crop\"", "\"depth\"", "\"num_heads\"", "\"in_chans\"", "\"bicubic\"", "\"bilinear\"", "\"nearest\"",
        "\"vit_tiny_patch16_224\"", "\"vit_base_patch16_224\"", "null", "true", "1e-6", "-0", "2147483648"})
    void fuzz(byte[] data) {
        FuzzProperty.write(FILE, data);
        long[] posEmbed = {0};
        FuzzProperty.check("config", () -> (48L << 20) + 64L * data.length + 16L * posEmbed[0],
                List.of("config.json", "model.safetensors"), () -> {
            ModelConfigFile cfg = ModelConfigFile.read(FILE);
            cfg = cfg.withPreprocessorConfig(FILE);
            LoadedModel m = CheckpointLoader.load(TINY, cfg, ConfigOverrides.NONE);
            // what ImagePreprocessor asks of it: the short side for a square output, both sides for another
            // (resizeShortSide is square-only by contract, an error for a non-square config found here)
            if (m.preprocessing().isSquare()) m.preprocessing().resizeShortSide();
            m.preprocessing().resizeHeight();
            m.preprocessing().resizeWidth();
            posEmbed[0] = m.weights().get("pos_embed").elementCount();
        });
    }
}
