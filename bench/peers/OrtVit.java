// ONNX Runtime's Java API on the CPU: the figure a JVM user gets today for the same ViT that vit4j runs.
// A single-file source program (no build), with only onnxruntime's jar on the class path:
//   java -cp ~/.m2/repository/com/microsoft/onnxruntime/onnxruntime/1.20.0/onnxruntime-1.20.0.jar \
//       bench/peers/OrtVit.java --model m.onnx --input input.safetensors --threads 2 --iterations 10 \
//       --warmup 2 --logits out.safetensors --json out.json
// The model comes from bench/peers/export_onnx.py; the input is the tensor "input" [B, 3, H, W] (F32) of the
// safetensors file torch_vit_cpu.py --export writes. Session: intra-op threads = --threads, inter-op 1,
// sequential execution, graph optimisation ALL. Each timed run feeds the input and copies the logits
// out of onnxruntime's buffer into a Java array (as vit4j's forward returns logits on the host).

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

public class OrtVit {
    public static void main(String[] args) throws Exception {
        Map<String, String> a = new HashMap<>(Map.of("--threads", "2", "--iterations", "10", "--warmup", "2"));
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) usage("bad argument " + args[i]);
            a.put(args[i], args[++i]);
        }
        if (!a.containsKey("--model") || !a.containsKey("--input")) usage("--model and --input are required");
        int threads = Integer.parseInt(a.get("--threads"));
        int iterations = Integer.parseInt(a.get("--iterations"));
        int warmup = Integer.parseInt(a.get("--warmup"));
        Tensor input = readTensor(Path.of(a.get("--input")), "input");

        OrtEnvironment env = OrtEnvironment.getEnvironment(OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING, "vit4j-bench");
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setIntraOpNumThreads(threads);
            opts.setInterOpNumThreads(1);
            opts.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            opts.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            long t0 = System.nanoTime();
            try (OrtSession session = env.createSession(a.get("--model"), opts);
                    OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(input.data), input.shape)) {
                double sessionMs = (System.nanoTime() - t0) / 1e6;
                String inName = session.getInputNames().iterator().next();
                Map<String, OnnxTensor> feed = Map.of(inName, x);
                for (int i = 0; i < warmup; i++) {
                    try (OrtSession.Result r = session.run(feed)) {
                        copyOut(r);
                    }
                }
                long[] nanos = new long[iterations];
                Tensor logits = null;
                for (int i = 0; i < iterations; i++) {
                    long start = System.nanoTime();
                    try (OrtSession.Result r = session.run(feed)) {
                        logits = copyOut(r);
                    }
                    nanos[i] = System.nanoTime() - start;
                }
                Arrays.sort(nanos);
                long batch = input.shape[0];
                double med = nanos[iterations / 2] / 1e6, min = nanos[0] / 1e6, max = nanos[iterations - 1] / 1e6;
                String peer = "onnxruntime " + env.getVersion() + " (Java)";
                System.out.printf(Locale.ROOT, "%s (%d intra-op threads, 1 inter-op, ALL_OPT; session %.0f ms): %s batch %d: "
                        + "median %.1f ms (min %.1f, max %.1f; %d runs after %d warm-up) = %.2f img/s%n", peer, threads,
                        sessionMs, Path.of(a.get("--model")).getFileName(), batch, med, min, max, iterations, warmup,
                        batch / med * 1e3);
                if (a.containsKey("--logits")) writeTensor(Path.of(a.get("--logits")), "logits", logits);
                if (a.containsKey("--json")) {
                    String json = String.format(Locale.ROOT, "{\n \"peer\": \"%s\",\n \"threads\": %d,\n \"model\": \"%s\",\n"
                            + " \"batch\": %d,\n \"median_ms\": %.4f,\n \"min_ms\": %.4f,\n \"max_ms\": %.4f,\n"
                            + " \"images_per_second\": %.4f,\n \"session_ms\": %.1f\n}\n", peer, threads,
                            Path.of(a.get("--model")).getFileName(), batch, med, min, max, batch / med * 1e3, sessionMs);
                    Files.writeString(Path.of(a.get("--json")), json);
                }
            }
        }
    }

    private static void usage(String why) {
        System.err.println("OrtVit: " + why + "\nusage: OrtVit --model M.onnx --input IN.safetensors [--threads 2] "
                + "[--iterations 10] [--warmup 2] [--logits OUT.safetensors] [--json OUT.json]");
        System.exit(2);
    }

    record Tensor(long[] shape, float[] data) {}

    private static Tensor copyOut(OrtSession.Result r) throws OrtException {
        OnnxTensor y = (OnnxTensor) r.get(0);
        FloatBuffer fb = y.getFloatBuffer();
        float[] data = new float[fb.remaining()];
        fb.get(data);
        return new Tensor(y.getInfo().getShape(), data);
    }

    /** Reads one F32 tensor from a safetensors file: u64 LE header length, JSON header, then the data. */
    static Tensor readTensor(Path path, String name) throws IOException {
        byte[] raw = Files.readAllBytes(path);
        ByteBuffer bb = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        long n = bb.getLong(0);
        if (n <= 0 || n > raw.length - 8) throw new IOException(path + ": not a safetensors file");
        String header = new String(raw, 8, (int) n, StandardCharsets.UTF_8);
        Matcher m = Pattern.compile("\"" + Pattern.quote(name) + "\"\\s*:\\s*\\{([^}]*)\\}").matcher(header);
        if (!m.find()) throw new IOException(path + ": no tensor '" + name + "'");
        String entry = m.group(1);
        Matcher dtype = Pattern.compile("\"dtype\"\\s*:\\s*\"(\\w+)\"").matcher(entry);
        Matcher shape = Pattern.compile("\"shape\"\\s*:\\s*\\[([^\\]]*)\\]").matcher(entry);
        Matcher offs = Pattern.compile("\"data_offsets\"\\s*:\\s*\\[\\s*(\\d+)\\s*,\\s*(\\d+)\\s*\\]").matcher(entry);
        if (!dtype.find() || !shape.find() || !offs.find()) throw new IOException(path + ": bad entry for " + name);
        if (!dtype.group(1).equals("F32")) throw new IOException(path + ": " + name + " is " + dtype.group(1) + ", not F32");
        long[] dims = shape.group(1).isBlank() ? new long[0]
                : Arrays.stream(shape.group(1).split(",")).mapToLong(s -> Long.parseLong(s.trim())).toArray();
        long begin = Long.parseLong(offs.group(1)), end = Long.parseLong(offs.group(2));
        long count = Arrays.stream(dims).reduce(1, (p, q) -> p * q);
        if (end - begin != count * 4 || 8 + n + end > raw.length) throw new IOException(path + ": bad offsets for " + name);
        float[] data = new float[(int) count];
        bb.position((int) (8 + n + begin));
        bb.asFloatBuffer().get(data);
        return new Tensor(dims, data);
    }

    /** Writes one F32 tensor as safetensors (header padded with spaces to a multiple of 8). */
    static void writeTensor(Path path, String name, Tensor t) throws IOException {
        StringBuilder dims = new StringBuilder();
        for (long d : t.shape) dims.append(dims.length() == 0 ? "" : ",").append(d);
        StringBuilder header = new StringBuilder(String.format(Locale.ROOT,
                "{\"%s\":{\"dtype\":\"F32\",\"shape\":[%s],\"data_offsets\":[0,%d]},\"__metadata__\":{\"peer\":\"onnxruntime\"}}",
                name, dims, 4L * t.data.length));
        while (header.length() % 8 != 0) header.append(' ');
        byte[] h = header.toString().getBytes(StandardCharsets.UTF_8);
        ByteBuffer out = ByteBuffer.allocate(8 + h.length + 4 * t.data.length).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(h.length).put(h);
        out.asFloatBuffer().put(t.data);
        Files.write(path, out.array());
    }
}
