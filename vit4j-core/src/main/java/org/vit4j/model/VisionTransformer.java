package org.vit4j.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.IntConsumer;
import org.vit4j.ElementType;
import org.vit4j.HostTensor;
import org.vit4j.Vit4jException;
import org.vit4j.backend.Backend;
import org.vit4j.backend.DeviceBuffer;
import org.vit4j.backend.Epilogue;
import org.vit4j.backend.HostChunks;

/**
 * The Vision Transformer encoder and head (Dosovitskiy et al., 2021, eqs. 1-4), composed from a
 * backend's ops:
 * <pre>
 *   z0  = PatchEmbed(x)                      class token, patches, position embedding
 *   z_l = Block_l(z_{l-1}),  l = 1..L        pre-norm MSA and MLP, each with a residual
 *   y   = LN(z_L^0)                          the class token, final-normed: pre-logits
 *   logits = Head(y)
 * </pre>
 * The weights are uploaded once, when the model is made, and the activation buffers once per batch
 * size; {@link #close()} releases both. The model does not own the backend.
 *
 * <p>Thread-safe: any number of threads may call {@link #forward} on one model; passes run one at a
 * time (they share the activation buffers, and a device runs one pass at a time anyway), each with the
 * result a serial call gives. {@link #close()} waits for a pass under way. Several models may share
 * one backend from several threads: backends serialise their own entry points.
 *
 * <p>The precision is chosen once, here: weights and activations are stored as that
 * {@link ElementType} (fp32, bf16, fp16), every op accumulates in float32 and rounds where
 * {@link ElementType} says; logits and pre-logits come back as float32.
 */
public final class VisionTransformer implements AutoCloseable {
    private final VitConfig config;
    private final Backend backend;
    private final ElementType precision;
    private final DeviceWeights weights;
    private final PatchEmbed patchEmbed;
    private final List<Block> blocks = new ArrayList<>();
    private final LayerNorm norm;
    private final Linear head;
    private final long weightBytes;
    private Activations activations;
    private boolean closed;

    /** The most images {@link #batchSizeFor} suggests. */
    public static final int MAX_SUGGESTED_BATCH = 64;

    /** The model in float32. */
    public VisionTransformer(VitWeights hostWeights, Backend backend) {
        this(hostWeights, backend, ElementType.F32);
    }

    /** The model with weights and activations stored as {@code precision}. */
    public VisionTransformer(VitWeights hostWeights, Backend backend, ElementType precision) {
        if (precision == null) throw new Vit4jException("precision is null: expected fp32, bf16 or fp16");
        if (!backend.supports(precision)) {
            throw new Vit4jException("backend " + backend.name() + " does not run " + precision.label()
                    + " models (it runs " + supported(backend) + ")");
        }
        this.config = hostWeights.config();
        this.backend = backend;
        this.precision = precision;
        this.weightBytes = hostWeights.parameterCount() * precision.bytes();
        this.weights = new DeviceWeights(backend, hostWeights, precision);
        try {
            this.patchEmbed = new PatchEmbed(weights, config);
            for (int i = 0; i < config.depth(); i++) blocks.add(new Block(weights, i, config));
            this.norm = new LayerNorm(weights, "norm.", config.hiddenSize(), config.layerNormEps());
            this.head = config.numClasses() > 0
                    ? new Linear(weights, "head.", config.hiddenSize(), config.numClasses()) : null;
        } catch (RuntimeException e) {
            weights.close();
            throw e;
        }
    }

    /**
     * The memory a pass needs per image beyond the weights: its activation buffers on the device
     * ({@code [B, T, D]} x 6 for the stream, its norm, q/k/v and attention output, {@code [B, T, mlp]},
     * the image itself, class token and logits) plus the image twice in float32 on the host.
     */
    public static long bytesPerImage(VitConfig c, ElementType precision) {
        return Activations.bytes(c, 1, precision) + 2L * 4 * c.channels() * c.imageHeight() * c.imageWidth();
    }

    /**
     * A batch size for a memory budget (e.g. {@link Backend#memoryCapacity()}): the most images, from 1
     * to {@code max}, whose {@link #bytesPerImage} with this model's weights fit in half of
     * {@code budgetBytes} (the other half left to the pool's size classes, the backends' scratch and
     * what else the process holds).
     */
    public int batchSizeFor(long budgetBytes, int max) {
        if (max < 1) throw new Vit4jException("batchSizeFor: max must be >= 1, got " + max);
        long free = budgetBytes / 2 - weightBytes;
        long n = free / bytesPerImage(config, precision);
        return (int) Math.max(1, Math.min(max, n));
    }

    public VitConfig config() {
        return config;
    }

    public Backend backend() {
        return backend;
    }

    /** How weights and activations are stored. */
    public ElementType precision() {
        return precision;
    }

    private static String supported(Backend backend) {
        StringBuilder sb = new StringBuilder();
        for (ElementType t : ElementType.values()) {
            if (backend.supports(t)) sb.append(sb.length() == 0 ? "" : ", ").append(t.label());
        }
        return sb.toString();
    }

    /** Runs images [B, C, H, W] (normalised as the model was trained) through the model. */
    public VitOutput forward(HostTensor images) {
        return forward(images, ForwardOptions.DEFAULT, null);
    }

    public VitOutput forward(HostTensor images, ActivationObserver observer) {
        return forward(images, ForwardOptions.DEFAULT, observer);
    }

    /**
     * Runs images through the model and returns, besides logits and pre-logits, what {@code options}
     * asks for: the attention probabilities of every block or of chosen blocks
     * ({@link ForwardOptions#attentions()}), each [B, heads, N, N] float32 in {@link VitOutput#attentions()}.
     */
    public VitOutput forward(HostTensor images, ForwardOptions options) {
        return forward(images, options, null);
    }

    /** {@link #forward(HostTensor, ForwardOptions)} with an observer of the intermediate activations. */
    public VitOutput forward(HostTensor images, ForwardOptions options, ActivationObserver observer) {
        if (options == null) throw new Vit4jException("forward: options is null (ForwardOptions.DEFAULT for none)");
        int[] attentionBlocks = options.wantsAttentions() ? options.attentionBlocks(config.depth()) : new int[0];
        int batch = checkInput(images);
        requireFinite(images);
        synchronized (this) {
            if (closed) throw new IllegalStateException("VisionTransformer used after close");
            // rounded to the model's precision on the way
            return pass(a -> backend.write(images.toFloats(), a.images), observer, attentionBlocks, batch);
        }
    }

    /**
     * Runs images that are already on the model's device through it: {@code images} holds [batch, C, H, W]
     * (normalised as the model was trained) in the model's {@link #precision()}, allocated by its
     * {@link #backend()} (for example {@code backend().upload(tensor, precision())}). A caller can so
     * upload the next batch while this one runs, or time the model alone, as PyTorch's figures are taken.
     * The buffer is copied on the device and left as it was. Unlike {@link #forward(HostTensor)}, the
     * pixels are not checked for NaN or infinity (they are not on the host to read).
     */
    public VitOutput forward(DeviceBuffer images, int batch) {
        checkInput(images, batch);
        synchronized (this) {
            if (closed) throw new IllegalStateException("VisionTransformer used after close");
            return pass(a -> backend.copy(images, a.images, images.length()), null, new int[0], batch);
        }
    }

    /** One pass; {@code input} puts the batch's images into {@code a.images}. */
    private VitOutput pass(java.util.function.Consumer<Activations> input, ActivationObserver observer,
            int[] attentionBlocks, int batch) {
        Activations a = activations(batch);
        input.accept(a);
        SortedMap<Integer, HostTensor> attentions = new TreeMap<>();
        if (observer == null && attentionBlocks.length == 0) {
            backend.run(a, () -> encode(a, null, null));
        } else if (attentionBlocks.length == 0) {
            encode(a, observer, null); // observing downloads mid-pass: never recorded
        } else {
            // The probabilities of block i are computed from its q and k, still in a.qkv after the block,
            // and copied out before the next block overwrites them: op by op, never recorded.
            int heads = config.heads(), tokens = config.tokens();
            boolean[] wanted = new boolean[config.depth()];
            for (int i : attentionBlocks) wanted[i] = true;
            try (DeviceBuffer probs = backend.allocate(ElementType.F32, (long) batch * heads * tokens * tokens)) {
                encode(a, observer, i -> {
                    if (!wanted[i]) return;
                    int headDim = config.hiddenSize() / heads;
                    backend.attentionProbs(a.qkv, probs, batch, tokens, heads, headDim, Attention.scale(headDim));
                    attentions.put(i, download(probs, batch, heads, tokens, tokens));
                });
            }
        }
        int d = config.hiddenSize();
        HostTensor preLogits = download(a.preLogits, batch, d);
        HostTensor logits = head == null ? null : download(a.logits, batch, config.numClasses());
        if (observer != null) {
            observer.observe("pre_logits", preLogits);
            if (logits != null) observer.observe("logits", logits);
        }
        return new VitOutput(logits, preLogits, attentions);
    }

    /** Queues the whole pass: images in {@code a.images} to pre-logits and logits. */
    private void encode(Activations a, ActivationObserver observer, IntConsumer afterBlock) {
        int batch = a.batch, d = config.hiddenSize();
        patchEmbed.forward(backend, a.images, a.stream, batch);
        observe(observer, "embeddings", a.stream, batch, config.tokens(), d);
        for (int i = 0; i < blocks.size(); i++) {
            blocks.get(i).forward(backend, a.stream, a);
            if (afterBlock != null) afterBlock.accept(i);
            observe(observer, "blocks." + i, a.stream, batch, config.tokens(), d);
        }
        // LN is per token, so normalising only the class token equals timm's norm-then-pool.
        backend.selectToken(a.stream, a.classToken, batch, config.tokens(), d, 0);
        norm.forward(backend, a.classToken, a.preLogits, batch);
        if (head != null) head.forward(backend, a.preLogits, a.logits, batch, Epilogue.BIAS, null);
    }

    /** The buffers for this batch size: kept while the batch size stays the same, else made anew. */
    private Activations activations(int batch) {
        if (activations != null && activations.batch == batch) return activations;
        if (activations != null) {
            activations.close();
            activations = null;
        }
        activations = new Activations(backend, config, batch, precision);
        return activations;
    }

    private void checkInput(DeviceBuffer images, int batch) {
        int c = config.channels(), h = config.imageHeight(), w = config.imageWidth();
        String want = "[" + batch + ", " + c + ", " + h + ", " + w + "] " + precision.label() + " on " + backend.name();
        if (batch < 1) throw new Vit4jException("input: batch must be >= 1, got " + batch);
        if (images == null) throw new Vit4jException("input: device buffer is null (expected " + want + ")");
        if (images.isClosed()) throw new Vit4jException("input: device buffer is closed (expected " + want + ")");
        if (images.backend() != backend) {
            throw new Vit4jException("input: device buffer belongs to backend " + images.backend().name()
                    + ", not to this model's (expected " + want + ")");
        }
        if (images.dtype() != precision) {
            throw new Vit4jException("input: device buffer is " + images.dtype().label() + ", expected " + want
                    + " (the model's precision: upload with backend().upload(tensor, precision()))");
        }
        long n = (long) batch * c * h * w;
        if (images.length() != n) {
            throw new Vit4jException("input: device buffer holds " + images.length() + " elements, expected " + want
                    + " = " + n);
        }
    }

    private int checkInput(HostTensor images) {
        int[] s = images.shape();
        int h = config.imageHeight(), w = config.imageWidth(), c = config.channels();
        if (s.length != 4 || s[0] < 1 || s[1] != c || s[2] != h || s[3] != w) {
            throw new Vit4jException("input: expected a tensor [B, " + c + ", " + h + ", " + w
                    + "] (B >= 1), got " + Arrays.toString(s));
        }
        return s[0];
    }

    /** A NaN or infinite pixel would turn every logit NaN without a word: name where it is. */
    private static void requireFinite(HostTensor images) {
        float[] v = images.toFloats();
        // First a branch-free pass that the JIT vectorises (the largest magnitude is NaN or infinite exactly
        // when a pixel is): ~37 us for a 224 x 224 image where the early-exit loop below took ~70 (2026-12-03),
        // time in front of every pass in which the device waits.
        // A large batch in chunks on the common pool (HostChunks: 256 images are 38.5M values).
        float largest = (float) HostChunks.max(v.length, (from, to) -> largestMagnitude(v, from, to));
        if (largest <= Float.MAX_VALUE) return;
        for (int i = 0; i < v.length; i++) {
            if (!Float.isFinite(v[i])) {
                int[] s = images.shape();
                int x = i % s[3], y = i / s[3] % s[2], c = i / (s[3] * s[2]) % s[1], b = i / (s[3] * s[2] * s[1]);
                throw new Vit4jException("input: " + v[i] + " at image " + b + ", channel " + c + ", y " + y + ", x " + x
                        + ": expected finite pixel values");
            }
        }
    }

    /** The largest |x| of v[from, to); NaN or infinite exactly when one of them is. */
    private static float largestMagnitude(float[] v, int from, int to) {
        float largest = 0f;
        for (int i = from; i < to; i++) largest = Math.max(largest, Math.abs(v[i]));
        return largest;
    }

    private void observe(ActivationObserver observer, String name, DeviceBuffer buffer, int... shape) {
        if (observer != null) observer.observe(name, download(buffer, shape));
    }

    private HostTensor download(DeviceBuffer buffer, int... shape) {
        float[] host = new float[Math.toIntExact(HostTensor.elementCount(shape))];
        backend.download(buffer, host);
        return new HostTensor(host, shape);
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            if (activations != null) activations.close();
            weights.close();
        }
    }
}
