package org.vit4j.io.image;

/**
 * The separable resampling filters of Pillow's {@code ImagingResample}, which PyTorch's
 * antialiased {@code F.interpolate} also uses: output index i reads the inputs around its centre
 * {@code (i + 0.5) * scale}, with the filter stretched by the scale factor when shrinking (so every
 * input contributes: antialiasing) and the weights normalised to sum to one. Shared by image
 * resizing ({@link PilResize}) and position-embedding resizing ({@link org.vit4j.io.checkpoint.PositionEmbeddingResize}).
 */
public enum ResampleFilter {
    /** Keys' cubic convolution with a = -0.5 (Pillow's; PyTorch's non-antialiased bicubic uses -0.75). */
    BICUBIC(2.0) {
        @Override
        double apply(double x) {
            final double a = -0.5;
            x = Math.abs(x);
            if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
            if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
            return 0.0;
        }
    },
    /** The triangle (tent) filter. */
    BILINEAR(1.0) {
        @Override
        double apply(double x) {
            x = Math.abs(x);
            return x < 1.0 ? 1.0 - x : 0.0;
        }
    };

    /** Half-width of the filter at scale 1, in input samples. */
    final double support;

    ResampleFilter(double support) {
        this.support = support;
    }

    abstract double apply(double x);

    /** For each output index: the first input it reads, how many, and their normalised weights. */
    public record Taps(int[] first, int[] count, double[][] weight) {
        /** The most inputs any output reads. */
        int maxCount() {
            int m = 0;
            for (int c : count) m = Math.max(m, c);
            return m;
        }
    }

    public Taps taps(int inSize, int outSize) {
        return taps(inSize, outSize, 0, outSize);
    }

    /**
     * The taps of outputs {@code from .. from + n - 1} of a resize from {@code inSize} to
     * {@code outSize} (which may be past int: only these outputs are computed), identical to those
     * entries of {@link #taps(int, int)}.
     */
    Taps taps(int inSize, long outSize, long from, int n) {
        double scale = (double) inSize / outSize;
        double filterScale = Math.max(scale, 1.0);
        double reach = support * filterScale;
        int[] first = new int[n], count = new int[n];
        double[][] weight = new double[n][];
        for (int k = 0; k < n; k++) {
            int i = k;
            double center = (from + k + 0.5) * scale;
            int lo = Math.max((int) (center - reach + 0.5), 0);
            int hi = Math.min((int) (center + reach + 0.5), inSize);
            double[] w = new double[hi - lo];
            double total = 0;
            for (int j = 0; j < w.length; j++) {
                w[j] = apply((j + lo - center + 0.5) / filterScale);
                total += w[j];
            }
            if (total != 0) for (int j = 0; j < w.length; j++) w[j] /= total;
            first[i] = lo;
            count[i] = w.length;
            weight[i] = w;
        }
        return new Taps(first, count, weight);
    }
}
