// vit4j against ONNX Runtime's Java API in one JVM, in short alternating blocks, so that both meet the same
// minute of a noisy shared host. bench/compare.sh runs each peer in its own process one after the other;
// on these 2-vCPU VMs the host moves a run's median by 20-40% from one minute to the next (linear_v5
// alone at ViT-S b1's QKV: medians of 0.91, 1.45 and 1.70 ms in three runs a minute apart), so a ratio
// of two such medians carries that noise. Here each pair runs a block of vit4j passes and a block of ORT
// passes, in random order, on the same input. A block's first --settle passes are not timed: they
// bring the runtime's weights back into the caches the other one used, and let the other one's idle
// threads stop (ORT's intra-op pool spins for tens of ms after a run: a vit4j pass that started 5 ms
// after an ORT pass took 28 ms instead of 17 at ViT-Ti b1). The block's figure is the median of the
// next --keep passes, each timed from the call to the logits in a Java array. The result is the median
// over the pairs of (ORT time / vit4j time): vit4j's speed against ORT, > 1 when vit4j is faster.
//   java -cp vit4j-cli/target/vit4j.jar:$HOME/.m2/repository/com/microsoft/onnxruntime/onnxruntime/1.20.0/onnxruntime-1.20.0.jar \
//       bench/peers/OrtPaired.java --weights W/model.safetensors --model W/model.onnx --input W/input.safetensors \
//       [--backend opencl] [--threads 2] [--pairs 30] [--settle 2] [--keep 3] [--warmup 10] [--label NAME] [--json out.json]
// W is what `torch_vit_cpu.py --export W` and `export_onnx.py --out W/model.onnx` write (bench/compare.sh
// does both; PAIRS=n there runs this after its rounds). ORT's session is as OrtVit.java makes it:
// intra-op threads = --threads, inter-op 1, sequential, ALL_OPT. vit4j's backend is opened as
// `vit4j bench` opens it (Backends.open(name, 0, default options)). Exits 1 if the logits differ by
// more than 1e-4 (relative L2).

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import org.vit4j.HostTensor;
import org.vit4j.backend.Backend;
import org.vit4j.backend.BackendOptions;
import org.vit4j.backend.Backends;
import org.vit4j.io.checkpoint.CheckpointLoader;
import org.vit4j.io.checkpoint.LoadedModel;
import org.vit4j.io.checkpoint.SafetensorsFile;
import org.vit4j.model.VisionTransformer;

public class OrtPaired {
    public static void main(String[] args) throws Exception {
        Map<String, String> a = new HashMap<>(Map.of("--threads", "2", "--pairs", "30", "--warmup", "10",
                "--settle", "2", "--keep", "3", "--backend", "opencl"));
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) usage("bad argument " + args[i]);
            a.put(args[i], args[++i]);
        }
        for (String need : new String[] {"--weights", "--model", "--input"}) {
            if (!a.containsKey(need)) usage(need + " is required");
        }
        int threads = positive(a, "--threads"), pairs = positive(a, "--pairs"), warmup = positive(a, "--warmup");
        int settle = positive(a, "--settle"), keep = positive(a, "--keep");
        HostTensor images;
        try (SafetensorsFile f = SafetensorsFile.open(Path.of(a.get("--input")))) {
            if (!f.contains("input")) usage(a.get("--input") + ": no tensor named 'input' (expected [B, C, H, W])");
            images = f.read("input");
        }
        int[] shape = images.shape();
        long[] ortShape = Arrays.stream(shape).asLongStream().toArray();
        LoadedModel m = CheckpointLoader.load(Path.of(a.get("--weights")));
        OrtEnvironment env = OrtEnvironment.getEnvironment(OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING, "vit4j-paired");
        try (Backend backend = Backends.open(a.get("--backend"), 0, BackendOptions.DEFAULT);
                VisionTransformer vit = new VisionTransformer(m.weights(), backend);
                OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setIntraOpNumThreads(threads);
            opts.setInterOpNumThreads(1);
            opts.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            opts.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            try (OrtSession session = env.createSession(a.get("--model"), opts);
                    OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(images.data()), ortShape)) {
                Map<String, OnnxTensor> feed = Map.of(session.getInputNames().iterator().next(), x);
                float[] vitLogits = null, ortLogits = null;
                for (int i = 0; i < warmup; i++) { // kernels built, linear_v5 autotuned, both JITs warm
                    vitLogits = vit.forward(images).logits().data();
                    ortLogits = ortPass(session, feed);
                }
                SplittableRandom order = new SplittableRandom(42);
                double[] vitMs = new double[pairs], ortMs = new double[pairs], speedup = new double[pairs];
                double[] pass = new double[keep];
                for (int p = 0; p < pairs; p++) {
                    boolean vitFirst = order.nextBoolean();
                    for (int side = 0; side < 2; side++) {
                        boolean vitNow = (side == 0) == vitFirst;
                        for (int i = -settle; i < keep; i++) {
                            long t0 = System.nanoTime();
                            if (vitNow) vitLogits = vit.forward(images).logits().data();
                            else ortLogits = ortPass(session, feed);
                            if (i >= 0) pass[i] = (System.nanoTime() - t0) / 1e6;
                        }
                        if (vitNow) vitMs[p] = quantile(pass, 0.5);
                        else ortMs[p] = quantile(pass, 0.5);
                    }
                    speedup[p] = ortMs[p] / vitMs[p];
                }
                double rel = relL2(ortLogits, vitLogits);
                long faster = Arrays.stream(speedup).filter(s -> s > 1).count();
                double vitMed = quantile(vitMs, 0.5), ortMed = quantile(ortMs, 0.5);
                double med = quantile(speedup, 0.5), q1 = quantile(speedup, 0.25), q3 = quantile(speedup, 0.75);
                String label = a.getOrDefault("--label", String.valueOf(Path.of(a.get("--weights")).toAbsolutePath().getParent().getFileName()));
                System.out.println(String.format(Locale.ROOT, "paired: %s b%d, %d pairs of blocks in one JVM (random order; a block: %d "
                        + "untimed passes, then the median of %d timed ones); vit4j %s on %s, onnxruntime %s (Java) with %d intra-op "
                        + "threads: vit4j %.2f ms, ORT %.2f ms (medians of the blocks); vit4j speed vs ORT, median of the pairs' "
                        + "ORT/vit4j %.3fx (quartiles %.3f .. %.3f), vit4j faster in %d of %d pairs; logits rel. L2 %.2e",
                        label, shape[0], pairs, settle, keep, a.get("--backend"), backend.deviceName(), env.getVersion(), threads,
                        vitMed, ortMed, med, q1, q3, faster, pairs, rel));
                if (a.containsKey("--json")) { // Jackson comes with the CLI jar
                    Map<String, Object> json = new LinkedHashMap<>();
                    json.put("pairs", pairs);
                    json.put("settle", settle);
                    json.put("keep", keep);
                    json.put("batch", shape[0]);
                    json.put("threads", threads);
                    json.put("vit4j_median_ms", vitMed);
                    json.put("ort_median_ms", ortMed);
                    json.put("speedup_median", med);
                    json.put("speedup_q1", q1);
                    json.put("speedup_q3", q3);
                    json.put("vit4j_faster_pairs", faster);
                    json.put("logits_rel_l2", rel);
                    new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(Path.of(a.get("--json")).toFile(), json);
                }
                if (!(rel <= 1e-4)) {
                    System.err.println("OrtPaired: vit4j's and ORT's logits differ by " + rel + " (relative L2 > 1e-4)");
                    System.exit(1);
                }
            }
        }
    }

    private static float[] ortPass(OrtSession session, Map<String, OnnxTensor> feed) throws Exception {
        try (OrtSession.Result r = session.run(feed)) {
            FloatBuffer fb = ((OnnxTensor) r.get(0)).getFloatBuffer();
            float[] out = new float[fb.remaining()];
            fb.get(out);
            return out;
        }
    }

    private static double relL2(float[] y, float[] ref) {
        if (y.length != ref.length) return Double.POSITIVE_INFINITY;
        double num = 0, den = 0;
        for (int i = 0; i < y.length; i++) {
            double d = (double) y[i] - ref[i];
            num += d * d;
            den += (double) ref[i] * ref[i];
        }
        return Math.sqrt(num / den);
    }

    private static double quantile(double[] v, double q) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[(int) Math.min(s.length - 1, Math.round(q * (s.length - 1)))];
    }

    private static int positive(Map<String, String> a, String name) {
        try {
            int v = Integer.parseInt(a.get(name));
            if (v > 0) return v;
        } catch (NumberFormatException e) {
            // reported below
        }
        usage(name + " must be a positive integer, got '" + a.get(name) + "'");
        return 0;
    }

    private static void usage(String why) {
        System.err.println("OrtPaired: " + why + "\nusage: OrtPaired --weights W/model.safetensors --model W/model.onnx "
                + "--input W/input.safetensors [--backend opencl] [--threads 2] [--pairs 30] [--settle 2] [--keep 3] [--warmup 10] [--label NAME] [--json OUT]");
        System.exit(2);
    }
}
