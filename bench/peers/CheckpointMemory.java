import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.vit4j.ElementType;
import org.vit4j.HostTensor;
import org.vit4j.backend.Backend;
import org.vit4j.backend.Backends;
import org.vit4j.bench.RandomWeights;
import org.vit4j.io.checkpoint.CheckpointLoader;
import org.vit4j.io.checkpoint.LoadedModel;
import org.vit4j.io.checkpoint.SafetensorsWriter;
import org.vit4j.model.VisionTransformer;
import org.vit4j.model.VitConfig;

/**
 * Peak resident memory of loading a random-weight ViT-B/16 checkpoint stored in one type and, with a
 * backend named, of uploading it in another: does a bf16 checkpoint ever get widened to float32 on the
 * host? Each case runs in a fresh JVM (VmHWM is per process):
 *   java -Xmx2g -cp vit4j-cli/target/vit4j.jar bench/peers/CheckpointMemory.java write DIR bf16
 *   java -Xmx2g -cp vit4j-cli/target/vit4j.jar bench/peers/CheckpointMemory.java load DIR/model-bf16.safetensors [BACKEND PRECISION]
 * bench/peers/checkpoint_memory.sh runs the cases of the README.
 */
public class CheckpointMemory {
    public static void main(String[] a) throws Exception {
        if (a[0].equals("write")) {
            Path dir = Path.of(a[1]);
            Files.createDirectories(dir);
            ElementType t = ElementType.parse(a[2]);
            SafetensorsWriter.write(dir.resolve("model-" + t.label() + ".safetensors"),
                    RandomWeights.of(VitConfig.preset("vit-b16"), 1).all(), Map.of(), t);
            Files.writeString(dir.resolve("config.json"), "{\"architecture\": \"vit_base_patch16_224\", \"num_classes\": 1000}");
            return;
        }
        Path file = Path.of(a[1]);
        LoadedModel m = CheckpointLoader.load(file);
        long sum = 0;
        for (HostTensor t : m.weights().all().values()) { // touch every element, as an upload does
            if (t.dtype() == ElementType.F32) for (float f : t.data()) sum += Float.floatToRawIntBits(f);
            else for (int i = 0; i < t.bits().limit(); i++) sum += t.bits().get(i);
        }
        System.out.printf("%s (%.1f MB, stored %s): every tensor read: peak RSS %s (checksum %d)%n", file.getFileName(),
                Files.size(file) / 1e6, m.weights().get("blocks.0.mlp.fc1.weight").dtype().label(), hwm(), sum);
        if (a.length > 2) {
            try (Backend be = Backends.open(a[2]);
                    VisionTransformer v = new VisionTransformer(m.weights(), be, ElementType.parse(a[3]))) {
                System.out.printf("  uploaded to %s as %s: device pool %s; peak RSS %s%n", a[2], a[3], be.memoryStats(), hwm());
            }
        }
    }

    private static String hwm() throws Exception {
        for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (l.startsWith("VmHWM")) return l.substring(6).trim();
        }
        return "?";
    }
}
