package org.vit4j.backend.cpu;

/**
 * The exact GELU, x * Phi(x) = x / 2 * (1 + erf(x / sqrt 2)), as PyTorch's {@code nn.GELU()} and the
 * paper use (not the tanh approximation). Java has no erf, so it is computed here in double to
 * about 1e-15 relative, far below what float32 activations can show.
 */
public final class Gelu {
    private Gelu() {}

    public static double exact(double x) {
        // As x / 2 * erfc(-x / sqrt 2): for negative x, 1 + erf would cancel to nothing.
        return 0.5 * x * erfc(-x / Math.sqrt(2.0));
    }

    /** erfc(x) = 1 - erf(x), with full relative precision in the tail where 1 - erf is all cancellation. */
    public static double erfc(double x) {
        if (Double.isNaN(x)) return x;
        if (x < 2.0) return 1.0 - erf(x);
        if (x > 27.3) return 0.0; // below the smallest double
        return Math.exp(-x * x) / Math.sqrt(Math.PI) / laplaceFraction(x);
    }

    /** x + 1/2 / (x + 1 / (x + 3/2 / (x + ...))), evaluated bottom-up; erfc(x) = exp(-x^2) / sqrt(pi) / this. */
    private static double laplaceFraction(double ax) {
        double f = ax;
        for (int k = 120; k >= 1; k--) f = ax + (k / 2.0) / f;
        return f;
    }

    /**
     * erf by its Maclaurin series for |x| < 2 and by Laplace's continued fraction of erfc beyond
     * (120 terms: exact to the last bit of a double from x = 1.5 up), where the alternating series
     * would lose digits to cancellation (1e-14 at x = 3).
     */
    public static double erf(double x) {
        if (Double.isNaN(x)) return x;
        double ax = Math.abs(x);
        double result;
        if (ax < 2.0) {
            // erf(x) = 2/sqrt(pi) * sum_n (-1)^n x^(2n+1) / (n! (2n+1))
            double term = ax, sum = ax, x2 = ax * ax;
            for (int n = 1; n < 100; n++) {
                term *= -x2 / n;
                double add = term / (2 * n + 1);
                sum += add;
                if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
            }
            result = 2.0 / Math.sqrt(Math.PI) * sum;
        } else if (ax > 6.0) {
            result = 1.0; // erfc(6) = 2e-17: below double resolution near 1
        } else {
            result = 1.0 - erfc(ax);
        }
        return x < 0 ? -result : result;
    }
}
