package org.vit4j.model;

import java.util.Arrays;
import java.util.Collections;
import java.util.SortedSet;
import java.util.TreeSet;
import org.vit4j.Vit4jException;

/**
 * What a forward pass returns besides logits and pre-logits ({@link VisionTransformer#forward(org.vit4j.HostTensor,
 * ForwardOptions)}): nothing more ({@link #DEFAULT}), or the attention probabilities of every block
 * ({@link #attentions()}) or of chosen blocks ({@link #attentions(int...)}), each {@code [B, heads, N, N]}
 * float32 whatever the model's precision, in {@link VitOutput#attentions()}.
 *
 * <p>Cost: the fused attention kernels never form the probabilities, so a pass that asks for them runs
 * one more op per chosen block ({@code Op.AttentionProbs}: q k^T again, a softmax, and a float32
 * {@code [B, H, N, N]} store) and copies each to the host before the next block overwrites q and k; it is
 * run op by op (never replayed as a recorded graph). A pass that asks for nothing runs exactly as before.
 * Memory: one float32 device buffer of {@code B * heads * N * N} for the pass, and that much host memory
 * per block returned (ViT-B/16: 1.9 MB per image and block, so 1.4 GB for all 12 blocks of 64 images):
 * ask for chosen blocks or smaller batches where that is too much.
 */
public final class ForwardOptions {
    /** Logits and pre-logits only: the fused pass, unchanged. */
    public static final ForwardOptions DEFAULT = new ForwardOptions(false, Collections.emptySortedSet());

    private final boolean allBlocks;
    private final SortedSet<Integer> blocks;

    private ForwardOptions(boolean allBlocks, SortedSet<Integer> blocks) {
        this.allBlocks = allBlocks;
        this.blocks = blocks;
    }

    /** The attention probabilities of every block. */
    public static ForwardOptions attentions() {
        return new ForwardOptions(true, Collections.emptySortedSet());
    }

    /**
     * The attention probabilities of the given blocks (0-based; duplicates count once); a block the
     * model does not have is an error when the pass runs.
     */
    public static ForwardOptions attentions(int... blocks) {
        if (blocks == null || blocks.length == 0) {
            throw new Vit4jException("attentions: no block given (use ForwardOptions.attentions() for every block)");
        }
        TreeSet<Integer> set = new TreeSet<>();
        for (int b : blocks) {
            if (b < 0) throw new Vit4jException("attentions: block " + b + " does not exist: blocks are numbered from 0");
            set.add(b);
        }
        return new ForwardOptions(false, Collections.unmodifiableSortedSet(set));
    }

    /** Whether any attention probabilities are asked for. */
    public boolean wantsAttentions() {
        return allBlocks || !blocks.isEmpty();
    }

    /**
     * The blocks whose probabilities are asked for, of a model of {@code depth} blocks, in order;
     * a block past the model's last is a {@link Vit4jException} naming the blocks there are.
     */
    public int[] attentionBlocks(int depth) {
        if (allBlocks) {
            int[] all = new int[depth];
            Arrays.setAll(all, i -> i);
            return all;
        }
        for (int b : blocks) {
            if (b >= depth) {
                throw new Vit4jException("attentions: block " + b + " does not exist: the model has " + depth
                        + (depth == 1 ? " block (0)" : " blocks (0 to " + (depth - 1) + ")"));
            }
        }
        return blocks.stream().mapToInt(Integer::intValue).toArray();
    }

    @Override
    public String toString() {
        return allBlocks ? "attentions(all)" : blocks.isEmpty() ? "default" : "attentions" + blocks;
    }
}
