package org.vit4j.backend;

import java.util.Optional;
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

    /**
     * The kernel variants and tile sizes this backend runs on its device, chosen from what it measured
     * or from the device's properties (e.g. "linear_v5 VW=16 MR=8 NR=32 WGX=8"), for benchmarks to
     * print; empty where a backend has no choice to report.
     */
    default String kernelChoices() {
        return "";
    }

    /**
     * The device's fp32 FMA rate in GFLOP/s, measured now by a kernel of independent FMA chains (the
     * arithmetic ceiling no GEMM can pass; a benchmark holds ops to it), or NaN where the backend has
     * no such kernel. Takes a fraction of a second; callers cache it.
     */
    default double measureFmaPeakGflops() {
        return Double.NaN;
    }

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

    /** {@link Op.Copy}: the first {@code n} elements of {@code src} to {@code dst} (same type) on the device. */
    default void copy(DeviceBuffer src, DeviceBuffer dst, long n) {
        execute(new Op.Copy(src, dst, n));
    }

    // ---- ops ----
    // Each op is described once, in its record of Op (what it computes, shapes, checks, cost). The
    // methods below build the record and execute it: model code reads as the paper, backends
    // implement Op.Kernels, and a wrapper (profiling) overrides execute alone.

    /**
     * Runs one op: checks it against this backend ({@link Op#check}), then hands it to this backend's
     * {@link Op.Kernels}. Asynchronous like the rest: {@link #synchronize} waits for it.
     */
    void execute(Op op);

    /** {@link Op.PatchEmbed}. */
    default void patchEmbed(PatchEmbedShape shape, DeviceBuffer images, DeviceBuffer weight, DeviceBuffer bias,
            DeviceBuffer clsToken, DeviceBuffer posEmbed, DeviceBuffer out) {
        execute(new Op.PatchEmbed(shape, images, weight, bias, clsToken, posEmbed, out));
    }

    /** {@link Op.LayerNorm}. */
    default void layerNorm(DeviceBuffer x, DeviceBuffer gamma, DeviceBuffer beta, DeviceBuffer out, int rows, int dim,
            float eps) {
        execute(new Op.LayerNorm(x, gamma, beta, out, rows, dim, eps));
    }

    /** {@link Op.AddLayerNorm}. */
    default void addLayerNorm(DeviceBuffer x, DeviceBuffer residual, DeviceBuffer sum, DeviceBuffer normed,
            DeviceBuffer gamma, DeviceBuffer beta, int rows, int dim, float eps) {
        execute(new Op.AddLayerNorm(x, residual, sum, normed, gamma, beta, rows, dim, eps));
    }

    /** {@link Op.Linear}. */
    default void linear(DeviceBuffer x, DeviceBuffer weight, DeviceBuffer bias, DeviceBuffer out, int rows,
            int inFeatures, int outFeatures, Epilogue epilogue, DeviceBuffer residual) {
        execute(new Op.Linear(x, weight, bias, out, rows, inFeatures, outFeatures, epilogue, residual));
    }

    /** {@link Op.LinearQkv}. */
    default void linearQkv(DeviceBuffer x, DeviceBuffer weight, DeviceBuffer bias, DeviceBuffer qkv, int batch,
            int tokens, int dim, int heads) {
        execute(new Op.LinearQkv(x, weight, bias, qkv, batch, tokens, dim, heads));
    }

    /** {@link Op.Attention}. */
    default void attention(DeviceBuffer qkv, DeviceBuffer out, int batch, int tokens, int heads, int headDim,
            float scale) {
        execute(new Op.Attention(qkv, out, batch, tokens, heads, headDim, scale));
    }

    /** {@link Op.AttentionProbs}: softmax(q k^T * scale) of qkv (any type) into the float32 probs [B, H, T, T]. */
    default void attentionProbs(DeviceBuffer qkv, DeviceBuffer probs, int batch, int tokens, int heads, int headDim,
            float scale) {
        execute(new Op.AttentionProbs(qkv, probs, batch, tokens, heads, headDim, scale));
    }

    /** {@link Op.Gelu}. */
    default void gelu(DeviceBuffer x, DeviceBuffer out, long n) {
        execute(new Op.Gelu(x, out, n));
    }

    /** {@link Op.Add}. */
    default void add(DeviceBuffer a, DeviceBuffer b, DeviceBuffer out, long n) {
        execute(new Op.Add(a, b, out, n));
    }

    /** {@link Op.SelectToken}. */
    default void selectToken(DeviceBuffer x, DeviceBuffer out, int batch, int tokens, int dim, int token) {
        execute(new Op.SelectToken(x, out, batch, tokens, dim, token));
    }

    /** The backend's device memory pool, or {@link PoolStats#NONE} where it has none. */
    default PoolStats memoryStats() {
        return PoolStats.NONE;
    }

    /**
     * The most bytes this backend's buffers may take together: its pool's cap (the memory cap it was
     * opened with, else the memory the device reports), the Java heap's maximum for {@code cpu};
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

    /** The device's timestamps of the kernels this backend runs ({@link KernelTimeline}), where it keeps them. */
    default Optional<KernelTimeline> kernelTimeline() {
        return Optional.empty();
    }

    /** Waits until every queued op has finished. */
    void synchronize();

    /** Releases everything this backend holds. Buffers used afterwards fail cleanly. */
    @Override
    void close();
}
