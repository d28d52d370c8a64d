package org.vit4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vit4j.cli.CliTest.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vit4j.digits.EmbeddedDefaultModel;

/**
 * Issue 13, item 4: a half-precision pass is held to the device's GEMM rate in that precision (tensor
 * cores on a GPU), so {@code bench --precision bf16} measures and prints a bf16 peak, cached apart from
 * the fp32 one.
 */
class BenchPeaksTest {
    @TempDir
    Path dir;

    @Test
    void peaksAreMeasuredInThePrecisionOfThePass() throws IOException {
        Path weights = EmbeddedDefaultModel.extract().resolve("model.safetensors");
        for (String precision : new String[] {"bf16", "fp32"}) {
            Path json = dir.resolve(precision + ".json");
            CliTest.Result r = cli("bench", "--backend", "cpu", "--weights", weights.toString(), "--batch", "2",
                    "--warmup", "0", "--iterations", "1", "--profile-passes", "1", "--precision", precision,
                    "--json", json.toString());
            assertEquals(0, r.status(), r.err());
            assertTrue(r.out().contains(", " + precision + " GEMM "), r.out());
            JsonNode peaks = new ObjectMapper().readTree(json.toFile()).get("peaks");
            assertEquals(precision, peaks.get("precision").asText(), peaks.toString());
            assertTrue(peaks.get("device").asText().contains("| " + precision + " |"), peaks.toString());
            assertTrue(peaks.get("gemmGflops").asDouble() > 0, peaks.toString());
        }
    }
}
