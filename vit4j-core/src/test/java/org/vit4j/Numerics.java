package org.vit4j;

import java.util.Random;

/** Helpers for tests: random inputs (never zeros) and the relative L2 error the project measures by. */
public final class Numerics {
    private Numerics() {}

    /** Gaussian values with the given standard deviation. */
    public static float[] randn(Random r, int n, double std) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (r.nextGaussian() * std);
        return x;
    }

    /** ||actual - expected||_2 / ||expected||_2, in double. */
    public static double relativeL2(float[] actual, float[] expected) {
        if (actual.length != expected.length) {
            throw new AssertionError("lengths differ: " + actual.length + " vs " + expected.length);
        }
        double num = 0, den = 0;
        for (int i = 0; i < actual.length; i++) {
            double d = (double) actual[i] - expected[i];
            num += d * d;
            den += (double) expected[i] * expected[i];
        }
        if (Double.isNaN(num)) return Double.NaN;
        return Math.sqrt(num / den);
    }

    public static void assertClose(float[] actual, float[] expected, double tolerance, String what) {
        double err = relativeL2(actual, expected);
        if (!(err <= tolerance)) {
            throw new AssertionError(what + ": relative L2 error " + err + " > " + tolerance);
        }
    }
}
