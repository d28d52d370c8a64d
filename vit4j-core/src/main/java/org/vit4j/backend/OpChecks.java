package org.vit4j.backend;

import org.vit4j.ElementType;
import org.vit4j.Vit4jException;

/**
 * The argument checks the ops' descriptions ({@link Op#check}) and the host transfers are made of, run
 * before any kernel: a buffer that is too short, was
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
