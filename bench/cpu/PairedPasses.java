package org.vit4j.backend.opencl; // beside PoclIdleAB and TuningAB, which compile with it

import java.util.Arrays;

/**
 * The statistics of an A/B run pass by pass (PoclIdleAB, TuningAB): each side's median pass time and
 * the median and quartiles of the pairs' ratios a / b, and in how many pairs b was faster.
 */
record PairedPasses(double medianA, double medianB, double medianRatio, double q1, double q3, long bFaster, int pairs) {
    static PairedPasses of(double[] a, double[] b) {
        double[] ratio = new double[a.length];
        for (int i = 0; i < a.length; i++) ratio[i] = a[i] / b[i];
        return new PairedPasses(quantile(a, 0.5), quantile(b, 0.5), quantile(ratio, 0.5), quantile(ratio, 0.25),
                quantile(ratio, 0.75), Arrays.stream(ratio).filter(r -> r > 1).count(), a.length);
    }

    static double quantile(double[] v, double q) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[(int) Math.min(s.length - 1, Math.round(q * (s.length - 1)))];
    }
}
