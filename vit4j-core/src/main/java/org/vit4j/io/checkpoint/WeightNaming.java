package org.vit4j.io.checkpoint;

import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The three tensor namings vit4j reads, each mapped onto timm's names (vit4j's canonical ones).
 * Hugging Face stores q, k and v as three linear layers: their rows are concatenated, in that
 * order, into timm's fused {@code qkv}, which is also torchvision's {@code in_proj_weight}.
 */
public enum WeightNaming {
    TIMM("timm", "patch_embed.proj.weight", Pattern.compile("^blocks\\.(\\d+)\\.")),
    HUGGING_FACE("Hugging Face transformers", "embeddings.patch_embeddings.projection.weight",
            Pattern.compile("^(?:vit\\.)?encoder\\.layer\\.(\\d+)\\.")),
    TORCHVISION("torchvision", "conv_proj.weight", Pattern.compile("^encoder\\.layers\\.encoder_layer_(\\d+)\\."));

    private final String label;
    private final String marker;
    private final Pattern blockPattern;

    WeightNaming(String label, String marker, Pattern blockPattern) {
        this.label = label;
        this.marker = marker;
        this.blockPattern = blockPattern;
    }

    public String label() {
        return label;
    }

    /** The naming of a checkpoint, from the name of its patch projection. */
    public static WeightNaming detect(Set<String> names, String source) {
        if (names.contains(TIMM.marker)) return TIMM;
        if (names.contains(HUGGING_FACE.marker) || names.contains("vit." + HUGGING_FACE.marker)) return HUGGING_FACE;
        if (names.contains(TORCHVISION.marker)) return TORCHVISION;
        throw new CheckpointException(source + ": not a ViT checkpoint vit4j knows: expected a patch projection named '"
                + TIMM.marker + "' (timm), '[vit.]" + HUGGING_FACE.marker + "' (Hugging Face) or '"
                + TORCHVISION.marker + "' (torchvision); first tensors are " + first(names, 5));
    }

    private static String first(Set<String> names, int n) {
        return names.stream().limit(n).toList() + (names.size() > n ? " ..." : "");
    }

    /** The block indices present; the caller checks they run 0..L-1. */
    public Set<Integer> blockIndices(Set<String> names) {
        Set<Integer> found = new TreeSet<>();
        for (String n : names) {
            Matcher m = blockPattern.matcher(n);
            if (!m.find()) continue;
            // A depth past 100,000 blocks is no ViT: such an index (2147483648 overflows int) is a damaged name.
            if (m.group(1).length() > 6) {
                throw new CheckpointException("tensor '" + n + "' has block index " + m.group(1)
                        + ", expected 0..99999 (a damaged checkpoint?)");
            }
            found.add(Integer.parseInt(m.group(1)));
        }
        return found;
    }

    /**
     * The tensors in the checkpoint that make up the canonical tensor {@code canonical}, to be
     * concatenated along dimension 0 (one name except Hugging Face's q, k, v). Where a library
     * renamed a tensor between versions, the name present in {@code names} is chosen.
     */
    public List<String> sourceNames(String canonical, Set<String> names) {
        return switch (this) {
            case TIMM -> List.of(canonical);
            case HUGGING_FACE -> huggingFace(canonical, names.contains("vit." + marker) ? "vit." : "");
            case TORCHVISION -> torchvision(canonical, names);
        };
    }

    private static final Pattern BLOCK = Pattern.compile("^blocks\\.(\\d+)\\.(.*)$");

    private static List<String> huggingFace(String canonical, String p) {
        Matcher m = BLOCK.matcher(canonical);
        if (m.matches()) {
            String layer = p + "encoder.layer." + m.group(1) + ".";
            String rest = m.group(2);
            String param = rest.substring(rest.lastIndexOf('.') + 1);
            String module = rest.substring(0, rest.lastIndexOf('.'));
            return switch (module) {
                case "norm1" -> List.of(layer + "layernorm_before." + param);
                case "attn.qkv" -> List.of(layer + "attention.attention.query." + param,
                        layer + "attention.attention.key." + param, layer + "attention.attention.value." + param);
                case "attn.proj" -> List.of(layer + "attention.output.dense." + param);
                case "norm2" -> List.of(layer + "layernorm_after." + param);
                case "mlp.fc1" -> List.of(layer + "intermediate.dense." + param);
                case "mlp.fc2" -> List.of(layer + "output.dense." + param);
                default -> throw new IllegalArgumentException(canonical);
            };
        }
        return List.of(switch (canonical) {
            case "patch_embed.proj.weight" -> p + "embeddings.patch_embeddings.projection.weight";
            case "patch_embed.proj.bias" -> p + "embeddings.patch_embeddings.projection.bias";
            case "cls_token" -> p + "embeddings.cls_token";
            case "pos_embed" -> p + "embeddings.position_embeddings";
            case "norm.weight" -> p + "layernorm.weight";
            case "norm.bias" -> p + "layernorm.bias";
            case "head.weight" -> "classifier.weight";
            case "head.bias" -> "classifier.bias";
            default -> throw new IllegalArgumentException(canonical);
        });
    }

    private static List<String> torchvision(String canonical, Set<String> names) {
        Matcher m = BLOCK.matcher(canonical);
        if (m.matches()) {
            String layer = "encoder.layers.encoder_layer_" + m.group(1) + ".";
            String rest = m.group(2);
            String param = rest.substring(rest.lastIndexOf('.') + 1);
            String module = rest.substring(0, rest.lastIndexOf('.'));
            return List.of(switch (module) {
                case "norm1" -> layer + "ln_1." + param;
                case "attn.qkv" -> layer + "self_attention.in_proj_" + param;
                case "attn.proj" -> layer + "self_attention.out_proj." + param;
                case "norm2" -> layer + "ln_2." + param;
                // torchvision < 0.14 named the MLP layers linear_1 / linear_2, later 0 / 3.
                case "mlp.fc1" -> present(names, layer + "mlp.0." + param, layer + "mlp.linear_1." + param);
                case "mlp.fc2" -> present(names, layer + "mlp.3." + param, layer + "mlp.linear_2." + param);
                default -> throw new IllegalArgumentException(canonical);
            });
        }
        return List.of(switch (canonical) {
            case "patch_embed.proj.weight" -> "conv_proj.weight";
            case "patch_embed.proj.bias" -> "conv_proj.bias";
            case "cls_token" -> "class_token";
            case "pos_embed" -> "encoder.pos_embedding";
            case "norm.weight" -> "encoder.ln.weight";
            case "norm.bias" -> "encoder.ln.bias";
            case "head.weight" -> "heads.head.weight";
            case "head.bias" -> "heads.head.bias";
            default -> throw new IllegalArgumentException(canonical);
        });
    }

    private static String present(Set<String> names, String preferred, String older) {
        return names.contains(older) && !names.contains(preferred) ? older : preferred;
    }
}
