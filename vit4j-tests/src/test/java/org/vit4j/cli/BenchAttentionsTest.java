package org.vit4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
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

/** Issue 14, item 4: vit4j bench --attentions times passes with every block's probabilities against plain ones. */
class BenchAttentionsTest {
    @TempDir
    Path dir;

    @Test
    void attentionsAreTimedAgainstPlainPasses() throws IOException {
        Path weights = EmbeddedDefaultModel.extract().resolve("model.safetensors");
        Path json = dir.resolve("bench.json");
        CliTest.Result r = cli("bench", "--backend", "cpu", "--weights", weights.toString(), "--batch", "2",
                "--warmup", "1", "--iterations", "5", "--profile-passes", "0", "--attentions", "--json", json.toString());
        assertEquals(0, r.status(), r.err());
        Matcher m = Pattern.compile("attentions: median ([0-9.]+) ms per batch with every block's probabilities against "
                + "([0-9.]+) ms without, alternating \\(5 runs each\\): \\+(-?[0-9.]+) ms, ([0-9.]+)x").matcher(r.out());
        assertTrue(m.find(), r.out());
        double with = Double.parseDouble(m.group(1)), without = Double.parseDouble(m.group(2));
        assertTrue(with > 0 && without > 0, r.out());
        JsonNode a = new ObjectMapper().readTree(json.toFile()).get("attentions");
        assertEquals(with, a.get("with_ms").asDouble(), 0.05, a.toString());
        assertEquals(without, a.get("without_ms").asDouble(), 0.05, a.toString());
        // The printed ratio is of the unrounded medians (the JSON's), printed to 0.01; the printed ms are
        // rounded to 0.1, so their own ratio may differ by a few percent at a few ms.
        assertEquals(a.get("with_ms").asDouble() / a.get("without_ms").asDouble(), Double.parseDouble(m.group(4)),
                0.006, r.out() + a);
        assertEquals(5, a.get("runs").asInt());
        CliTest.Result plain = cli("bench", "--backend", "cpu", "--weights", weights.toString(), "--batch", "1",
                "--warmup", "0", "--iterations", "1", "--profile-passes", "0");
        assertEquals(0, plain.status(), plain.err());
        assertTrue(!plain.out().contains("attentions:"), plain.out());
    }
}
