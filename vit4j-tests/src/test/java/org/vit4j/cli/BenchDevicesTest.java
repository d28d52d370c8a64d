package org.vit4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vit4j.cli.CliTest.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vit4j.backend.Backends;
import org.vit4j.digits.EmbeddedDefaultModel;

/**
 * Issue 15, item 1's measurement: {@code vit4j bench --devices all|N}, every device of a backend
 * behind one MultiDeviceModel against device 0 alone. Two devices on PoCL need
 * {@code POCL_DEVICES="pthread pthread"} from the process's start, so that case runs the CLI in a
 * child JVM.
 */
class BenchDevicesTest {
    @TempDir
    Path dir;

    @Test
    void twoPoclDevicesAreMeasuredAgainstOneInTheSameRun() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(
                Backends.all().stream().anyMatch(p -> p.name().equals("opencl") && p.probe().available()),
                "no OpenCL platform here");
        Path weights = EmbeddedDefaultModel.extract().resolve("model.safetensors");
        Path json = dir.resolve("devices.json");
        ProcessBuilder pb = new ProcessBuilder(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx512m", "-cp", System.getProperty("java.class.path"), Main.class.getName(), "bench", "--backend",
                "opencl", "--weights", weights.toString(), "--batch", "6", "--warmup", "1", "--iterations", "4",
                "--devices", "all", "--json", json.toString()));
        pb.environment().put("POCL_DEVICES", "pthread pthread");
        Path out = dir.resolve("out"), err = dir.resolve("err");
        pb.redirectOutput(out.toFile()).redirectError(err.toFile());
        Process p = pb.start();
        if (!p.waitFor(300, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("child JVM did not finish in 300 s");
        }
        String o = Files.readString(out), e = Files.readString(err);
        assertEquals(0, p.exitValue(), o + e);
        assertTrue(o.contains("batch 6, opencl, fp32, 2 of 2 device(s)"), o);
        Matcher m = Pattern.compile("1 device:  median [0-9.]+ ms per batch = ([0-9.]+) img/s\n2 device\\(s\\): median [0-9.]+ ms "
                + "per batch = ([0-9.]+) img/s = ([0-9.]+)x one device, scaling efficiency ([0-9]+)%").matcher(o);
        assertTrue(m.find(), o);
        double one = Double.parseDouble(m.group(1)), two = Double.parseDouble(m.group(2));
        assertEquals(two / one, Double.parseDouble(m.group(3)), 0.01, o);
        assertEquals(100 * two / one / 2, Double.parseDouble(m.group(4)), 1, o);
        assertTrue(o.contains("logits of 2 device(s) equal one device's bit for bit"), o);
        JsonNode point = new ObjectMapper().readTree(json.toFile()).get("points").get(0);
        assertEquals(2, point.get("devices").asInt(), point.toString());
        assertTrue(point.get("logits_equal").asBoolean(), point.toString());
        JsonNode perDevice = point.get("per_device");
        assertEquals(2, perDevice.size(), point.toString());
        long images = 0;
        for (JsonNode d : perDevice) images += d.get("images").asLong();
        assertEquals(2 * 4 * 6, images, "2 rounds x 4 passes x 6 images through the two devices: " + point);
    }

    @Test
    void moreDevicesThanTheBackendHasIsAOneLineError() {
        CliTest.Result bad = cli("bench", "--backend", "cpu", "--model", "vit-ti16", "--devices", "2");
        assertEquals(2, bad.status());
        assertTrue(bad.err().startsWith("vit4j: error: bench: --devices 2, but backend 'cpu' has 1 device(s)"), bad.err());
        CliTest.Result word = cli("bench", "--backend", "cpu", "--model", "vit-ti16", "--devices", "every");
        assertEquals(2, word.status());
        assertTrue(word.err().startsWith("vit4j: error: bench: --devices takes all or a number, got 'every'"), word.err());
    }
}
