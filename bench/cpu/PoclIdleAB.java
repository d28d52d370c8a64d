package org.vit4j.backend.opencl; // package-private PoclIdle: compiled and run beside the CLI jar (same class loader)

import java.util.SplittableRandom;
import org.vit4j.HostTensor;
import org.vit4j.bench.RandomWeights;
import org.vit4j.model.VisionTransformer;
import org.vit4j.model.VitConfig;

/**
 * PoCL's idle policy, A/B pass by pass in one process: each pair of forward passes runs one with
 * POCL_SPIN_US=0 (PoCL as it comes: idle workers sleep at once) and one with BUDGET us, in random
 * order, so both meet the same minute of a noisy host. Prints the medians of each and of the pairs'
 * ratios (sleep / spin). The budget is process-wide (PoclIdle), so switching it between passes is
 * exactly what an application would get with either value.
 *   mvn -q -B -DskipTests -pl vit4j-cli -am package
 *   javac -cp vit4j-cli/target/vit4j.jar -d /tmp/ab bench/cpu/PoclIdleAB.java bench/cpu/PairedPasses.java
 *   LD_PRELOAD=$JAVA_HOME/lib/libjsig.so java -cp vit4j-cli/target/vit4j.jar:/tmp/ab \
 *       org.vit4j.backend.opencl.PoclIdleAB vit-ti16 1 200 [BUDGET_US]
 */
public final class PoclIdleAB {
    public static void main(String[] args) {
        String preset = args.length > 0 ? args[0] : "vit-ti16";
        int batch = args.length > 1 ? Integer.parseInt(args[1]) : 1;
        int pairs = args.length > 2 ? Integer.parseInt(args[2]) : 200;
        int budget = args.length > 3 ? Integer.parseInt(args[3]) : 2000;
        VitConfig c = VitConfig.preset(preset);
        HostTensor images = RandomWeights.images(c, batch, 2);
        try (OpenClBackend dev = OpenClBackend.open(0); VisionTransformer vit = new VisionTransformer(RandomWeights.of(c, 1), dev)) {
            ClDevice device = ClDevice.all().get(0);
            System.out.println("# " + preset + " b" + batch + ", " + pairs + " pairs of passes, opencl on " + dev.deviceName());
            for (int i = 0; i < 20; i++) vit.forward(images); // warm-up: kernels built, linear_v5 autotuned, JIT
            SplittableRandom order = new SplittableRandom(42);
            double[] sleep = new double[pairs], spin = new double[pairs];
            for (int p = 0; p < pairs; p++) {
                boolean spinFirst = order.nextBoolean();
                for (int k = 0; k < 2; k++) {
                    boolean spinning = (k == 0) == spinFirst;
                    PoclIdle.apply(device, spinning ? budget : 0);
                    long t0 = System.nanoTime();
                    vit.forward(images);
                    double ms = (System.nanoTime() - t0) / 1e6;
                    if (spinning) spin[p] = ms;
                    else sleep[p] = ms;
                }
            }
            PoclIdle.apply(device, budget);
            PairedPasses r = PairedPasses.of(sleep, spin);
            System.out.printf("sleep (POCL_SPIN_US=0): median %.2f ms a pass; spin (%d us): median %.2f ms; median of the pairs' sleep/spin %.3f"
                    + " (quartiles %.3f .. %.3f); spin faster in %d of %d pairs%n", r.medianA(), budget, r.medianB(), r.medianRatio(),
                    r.q1(), r.q3(), r.bFaster(), pairs);
        }
    }
}
