package org.vit4j.fuzz;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.vit4j.ElementType;
import org.vit4j.HostTensor;
import org.vit4j.io.checkpoint.SafetensorsWriter;
import org.vit4j.io.checkpoint.WeightNaming;
import org.vit4j.model.VitConfig;
import org.vit4j.model.VitWeights;

/**
 * Writes the committed seeds of the safetensors and config targets (the image seeds come from
 * {@code scripts/python/make_fuzz_image_seeds.py}, which uses PIL to make CMYK and YCCK JPEGs):
 *
 * <pre>
 * java -cp vit4j-core/target/classes:vit4j-core/target/test-classes:DEPENDENCIES org.vit4j.fuzz.FuzzSeeds vit4j-core/src/test/resources
 * </pre>
 *
 * Every checkpoint seed is a tiny valid ViT (image 8, patch 4, D 8): loading it succeeds, so the
 * fuzzer starts from inputs that reach the deepest checks.
 */
public final class FuzzSeeds {
    /** Image 8, patch 4, RGB, D 8, 1 block, 2 heads, MLP 16, 3 classes. */
    static final VitConfig TINY = new VitConfig(8, 4, 3, 8, 1, 2, 16, 3, 1e-6, VitConfig.Pooling.CLASS_TOKEN);

    private FuzzSeeds() {}

    /** Writes {@link #TINY} with fixed random weights, timm naming, float32. */
    static Path tinyCheckpoint(Path file) {
        SafetensorsWriter.write(file, weights(TINY, 1), Map.of());
        file.toFile().deleteOnExit();
        return file;
    }

    public static void main(String[] args) throws IOException {
        Path root = Path.of(args.length > 0 ? args[0] : "vit4j-core/src/test/resources").resolve("org/vit4j/fuzz");
        Path st = Files.createDirectories(root.resolve("SafetensorsFuzzTestInputs/fuzz"));
        Map<String, HostTensor> tiny = weights(TINY, 1);
        SafetensorsWriter.write(st.resolve("timm-f32.safetensors"), tiny, Map.of());
        SafetensorsWriter.write(st.resolve("timm-bf16.safetensors"), tiny, Map.of("format", "pt"), ElementType.BF16);
        SafetensorsWriter.write(st.resolve("timm-f16.safetensors"), tiny, Map.of(), ElementType.F16);
        SafetensorsWriter.write(st.resolve("hf-vit-prefix-f32.safetensors"), rename(tiny, WeightNaming.HUGGING_FACE,
                Set.of("vit.embeddings.patch_embeddings.projection.weight")), Map.of());
        SafetensorsWriter.write(st.resolve("hf-bf16.safetensors"), rename(tiny, WeightNaming.HUGGING_FACE, Set.of()),
                Map.of(), ElementType.BF16);
        SafetensorsWriter.write(st.resolve("torchvision-f16.safetensors"), rename(tiny, WeightNaming.TORCHVISION,
                Set.of()), Map.of(), ElementType.F16);
        VitConfig gray = new VitConfig(8, 4, 1, 8, 2, 2, 16, 0, 1e-6, VitConfig.Pooling.CLASS_TOKEN);
        SafetensorsWriter.write(st.resolve("timm-gray-2blocks-nohead-f32.safetensors"),
                weights(gray, 2), Map.of("format", "pt", "note", "grey, no head"));
        VitConfig noBlocks = new VitConfig(4, 4, 3, 4, 0, 1, 16, 2, 1e-6, VitConfig.Pooling.CLASS_TOKEN);
        SafetensorsWriter.write(st.resolve("timm-0blocks-bf16.safetensors"), weights(noBlocks, 3),
                Map.of(), ElementType.BF16);
        Files.write(st.resolve("all-dtypes.safetensors"), allDtypes());
        Files.write(st.resolve("empty.safetensors"), raw("{}", new byte[0]));
        Files.write(st.resolve("metadata-only.safetensors"), raw("{\"__metadata__\":{\"format\":\"pt\"}}", new byte[0]));
        // Regression inputs of fixed findings (each message must be one line and name the file).
        Files.write(st.resolve("regress-newline-in-name-and-dtype.safetensors"),
                raw("{\"a\\nb\": {\"dtype\": \"X\\r\\nY\", \"shape\": [1], \"data_offsets\": [0, 4]}}", new byte[4]));
        Files.write(st.resolve("regress-newline-in-name.safetensors"),
                raw("{\"a\\nb\\u2028c\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", new byte[4]));
        Files.write(st.resolve("regress-dim-over-int.safetensors"), raw("{\"patch_embed.proj.weight\": {\"dtype\": \"F32\", "
                + "\"shape\": [4294967296, 0], \"data_offsets\": [0, 0]}}", new byte[0]));

        Path cfg = Files.createDirectories(root.resolve("ConfigFuzzTestInputs/fuzz"));
        Map<String, String> configs = new LinkedHashMap<>();
        configs.put("hf-config.json", """
                {"model_type": "vit", "architectures": ["ViTForImageClassification"], "hidden_size": 8,
                 "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 16, "image_size": 8,
                 "patch_size": 4, "num_channels": 3, "layer_norm_eps": 1e-12, "qkv_bias": true,
                 "hidden_act": "gelu", "id2label": {"0": "tench", "1": "goldfish", "2": "shark"},
                 "label2id": {"tench": 0, "goldfish": 1, "shark": 2}}
                """);
        configs.put("hf-resized-config.json", """
                {"hidden_size": 8, "num_attention_heads": 2, "image_size": 16, "patch_size": 4,
                 "image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225], "resample": 3}
                """);
        configs.put("timm-config.json", """
                {"architecture": "vit_tiny_patch4_8", "num_classes": 3, "num_features": 8, "num_heads": 2,
                 "global_pool": "token", "label_names": ["a", "b", "c"],
                 "pretrained_cfg": {"input_size": [3, 8, 8], "interpolation": "bicubic", "mean": [0.5, 0.5, 0.5],
                  "std": [0.5, 0.5, 0.5], "crop_pct": 0.875, "num_classes": 3}}
                """);
        configs.put("preprocessor-config.json", """
                {"num_attention_heads": 2, "do_center_crop": false, "do_normalize": true, "do_resize": true,
                 "image_processor_type": "ViTImageProcessor", "image_mean": [0.5, 0.5, 0.5],
                 "image_std": [0.5, 0.5, 0.5], "resample": 2, "rescale_factor": 0.00392156862745098,
                 "size": {"height": 8, "width": 8}}
                """);
        configs.put("minimal-config.json", "{\"num_attention_heads\": 2}\n");
        configs.put("scalars-config.json", """
                {"depth": 1, "num_heads": 1, "in_chans": 3, "image_mean": 0.5, "image_std": 0.25, "crop_pct": 1.0,
                 "interpolation": "nearest", "layer_norm_eps": 1e-5}
                """);
        configs.put("timm-architecture-config.json", "{\"architecture\": \"vit_base_patch16_224\", \"num_classes\": 3}\n");
        // Regression inputs: an input_size past int (wrapped to 8 and accepted before the fix), and the
        // largest image size this checkpoint may be resized to (a 1448 x 1448 position-embedding grid).
        configs.put("regress-input-size-wraps-config.json",
                "{\"num_attention_heads\": 2, \"pretrained_cfg\": {\"input_size\": [3, 8, 4294967304]}}\n");
        configs.put("regress-largest-resize-config.json", "{\"num_attention_heads\": 2, \"image_size\": 5792}\n");
        for (Map.Entry<String, String> e : configs.entrySet()) {
            Files.writeString(cfg.resolve(e.getKey()), e.getValue());
        }
        System.out.println("wrote seeds under " + root);
    }

    /** Every tensor of {@code c}, uniform in [-0.5, 0.5) from {@code seed} (LayerNorm scales near 1). */
    static Map<String, HostTensor> weights(VitConfig c, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        Map<String, HostTensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, int[]> e : VitWeights.expectedShapes(c).entrySet()) {
            float[] d = new float[Math.toIntExact(HostTensor.elementCount(e.getValue()))];
            boolean scale = e.getKey().endsWith("norm1.weight") || e.getKey().endsWith("norm2.weight")
                    || e.getKey().equals("norm.weight");
            for (int i = 0; i < d.length; i++) d[i] = (float) ((scale ? 1 : 0) + r.nextDouble() - 0.5);
            out.put(e.getKey(), new HostTensor(d, e.getValue()));
        }
        return out;
    }

    /** The tensors under another naming; Hugging Face's q, k and v are the thirds of timm's qkv. */
    static Map<String, HostTensor> rename(Map<String, HostTensor> timm, WeightNaming naming, Set<String> present) {
        Map<String, HostTensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, HostTensor> e : timm.entrySet()) {
            List<String> names = naming.sourceNames(e.getKey(), present);
            HostTensor t = e.getValue();
            if (names.size() == 1) {
                out.put(names.get(0), t);
                continue;
            }
            float[] d = t.data();
            int rows = t.dim(0) / names.size();
            int per = d.length / names.size();
            for (int i = 0; i < names.size(); i++) {
                int[] shape = t.shape();
                shape[0] = rows;
                out.put(names.get(i), new HostTensor(Arrays.copyOfRange(d, i * per, (i + 1) * per), shape));
            }
        }
        return out;
    }

    /** One tensor of every dtype, a scalar and an empty tensor: the reader's paths beyond ViTs. */
    private static byte[] allDtypes() {
        String[][] entries = {
            {"f64", "F64", "[2]", "16"}, {"f32_scalar", "F32", "[]", "4"}, {"f32_empty", "F32", "[0, 3]", "0"},
            {"f16", "F16", "[2, 1]", "4"}, {"bf16", "BF16", "[2]", "4"}, {"f8_e4m3", "F8_E4M3", "[2]", "2"},
            {"f8_e5m2", "F8_E5M2", "[1]", "1"}, {"i64", "I64", "[1]", "8"}, {"i32", "I32", "[2]", "8"},
            {"i16", "I16", "[1]", "2"}, {"i8", "I8", "[3]", "3"}, {"u64", "U64", "[1]", "8"}, {"u32", "U32", "[1]", "4"},
            {"u16", "U16", "[1]", "2"}, {"u8", "U8", "[4]", "4"}, {"bool", "BOOL", "[2]", "2"},
        };
        StringBuilder h = new StringBuilder("{");
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        int offset = 0;
        for (String[] e : entries) {
            int n = Integer.parseInt(e[3]);
            if (h.length() > 1) h.append(", ");
            h.append('"').append(e[0]).append("\": {\"dtype\": \"").append(e[1]).append("\", \"shape\": ").append(e[2])
                    .append(", \"data_offsets\": [").append(offset).append(", ").append(offset + n).append("]}");
            for (int i = 0; i < n; i++) data.write(e[1].equals("BOOL") ? i & 1 : 0x3c + i);
            offset += n;
        }
        h.append('}');
        return raw(h.toString(), data.toByteArray());
    }

    private static byte[] raw(String header, byte[] data) {
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + json.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(json.length).put(json).put(data);
        return b.array();
    }
}
