package org.vit4j.io.checkpoint;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.vit4j.HostTensor;
import org.vit4j.Vit4jException;
import org.vit4j.model.VitConfig;
import org.vit4j.model.VitWeights;
import org.vit4j.model.WeightsException;
import org.vit4j.io.image.Preprocessing;

/**
 * Loads a ViT from a safetensors checkpoint in timm, Hugging Face or torchvision naming: one file, a
 * Hugging Face hub directory (config.json with model.safetensors, or with a sharded
 * model.safetensors.index.json and its shards), or a shard index itself.
 *
 * <p>The tensors fix D, C, P, depth, MLP size, classes and the checkpoint's image size; a
 * {@code config.json} beside the weights (or given explicitly) and {@link ConfigOverrides} add what
 * shapes cannot tell (heads, LayerNorm epsilon, labels, preprocessing), and whatever they state
 * that the tensors also show must agree. A tensor the model does not use is an error, unless it is
 * one vit4j knows to be unused (Hugging Face's pooler): silently dropping, say, a layer-scale
 * factor would give wrong answers.
 */
public final class CheckpointLoader {
    private static final Logger LOG = LoggerFactory.getLogger(CheckpointLoader.class);

    private CheckpointLoader() {}

    /** Loads {@code weights}, with {@code config.json} (and {@code preprocessor_config.json}) from beside it if there. */
    public static LoadedModel load(Path weights) {
        return load(weights, null, ConfigOverrides.NONE);
    }

    /**
     * @param config    a config.json, or null to use the one beside {@code weights} if any
     * @param overrides what the caller states; wins over config.json
     */
    public static LoadedModel load(Path weights, Path config, ConfigOverrides overrides) {
        weights = resolve(weights);
        if (config == null) {
            Path beside = weights.toAbsolutePath().resolveSibling("config.json");
            if (Files.isRegularFile(beside)) config = beside;
        } else if (!Files.isRegularFile(config)) {
            throw new CheckpointException(config + ": config file not found");
        }
        ModelConfigFile cfg = null;
        if (config != null) {
            cfg = ModelConfigFile.read(config);
            Path preprocessor = config.toAbsolutePath().resolveSibling("preprocessor_config.json");
            if (Files.isRegularFile(preprocessor)) cfg = cfg.withPreprocessorConfig(preprocessor);
        }
        if (!Files.isRegularFile(weights)) {
            throw new CheckpointException(weights + ": " + (!Files.exists(weights) ? "weights file not found"
                    : Files.isDirectory(weights) ? "is a directory, expected a safetensors weights file"
                    : "is not a regular file (a named pipe or a device?), expected a safetensors weights file"));
        }
        try (TensorSource file = weights.getFileName().toString().endsWith(".index.json")
                ? ShardedSafetensors.open(weights) : SafetensorsFile.open(weights)) {
            return load(file, cfg, overrides == null ? ConfigOverrides.NONE : overrides);
        }
    }

    /**
     * The checkpoint file {@code weights} names: itself, or in a Hugging Face hub directory its
     * {@code model.safetensors}, else its {@code model.safetensors.index.json} (a sharded checkpoint).
     */
    public static Path resolve(Path weights) {
        if (!Files.isDirectory(weights)) return weights;
        Path single = weights.resolve("model.safetensors");
        if (Files.isRegularFile(single)) return single;
        Path index = weights.resolve(ShardedSafetensors.INDEX_NAME);
        if (Files.isRegularFile(index)) return index;
        String other = Files.exists(weights.resolve("pytorch_model.bin")) ? "; it holds pytorch_model.bin, which vit4j "
                + "does not read (convert it to safetensors)" : "";
        throw new CheckpointException(weights + ": is a directory without model.safetensors or "
                + ShardedSafetensors.INDEX_NAME + "; expected a safetensors weights file or a Hugging Face hub "
                + "directory holding one of them" + other);
    }

    /** Loads from an open file (or shard set); {@code cfg} may be null. */
    public static LoadedModel load(TensorSource file, ModelConfigFile cfg, ConfigOverrides over) {
        String src = file.path().getFileName().toString();
        Set<String> names = file.names();
        WeightNaming naming = WeightNaming.detect(names, src);
        Mapping map = new Mapping(file, naming, src);

        // ---- what the tensors show ----
        int[] proj = map.shape("patch_embed.proj.weight");
        if (proj.length != 4 || proj[2] != proj[3]) {
            throw new CheckpointException(src + ": patch projection " + map.describe("patch_embed.proj.weight")
                    + " has shape " + Arrays.toString(proj) + ", expected [D, C, P, P]");
        }
        int d = proj[0], channels = proj[1], patch = proj[2];
        int depth = depth(naming, names, src);
        int mlp = depth > 0 ? map.shape("blocks.0.mlp.fc1.weight")[0] : 4 * d;
        int classes = map.has("head.weight") ? map.shape("head.weight")[0] : 0;
        int[] pos = map.shape("pos_embed");
        if (pos.length != 3 || pos[0] != 1 || pos[2] != d) {
            throw new CheckpointException(src + ": position embedding " + map.describe("pos_embed") + " has shape "
                    + Arrays.toString(pos) + ", expected [1, 1 + N, " + d + "]");
        }
        // The grid the position embedding was learned on: the config's image size where its grid has as
        // many patches (the only way to know a non-square one), else the square grid of that many.
        int patches = pos[1] - 1, gridH, gridW;
        if (cfg != null && cfg.imageHeight() != null && cfg.imageHeight() % patch == 0 && cfg.imageWidth() % patch == 0
                && (long) (cfg.imageHeight() / patch) * (cfg.imageWidth() / patch) == patches && patches > 0) {
            gridH = cfg.imageHeight() / patch;
            gridW = cfg.imageWidth() / patch;
        } else {
            int grid = (int) Math.round(Math.sqrt(patches));
            if (grid * grid != patches || grid == 0) {
                throw new CheckpointException(src + ": position embedding " + map.describe("pos_embed") + " has "
                        + pos[1] + " tokens; expected a class token plus a square grid of patches, or a config.json "
                        + "image_size [height, width] whose grid at patch " + patch + " has " + patches + " patches");
            }
            gridH = grid;
            gridW = grid;
        }
        int trainedH = gridH * patch, trainedW = gridW * patch;

        // ---- what the config states, checked against the tensors ----
        String cfgName = cfg == null ? null : cfg.path().getFileName().toString();
        if (cfg != null) {
            agree(cfgName, "hidden_size", cfg.hiddenSize(), d, src);
            agree(cfgName, "num_hidden_layers", cfg.depth(), depth, src);
            agree(cfgName, "intermediate_size", cfg.mlpSize(), mlp, src);
            agree(cfgName, "patch_size", cfg.patchSize(), patch, src);
            agree(cfgName, "num_channels", cfg.channels(), channels, src);
            if (classes > 0) agree(cfgName, "number of labels", cfg.numClasses(), classes, src);
        }
        Integer heads = over.heads();
        if (heads == null && cfg != null) heads = cfg.heads();
        if (heads == null && cfg != null && cfg.architecture() != null) {
            int h = VitConfig.headsOfTimmArchitecture(cfg.architecture());
            if (h > 0) heads = h;
        }
        if (heads == null) {
            throw new CheckpointException(src + ": the number of attention heads is not stated and cannot be "
                    + "read off the tensors; give a config.json with num_attention_heads, or --heads (D = " + d
                    + "; ViT-Ti/S/B/L/H use 3/6/12/16/16)");
        }
        int height = trainedH, width = trainedW;
        if (over.imageHeight() != null) {
            height = over.imageHeight();
            width = over.imageWidth();
            if (height <= 0 || width <= 0 || height % patch != 0 || width % patch != 0) {
                throw new CheckpointException(src + ": the image size asked for, " + VitConfig.sizeText(height, width)
                        + " (height x width), is not a multiple of the checkpoint's patch size " + patch
                        + " on both sides; expected e.g. " + VitConfig.sizeText(Math.max(1, height / patch) * patch,
                        Math.max(1, width / patch) * patch));
            }
        } else if (cfg != null && cfg.imageHeight() != null) {
            height = cfg.imageHeight();
            width = cfg.imageWidth();
        }
        Double eps = over.layerNormEps();
        if (eps == null && cfg != null) eps = cfg.layerNormEps();
        if (eps == null) eps = VitConfig.DEFAULT_LAYER_NORM_EPS;

        VitConfig trained;
        VitConfig wanted;
        try {
            trained = new VitConfig(trainedH, trainedW, patch, channels, d, depth, heads, mlp, classes, eps,
                    VitConfig.Pooling.CLASS_TOKEN);
            wanted = trained.withImageSize(height, width);
        } catch (CheckpointException e) {
            throw e;
        } catch (Vit4jException e) { // VitConfig's own complaint: say which files it comes from
            throw new CheckpointException(src + (cfgName == null ? "" : " with " + cfgName) + ": " + e.getMessage(), e);
        }
        // The preprocessing before any tensor is read or resized: an image size it refuses is an error before
        // the position embedding is resampled to it (a config's input_size [3, 8, 723404] made a 2.9M-element
        // embedding first; found by the fuzzer).
        Preprocessing preprocessing = preprocessing(cfg, wanted, src);

        // ---- the tensors, under canonical names ----
        Map<String, HostTensor> tensors = new LinkedHashMap<>();
        for (Map.Entry<String, int[]> e : VitWeights.expectedShapes(trained).entrySet()) {
            String name = e.getKey();
            if (!map.has(name)) continue; // VitWeights.of names what is missing
            int[] shape = map.shape(name);
            if (!Arrays.equals(shape, e.getValue())) {
                throw new CheckpointException(src + ": tensor " + map.describe(name) + " has shape "
                        + Arrays.toString(shape) + ", expected " + Arrays.toString(e.getValue()));
            }
            HostTensor t = map.read(name);
            if (!over.allowNonFiniteWeights()) requireFinite(src, map.describe(name), t);
            tensors.put(name, t);
        }
        map.rejectUnused();
        VitWeights w = weights(trained, tensors, src + " (" + naming.label() + " naming)");
        if (wanted.gridHeight() != gridH || wanted.gridWidth() != gridW) {
            // As the library the checkpoint comes from runs it at another size: timm's
            // resample_abs_pos_embed or Hugging Face's interpolate_pos_encoding.
            PositionEmbeddingResize.Method method = naming == WeightNaming.HUGGING_FACE
                    ? PositionEmbeddingResize.Method.HUGGING_FACE : PositionEmbeddingResize.Method.TIMM;
            LOG.info("{}: resizing the position embedding from a {}x{} to a {}x{} grid (rows x columns) for {} px "
                    + "images, {} bicubic", src, gridH, gridW, wanted.gridHeight(), wanted.gridWidth(),
                    wanted.imageSizeText(), method);
            Map<String, HostTensor> resized = new LinkedHashMap<>(w.all());
            resized.put("pos_embed", PositionEmbeddingResize.resize(w.get("pos_embed"), gridH, gridW,
                    wanted.gridHeight(), wanted.gridWidth(), method));
            w = weights(wanted, resized, src);
        }
        List<String> labels = labels(cfg, classes, cfgName);
        return new LoadedModel(w, preprocessing, labels, file.path().toString());
    }

    /** A NaN or infinity in a weight is an error naming the tensor and the first bad element. */
    static void requireFinite(String src, String tensor, HostTensor t) {
        int bad = -1;
        if (t.dtype() == org.vit4j.ElementType.F32) {
            float[] d = t.data();
            for (int i = 0; i < d.length && bad < 0; i++) if (!Float.isFinite(d[i])) bad = i;
        } else {
            java.nio.ShortBuffer b = t.bits();
            int exp = t.dtype() == org.vit4j.ElementType.BF16 ? 0x7f80 : 0x7c00; // all-ones exponent: inf or NaN
            for (int i = 0; i < b.limit() && bad < 0; i++) if ((b.get(i) & exp) == exp) bad = i;
        }
        if (bad >= 0) {
            float v = t.dtype() == org.vit4j.ElementType.F32 ? t.data()[bad] : t.dtype().fromBits(t.bits().get(bad));
            throw new CheckpointException(src + ": tensor " + tensor + " holds " + v + " at element " + bad + " of "
                    + t.elementCount() + ", expected finite weights (a damaged or diverged checkpoint? "
                    + "--allow-non-finite-weights loads it anyway)");
        }
    }

    /** {@link VitWeights#of}, its complaint about a tensor reported as a checkpoint's. */
    private static VitWeights weights(VitConfig config, Map<String, HostTensor> tensors, String source) {
        try {
            return VitWeights.of(config, tensors, source);
        } catch (WeightsException e) {
            throw new CheckpointException(e.getMessage(), e);
        }
    }

    private static int depth(WeightNaming naming, Set<String> names, String src) {
        Set<Integer> blocks = naming.blockIndices(names);
        int depth = blocks.size();
        for (int i = 0; i < depth; i++) {
            if (!blocks.contains(i)) {
                throw new CheckpointException(src + ": blocks are numbered " + blocks + "; expected 0.." + (depth - 1)
                        + " with none missing (block " + i + " is absent)");
            }
        }
        return depth;
    }

    private static void agree(String cfgName, String key, Integer stated, int fromTensors, String src) {
        if (stated != null && stated != fromTensors) {
            throw new CheckpointException(cfgName + ": " + key + " is " + stated + " but the tensors in " + src
                    + " have " + fromTensors);
        }
    }

    private static List<String> labels(ModelConfigFile cfg, int classes, String cfgName) {
        List<String> given = cfg == null ? null : cfg.labels();
        if (given != null && classes > 0 && given.size() != classes) {
            throw new CheckpointException(cfgName + ": " + given.size() + " labels for a head of " + classes
                    + " classes");
        }
        if (given != null && classes > 0) return given;
        List<String> out = new ArrayList<>();
        for (int i = 0; i < classes; i++) out.add("class_" + i);
        return out;
    }

    /**
     * timm's defaults ({@link Preprocessing#defaults}), with what the config states instead. An image size
     * the model takes but preprocessing does not (a side past 65536: a config's input_size of [3, 8,
     * 427304], found by the fuzzer) is an error naming the files it comes from, as VitConfig's are.
     */
    private static Preprocessing preprocessing(ModelConfigFile cfg, VitConfig c, String src) {
        Preprocessing p;
        try {
            p = Preprocessing.defaults(c.imageHeight(), c.imageWidth(), c.channels());
        } catch (Vit4jException e) {
            throw new CheckpointException(src + (cfg == null ? "" : " with " + cfg.path().getFileName()) + ": "
                    + e.getMessage(), e);
        }
        if (cfg == null) return p;
        return p.withOverrides(cfg.mean(), cfg.std(), cfg.cropPct(), cfg.interpolation(), cfg.directResize(),
                cfg.path().getFileName().toString());
    }

    /** Reads canonical tensors through a naming and remembers which checkpoint tensors were used. */
    private static final class Mapping {
        /** Tensors of other heads or poolers that vit4j's model does not need and may ignore. */
        private static final List<String> KNOWN_UNUSED_PREFIXES = List.of("vit.pooler.", "pooler.");

        private final TensorSource file;
        private final WeightNaming naming;
        private final String src;
        private final Set<String> used = new HashSet<>();
        private final Map<String, List<String>> sources = new HashMap<>();

        Mapping(TensorSource file, WeightNaming naming, String src) {
            this.file = file;
            this.naming = naming;
            this.src = src;
        }

        private List<String> sources(String canonical) {
            return sources.computeIfAbsent(canonical, c -> naming.sourceNames(c, file.names()));
        }

        /** Whether the checkpoint holds the tensor; holding only some of its parts is an error. */
        boolean has(String canonical) {
            List<String> parts = sources(canonical);
            long present = parts.stream().filter(file::contains).count();
            if (present > 0 && present < parts.size()) {
                String missing = parts.stream().filter(n -> !file.contains(n)).findFirst().orElseThrow();
                throw new CheckpointException(src + ": missing tensor '" + missing + "', a part of '" + canonical
                        + "' whose other parts are there");
            }
            return present == parts.size();
        }

        String describe(String canonical) {
            return String.join(" + ", sources(canonical).stream().map(n -> "'" + n + "'").toList());
        }

        int[] shape(String canonical) {
            for (String n : sources(canonical)) {
                if (!file.contains(n)) {
                    throw new CheckpointException(src + ": missing tensor '" + n + "' (" + naming.label()
                            + " name of '" + canonical + "')");
                }
            }
            int[] first = file.intShape(sources(canonical).get(0)).clone();
            List<String> rest = sources(canonical).subList(1, sources(canonical).size());
            for (String n : sources(canonical)) {
                if (!rest.isEmpty() && file.intShape(n).length == 0) {
                    throw new CheckpointException(src + ": tensor '" + n + "' is a scalar (shape []), expected a "
                            + "part of '" + canonical + "' with at least one dimension");
                }
            }
            long rows = first.length == 0 ? 0 : first[0];
            for (String n : rest) rows += file.intShape(n)[0];
            if (rows > Integer.MAX_VALUE) {
                throw new CheckpointException(src + ": the parts of '" + canonical + "' have " + rows + " rows together");
            }
            if (first.length > 0) first[0] = (int) rows;
            return first;
        }

        /** The tensor, its parts concatenated along dimension 0 where the naming splits it. */
        HostTensor read(String canonical) {
            List<String> parts = sources(canonical);
            int[] shape = shape(canonical);
            if (parts.size() == 1) { // as stored: bf16/fp16 stay 16-bit views of the mapping
                String n = parts.get(0);
                HostTensor t = file.read(n);
                used.add(n);
                return t;
            }
            float[] data = new float[Math.toIntExact(HostTensor.elementCount(shape))];
            int at = 0;
            for (String n : parts) {
                int[] s = file.intShape(n);
                int[] expect = shape.clone();
                expect[0] = s[0];
                if (!Arrays.equals(s, expect)) {
                    throw new CheckpointException(src + ": tensor '" + n + "' has shape " + Arrays.toString(s)
                            + ", expected [*" + Arrays.toString(Arrays.copyOfRange(shape, 1, shape.length))
                                    .replace("[", ", ").replace("]", "]")
                            + " like the other parts of '" + canonical + "'");
                }
                float[] part = file.readFloats(n);
                System.arraycopy(part, 0, data, at, part.length);
                at += part.length;
                used.add(n);
            }
            HostTensor joined = new HostTensor(data, shape);
            // Parts of one half type (HF's split q/k/v in bf16): keep that type; the float32 detour is exact.
            DType first = file.info(parts.get(0)).dtype();
            boolean sameHalf = (first == DType.BF16 || first == DType.F16)
                    && parts.stream().allMatch(n -> file.info(n).dtype() == first);
            return sameHalf ? joined.to(first == DType.BF16 ? org.vit4j.ElementType.BF16 : org.vit4j.ElementType.F16) : joined;
        }

        void rejectUnused() {
            List<String> unused = new ArrayList<>();
            for (String n : file.names()) {
                if (used.contains(n)) continue;
                if (KNOWN_UNUSED_PREFIXES.stream().anyMatch(n::startsWith)) continue;
                unused.add(n);
            }
            if (!unused.isEmpty()) {
                throw new CheckpointException(src + ": tensors " + (unused.size() > 6 ? unused.subList(0, 6) + " ..."
                        : unused) + " are not part of the ViT that vit4j runs (class-token pooling, pre-norm "
                        + "blocks, no layer scale, register tokens or extra norms); refusing to ignore them");
            }
        }
    }
}
