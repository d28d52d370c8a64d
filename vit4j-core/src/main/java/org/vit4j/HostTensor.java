package org.vit4j;

import java.nio.ShortBuffer;
import java.util.Arrays;

/**
 * A tensor in host memory, row-major (C order), as read from or written to a checkpoint. It carries
 * its element type: float32 elements in a {@code float[]}; bfloat16 or binary16 elements as their raw
 * 16-bit patterns in a {@link ShortBuffer} (which may be a view of a memory-mapped checkpoint, so a
 * half-precision model is never widened to float32 on the host). Immutable by convention.
 */
public final class HostTensor {
    private final ElementType dtype;
    private final int[] shape;
    private final float[] floats; // F32
    private final ShortBuffer bits; // BF16, F16: positions 0..n-1

    /** A float32 tensor over {@code data} (not copied). */
    public HostTensor(float[] data, int[] shape) {
        this(ElementType.F32, data, null, shape);
    }

    private HostTensor(ElementType dtype, float[] floats, ShortBuffer bits, int[] shape) {
        if (shape == null) throw new Vit4jException("tensor shape is null");
        long n = elementCount(shape);
        long have = floats != null ? floats.length : bits.remaining();
        if (n != have) {
            throw new Vit4jException("tensor of shape " + Arrays.toString(shape) + " needs " + n + " elements, got "
                    + have);
        }
        this.dtype = dtype;
        this.shape = shape.clone();
        this.floats = floats;
        this.bits = bits == null ? null : bits.slice();
    }

    /** A bf16 or fp16 tensor over the 16-bit patterns {@code bits} from its position to its limit (not copied). */
    public static HostTensor ofBits(ElementType dtype, ShortBuffer bits, int[] shape) {
        if (dtype == null || !dtype.isHalf()) throw new Vit4jException("ofBits: dtype must be bf16 or fp16, got " + dtype);
        if (bits == null) throw new Vit4jException("ofBits: bits is null");
        return new HostTensor(dtype, null, bits, shape);
    }

    /**
     * The element count of {@code shape}; a negative dimension, or a count past what one Java array
     * can index (2^31 - 9 elements), is an error naming the shape.
     */
    public static long elementCount(int[] shape) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) throw new Vit4jException("negative dimension in shape " + Arrays.toString(shape));
            n *= d;
            if (n > Integer.MAX_VALUE - 8) {
                throw new Vit4jException("shape " + Arrays.toString(shape) + " has more elements than one tensor can hold ("
                        + (Integer.MAX_VALUE - 8) + ")");
            }
        }
        return n;
    }

    public ElementType dtype() {
        return dtype;
    }

    public int[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    public int dim(int i) {
        return shape[i];
    }

    public int elementCount() {
        return (int) elementCount(shape);
    }

    /** The float32 elements (the array itself, not a copy). A half-precision tensor has none: use {@link #toFloats()}. */
    public float[] data() {
        if (floats == null) {
            throw new Vit4jException("tensor " + this + " is " + dtype.label() + ": its float32 values come from toFloats()");
        }
        return floats;
    }

    /** The 16-bit patterns of a bf16/fp16 tensor, as a read-only view positioned at 0. */
    public ShortBuffer bits() {
        if (bits == null) throw new Vit4jException("tensor " + this + " is fp32: it has no 16-bit patterns");
        return bits.asReadOnlyBuffer();
    }

    /** The values as float32 (exact for every type); a copy for half types, the array itself for fp32. */
    public float[] toFloats() {
        if (floats != null) return floats;
        return dtype.fromBits(bits, new float[bits.remaining()]);
    }

    /** This tensor stored as {@code type}: rounded to nearest even when narrowing; itself if already so. */
    public HostTensor to(ElementType type) {
        if (type == dtype) return this;
        if (type == ElementType.F32) return new HostTensor(toFloats(), shape);
        return ofBits(type, ShortBuffer.wrap(type.toBits(toFloats())), shape);
    }

    @Override
    public String toString() {
        return "HostTensor" + Arrays.toString(shape) + (dtype == ElementType.F32 ? "" : " " + dtype.label());
    }
}
