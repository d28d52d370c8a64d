package org.vit4j.bench;

/**
 * The work of one op call: floating-point operations, and the fewest bytes it must move through
 * device memory (each input read once, each output written once). Time against both says whether
 * an op is bound by arithmetic or by memory.
 */
public record OpCost(double flops, double bytes) {
    /** Bytes of the fp32 element the counts below assume; {@link #in} rescales to the op's storage type. */
    static final int F = Float.BYTES;

    /** The same op on elements of {@code type}: same FLOPs, bytes scaled by its element size. */
    OpCost in(org.vit4j.ElementType type) {
        return new OpCost(flops, bytes * type.bytes() / F);
    }

    static OpCost patchEmbed(int batch, int channels, int size, int patch, int dim) {
        int grid = size / patch, np = grid * grid, k = channels * patch * patch, tokens = np + 1;
        double flops = 2.0 * batch * np * dim * k;
        double bytes = F * ((double) batch * channels * size * size + (double) dim * k + dim + (double) tokens * dim
                + dim + (double) batch * tokens * dim);
        return new OpCost(flops, bytes);
    }

    static OpCost layerNorm(int rows, int dim) {
        // mean, deviation, square, sum, scale, shift: about 8 operations an element.
        return new OpCost(8.0 * rows * dim, F * (2.0 * rows * dim + 2.0 * dim));
    }

    static OpCost addLayerNorm(int rows, int dim) {
        return new OpCost(9.0 * rows * dim, F * (4.0 * rows * dim + 2.0 * dim));
    }

    static OpCost linear(int m, int k, int n, boolean bias, boolean residual) {
        double bytes = F * ((double) m * k + (double) n * k + (double) m * n + (bias ? n : 0)
                + (residual ? (double) m * n : 0));
        return new OpCost(2.0 * m * n * k, bytes);
    }

    static OpCost attention(int batch, int tokens, int heads, int headDim) {
        double n = (double) batch * tokens * heads * headDim;
        // q k^T and p v: 2 * T * T * hd multiply-adds per (batch, head).
        return new OpCost(4.0 * batch * heads * tokens * (double) tokens * headDim, F * (3 * n + n));
    }

    static OpCost elementwise(long n, int inputs, double flopsEach) {
        return new OpCost(flopsEach * n, F * (double) n * (inputs + 1));
    }
}
