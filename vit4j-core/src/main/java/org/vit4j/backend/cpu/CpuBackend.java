package org.vit4j.backend.cpu;

import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;
import org.vit4j.ElementType;
import org.vit4j.Vit4jException;
import org.vit4j.backend.Backend;
import org.vit4j.backend.DeviceBuffer;
import org.vit4j.backend.Epilogue;
import org.vit4j.backend.Op;
import org.vit4j.backend.OpChecks;
import org.vit4j.backend.PatchEmbedShape;

/**
 * The reference backend, in plain Java: the oracle every kernel is checked against. Each op is
 * written the obvious way, straight from its definition, with every sum, mean and softmax
 * accumulated in double; activations are stored in float32 between ops, as on a device. Rows are
 * spread over the common fork-join pool, which changes no result: each output element is computed
 * by one thread in a fixed order.
 *
 * <p>On bf16/fp16 buffers it runs the half-precision path of the device kernels: the same double
 * arithmetic on the stored values, with each op's output rounded once at the points {@link ElementType}
 * lists, so a device kernel in half precision can be checked against it to a unit or two in the
 * last place of the storage type.
 */
public final class CpuBackend implements Backend {
    private final AtomicLong liveBuffers = new AtomicLong();
    private volatile boolean closed;

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public String deviceName() {
        return "Java reference on " + Runtime.getRuntime().availableProcessors() + " cores";
    }

    /** The Java heap is this backend's device memory. */
    @Override
    public long memoryCapacity() {
        return Runtime.getRuntime().maxMemory();
    }

    /** Buffers allocated and not yet closed. */
    public long liveBuffers() {
        return liveBuffers.get();
    }

    void released() {
        liveBuffers.decrementAndGet();
    }

    private void checkOpen() {
        if (closed) throw new IllegalStateException("cpu backend used after close");
    }

    @Override
    public boolean supports(ElementType type) {
        return type != null;
    }

    @Override
    public DeviceBuffer allocate(ElementType type, long length) {
        checkOpen();
        if (type == null) throw new Vit4jException("cpu: allocate: element type is null");
        if (length < 0 || length > Integer.MAX_VALUE - 8) {
            throw new Vit4jException("cpu: cannot allocate " + length + " elements (limit " + (Integer.MAX_VALUE - 8) + ")");
        }
        float[] data;
        try {
            data = new float[(int) length];
        } catch (OutOfMemoryError e) { // the heap is this backend's device memory: a clean error, as a device's
            throw new Vit4jException("cpu: cannot allocate " + length + " elements (" + 4 * length / (1 << 20)
                    + " MiB): the Java heap is full (max " + Runtime.getRuntime().maxMemory() / (1 << 20)
                    + " MiB); use a smaller batch or a larger -Xmx");
        }
        liveBuffers.incrementAndGet();
        return new CpuBuffer(this, type, data);
    }

    @Override
    public void download(DeviceBuffer src, float[] dst) {
        checkOpen();
        OpChecks.hostTransfer(this, "download", src, dst);
        System.arraycopy(data(src), 0, dst, 0, dst.length);
    }

    @Override
    public void write(float[] src, DeviceBuffer dst) {
        checkOpen();
        OpChecks.hostTransfer(this, "write", dst, src);
        float[] d = data(dst);
        ElementType t = dst.dtype();
        for (int i = 0; i < src.length; i++) d[i] = t.round(src[i]);
    }

    @Override
    public void writeBits(java.nio.ShortBuffer src, DeviceBuffer dst) {
        checkOpen();
        OpChecks.bitsTransfer(this, "writeBits", dst, src);
        dst.dtype().fromBits(src, data(dst));
    }

    /** Rounds the op's output {@code [from, from + n)} to the buffer's type: the store of a half-precision op. */
    private static void stored(DeviceBuffer out, long from, long n) {
        ElementType t = out.dtype();
        if (t == ElementType.F32) return;
        float[] y = data(out);
        for (int i = (int) from, end = (int) (from + n); i < end; i++) y[i] = t.round(y[i]);
    }


    private static float[] data(DeviceBuffer b) {
        return ((CpuBuffer) b).data();
    }









    private final Kernels kernels = new Kernels();

    @Override
    public void execute(Op op) {
        checkOpen();
        op.check(this);
        op.runOn(kernels);
    }

    /** The ops, each called by {@link #execute} once checked ({@link Op#check}). */
    private final class Kernels implements Op.Kernels {
        @Override
        public void copy(Op.Copy op) {
            System.arraycopy(data(op.src()), 0, data(op.dst()), 0, (int) op.n());
        }

        @Override
        public void patchEmbed(Op.PatchEmbed op) {
            PatchEmbedShape s = op.s();
            float[] img = data(op.images()), w = data(op.weight()), b = data(op.bias()), cls = data(op.clsToken()), pos = data(op.posEmbed());
            float[] y = data(op.out());
            int c = s.channels(), h = s.height(), wd = s.width(), p = s.patch(), gw = s.gridWidth(), d = s.dim();
            int t = s.tokens();
            int k = s.patchDim();
            for (int n = 0; n < s.batch(); n++) {
                int rowBase = n * t * d;
                for (int j = 0; j < d; j++) y[rowBase + j] = (float) ((double) cls[j] + pos[j]);
                int imageBase = n * c * h * wd;
                IntStream.range(0, s.patches()).parallel().forEach(patchIndex -> {
                    int py = patchIndex / gw, px = patchIndex % gw;
                    double[] patch = new double[k];
                    int e = 0;
                    for (int ch = 0; ch < c; ch++) {
                        for (int dy = 0; dy < p; dy++) {
                            int rowStart = imageBase + (ch * h + py * p + dy) * wd + px * p;
                            for (int dx = 0; dx < p; dx++) patch[e++] = img[rowStart + dx];
                        }
                    }
                    int token = 1 + patchIndex;
                    for (int j = 0; j < d; j++) {
                        double acc = b[j];
                        int wRow = j * k;
                        for (int q = 0; q < k; q++) acc += patch[q] * w[wRow + q];
                        y[rowBase + token * d + j] = (float) (acc + pos[token * d + j]);
                    }
                });
            }
            stored(op.out(), 0, s.outputFloats());
        }

        @Override
        public void layerNorm(Op.LayerNorm op) {
            int dim = op.dim();
            float[] in = data(op.x()), g = data(op.gamma()), bt = data(op.beta()), y = data(op.out());
            IntStream.range(0, op.rows()).parallel().forEach(r -> {
                int base = r * dim;
                // Two passes: the mean first, then the variance about it, so no cancellation.
                double mean = 0;
                for (int i = 0; i < dim; i++) mean += in[base + i];
                mean /= dim;
                double var = 0;
                for (int i = 0; i < dim; i++) {
                    double dev = in[base + i] - mean;
                    var += dev * dev;
                }
                var /= dim;
                double inv = 1.0 / Math.sqrt(var + op.eps());
                for (int i = 0; i < dim; i++) y[base + i] = (float) ((in[base + i] - mean) * inv * g[i] + bt[i]);
            });
            stored(op.out(), 0, (long) op.rows() * dim);
        }

        @Override
        public void linear(Op.Linear op) {
            int inFeatures = op.inFeatures();
            int outFeatures = op.outFeatures();
            float[] in = data(op.x()), w = data(op.weight()), b = op.bias() == null ? null : data(op.bias()), y = data(op.out());
            float[] res = op.residual() == null ? null : data(op.residual());
            IntStream.range(0, op.rows()).parallel().forEach(r -> {
                int xRow = r * inFeatures;
                for (int o = 0; o < outFeatures; o++) {
                    double acc = 0;
                    int wRow = o * inFeatures;
                    for (int i = 0; i < inFeatures; i++) acc += (double) in[xRow + i] * w[wRow + i];
                    if (b != null) acc += b[o];
                    int at = r * outFeatures + o;
                    switch (op.epilogue()) {
                        case BIAS_GELU -> acc = Gelu.exact(acc);
                        case BIAS_RESIDUAL -> acc += res[at];
                        default -> { }
                    }
                    y[at] = (float) acc;
                }
            });
            stored(op.out(), 0, (long) op.rows() * outFeatures);
        }

        @Override
        public void linearQkv(Op.LinearQkv op) {
            int batch = op.batch();
            int tokens = op.tokens();
            int dim = op.dim();
            float[] in = data(op.x()), w = data(op.weight()), b = op.bias() == null ? null : data(op.bias()), y = data(op.qkv());
            int headDim = dim / op.heads();
            IntStream.range(0, batch * tokens).parallel().forEach(row -> {
                int n = row / tokens, t = row % tokens;
                for (int o = 0; o < 3 * dim; o++) {
                    double acc = b == null ? 0 : b[o];
                    for (int i = 0; i < dim; i++) acc += (double) in[row * dim + i] * w[o * dim + i];
                    // Output feature o is part `which` (q, k, v) of head h, channel e.
                    int which = o / dim, h = (o % dim) / headDim, e = o % headDim;
                    long at = ((((long) which * batch + n) * op.heads() + h) * tokens + t) * headDim + e;
                    y[(int) at] = (float) acc;
                }
            });
            stored(op.qkv(), 0, 3L * batch * tokens * dim);
        }

        @Override
        public void attention(Op.Attention op) {
            int batch = op.batch();
            int tokens = op.tokens();
            int heads = op.heads();
            int headDim = op.headDim();
            float[] in = data(op.qkv()), y = data(op.out());
            int plane = batch * heads * tokens * headDim; // one of q, k, v
            int dim = heads * headDim;
            IntStream.range(0, batch * heads * tokens).parallel().forEach(index -> {
                int t = index % tokens, bh = index / tokens, n = bh / heads, h = bh % heads;
                int qRow = (bh * tokens + t) * headDim;
                int kvBase = bh * tokens * headDim;
                double[] scores = new double[tokens];
                double max = Double.NEGATIVE_INFINITY;
                for (int s = 0; s < tokens; s++) {
                    double dot = 0;
                    for (int e = 0; e < headDim; e++) dot += (double) in[qRow + e] * in[plane + kvBase + s * headDim + e];
                    scores[s] = dot * op.scale();
                    max = Math.max(max, scores[s]);
                }
                double total = 0;
                for (int s = 0; s < tokens; s++) {
                    scores[s] = Math.exp(scores[s] - max);
                    total += scores[s];
                }
                int outRow = (n * tokens + t) * dim + h * headDim;
                for (int e = 0; e < headDim; e++) {
                    double acc = 0;
                    for (int s = 0; s < tokens; s++) acc += scores[s] * in[2 * plane + kvBase + s * headDim + e];
                    y[outRow + e] = (float) (acc / total);
                }
            });
            stored(op.out(), 0, (long) batch * tokens * heads * headDim);
        }

        @Override
        public void attentionProbs(Op.AttentionProbs op) {
            int batch = op.batch();
            int tokens = op.tokens();
            int heads = op.heads();
            int headDim = op.headDim();
            float[] in = data(op.qkv()), y = data(op.probs());
            int plane = batch * heads * tokens * headDim; // one of q, k, v
            IntStream.range(0, batch * heads * tokens).parallel().forEach(index -> {
                int t = index % tokens, bh = index / tokens;
                int qRow = (bh * tokens + t) * headDim;
                int kBase = plane + bh * tokens * headDim;
                double[] scores = new double[tokens];
                double max = Double.NEGATIVE_INFINITY;
                for (int s = 0; s < tokens; s++) {
                    double dot = 0;
                    for (int e = 0; e < headDim; e++) dot += (double) in[qRow + e] * in[kBase + s * headDim + e];
                    scores[s] = dot * op.scale();
                    max = Math.max(max, scores[s]);
                }
                double total = 0;
                for (int s = 0; s < tokens; s++) {
                    scores[s] = Math.exp(scores[s] - max);
                    total += scores[s];
                }
                long row = (long) index * tokens; // [b, h, t] rows are in index order
                for (int s = 0; s < tokens; s++) y[(int) (row + s)] = (float) (scores[s] / total);
            });
            // probs are float32 in every storage type: no rounding to the qkv type
        }

        @Override
        public void gelu(Op.Gelu op) {
            float[] in = data(op.x()), y = data(op.out());
            for (int i = 0; i < op.n(); i++) y[i] = (float) Gelu.exact(in[i]);
            stored(op.out(), 0, op.n());
        }

        @Override
        public void add(Op.Add op) {
            float[] x = data(op.a()), y = data(op.b()), z = data(op.out());
            for (int i = 0; i < op.n(); i++) z[i] = (float) ((double) x[i] + y[i]);
            stored(op.out(), 0, op.n());
        }

        @Override
        public void selectToken(Op.SelectToken op) {
            int dim = op.dim();
            float[] in = data(op.x()), y = data(op.out());
            for (int n = 0; n < op.batch(); n++) System.arraycopy(in, (n * op.tokens() + op.token()) * dim, y, n * dim, dim);
        }
    }

    @Override
    public void synchronize() {
        checkOpen();
    }

    @Override
    public void close() {
        closed = true;
    }
}
