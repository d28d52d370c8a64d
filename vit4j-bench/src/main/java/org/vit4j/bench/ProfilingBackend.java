package org.vit4j.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.vit4j.backend.Backend;
import org.vit4j.backend.DeviceBuffer;
import org.vit4j.backend.Epilogue;
import org.vit4j.backend.PatchEmbedShape;
import org.vit4j.memory.PoolStats;

/**
 * A backend that times each op of another: it waits for the queue before and after every call, so
 * each time is that op's alone (launch and all), at the cost of the overlap a real pass has. Used
 * by {@code vit4j bench} for its per-kernel table; the end-to-end figure comes from the bare
 * backend. Calls are grouped by op and shape, in first-seen order.
 */
public final class ProfilingBackend implements Backend {
    private final Backend inner;
    private final Map<String, OpTimes> ops = new LinkedHashMap<>();

    public ProfilingBackend(Backend inner) {
        this.inner = inner;
    }

    /** One op at one shape: its cost and every call's time. */
    public static final class OpTimes {
        public final String op;
        public final String shape;
        public final OpCost cost;
        public final List<Long> nanos = new ArrayList<>();

        OpTimes(String op, String shape, OpCost cost) {
            this.op = op;
            this.shape = shape;
            this.cost = cost;
        }
    }

    public List<OpTimes> times() {
        return new ArrayList<>(ops.values());
    }

    private void timed(String op, String shape, OpCost cost, Runnable call) {
        inner.synchronize();
        long start = System.nanoTime();
        call.run();
        inner.synchronize();
        long elapsed = System.nanoTime() - start;
        ops.computeIfAbsent(op + "|" + shape, k -> new OpTimes(op, shape, cost)).nanos.add(elapsed);
    }

    @Override
    public String name() {
        return inner.name();
    }

    @Override
    public String deviceName() {
        return inner.deviceName();
    }

    @Override
    public DeviceBuffer allocate(org.vit4j.ElementType type, long length) {
        return inner.allocate(type, length);
    }

    @Override
    public boolean supports(org.vit4j.ElementType type) {
        return inner.supports(type);
    }

    @Override
    public DeviceBuffer upload(float[] host, org.vit4j.ElementType type) {
        return inner.upload(host, type);
    }

    @Override
    public DeviceBuffer upload(org.vit4j.HostTensor host, org.vit4j.ElementType type) {
        return inner.upload(host, type);
    }

    @Override
    public void writeBits(java.nio.ShortBuffer src, DeviceBuffer dst) {
        inner.writeBits(src, dst);
    }

    @Override
    public void download(DeviceBuffer src, float[] dst) {
        inner.download(src, dst);
    }

    @Override
    public void write(float[] src, DeviceBuffer dst) {
        inner.write(src, dst);
    }

    @Override
    public void copy(DeviceBuffer src, DeviceBuffer dst, long n) {
        timed("copy", "n=" + n, OpCost.elementwise(n, 1, 0).in(src.dtype()), () -> inner.copy(src, dst, n));
    }

    @Override
    public void patchEmbed(PatchEmbedShape s, DeviceBuffer images, DeviceBuffer weight, DeviceBuffer bias,
            DeviceBuffer clsToken, DeviceBuffer posEmbed, DeviceBuffer out) {
        timed("patch_embed", "B=" + s.batch() + " C=" + s.channels() + " S=" + s.imageSize() + " P=" + s.patch()
                + " D=" + s.dim(), OpCost.patchEmbed(s.batch(), s.channels(), s.imageSize(), s.patch(), s.dim()).in(out.dtype()),
                () -> inner.patchEmbed(s, images, weight, bias, clsToken, posEmbed, out));
    }

    @Override
    public void layerNorm(DeviceBuffer x, DeviceBuffer gamma, DeviceBuffer beta, DeviceBuffer out, int rows, int dim,
            float eps) {
        timed("layernorm", "rows=" + rows + " D=" + dim, OpCost.layerNorm(rows, dim).in(out.dtype()),
                () -> inner.layerNorm(x, gamma, beta, out, rows, dim, eps));
    }

    @Override
    public void addLayerNorm(DeviceBuffer x, DeviceBuffer residual, DeviceBuffer sum, DeviceBuffer normed,
            DeviceBuffer gamma, DeviceBuffer beta, int rows, int dim, float eps) {
        timed("add_layernorm", "rows=" + rows + " D=" + dim, OpCost.addLayerNorm(rows, dim).in(normed.dtype()),
                () -> inner.addLayerNorm(x, residual, sum, normed, gamma, beta, rows, dim, eps));
    }

    @Override
    public void linear(DeviceBuffer x, DeviceBuffer weight, DeviceBuffer bias, DeviceBuffer out, int rows,
            int inFeatures, int outFeatures, Epilogue epilogue, DeviceBuffer residual) {
        timed("linear+" + epilogue.name().toLowerCase(java.util.Locale.ROOT),
                "M=" + rows + " K=" + inFeatures + " N=" + outFeatures,
                OpCost.linear(rows, inFeatures, outFeatures, bias != null, residual != null).in(out.dtype()),
                () -> inner.linear(x, weight, bias, out, rows, inFeatures, outFeatures, epilogue, residual));
    }

    @Override
    public void linearQkv(DeviceBuffer x, DeviceBuffer weight, DeviceBuffer bias, DeviceBuffer qkv, int batch,
            int tokens, int dim, int heads) {
        timed("linear_qkv", "M=" + batch * tokens + " K=" + dim + " N=" + 3 * dim,
                OpCost.linear(batch * tokens, dim, 3 * dim, bias != null, false).in(qkv.dtype()),
                () -> inner.linearQkv(x, weight, bias, qkv, batch, tokens, dim, heads));
    }

    @Override
    public void attention(DeviceBuffer qkv, DeviceBuffer out, int batch, int tokens, int heads, int headDim,
            float scale) {
        timed("attention", "B=" + batch + " T=" + tokens + " H=" + heads + " hd=" + headDim,
                OpCost.attention(batch, tokens, heads, headDim).in(out.dtype()),
                () -> inner.attention(qkv, out, batch, tokens, heads, headDim, scale));
    }

    @Override
    public void gelu(DeviceBuffer x, DeviceBuffer out, long n) {
        timed("gelu", "n=" + n, OpCost.elementwise(n, 1, 8).in(out.dtype()), () -> inner.gelu(x, out, n));
    }

    @Override
    public void add(DeviceBuffer a, DeviceBuffer b, DeviceBuffer out, long n) {
        timed("add", "n=" + n, OpCost.elementwise(n, 2, 1).in(out.dtype()), () -> inner.add(a, b, out, n));
    }

    @Override
    public void selectToken(DeviceBuffer x, DeviceBuffer out, int batch, int tokens, int dim, int token) {
        timed("select_token", "B=" + batch + " D=" + dim, OpCost.elementwise((long) batch * dim, 1, 0).in(out.dtype()),
                () -> inner.selectToken(x, out, batch, tokens, dim, token));
    }

    @Override
    public PoolStats memoryStats() {
        return inner.memoryStats();
    }

    @Override
    public long memoryCapacity() {
        return inner.memoryCapacity();
    }

    @Override
    public void synchronize() {
        inner.synchronize();
    }

    /** Does not close the wrapped backend. */
    @Override
    public void close() {}
}
