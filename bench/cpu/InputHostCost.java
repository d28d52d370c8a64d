// The host's part of a pass's input upload at ViT-B/16 batch 256 (38.5M floats), without a GPU: rounding to
// bf16 and copying into a direct buffer (JCudaDriver's pinned staging buffer, on a GPU host), serial as
// before 2026-12-04 against in parallel 1M-value chunks (HostChunks), and the input's finiteness check.
//   mvn -q -B -DskipTests package -pl vit4j-cli -am
//   java -Xmx4g -cp vit4j-cli/target/vit4j.jar bench/cpu/InputHostCost.java [ROUNDS]
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.ShortBuffer;
import java.util.stream.IntStream;
import org.vit4j.ElementType;

public class InputHostCost {
    static final int CHUNK = 1 << 20, BLOCK = 1 << 12;

    public static void main(String[] args) {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 8, n = 256 * 3 * 224 * 224;
        float[] v = new float[n];
        java.util.SplittableRandom r = new java.util.SplittableRandom(1);
        for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
        ShortBuffer staging = ByteBuffer.allocateDirect(2 * n).order(ByteOrder.nativeOrder()).asShortBuffer();
        int chunks = (n + CHUNK - 1) / CHUNK;
        System.out.printf("%d values, %d cores; ms per batch, round by round%n", n, Runtime.getRuntime().availableProcessors());
        for (int k = 0; k < rounds; k++) {
            long t0 = System.nanoTime();
            staging.put(0, ElementType.BF16.toBits(v)); // serial: a whole short[] then one copy
            long t1 = System.nanoTime();
            IntStream.range(0, chunks).parallel().forEach(c -> { // parallel, a BLOCK-sized array per chunk
                int from = c * CHUNK, to = Math.min(n, from + CHUNK);
                short[] bits = new short[Math.min(BLOCK, to - from)];
                for (int at = from; at < to; at += bits.length) {
                    int end = Math.min(to, at + bits.length);
                    ElementType.BF16.toBits(v, at, end, bits, 0);
                    staging.put(at, bits, 0, end - at);
                }
            });
            long t2 = System.nanoTime();
            float largest = 0f;
            for (float x : v) largest = Math.max(largest, Math.abs(x));
            long t3 = System.nanoTime();
            double par = IntStream.range(0, chunks).parallel().mapToDouble(c -> {
                float m = 0f;
                for (int i = c * CHUNK, e = Math.min(n, i + CHUNK); i < e; i++) m = Math.max(m, Math.abs(v[i]));
                return m;
            }).max().orElse(0);
            long t4 = System.nanoTime();
            System.out.printf("round %d: bf16 staging serial %.1f, parallel chunks %.1f; finite check serial %.1f, parallel %.1f (%s %s)%n",
                    k, (t1 - t0) / 1e6, (t2 - t1) / 1e6, (t3 - t2) / 1e6, (t4 - t3) / 1e6, largest, par);
        }
    }
}
