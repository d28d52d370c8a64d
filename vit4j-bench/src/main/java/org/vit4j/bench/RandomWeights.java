package org.vit4j.bench;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.vit4j.HostTensor;
import org.vit4j.model.VitConfig;
import org.vit4j.model.VitWeights;

/**
 * Random, non-trivial weights for any config, for benchmarks: linear weights N(0, 1/fan_in) so
 * activations stay O(1) through the depth, LayerNorm scales near 1, small biases. Never zeros, so
 * no kernel is flattered by skipped work.
 */
public final class RandomWeights {
    private RandomWeights() {}

    public static VitWeights of(VitConfig config, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        Map<String, HostTensor> t = new LinkedHashMap<>();
        for (Map.Entry<String, int[]> e : VitWeights.expectedShapes(config).entrySet()) {
            String name = e.getKey();
            int[] shape = e.getValue();
            float[] data = new float[Math.toIntExact(HostTensor.elementCount(shape))];
            boolean matrix = name.endsWith(".weight") && shape.length >= 2;
            boolean norm = name.endsWith("norm1.weight") || name.endsWith("norm2.weight") || name.equals("norm.weight");
            double std = matrix ? 1 / Math.sqrt(data.length / (double) shape[0]) : norm ? 0.1 : 0.02;
            double mean = norm ? 1 : 0;
            for (int i = 0; i < data.length; i++) data[i] = (float) (mean + std * gaussian(r));
            t.put(name, new HostTensor(data, shape));
        }
        return VitWeights.of(config, t, "random weights (seed " + seed + ")");
    }

    /** Box-Muller, from one generator so that a seed fixes every value. */
    static double gaussian(SplittableRandom r) {
        double u = 1 - r.nextDouble(), v = r.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }

    /** A random input batch [B, C, S, S], N(0, 1) like normalised pixels. */
    public static HostTensor images(VitConfig c, int batch, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] shape = {batch, c.channels(), c.imageHeight(), c.imageWidth()};
        float[] x = new float[Math.toIntExact(HostTensor.elementCount(shape))];
        for (int i = 0; i < x.length; i++) x[i] = (float) gaussian(r);
        return new HostTensor(x, shape);
    }
}
