package org.vit4j.backend;

import org.vit4j.ElementType;
import org.vit4j.Vit4jException;

/**
 * Argument checks shared by every backend, run before any kernel: a buffer that is too short, was
 * closed, or belongs to another backend would otherwise be an out-of-bounds device access; buffers
 * of one op must share one element type (the op's storage type), which the backend must support.
 */
public final class OpChecks {
    private OpChecks() {}

    /** {@code buffer} is open, belongs to {@code backend} and holds at least {@code needed} floats. */
    public static void buffer(Backend backend, String op, String arg, DeviceBuffer buffer, long needed) {
        if (buffer == null) {
            throw new Vit4jException(op + ": argument '" + arg + "' is null, expected a buffer of " + needed
                    + " elements");
        }
        if (buffer.isClosed()) {
            throw new IllegalStateException(op + ": argument '" + arg + "' was already closed");
        }
        if (buffer.backend() != backend) {
            throw new Vit4jException(op + ": argument '" + arg + "' belongs to backend "
                    + buffer.backend().name() + ", not to " + backend.name());
        }
        if (buffer.length() < needed) {
            throw new Vit4jException(op + ": argument '" + arg + "' holds " + buffer.length()
                    + " elements, expected at least " + needed);
        }
    }

    /** Like {@link #buffer} but null is allowed. */
    public static void optionalBuffer(Backend backend, String op, String arg, DeviceBuffer buffer, long needed) {
        if (buffer != null) buffer(backend, op, arg, buffer, needed);
    }

    /**
     * The element type the op runs in: that of the first buffer; every other non-null buffer must
     * have it, and the backend must support it. Arguments alternate name, buffer.
     */
    public static ElementType sameType(Backend be, String op, Object... namesAndBuffers) {
        ElementType type = null;
        String first = null;
        for (int i = 0; i < namesAndBuffers.length; i += 2) {
            DeviceBuffer b = (DeviceBuffer) namesAndBuffers[i + 1];
            if (b == null) continue;
            if (type == null) {
                type = b.dtype();
                first = (String) namesAndBuffers[i];
            } else if (b.dtype() != type) {
                throw new Vit4jException(op + ": argument '" + namesAndBuffers[i] + "' is " + b.dtype().label()
                        + ", expected " + type.label() + " like '" + first + "' (one op, one element type)");
            }
        }
        if (type != null && !be.supports(type)) {
            throw new Vit4jException(op + ": backend " + be.name() + " does not run " + type.label() + " ops");
        }
        return type;
    }

    public static void positive(String op, String arg, long value) {
        if (value <= 0) throw new Vit4jException(op + ": " + arg + " must be > 0, got " + value);
    }

    public static void patchEmbed(Backend be, PatchEmbedShape s, DeviceBuffer images, DeviceBuffer weight,
            DeviceBuffer bias, DeviceBuffer clsToken, DeviceBuffer posEmbed, DeviceBuffer out) {
        String op = "patchEmbed";
        buffer(be, op, "images", images, s.imageFloats());
        buffer(be, op, "weight", weight, (long) s.dim() * s.patchDim());
        buffer(be, op, "bias", bias, s.dim());
        buffer(be, op, "clsToken", clsToken, s.dim());
        buffer(be, op, "posEmbed", posEmbed, (long) s.tokens() * s.dim());
        buffer(be, op, "out", out, s.outputFloats());
        sameType(be, op, "images", images, "weight", weight, "bias", bias, "clsToken", clsToken, "posEmbed", posEmbed, "out", out);
    }

    public static void layerNorm(Backend be, DeviceBuffer x, DeviceBuffer gamma, DeviceBuffer beta, DeviceBuffer out,
            int rows, int dim, float eps) {
        String op = "layerNorm";
        positive(op, "rows", rows);
        positive(op, "dim", dim);
        if (!(eps > 0)) throw new Vit4jException(op + ": eps must be > 0, got " + eps);
        buffer(be, op, "x", x, (long) rows * dim);
        buffer(be, op, "gamma", gamma, dim);
        buffer(be, op, "beta", beta, dim);
        buffer(be, op, "out", out, (long) rows * dim);
        sameType(be, op, "x", x, "gamma", gamma, "beta", beta, "out", out);
    }

    /** sum = x + residual, normed = layerNorm(sum): the layerNorm checks plus residual and sum. */
    public static void addLayerNorm(Backend be, DeviceBuffer x, DeviceBuffer residual, DeviceBuffer sum,
            DeviceBuffer normed, DeviceBuffer gamma, DeviceBuffer beta, int rows, int dim, float eps) {
        String op = "addLayerNorm";
        layerNorm(be, x, gamma, beta, normed, rows, dim, eps);
        buffer(be, op, "residual", residual, (long) rows * dim);
        buffer(be, op, "sum", sum, (long) rows * dim);
        sameType(be, op, "x", x, "residual", residual, "sum", sum, "normed", normed, "gamma", gamma, "beta", beta);
    }

    public static void linear(Backend be, DeviceBuffer x, DeviceBuffer weight, DeviceBuffer bias, DeviceBuffer out,
            int rows, int in, int outFeatures, Epilogue epilogue, DeviceBuffer residual) {
        String op = "linear";
        positive(op, "rows", rows);
        positive(op, "inFeatures", in);
        positive(op, "outFeatures", outFeatures);
        if (epilogue == null) throw new Vit4jException(op + ": epilogue is null");
        buffer(be, op, "x", x, (long) rows * in);
        buffer(be, op, "weight", weight, (long) outFeatures * in);
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

    public static void linearQkv(Backend be, DeviceBuffer x, DeviceBuffer weight, DeviceBuffer bias, DeviceBuffer qkv,
            int batch, int tokens, int dim, int heads) {
        String op = "linearQkv";
        positive(op, "batch", batch);
        positive(op, "tokens", tokens);
        positive(op, "dim", dim);
        positive(op, "heads", heads);
        if (dim % heads != 0) {
            throw new Vit4jException(op + ": dim " + dim + " is not divisible by heads " + heads);
        }
        long rows = (long) batch * tokens;
        buffer(be, op, "x", x, rows * dim);
        buffer(be, op, "weight", weight, 3L * dim * dim);
        optionalBuffer(be, op, "bias", bias, 3L * dim);
        buffer(be, op, "qkv", qkv, 3 * rows * dim);
        sameType(be, op, "x", x, "weight", weight, "bias", bias, "qkv", qkv);
    }

    public static void attention(Backend be, DeviceBuffer qkv, DeviceBuffer out, int batch, int tokens, int heads,
            int headDim, float scale) {
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

    public static void elementwise(Backend be, String op, long n, String[] names, DeviceBuffer... buffers) {
        positive(op, "n", n);
        Object[] pairs = new Object[2 * buffers.length];
        for (int i = 0; i < buffers.length; i++) {
            buffer(be, op, names[i], buffers[i], n);
            pairs[2 * i] = names[i];
            pairs[2 * i + 1] = buffers[i];
        }
        sameType(be, op, pairs);
    }

    public static void selectToken(Backend be, DeviceBuffer x, DeviceBuffer out, int batch, int tokens, int dim,
            int token) {
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

    public static void hostTransfer(Backend be, String op, DeviceBuffer buffer, float[] host) {
        buffer(be, op, "buffer", buffer, 0);
        if (host == null) throw new Vit4jException(op + ": host array is null");
        if (host.length != buffer.length()) {
            throw new Vit4jException(op + ": host array holds " + host.length + " elements, the buffer "
                    + buffer.length());
        }
    }

    /** A transfer of 16-bit patterns: the buffer is bf16 or fp16 and as long as the patterns. */
    public static void bitsTransfer(Backend be, String op, DeviceBuffer buffer, java.nio.ShortBuffer bits) {
        buffer(be, op, "buffer", buffer, 0);
        if (bits == null) throw new Vit4jException(op + ": host buffer is null");
        if (!buffer.dtype().isHalf()) {
            throw new Vit4jException(op + ": the buffer is " + buffer.dtype().label() + ", expected bf16 or fp16");
        }
        if (bits.remaining() != buffer.length()) {
            throw new Vit4jException(op + ": host buffer holds " + bits.remaining() + " elements, the buffer "
                    + buffer.length());
        }
    }
}
