package org.vit4j.io.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What a {@code config.json} beside the weights says about the model. Understands the Hugging Face
 * ViTConfig keys ({@code hidden_size}, {@code num_hidden_layers}, {@code num_attention_heads},
 * {@code intermediate_size}, {@code image_size} (an integer, or {@code [height, width]}), {@code patch_size}, {@code num_channels},
 * {@code layer_norm_eps}, {@code id2label}), timm's hub config ({@code architecture},
 * {@code num_classes}, {@code label_names}, {@code pretrained_cfg} with {@code input_size} ({@code [C, H, W]}),
 * {@code mean}, {@code std}, {@code crop_pct}, {@code interpolation}) and the preprocessing keys of
 * a Hugging Face {@code preprocessor_config.json} ({@code image_mean}, {@code image_std},
 * {@code resample}, {@code size}), which are also read at the top level of config.json. Every field
 * is optional (null when absent); what the tensors show is checked against it by
 * {@link CheckpointLoader}.
 */
public record ModelConfigFile(
        Path path,
        Integer hiddenSize,
        Integer depth,
        Integer heads,
        Integer mlpSize,
        Integer imageHeight,
        Integer imageWidth,
        Integer patchSize,
        Integer channels,
        Integer numClasses,
        Double layerNormEps,
        String architecture,
        List<String> labels,
        float[] mean,
        float[] std,
        Double cropPct,
        String interpolation,
        boolean directResize,
        JsonNode raw) {

    private static final ObjectMapper JSON = new ObjectMapper();

    public static ModelConfigFile read(Path path) {
        if (Files.exists(path) && !Files.isRegularFile(path)) { // a pipe would block the read forever
            throw new CheckpointException(path + ": is not a regular file, expected a config.json");
        }
        JsonNode root;
        try {
            root = JSON.readTree(Files.readAllBytes(path));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            // Jackson's own message carries "Source: REDACTED" and a snippet; say where, in words.
            var at = e.getLocation();
            throw new CheckpointException(path + ": cannot read config: not valid JSON" + (at == null ? "" : " at line " + at.getLineNr()
                    + ", column " + at.getColumnNr()) + ": " + oneLine(e.getOriginalMessage()), e);
        } catch (IOException e) {
            throw new CheckpointException(path + ": cannot read config: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new CheckpointException(path + ": expected a JSON object with the model's config");
        }
        Reader r = new Reader(path, root);
        JsonNode timm = root.path("pretrained_cfg");
        int[] imageSize = r.heightWidth(root, "image_size");
        if (imageSize == null && timm.has("input_size")) {
            JsonNode in = timm.get("input_size");
            imageSize = new int[] {r.intAt(in, 1, "pretrained_cfg.input_size"), r.intAt(in, 2, "pretrained_cfg.input_size")};
        }
        Integer classes = r.integer(root, "num_classes");
        List<String> labels = r.labels(root);
        if (classes == null && labels != null) classes = labels.size();
        return new ModelConfigFile(path,
                r.integer(root, "hidden_size"),
                firstNonNull(r.integer(root, "num_hidden_layers"), r.integer(root, "depth")),
                firstNonNull(r.integer(root, "num_attention_heads"), r.integer(root, "num_heads")),
                r.integer(root, "intermediate_size"),
                imageSize == null ? null : imageSize[0],
                imageSize == null ? null : imageSize[1],
                r.squareSide(root, "patch_size"),
                firstNonNull(r.integer(root, "num_channels"), r.integer(root, "in_chans")),
                classes,
                r.number(root, "layer_norm_eps"),
                root.hasNonNull("architecture") ? root.get("architecture").asText() : null,
                labels,
                firstNonNull(r.floats(root, "image_mean"), r.floats(timm, "mean")),
                firstNonNull(r.floats(root, "image_std"), r.floats(timm, "std")),
                firstNonNull(r.number(root, "crop_pct"), r.number(timm, "crop_pct")),
                firstNonNull(r.interpolation(root), r.text(timm, "interpolation")),
                false,
                root);
    }

    /**
     * Reads Hugging Face's {@code preprocessor_config.json}: the image processor resizes straight to
     * the model's size (no crop) unless it says {@code do_center_crop}; its mean, std and resample
     * win over config.json's.
     */
    public ModelConfigFile withPreprocessorConfig(Path preprocessor) {
        ModelConfigFile p = read(preprocessor);
        boolean crop = p.raw.path("do_center_crop").asBoolean(false);
        return new ModelConfigFile(path, hiddenSize, depth, heads, mlpSize, imageHeight, imageWidth, patchSize, channels,
                numClasses, layerNormEps, architecture, labels,
                firstNonNull(p.mean, mean), firstNonNull(p.std, std), firstNonNull(p.cropPct, cropPct),
                firstNonNull(p.interpolation, interpolation), !crop, raw);
    }

    @SafeVarargs
    private static <T> T firstNonNull(T... values) {
        for (T v : values) if (v != null) return v;
        return null;
    }

    /** Typed reads that name the file and key when a value has the wrong type. */
    private record Reader(Path path, JsonNode root) {
        CheckpointException wrong(String key, String expected, JsonNode got) {
            return new CheckpointException(path + ": key '" + key + "' should be " + expected + ", got " + got);
        }

        Integer integer(JsonNode node, String key) {
            JsonNode v = node.get(key);
            if (v == null || v.isNull()) return null;
            if (!v.canConvertToExactIntegral() || !v.canConvertToInt()) throw wrong(key, "an integer", v);
            return v.asInt();
        }

        /**
         * Hugging Face's {@code image_size}: an integer (a square) or {@code [height, width]}; null when
         * absent.
         */
        int[] heightWidth(JsonNode node, String key) {
            JsonNode v = node.get(key);
            if (v == null || v.isNull()) return null;
            if (v.isArray()) {
                if (v.size() != 2) throw wrong(key, "an integer or [height, width]", v);
                return new int[] {intAt(v, 0, key), intAt(v, 1, key)};
            }
            if (!v.canConvertToExactIntegral() || !v.canConvertToInt()) throw wrong(key, "an integer or [height, width]", v);
            return new int[] {v.asInt(), v.asInt()};
        }

        /** {@code patch_size}: an integer, or {@code [p, p]} (vit4j's patches are square). */
        Integer squareSide(JsonNode node, String key) {
            JsonNode v = node.get(key);
            if (v != null && v.isArray()) {
                int[] hw = heightWidth(node, key);
                if (hw[0] != hw[1]) throw wrong(key, "a square patch (an integer or [p, p]; vit4j has no "
                        + "rectangular patches)", v);
                return hw[0];
            }
            return integer(node, key);
        }

        Integer intAt(JsonNode array, int index, String key) {
            if (!array.isArray() || array.size() <= index || !array.get(index).canConvertToExactIntegral()
                    || !array.get(index).canConvertToInt()) { // 4294967304 would wrap to 8
                throw wrong(key, "an array of integers with at least " + (index + 1) + " entries", array);
            }
            return array.get(index).asInt();
        }

        Double number(JsonNode node, String key) {
            JsonNode v = node.get(key);
            if (v == null || v.isNull()) return null;
            if (!v.isNumber()) throw wrong(key, "a number", v);
            return v.asDouble();
        }

        String text(JsonNode node, String key) {
            JsonNode v = node.get(key);
            if (v == null || v.isNull()) return null;
            if (!v.isTextual()) throw wrong(key, "a string", v);
            return v.asText();
        }

        float[] floats(JsonNode node, String key) {
            JsonNode v = node.get(key);
            if (v == null || v.isNull()) return null;
            if (v.isNumber()) return new float[] {(float) v.asDouble()};
            if (!v.isArray() || v.isEmpty()) throw wrong(key, "a number or a non-empty array of numbers", v);
            float[] out = new float[v.size()];
            for (int i = 0; i < out.length; i++) {
                if (!v.get(i).isNumber()) throw wrong(key, "an array of numbers", v);
                out[i] = (float) v.get(i).asDouble();
            }
            return out;
        }

        /** {@code interpolation} as a name, or Hugging Face's {@code resample} as a PIL filter number. */
        String interpolation(JsonNode node) {
            String name = text(node, "interpolation");
            if (name != null) return name;
            Integer resample = integer(node, "resample");
            if (resample == null) return null;
            return switch (resample) {
                case 0 -> "nearest";
                case 2 -> "bilinear";
                case 3 -> "bicubic";
                default -> throw wrong("resample", "a PIL filter 0 (nearest), 2 (bilinear) or 3 (bicubic)",
                        node.get("resample"));
            };
        }

        /** {@code id2label} ({"0": "tench", ...}) or timm's {@code label_names}, in class order. */
        List<String> labels(JsonNode node) {
            JsonNode names = node.get("label_names");
            if (names != null && names.isArray()) {
                List<String> out = new ArrayList<>();
                names.forEach(n -> out.add(n.asText()));
                return out;
            }
            JsonNode id2label = node.get("id2label");
            if (id2label == null || id2label.isNull()) return null;
            if (!id2label.isObject()) throw wrong("id2label", "an object {\"0\": \"label\", ...}", id2label);
            String[] out = new String[id2label.size()];
            var fields = id2label.fields();
            while (fields.hasNext()) {
                var e = fields.next();
                int id;
                try {
                    id = Integer.parseInt(e.getKey());
                } catch (NumberFormatException ex) {
                    throw wrong("id2label", "class indices as keys", id2label);
                }
                if (id < 0 || id >= out.length || out[id] != null) {
                    throw wrong("id2label", "the keys 0.." + (out.length - 1) + ", each once", id2label);
                }
                out[id] = e.getValue().asText();
            }
            return List.of(out);
        }
    }

    private static String oneLine(String s) {
        return s == null ? "" : s.replace('\n', ' ').replace('\r', ' ');
    }
}
