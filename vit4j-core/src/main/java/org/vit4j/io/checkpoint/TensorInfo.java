package org.vit4j.io.checkpoint;

import java.util.Arrays;
import java.util.Objects;

/**
 * One entry of a safetensors header: name, dtype, shape and the byte range {@code [begin, end)}
 * of its data, relative to the start of the data section (just after the header).
 */
public record TensorInfo(String name, DType dtype, long[] shape, long begin, long end) {

    public TensorInfo {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(dtype, "dtype");
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** Number of elements, the product of the dims (1 for a scalar of shape {@code []}). */
    public long elementCount() {
        long n = 1;
        for (long d : shape) n = Math.multiplyExact(n, d);
        return n;
    }

    /** Size of the data in bytes, {@code end - begin}. */
    public long byteLength() {
        return end - begin;
    }

    public int rank() {
        return shape.length;
    }

    /**
     * The shape as ints.
     *
     * @throws CheckpointException if a dim does not fit in an int
     */
    public int[] intShape() {
        int[] out = new int[shape.length];
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] > Integer.MAX_VALUE) {
                throw new CheckpointException("tensor \"" + name + "\" has shape " + Arrays.toString(shape)
                        + ": dim " + i + " does not fit in an int (expected at most " + Integer.MAX_VALUE + ")");
            }
            out[i] = (int) shape[i];
        }
        return out;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorInfo t && name.equals(t.name) && dtype == t.dtype
                && Arrays.equals(shape, t.shape) && begin == t.begin && end == t.end;
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, dtype, Arrays.hashCode(shape), begin, end);
    }

    @Override
    public String toString() {
        return name + ": " + dtype + Arrays.toString(shape) + " @ [" + begin + ", " + end + ")";
    }
}
