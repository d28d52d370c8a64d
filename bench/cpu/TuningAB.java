package org.vit4j.backend.opencl; // beside PoclIdleAB: compiled and run beside the CLI jar

import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.vit4j.HostTensor;
import org.vit4j.bench.RandomWeights;
import org.vit4j.model.VisionTransformer;
import org.vit4j.model.VitConfig;
import org.vit4j.model.VitWeights;

/**
 * Two OpenCL tunings A/B pass by pass in one process: two backends on the same device, one per tuning
 * (--opencl-tuning's NAME=V,... form; "-" for none), the same weights and images; each pair of forward
 * passes runs one of each in random order, so both meet the same minute of a noisy host (separate runs
 * drift by 5-10% here). Prints the medians of each and of the pairs' ratios (A / B: above 1, B faster).
 *   mvn -q -B -DskipTests -pl vit4j-cli -am package
 *   javac -cp vit4j-cli/target/vit4j.jar -d /tmp/ab bench/cpu/TuningAB.java bench/cpu/PairedPasses.java
 *   LD_PRELOAD=$JAVA_HOME/lib/libjsig.so java -cp vit4j-cli/target/vit4j.jar:/tmp/ab \
 *       org.vit4j.backend.opencl.TuningAB vit-s16 1 100 GEMM_V5_PREFETCH_NEXT=0 GEMM_V5_PREFETCH_NEXT=2
 * The kernels of both tunings are built and autotuned (or taken from the autotune cache) in the warm-up.
 */
public final class TuningAB {
    public static void main(String[] args) {
        if (args.length != 5) {
            System.err.println("usage: TuningAB MODEL BATCH PAIRS TUNING_A TUNING_B (NAME=V,...; - for none)");
            System.exit(2);
        }
        VitConfig c = VitConfig.preset(args[0]);
        int batch = Integer.parseInt(args[1]), pairs = Integer.parseInt(args[2]);
        HostTensor images = RandomWeights.images(c, batch, 2);
        VitWeights weights = RandomWeights.of(c, 1);
        try (OpenClBackend da = OpenClBackend.open(0, tuning(args[3])); OpenClBackend db = OpenClBackend.open(0, tuning(args[4]));
                VisionTransformer a = new VisionTransformer(weights, da); VisionTransformer b = new VisionTransformer(weights, db)) {
            System.out.println("# " + args[0] + " b" + batch + ", " + pairs + " pairs of passes, opencl on " + da.deviceName()
                    + "; A: " + args[3] + ", B: " + args[4]);
            for (int i = 0; i < 10; i++) {
                a.forward(images);
                b.forward(images);
            }
            SplittableRandom order = new SplittableRandom(42);
            double[] ta = new double[pairs], tb = new double[pairs];
            for (int p = 0; p < pairs; p++) {
                boolean aFirst = order.nextBoolean();
                for (int k = 0; k < 2; k++) {
                    boolean isA = (k == 0) == aFirst;
                    long t0 = System.nanoTime();
                    (isA ? a : b).forward(images);
                    double ms = (System.nanoTime() - t0) / 1e6;
                    if (isA) ta[p] = ms;
                    else tb[p] = ms;
                }
            }
            PairedPasses r = PairedPasses.of(ta, tb);
            System.out.printf("A: median %.2f ms a pass; B: median %.2f ms; median of the pairs' A/B %.3f (quartiles %.3f .. %.3f);"
                    + " B faster in %d of %d pairs%n", r.medianA(), r.medianB(), r.medianRatio(), r.q1(), r.q3(), r.bFaster(), pairs);
        }
    }

    private static Map<String, Integer> tuning(String s) {
        Map<String, Integer> m = new HashMap<>();
        if (!s.equals("-")) {
            for (String kv : s.split(",")) {
                String[] p = kv.split("=", 2);
                m.put(p[0].trim(), Integer.parseInt(p[1].trim()));
            }
        }
        return m;
    }
}
