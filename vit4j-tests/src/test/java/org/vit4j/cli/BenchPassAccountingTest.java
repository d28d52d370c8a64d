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

/**
 * Issue 16, item 4: vit4j bench holds the per-op sum against whole passes run alternately with the
 * profiled ones (wall, process CPU, run-queue wait). No timing is asserted, only that the figures are
 * there, agree between the printed line and the JSON, and are consistent with how they are taken.
 */
class BenchPassAccountingTest {
    @TempDir
    Path dir;

    @Test
    void profiledPassesAreAccountedAgainstPlainOnes() throws IOException {
        Path weights = EmbeddedDefaultModel.extract().resolve("model.safetensors");
        Path json = dir.resolve("bench.json");
        CliTest.Result r = cli("bench", "--backend", "cpu", "--weights", weights.toString(), "--batch", "2",
                "--warmup", "1", "--iterations", "2", "--profile-passes", "3", "--json", json.toString());
        assertEquals(0, r.status(), r.err());
        Matcher m = Pattern.compile("pass accounting \\(3 plain and 3 profiled passes alternating, medians; load -?[0-9.]+\\): "
                + "plain pass ([0-9.]+) ms wall, ([0-9.]+) ms process CPU \\(([0-9.]+) cores busy\\), its threads ([0-9.]+) ms "
                + "runnable but waiting for a core; profiled pass ([0-9.]+) ms wall, ([0-9.]+) ms CPU \\(([0-9.]+) cores\\), "
                + "of which ops ([0-9.]+) ms, outside ops (-?[0-9.]+) ms").matcher(r.out());
        assertTrue(m.find(), r.out());
        JsonNode a = new ObjectMapper().readTree(json.toFile()).get("pass_accounting");
        assertEquals(3, a.get("passes").asInt(), a.toString());
        assertEquals(Double.parseDouble(m.group(1)), a.get("plain_wall_ms").asDouble(), 0.05, a.toString());
        assertEquals(Double.parseDouble(m.group(2)), a.get("plain_cpu_ms").asDouble(), 0.05, a.toString());
        assertEquals(Double.parseDouble(m.group(4)), a.get("plain_run_queue_wait_ms").asDouble(), 0.05, a.toString());
        assertEquals(Double.parseDouble(m.group(5)), a.get("profiled_wall_ms").asDouble(), 0.05, a.toString());
        assertEquals(Double.parseDouble(m.group(8)), a.get("op_sum_ms").asDouble(), 0.05, a.toString());
        // The ops are timed inside the profiled pass: their sum is positive and within the pass's wall
        // time (the median of each is taken over the same passes, so this holds pass by pass too).
        double ops = a.get("op_sum_ms").asDouble(), wall = a.get("profiled_wall_ms").asDouble();
        assertTrue(ops > 0 && ops <= wall, a.toString());
        assertTrue(a.get("plain_wall_ms").asDouble() > 0, a.toString());
        assertTrue(a.get("plain_cpu_ms").asDouble() >= 0 && a.get("plain_run_queue_wait_ms").asDouble() >= 0, a.toString());
        // The per-op table's sum is of the same profiled passes.
        Matcher sum = Pattern.compile("sum ([0-9.]+) ms per pass").matcher(r.out());
        assertTrue(sum.find(), r.out());
        assertTrue(Double.parseDouble(sum.group(1)) <= wall * 3, r.out());
        // The input's upload alone, in the JSON as printed
        Matcher up = Pattern.compile("input upload \\(the batch's 2 images written to the device as fp32, alone; median of 5\\): "
                + "([0-9.]+) ms").matcher(r.out());
        assertTrue(up.find(), r.out());
        assertEquals(Double.parseDouble(up.group(1)), a.get("input_upload_ms").asDouble(), 0.05, a.toString());
        assertEquals(false, new ObjectMapper().readTree(json.toFile()).get("input_on_device").asBoolean(true));
    }

    /** --input-on-device times VisionTransformer.forward(DeviceBuffer, batch): said in the header and the JSON. */
    @Test
    void inputOnTheDeviceIsSaidAndRecorded() throws IOException {
        Path weights = EmbeddedDefaultModel.extract().resolve("model.safetensors");
        Path json = dir.resolve("bench-device-input.json");
        CliTest.Result r = cli("bench", "--backend", "cpu", "--weights", weights.toString(), "--batch", "3",
                "--warmup", "1", "--warmup-seconds", "0", "--iterations", "2", "--input-on-device", "--json", json.toString());
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("batch 3, cpu on ") && r.out().contains(", fp32, input on the device (uploaded once, not timed)"),
                r.out());
        JsonNode j = new ObjectMapper().readTree(json.toFile());
        assertTrue(j.get("input_on_device").asBoolean(false), j.toString());
        assertTrue(j.get("images_per_second").asDouble() > 0, j.toString());
    }
}
