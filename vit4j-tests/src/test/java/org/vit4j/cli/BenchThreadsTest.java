package org.vit4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vit4j.cli.CliTest.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vit4j.digits.EmbeddedDefaultModel;

/** Issue 12, item 1's measurement: vit4j bench --threads N, N clients on one model against 1 thread. */
class BenchThreadsTest {
    @TempDir
    Path dir;

    @Test
    void threadsAreMeasuredAgainstOneThreadInTheSameRun() throws IOException {
        Path weights = EmbeddedDefaultModel.extract().resolve("model.safetensors");
        Path json = dir.resolve("bench.json");
        CliTest.Result r = cli("bench", "--backend", "cpu", "--weights", weights.toString(), "--batch", "3",
                "--warmup", "1", "--iterations", "20", "--profile-passes", "0", "--threads", "3", "--json", json.toString());
        assertEquals(0, r.status(), r.err());
        Matcher m = Pattern.compile("threads: 3 clients on one model ([0-9.]+) img/s against 1 thread ([0-9.]+) img/s = "
                + "([0-9.]+)x \\(best of 2 alternating rounds, 20 passes per client\\); every client's logits equal the "
                + "serial pass's bit for bit").matcher(r.out());
        assertTrue(m.find(), r.out());
        double many = Double.parseDouble(m.group(1)), one = Double.parseDouble(m.group(2));
        assertTrue(many > 0 && one > 0, r.out());
        assertEquals(many / one, Double.parseDouble(m.group(3)), 0.01, r.out());
        JsonNode t = new ObjectMapper().readTree(json.toFile()).get("threads");
        assertEquals(3, t.get("clients").asInt(), t.toString());
        assertTrue(t.get("logitsEqual").asBoolean(), t.toString());
        assertEquals(t.get("imagesPerSecond").asDouble() / t.get("oneThreadImagesPerSecond").asDouble(),
                t.get("ratio").asDouble(), 1e-9);
        // Without --threads (1): no thread measurement; --profile-passes 0: no peaks either.
        CliTest.Result plain = cli("bench", "--backend", "cpu", "--weights", weights.toString(), "--batch", "2",
                "--warmup", "0", "--iterations", "2", "--profile-passes", "0");
        assertEquals(0, plain.status(), plain.err());
        assertFalse(plain.out().contains("threads:") || plain.out().contains("device peaks"), plain.out());
        CliTest.Result bad = cli("bench", "--backend", "cpu", "--threads", "0");
        assertEquals(2, bad.status());
        assertTrue(bad.err().startsWith("vit4j: error: bench: --threads must be >= 1, got 0"), bad.err());
    }
}
