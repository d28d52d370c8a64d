package org.vit4j.fuzz;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.vit4j.HostTensor;
import org.vit4j.io.checkpoint.CheckpointLoader;
import org.vit4j.io.checkpoint.ConfigOverrides;
import org.vit4j.io.checkpoint.SafetensorsFile;
import org.vit4j.io.checkpoint.TensorInfo;

/**
 * Fuzzes the safetensors reader with whole files: the header is parsed and validated
 * ({@link SafetensorsFile#open}), every tensor is read in every way the API offers (as stored, as
 * float32, as raw bytes), then the file is loaded as a ViT checkpoint ({@link CheckpointLoader},
 * heads given as 1 so that shapes alone decide), which runs the naming detection and every shape
 * check. Seeds: tiny valid checkpoints in timm, Hugging Face and torchvision naming, in F32, BF16
 * and F16, and files of other dtypes, in {@code src/test/resources/org/vit4j/fuzz/SafetensorsFuzzTestInputs/fuzz}
 * (each file there runs as a regression test under plain {@code mvn test}).
 *
 * <p>Memory bound per input: 32 MiB plus 16 bytes per input byte (a float32 copy of an F16 tensor
 * is twice its bytes; the loader may hold two copies of a tensor while concatenating its parts).
 */
class SafetensorsFuzzTest {
    private static final Path DIR = FuzzProperty.workDir("safetensors");
    private static final Path FILE = DIR.resolve("model.safetensors");
    private static final ConfigOverrides HEADS_1 = new ConfigOverrides(1, null, null);
    /** Tensors (in name order) read through every accessor; the all-dtypes seed has 16. */
    private static final int READ_EVERY_WAY = 16;

    @FuzzTest
    @Timeout(value = 10, unit = TimeUnit.SECONDS)
    @DictionaryEntries({"\"dtype\"", "\"shape\"", "\"data_offsets\"", "\"__metadata__\"", "\"F32\"", "\"F16\"",
        "\"BF16\"", "\"F64\"", "\"I64\"", "\"U8\"", "\"BOOL\"", "\"F8_E4M3\"", "patch_embed.proj.weight", "pos_embed",
        "cls_token", "blocks.0.", "attn.qkv.weight", "vit.", "encoder.layer.", "conv_proj.weight",
        "encoder.layers.encoder_layer_", "classifier.weight", "head.weight"})
    void fuzz(byte[] data) {
        FuzzProperty.write(FILE, data);
        FuzzProperty.check("safetensors", (32L << 20) + 16L * data.length, List.of("model.safetensors"), () -> {
            try (SafetensorsFile f = SafetensorsFile.open(FILE)) {
                f.metadata();
                int i = 0;
                for (String name : f.names()) {
                    TensorInfo t = f.info(name);
                    // Every accessor on the first tensors; the loader below reads all of them once. (Each
                    // read maps the tensor's bytes: three reads of every tensor would triple the cost of an
                    // input, ~75 mappings for the tiny ViT seeds, for no new path.)
                    if (i++ >= READ_EVERY_WAY) continue;
                    f.rawBytes(name);
                    if (t.dtype().isFloatConvertible()) {
                        HostTensor h = f.read(name);
                        h.toFloats();
                        f.readFloats(name);
                    }
                }
                CheckpointLoader.load(f, null, HEADS_1);
            }
        });
    }
}
