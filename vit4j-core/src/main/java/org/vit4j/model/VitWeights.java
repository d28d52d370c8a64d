package org.vit4j.model;

import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import org.vit4j.HostTensor;

/**
 * A ViT's parameters in host memory under timm's names, the canonical names of vit4j
 * ({@code patch_embed.proj.weight}, {@code cls_token}, {@code pos_embed},
 * {@code blocks.N.attn.qkv.weight}, ..., {@code norm.weight}, {@code head.weight}), each checked
 * against the shape the config implies. Checkpoints in other namings are mapped to these by
 * the checkpoint loader (org.vit4j.io.checkpoint, which builds on this package, never the other way).
 */
public final class VitWeights {
    private final VitConfig config;
    private final Map<String, HostTensor> tensors;

    private VitWeights(VitConfig config, Map<String, HostTensor> tensors) {
        this.config = config;
        this.tensors = Collections.unmodifiableMap(tensors);
    }

    /**
     * Checks that {@code tensors} hold every parameter of {@code config} with its shape and keeps
     * them. Optional: the qkv biases (timm's {@code qkv_bias=False}). {@code source} names where the
     * tensors came from, for the error message.
     *
     * @throws WeightsException naming the tensor that is missing or misshapen
     */
    public static VitWeights of(VitConfig config, Map<String, HostTensor> tensors, String source) {
        Map<String, HostTensor> kept = new LinkedHashMap<>();
        for (Map.Entry<String, int[]> e : expectedShapes(config).entrySet()) {
            String name = e.getKey();
            HostTensor t = tensors.get(name);
            if (t == null) {
                if (isOptional(name)) continue;
                throw new WeightsException(source + ": missing tensor '" + name + "' of shape "
                        + Arrays.toString(e.getValue()));
            }
            if (!Arrays.equals(t.shape(), e.getValue())) {
                throw new WeightsException(source + ": tensor '" + name + "' has shape "
                        + Arrays.toString(t.shape()) + ", expected " + Arrays.toString(e.getValue()));
            }
            kept.put(name, t);
        }
        // The qkv biases are all there or all absent (timm's qkv_bias is one flag for the model): a
        // checkpoint missing some would silently run those blocks without one.
        java.util.List<String> with = new java.util.ArrayList<>(), without = new java.util.ArrayList<>();
        for (int i = 0; i < config.depth(); i++) {
            (kept.containsKey("blocks." + i + ".attn.qkv.bias") ? with : without).add("blocks." + i + ".attn.qkv.bias");
        }
        if (!with.isEmpty() && !without.isEmpty()) {
            throw new WeightsException(source + ": missing tensor '" + without.get(0) + "' of shape [" + 3 * config.hiddenSize()
                    + "] (" + with.size() + " of " + config.depth() + " blocks have a qkv bias: all or none must)");
        }
        return new VitWeights(config, kept);
    }

    private static boolean isOptional(String name) {
        return name.endsWith(".attn.qkv.bias");
    }

    /** Every parameter of a ViT of this config, in the order of the forward pass, with its shape. */
    public static Map<String, int[]> expectedShapes(VitConfig c) {
        int d = c.hiddenSize(), m = c.mlpSize(), p = c.patchSize();
        Map<String, int[]> s = new LinkedHashMap<>();
        s.put("patch_embed.proj.weight", new int[] {d, c.channels(), p, p});
        s.put("patch_embed.proj.bias", new int[] {d});
        s.put("cls_token", new int[] {1, 1, d});
        s.put("pos_embed", new int[] {1, c.tokens(), d});
        for (int i = 0; i < c.depth(); i++) {
            String b = block(i);
            s.put(b + "norm1.weight", new int[] {d});
            s.put(b + "norm1.bias", new int[] {d});
            s.put(b + "attn.qkv.weight", new int[] {3 * d, d});
            s.put(b + "attn.qkv.bias", new int[] {3 * d});
            s.put(b + "attn.proj.weight", new int[] {d, d});
            s.put(b + "attn.proj.bias", new int[] {d});
            s.put(b + "norm2.weight", new int[] {d});
            s.put(b + "norm2.bias", new int[] {d});
            s.put(b + "mlp.fc1.weight", new int[] {m, d});
            s.put(b + "mlp.fc1.bias", new int[] {m});
            s.put(b + "mlp.fc2.weight", new int[] {d, m});
            s.put(b + "mlp.fc2.bias", new int[] {d});
        }
        s.put("norm.weight", new int[] {d});
        s.put("norm.bias", new int[] {d});
        if (c.numClasses() > 0) {
            s.put("head.weight", new int[] {c.numClasses(), d});
            s.put("head.bias", new int[] {c.numClasses()});
        }
        return s;
    }

    /** Prefix of block i's parameters, "blocks.i.". */
    public static String block(int i) {
        return "blocks." + i + ".";
    }

    public VitConfig config() {
        return config;
    }

    /** The tensor, or null for an absent optional one. */
    public HostTensor get(String name) {
        return tensors.get(name);
    }

    public Map<String, HostTensor> all() {
        return tensors;
    }

    /** Number of parameters. */
    public long parameterCount() {
        long n = 0;
        for (HostTensor t : tensors.values()) n += t.elementCount();
        return n;
    }
}
