import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.vit4j.backend.Backend;
import org.vit4j.backend.Backends;
import org.vit4j.digits.EmbeddedDefaultModel;
import org.vit4j.io.image.ImagePreprocessor;
import org.vit4j.io.checkpoint.LoadedModel;
import org.vit4j.model.VisionTransformer;

/**
 * vit4j's OpenCL backend in a busy service JVM (bench/peers/pocl_signal_stress.sh, the "vit4j" part):
 * two threads allocate (young GCs every few ms on a small heap) while the main thread opens the
 * OpenCL backend ROUNDS times, each a new context so every program is built again, and classifies
 * the embedded digits samples. Prints "ok rounds=R failed=F" (F: rounds that threw) and exits 0.
 *
 *   java -Xmx128m -cp vit4j-cli/target/vit4j.jar bench/peers/BusyJvmOpenCl.java ROUNDS
 */
public final class BusyJvmOpenCl {
    public static void main(String[] args) throws Exception {
        int rounds = Integer.parseInt(args[0]);
        Path model = EmbeddedDefaultModel.extract();
        LoadedModel m = EmbeddedDefaultModel.load(model);
        var images = ImagePreprocessor.loadBatch(EmbeddedDefaultModel.samples(model), m.preprocessing());
        volatile_stop = false;
        List<Thread> busy = new ArrayList<>();
        for (int t = 0; t < 2; t++) {
            Thread th = new Thread(() -> {
                long acc = 0;
                while (!volatile_stop) {
                    for (int j = 0; j < 10_000; j++) {
                        int[] a = new int[16 + (j & 63)];
                        a[j & 15] = j;
                        acc += a[(j * 7) & 15] + (acc >>> 3);
                    }
                }
                if (acc == 42) System.out.print("");
            });
            th.start();
            busy.add(th);
        }
        int failed = 0;
        String first = "";
        for (int r = 0; r < rounds; r++) {
            try (Backend b = Backends.open("opencl"); VisionTransformer vit = new VisionTransformer(m.weights(), b)) {
                vit.forward(images);
            } catch (RuntimeException e) {
                if (failed++ == 0) first = String.valueOf(e.getMessage()).lines().findFirst().orElse("");
            }
        }
        volatile_stop = true;
        for (Thread t : busy) t.join();
        System.out.println("ok rounds=" + rounds + " failed=" + failed + (failed > 0 ? " first: " + first : ""));
    }

    private static volatile boolean volatile_stop;
}
