package org.vit4j;

import java.util.Arrays;

/** A float32 tensor in host memory, row-major (C order), as read from or written to a checkpoint. */
public record HostTensor(float[] data, int[] shape) {

    public HostTensor {
        long n = elementCount(shape);
        if (n != data.length) {
            throw new Vit4jException("tensor of shape " + Arrays.toString(shape) + " needs " + n
                    + " elements, got " + data.length);
        }
    }

    public static long elementCount(int[] shape) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) throw new Vit4jException("negative dimension in shape " + Arrays.toString(shape));
            n *= d;
        }
        return n;
    }

    public int rank() {
        return shape.length;
    }

    public int dim(int i) {
        return shape[i];
    }

    @Override
    public String toString() {
        return "HostTensor" + Arrays.toString(shape);
    }
}
