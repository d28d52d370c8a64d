package org.vit4j.backend;

import static org.vit4j.backend.OpChecks.buffer;
import static org.vit4j.backend.OpChecks.optionalBuffer;
import static org.vit4j.backend.OpChecks.positive;
import static org.vit4j.backend.OpChecks.sameType;

import java.util.Locale;
import org.vit4j.Vit4jException;

/**
 * The ops of the ViT encoder, each described once: its arguments (a record), its shape rules and
 * argument checks ({@link #check}), its work ({@link #flops}, {@link #leastBytes}) and its name in
 * profiles ({@link #label}, {@link #shape}). What an op computes is said in its record's javadoc;
 * the reference that computes it is the cpu backend ({@code CpuBackend}, double accumulation), and
 * the kernels are mapped op by op in {@code kernels/README.md}.
 *
 * <p>{@link Backend#execute} runs one: it checks the op against the backend (every buffer open,
 * its own, long enough, one element type the backend supports), then hands it to the backend's
 * {@link Kernels}, which may assume all of that. The named ops of {@link Backend}
 * ({@code backend.linear(...)}) build these records; a wrapper such as the profiling backend of
 * {@code vit4j bench} overrides {@code execute} alone.
 *
 * <p>Costs count the fewest bytes an op must move through device memory (each input read once, each
 * output written once) in its storage type, and its floating-point operations (a multiply-add is
 * two): time against both says whether an op is bound by arithmetic or by memory.
 */
public sealed interface Op {

    /** The op's name in profiles, e.g. {@code linear+bias_gelu}. */
    String label();

    /** Its shape in profiles, e.g. {@code M=1576 K=384 N=1536}. */
    String shape();

    /** Throws a {@link Vit4jException} naming the op and the argument where the op is malformed for {@code backend}. */
    void check(Backend backend);

    /** Floating-point operations. */
    double flops();

    /** The least bytes moved: every input read once and every output written once, in the storage type. */
    double leastBytes();

    /** Hands the (checked) op to the backend's implementation of it. */
    void runOn(Kernels kernels);

    /**
     * What a backend implements: one method per op, called by {@link Backend#execute} once the op
     * has passed {@link Op#check}. Not an entry point for callers, who go through {@link Backend}.
     */
    interface Kernels {
        void patchEmbed(PatchEmbed op);

        void layerNorm(LayerNorm op);

        /** Where a backend has no fused kernel: the add, then the LayerNorm (same results, one more pass). */
        default void addLayerNorm(AddLayerNorm op) {
            add(new Add(op.x(), op.residual(), op.sum(), (long) op.rows() * op.dim()));
            layerNorm(new LayerNorm(op.sum(), op.gamma(), op.beta(), op.normed(), op.rows(), op.dim(), op.eps()));
        }

        void linear(Linear op);

        void linearQkv(LinearQkv op);

        void attention(Attention op);

        void attentionProbs(AttentionProbs op);

        void gelu(Gelu op);

        void add(Add op);

        void selectToken(SelectToken op);

        void copy(Copy op);
    }

    private static double bytes(DeviceBuffer typed, double elements) {
        return elements * typed.dtype().bytes();
    }

    /**
     * Embeds images as tokens: out[b, 0] = clsToken + posEmbed[0]; out[b, 1 + i] = patch_i . W^T + bias
     * + posEmbed[1 + i], where patch i is read in (c, y, x) order straight from the NCHW image, so the
     * convolution with stride = kernel = patch is one GEMM with K = C * P * P. images
     * {@code [batch, channels, height, width]}, weight {@code [dim, channels, patch, patch]},
     * bias and clsToken {@code [dim]}, posEmbed {@code [tokens, dim]}, out {@code [batch, tokens, dim]}.
     */
    record PatchEmbed(PatchEmbedShape s, DeviceBuffer images, DeviceBuffer weight, DeviceBuffer bias,
            DeviceBuffer clsToken, DeviceBuffer posEmbed, DeviceBuffer out) implements Op {
        @Override
        public String label() {
            return "patch_embed";
        }

        @Override
        public String shape() {
            return "B=" + s.batch() + " C=" + s.channels() + " H=" + s.height() + " W=" + s.width() + " P=" + s.patch() + " D=" + s.dim();
        }

        @Override
        public void check(Backend be) {
            String op = "patchEmbed";
            if (s == null) throw new Vit4jException(op + ": shape is null");
            buffer(be, op, "images", images, s.imageFloats());
            buffer(be, op, "weight", weight, (long) s.dim() * s.patchDim());
            buffer(be, op, "bias", bias, s.dim());
            buffer(be, op, "clsToken", clsToken, s.dim());
            buffer(be, op, "posEmbed", posEmbed, (long) s.tokens() * s.dim());
            buffer(be, op, "out", out, s.outputFloats());
            sameType(be, op, "images", images, "weight", weight, "bias", bias, "clsToken", clsToken,
                    "posEmbed", posEmbed, "out", out);
        }

        @Override
        public double flops() {
            return 2.0 * s.batch() * (s.tokens() - 1) * s.dim() * s.patchDim();
        }

        @Override
        public double leastBytes() {
            return bytes(out, (double) s.imageFloats() + (double) s.dim() * s.patchDim() + 2.0 * s.dim()
                    + (double) s.tokens() * s.dim() + s.outputFloats());
        }

        @Override
        public void runOn(Kernels k) {
            k.patchEmbed(this);
        }
    }

    /**
     * out[r] = (x[r] - mean) / sqrt(var + eps) * gamma + beta for each of {@code rows} rows of
     * {@code dim}; mean and variance accumulated in fp32 or better.
     */
    record LayerNorm(DeviceBuffer x, DeviceBuffer gamma, DeviceBuffer beta, DeviceBuffer out, int rows, int dim,
            float eps) implements Op {
        @Override
        public String label() {
            return "layernorm";
        }

        @Override
        public String shape() {
            return "rows=" + rows + " D=" + dim;
        }

        @Override
        public void check(Backend be) {
            checkLayerNorm(be, "layerNorm", rows, dim, eps);
            buffer(be, "layerNorm", "x", x, (long) rows * dim);
            buffer(be, "layerNorm", "gamma", gamma, dim);
            buffer(be, "layerNorm", "beta", beta, dim);
            buffer(be, "layerNorm", "out", out, (long) rows * dim);
            sameType(be, "layerNorm", "x", x, "gamma", gamma, "beta", beta, "out", out);
        }

        @Override
        public double flops() {
            return 8.0 * rows * dim; // mean, deviation, square, sum, scale, shift: about 8 an element
        }

        @Override
        public double leastBytes() {
            return bytes(out, 2.0 * rows * dim + 2.0 * dim);
        }

        @Override
        public void runOn(Kernels k) {
            k.layerNorm(this);
        }
    }

    private static void checkLayerNorm(Backend be, String op, int rows, int dim, float eps) {
        positive(op, "rows", rows);
        positive(op, "dim", dim);
        if (!(eps > 0)) throw new Vit4jException(op + ": eps must be > 0, got " + eps);
    }

    /**
     * sum = x + residual, normed = layerNorm(sum): the residual add fused with the next block's norm.
     * Backends without a fused kernel inherit the composition ({@link Kernels#addLayerNorm}).
     */
    record AddLayerNorm(DeviceBuffer x, DeviceBuffer residual, DeviceBuffer sum, DeviceBuffer normed,
            DeviceBuffer gamma, DeviceBuffer beta, int rows, int dim, float eps) implements Op {
        @Override
        public String label() {
            return "add_layernorm";
        }

        @Override
        public String shape() {
            return "rows=" + rows + " D=" + dim;
        }

        @Override
        public void check(Backend be) {
            String op = "addLayerNorm";
            checkLayerNorm(be, op, rows, dim, eps);
            long n = (long) rows * dim;
            buffer(be, op, "x", x, n);
            buffer(be, op, "residual", residual, n);
            buffer(be, op, "sum", sum, n);
            buffer(be, op, "normed", normed, n);
            buffer(be, op, "gamma", gamma, dim);
            buffer(be, op, "beta", beta, dim);
            sameType(be, op, "x", x, "residual", residual, "sum", sum, "normed", normed, "gamma", gamma, "beta", beta);
        }

        @Override
        public double flops() {
            return 9.0 * rows * dim;
        }

        @Override
        public double leastBytes() {
            return bytes(normed, 4.0 * rows * dim + 2.0 * dim);
        }

        @Override
        public void runOn(Kernels k) {
            k.addLayerNorm(this);
        }
    }

    /**
     * out[rows, outFeatures] = epilogue(x[rows, inFeatures] . weight[outFeatures, inFeatures]^T):
     * bias {@code [outFeatures]} or null (then only {@link Epilogue#NONE} is allowed); residual
     * {@code [rows, outFeatures]} for {@link Epilogue#BIAS_RESIDUAL}, else null, and it may be {@code out}.
     */
    record Linear(DeviceBuffer x, DeviceBuffer weight, DeviceBuffer bias, DeviceBuffer out, int rows, int inFeatures,
            int outFeatures, Epilogue epilogue, DeviceBuffer residual) implements Op {
        @Override
        public String label() {
            return "linear+" + (epilogue == null ? "null" : epilogue.name().toLowerCase(Locale.ROOT));
        }

        @Override
        public String shape() {
            return "M=" + rows + " K=" + inFeatures + " N=" + outFeatures;
        }

        @Override
        public void check(Backend be) {
            String op = "linear";
            positive(op, "rows", rows);
            positive(op, "inFeatures", inFeatures);
            positive(op, "outFeatures", outFeatures);
            if (epilogue == null) throw new Vit4jException(op + ": epilogue is null");
            buffer(be, op, "x", x, (long) rows * inFeatures);
            buffer(be, op, "weight", weight, (long) outFeatures * inFeatures);
            if (epilogue == Epilogue.NONE) {
                optionalBuffer(be, op, "bias", bias, outFeatures);
            } else {
                buffer(be, op, "bias (needed by epilogue " + epilogue + ")", bias, outFeatures);
            }
            buffer(be, op, "out", out, (long) rows * outFeatures);
            if (epilogue == Epilogue.BIAS_RESIDUAL) {
                buffer(be, op, "residual", residual, (long) rows * outFeatures);
            } else if (residual != null) {
                throw new Vit4jException(op + ": a residual was given but the epilogue is " + epilogue);
            }
            if (x == out) throw new Vit4jException(op + ": 'out' must not be the input 'x'");
            sameType(be, op, "x", x, "weight", weight, "bias", bias, "out", out, "residual", residual);
        }

        @Override
        public double flops() {
            return 2.0 * rows * outFeatures * inFeatures;
        }

        @Override
        public double leastBytes() {
            return bytes(out, (double) rows * inFeatures + (double) outFeatures * inFeatures
                    + (double) rows * outFeatures + (bias != null ? outFeatures : 0)
                    + (residual != null ? (double) rows * outFeatures : 0));
        }

        @Override
        public void runOn(Kernels k) {
            k.linear(this);
        }
    }

    /**
     * The attention input projection, written in the layout attention reads: x [batch, tokens, dim]
     * times weight [3 * dim, dim] (rows q, k, v, each head's rows contiguous) plus bias [3 * dim] (or
     * null) goes to qkv [3, batch, heads, tokens, dim / heads]. No transpose pass runs.
     */
    record LinearQkv(DeviceBuffer x, DeviceBuffer weight, DeviceBuffer bias, DeviceBuffer qkv, int batch, int tokens,
            int dim, int heads) implements Op {
        @Override
        public String label() {
            return "linear_qkv";
        }

        @Override
        public String shape() {
            return "M=" + (long) batch * tokens + " K=" + dim + " N=" + 3L * dim;
        }

        @Override
        public void check(Backend be) {
            String op = "linearQkv";
            positive(op, "batch", batch);
            positive(op, "tokens", tokens);
            positive(op, "dim", dim);
            positive(op, "heads", heads);
            if (dim % heads != 0) throw new Vit4jException(op + ": dim " + dim + " is not divisible by heads " + heads);
            long rows = (long) batch * tokens;
            buffer(be, op, "x", x, rows * dim);
            buffer(be, op, "weight", weight, 3L * dim * dim);
            optionalBuffer(be, op, "bias", bias, 3L * dim);
            buffer(be, op, "qkv", qkv, 3 * rows * dim);
            sameType(be, op, "x", x, "weight", weight, "bias", bias, "qkv", qkv);
        }

        @Override
        public double flops() {
            return 2.0 * batch * tokens * 3.0 * dim * dim;
        }

        @Override
        public double leastBytes() {
            double rows = (double) batch * tokens;
            return bytes(qkv, rows * dim + 3.0 * dim * dim + 3.0 * rows * dim + (bias != null ? 3.0 * dim : 0));
        }

        @Override
        public void runOn(Kernels k) {
            k.linearQkv(this);
        }
    }

    /**
     * Scaled dot-product self-attention per (batch, head): softmax(q k^T * scale) v, with q, k, v read
     * from qkv [3, batch, heads, tokens, headDim] and the heads concatenated into out
     * [batch, tokens, heads * headDim], ready for the output projection; softmax statistics in fp32.
     */
    record Attention(DeviceBuffer qkv, DeviceBuffer out, int batch, int tokens, int heads, int headDim, float scale)
            implements Op {
        @Override
        public String label() {
            return "attention";
        }

        @Override
        public String shape() {
            return "B=" + batch + " T=" + tokens + " H=" + heads + " hd=" + headDim;
        }

        @Override
        public void check(Backend be) {
            String op = "attention";
            positive(op, "batch", batch);
            positive(op, "tokens", tokens);
            positive(op, "heads", heads);
            positive(op, "headDim", headDim);
            if (!Float.isFinite(scale)) throw new Vit4jException(op + ": scale must be finite, got " + scale);
            long n = (long) batch * tokens * heads * headDim;
            buffer(be, op, "qkv", qkv, 3 * n);
            buffer(be, op, "out", out, n);
            if (qkv == out) throw new Vit4jException(op + ": 'out' must not be 'qkv'");
            sameType(be, op, "qkv", qkv, "out", out);
        }

        @Override
        public double flops() {
            // q k^T and p v: 2 * T * T * hd multiply-adds per (batch, head).
            return 4.0 * batch * heads * tokens * (double) tokens * headDim;
        }

        @Override
        public double leastBytes() {
            return bytes(out, 4.0 * batch * tokens * heads * headDim);
        }

        @Override
        public void runOn(Kernels k) {
            k.attention(this);
        }
    }

    /**
     * The attention probabilities the fused {@link Attention} never materialises, for analysis (attention
     * maps, rollout): probs[b, h, i, j] = softmax_j(q_i . k_j * scale) for q, k read from qkv
     * [3, batch, heads, tokens, headDim] (any storage type; v is not read) and written to probs
     * [batch, heads, tokens, tokens] in <b>float32</b> whatever the storage type of qkv, so each row
     * sums to 1 within float32 rounding. Scores, max and sum in fp32 or better.
     *
     * <p>Cost: 2 * B * H * T^2 * hd FLOPs (q k^T; half of {@link Attention}'s) plus B * H * T^2
     * exponentials, and it writes 4 * B * H * T^2 bytes: at ViT-B/16 (T = 197, 12 heads) 1.9 MB per
     * image and block, more than the block's whole activation stream, so it is memory-bound on the store
     * and runs only when asked for; the forward pass without it is unchanged.
     */
    record AttentionProbs(DeviceBuffer qkv, DeviceBuffer probs, int batch, int tokens, int heads, int headDim,
            float scale) implements Op {
        @Override
        public String label() {
            return "attention_probs";
        }

        @Override
        public String shape() {
            return "B=" + batch + " T=" + tokens + " H=" + heads + " hd=" + headDim;
        }

        @Override
        public void check(Backend be) {
            String op = "attentionProbs";
            positive(op, "batch", batch);
            positive(op, "tokens", tokens);
            positive(op, "heads", heads);
            positive(op, "headDim", headDim);
            if (!Float.isFinite(scale)) throw new Vit4jException(op + ": scale must be finite, got " + scale);
            long n = (long) batch * tokens * heads * headDim;
            buffer(be, op, "qkv", qkv, 3 * n);
            buffer(be, op, "probs", probs, probsLength());
            sameType(be, op, "qkv", qkv);
            if (probs.dtype() != org.vit4j.ElementType.F32) {
                throw new Vit4jException(op + ": argument 'probs' is " + probs.dtype().label()
                        + ", expected fp32 (probabilities are written in float32 whatever the storage type)");
            }
        }

        /** Elements of probs: batch * heads * tokens * tokens. */
        public long probsLength() {
            return (long) batch * heads * tokens * (long) tokens;
        }

        @Override
        public double flops() {
            return 2.0 * batch * heads * tokens * (double) tokens * headDim;
        }

        @Override
        public double leastBytes() {
            return bytes(qkv, 2.0 * batch * tokens * heads * headDim) + 4.0 * probsLength();
        }

        @Override
        public void runOn(Kernels k) {
            k.attentionProbs(this);
        }
    }

    private static void checkElementwise(Backend be, String op, long n, Object... namesAndBuffers) {
        positive(op, "n", n);
        for (int i = 0; i < namesAndBuffers.length; i += 2) {
            buffer(be, op, (String) namesAndBuffers[i], (DeviceBuffer) namesAndBuffers[i + 1], n);
        }
        sameType(be, op, namesAndBuffers);
    }

    /** out = GELU(x) elementwise, exact: x / 2 * (1 + erf(x / sqrt 2)). {@code out} may be {@code x}. */
    record Gelu(DeviceBuffer x, DeviceBuffer out, long n) implements Op {
        @Override
        public String label() {
            return "gelu";
        }

        @Override
        public String shape() {
            return "n=" + n;
        }

        @Override
        public void check(Backend be) {
            checkElementwise(be, "gelu", n, "x", x, "out", out);
        }

        @Override
        public double flops() {
            return 8.0 * n;
        }

        @Override
        public double leastBytes() {
            return bytes(out, 2.0 * n);
        }

        @Override
        public void runOn(Kernels k) {
            k.gelu(this);
        }
    }

    /** out = a + b elementwise. {@code out} may be either input. */
    record Add(DeviceBuffer a, DeviceBuffer b, DeviceBuffer out, long n) implements Op {
        @Override
        public String label() {
            return "add";
        }

        @Override
        public String shape() {
            return "n=" + n;
        }

        @Override
        public void check(Backend be) {
            checkElementwise(be, "add", n, "a", a, "b", b, "out", out);
        }

        @Override
        public double flops() {
            return n;
        }

        @Override
        public double leastBytes() {
            return bytes(out, 3.0 * n);
        }

        @Override
        public void runOn(Kernels k) {
            k.add(this);
        }
    }

    /** out[b, :] = x[b, token, :] for x [batch, tokens, dim]: picks the class token (token 0). */
    record SelectToken(DeviceBuffer x, DeviceBuffer out, int batch, int tokens, int dim, int token) implements Op {
        @Override
        public String label() {
            return "select_token";
        }

        @Override
        public String shape() {
            return "B=" + batch + " D=" + dim;
        }

        @Override
        public void check(Backend be) {
            String op = "selectToken";
            positive(op, "batch", batch);
            positive(op, "tokens", tokens);
            positive(op, "dim", dim);
            if (token < 0 || token >= tokens) {
                throw new Vit4jException(op + ": token " + token + " is outside [0, " + tokens + ")");
            }
            buffer(be, op, "x", x, (long) batch * tokens * dim);
            buffer(be, op, "out", out, (long) batch * dim);
            sameType(be, op, "x", x, "out", out);
        }

        @Override
        public double flops() {
            return 0;
        }

        @Override
        public double leastBytes() {
            return bytes(out, 2.0 * batch * dim);
        }

        @Override
        public void runOn(Kernels k) {
            k.selectToken(this);
        }
    }

    /** The first n elements of src into dst, of one element type. */
    record Copy(DeviceBuffer src, DeviceBuffer dst, long n) implements Op {
        @Override
        public String label() {
            return "copy";
        }

        @Override
        public String shape() {
            return "n=" + n;
        }

        @Override
        public void check(Backend be) {
            checkElementwise(be, "copy", n, "src", src, "dst", dst);
        }

        @Override
        public double flops() {
            return 0;
        }

        @Override
        public double leastBytes() {
            return bytes(dst, 2.0 * n);
        }

        @Override
        public void runOn(Kernels k) {
            k.copy(this);
        }
    }
}
