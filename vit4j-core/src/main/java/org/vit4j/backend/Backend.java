package org.vit4j.backend;

import org.vit4j.ElementType;
import org.vit4j.HostTensor;
import org.vit4j.Vit4jException;
import org.vit4j.memory.PoolStats;

/**
 * The ops a ViT encoder is made of, on buffers in one device's memory. The model
 * ({@code org.vit4j.model.VisionTransformer}) composes them and never looks behind this interface,
 * so a new backend needs no change to the model. Each op is public for users who compose kernels
 * themselves; every implementation checks its arguments with {@link OpChecks} first, so a wrong
 * length or a foreign buffer is a clear exception on every backend alike.
 *
 * <p>Layouts are row-major. Linear weights are stored as PyTorch stores them, [out, in]. Ops run
 * in order on the backend's queue; {@link #download} waits for them.
 *
 * <p>Buffers carry their element type ({@link ElementType}): every buffer of one op has the same
 * type, the op reads it, computes in float32 and rounds its result once at the store (the rounding
 * points are written down in {@link ElementType}). Host transfers are float32 on the host side and
 * convert (round to nearest even) to and from the buffer's type.
 */
public interface Backend extends AutoCloseable {

    /** "cpu", "opencl", "cuda", "cuda-cpu". */
    String name();

    /** The device, in words. */
    String deviceName();

    // ---- memory ----

    /** A float32 buffer of {@code length} elements, contents undefined. */
    default DeviceBuffer allocate(long length) {
        return allocate(ElementType.F32, length);
    }

    /** A buffer of {@code length} elements of {@code type}, contents undefined. */
    DeviceBuffer allocate(ElementType type, long length);

    /** Whether this backend's ops run on buffers of {@code type} (every backend runs fp32). */
    default boolean supports(ElementType type) {
        return type == ElementType.F32;
    }

    /** A new float32 buffer holding a copy of {@code host}. */
    default DeviceBuffer upload(float[] host) {
        return upload(host, ElementType.F32);
    }

    /** A new buffer of {@code type} holding {@code host} rounded to it. */
    default DeviceBuffer upload(float[] host, ElementType type) {
        if (host == null) throw new Vit4jException("upload: host array is null");
        DeviceBuffer b = allocate(type, host.length);
        try {
            write(host, b);
        } catch (RuntimeException e) {
            b.close();
            throw e;
        }
        return b;
    }

    /**
     * A new buffer of {@code type} holding {@code host}: its 16-bit patterns as they are where the
     * types agree (no float32 copy on the host), else its values rounded to {@code type}.
     */
    default DeviceBuffer upload(HostTensor host, ElementType type) {
        if (host == null) throw new Vit4jException("upload: tensor is null");
        if (host.dtype() == ElementType.F32 || host.dtype() != type) return upload(host.toFloats(), type);
        DeviceBuffer b = allocate(type, host.elementCount());
        try {
            writeBits(host.bits(), b);
        } catch (RuntimeException e) {
            b.close();
            throw e;
        }
        return b;
    }

    /** Copies all of {@code src} into {@code dst} (same length) as float32, after pending ops finish. */
    void download(DeviceBuffer src, float[] dst);

    /** Copies {@code src} into {@code dst} (same length), rounded to its type, in order with the queued ops. */
    void write(float[] src, DeviceBuffer dst);

    /**
     * Copies the 16-bit patterns {@code src} (position to limit) into the bf16/fp16 buffer {@code dst}
     * of the same type and length. The default goes through float32, a tensor at a time; device
     * backends copy the patterns as they are.
     */
    default void writeBits(java.nio.ShortBuffer src, DeviceBuffer dst) {
        OpChecks.bitsTransfer(this, "writeBits", dst, src);
        write(dst.dtype().fromBits(src, new float[src.remaining()]), dst);
    }

    /** Copies the first {@code n} elements of {@code src} to {@code dst} (same type) on the device. */
    void copy(DeviceBuffer src, DeviceBuffer dst, long n);

    // ---- ops ----

    /**
     * Embeds images as tokens: out[b, 0] = clsToken + posEmbed[0]; out[b, 1 + i] = patch_i . W^T + bias
     * + posEmbed[1 + i], where patch i is read in (c, y, x) order straight from the NCHW image, so the
     * convolution with stride = kernel = patch is one GEMM with K = C * P * P.
     *
     * @param images   [batch, channels, imageSize, imageSize]
     * @param weight   [dim, channels, patch, patch]
     * @param bias     [dim]
     * @param clsToken [dim]
     * @param posEmbed [tokens, dim]
     * @param out      [batch, tokens, dim]
     */
    void patchEmbed(PatchEmbedShape shape, DeviceBuffer images, DeviceBuffer weight, DeviceBuffer bias,
            DeviceBuffer clsToken, DeviceBuffer posEmbed, DeviceBuffer out);

    /** out[r] = (x[r] - mean) / sqrt(var + eps) * gamma + beta for each of {@code rows} rows of {@code dim}. */
    void layerNorm(DeviceBuffer x, DeviceBuffer gamma, DeviceBuffer beta, DeviceBuffer out, int rows, int dim,
            float eps);

    /**
     * sum = x + residual, normed = layerNorm(sum): the residual add fused with the next block's norm.
     * Backends without a fused kernel inherit this composition.
     */
    default void addLayerNorm(DeviceBuffer x, DeviceBuffer residual, DeviceBuffer sum, DeviceBuffer normed,
            DeviceBuffer gamma, DeviceBuffer beta, int rows, int dim, float eps) {
        add(x, residual, sum, (long) rows * dim);
        layerNorm(sum, gamma, beta, normed, rows, dim, eps);
    }

    /**
     * out[rows, outFeatures] = epilogue(x[rows, inFeatures] . weight[outFeatures, inFeatures]^T).
     *
     * @param bias     [outFeatures], or null for none (then only {@link Epilogue#NONE} is allowed)
     * @param residual [rows, outFeatures] for {@link Epilogue#BIAS_RESIDUAL}, else null; may be {@code out}
     */
    void linear(DeviceBuffer x, DeviceBuffer weight, DeviceBuffer bias, DeviceBuffer out, int rows, int inFeatures,
            int outFeatures, Epilogue epilogue, DeviceBuffer residual);

    /**
     * The attention input projection, written in the layout attention reads: x [batch, tokens, dim]
     * times weight [3 * dim, dim] (rows q, k, v, each head's rows contiguous) plus bias [3 * dim] (or
     * null) goes to qkv [3, batch, heads, tokens, dim / heads]. No transpose pass runs.
     */
    void linearQkv(DeviceBuffer x, DeviceBuffer weight, DeviceBuffer bias, DeviceBuffer qkv, int batch, int tokens,
            int dim, int heads);

    /**
     * Scaled dot-product self-attention per (batch, head): softmax(q k^T * scale) v, with q, k, v read
     * from qkv [3, batch, heads, tokens, headDim] and the heads concatenated into out
     * [batch, tokens, heads * headDim], ready for the output projection.
     */
    void attention(DeviceBuffer qkv, DeviceBuffer out, int batch, int tokens, int heads, int headDim, float scale);

    /** out = GELU(x) elementwise, exact: x / 2 * (1 + erf(x / sqrt 2)). {@code out} may be {@code x}. */
    void gelu(DeviceBuffer x, DeviceBuffer out, long n);

    /** out = a + b elementwise. {@code out} may be either input. */
    void add(DeviceBuffer a, DeviceBuffer b, DeviceBuffer out, long n);

    /** out[b, :] = x[b, token, :] for x [batch, tokens, dim]: picks the class token (token 0). */
    void selectToken(DeviceBuffer x, DeviceBuffer out, int batch, int tokens, int dim, int token);

    /** The backend's device memory pool, or {@link PoolStats#NONE} where it has none. */
    default PoolStats memoryStats() {
        return PoolStats.NONE;
    }

    /**
     * The most bytes this backend's buffers may take together: its pool's cap (the memory cap it was
     * opened with, else what the device reports), the Java heap's maximum for {@code cpu};
     * {@link Long#MAX_VALUE} where nothing says.
     */
    default long memoryCapacity() {
        return Long.MAX_VALUE;
    }

    /**
     * Runs {@code body}, which only queues ops on buffers that stay the same from call to call.
     * A backend may record the ops the first time per {@code key} and replay the recording later
     * (CUDA graphs: a whole forward pass as one launch); the default just runs it.
     */
    default void run(Object key, Runnable body) {
        body.run();
    }

    /** Drops whatever {@link #run} recorded for {@code key}; its buffers are about to be released. */
    default void forget(Object key) {}

    /** Waits until every queued op has finished. */
    void synchronize();

    /** Releases everything this backend holds. Buffers used afterwards fail cleanly. */
    @Override
    void close();
}
