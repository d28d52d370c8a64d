package org.vit4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vit4j.cli.CliTest.cli;

import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.vit4j.backend.opencl.OpenClProvider;
import org.vit4j.digits.EmbeddedDefaultModel;

/**
 * {@code bench --timeline-passes}: on OpenCL the device's kernel timestamps of plain passes, summed up as
 * running, idle and host-late time, with a row per kernel; a backend without timestamps says so.
 */
class BenchTimelineTest {
    private static final Pattern SUMMARY = Pattern.compile("device timeline \\((\\d+) plain passes.*?: (\\d+) kernels, "
            + "([0-9.]+) ms from .*?running ([0-9.]+) ms .*?idle between kernels ([0-9.]+) ms");

    @Test
    void openClPassesAreSummedUpKernelByKernel() throws Exception {
        Assumptions.assumeTrue(new OpenClProvider().probe().available(), "no OpenCL device");
        Path weights = EmbeddedDefaultModel.extract().resolve("model.safetensors");
        CliTest.Result r = cli("bench", "--backend", "opencl", "--weights", weights.toString(), "--batch", "2",
                "--warmup", "1", "--warmup-seconds", "0", "--iterations", "1", "--profile-passes", "0", "--timeline-passes", "3");
        assertEquals(0, r.status(), r.err());
        Matcher m = SUMMARY.matcher(r.out());
        assertTrue(m.find(), r.out());
        assertEquals(3, Integer.parseInt(m.group(1)));
        // patch embedding, per block LN, QKV, K^T, attention, projection, LN, fc1, fc2, then the token, LN and head
        assertTrue(Integer.parseInt(m.group(2)) > 10, r.out());
        double span = Double.parseDouble(m.group(3)), running = Double.parseDouble(m.group(4));
        double idle = Double.parseDouble(m.group(5));
        assertTrue(running > 0 && running <= span * 1.0001, r.out());
        // kernels run one after another: running + idle is the span (each a median over passes, so not exactly)
        assertTrue(running + idle <= span * 1.5 + 0.01, r.out());
        assertTrue(r.out().contains("  linear_v5 ["), r.out());
        // the host's clock around the same passes: each pass's wall time holds its span, and more (the transfers)
        Matcher h = Pattern.compile("host clock: ([0-9.]+) ms a pass \\(median\\), of which ([0-9.]+) ms outside").matcher(r.out());
        assertTrue(h.find(), r.out());
        double wall = Double.parseDouble(h.group(1)), outside = Double.parseDouble(h.group(2));
        assertTrue(outside > 0 && outside < wall && wall >= span * 0.99, r.out());
        // and op by op, against the FMA peak: the digits model's fc1 at batch 2 (2 x 17 tokens, D 64, MLP 128)
        assertTrue(r.out().contains("per op from the same timestamps"), r.out());
        assertTrue(Pattern.compile("  linear\\+bias_gelu +M=34 K=64 N=128 +\\d+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +\\d+%").matcher(r.out()).find(),
                r.out());
    }

    @Test
    void pairedPeakGivesEachOpItsShareOfAPeakTakenBeforeEachPass() throws Exception {
        Assumptions.assumeTrue(new OpenClProvider().probe().available(), "no OpenCL device");
        Path weights = EmbeddedDefaultModel.extract().resolve("model.safetensors");
        CliTest.Result r = cli("bench", "--backend", "opencl", "--weights", weights.toString(), "--batch", "2",
                "--warmup", "1", "--warmup-seconds", "0", "--iterations", "1", "--profile-passes", "0", "--timeline-passes", "3",
                "--paired-peak");
        assertEquals(0, r.status(), r.err());
        Matcher peak = Pattern.compile("paired FMA peak \\(measured right before each recorded pass\\): median ([0-9.]+) GFLOP/s, "
                + "min ([0-9.]+), max ([0-9.]+)").matcher(r.out());
        assertTrue(peak.find(), r.out());
        double min = Double.parseDouble(peak.group(2)), max = Double.parseDouble(peak.group(3));
        assertTrue(min > 0 && min <= Double.parseDouble(peak.group(1)) && Double.parseDouble(peak.group(1)) <= max, r.out());
        // fc1's row: GFLOP/s, its share of the once-measured peak, then a paired share (TimelineSummaryTest checks its
        // arithmetic: here it can round to 0%, as on a 16-core host, where this tiny GEMM ran at 0.4% of the peak);
        // an op without FLOPs (select_token) has none
        Matcher fc1 = Pattern.compile("  linear\\+bias_gelu +M=34 K=64 N=128 +\\d+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +\\d+% +(\\d+)%")
                .matcher(r.out());
        assertTrue(fc1.find() && Integer.parseInt(fc1.group(1)) <= 100, r.out());
        assertTrue(Pattern.compile("  select_token .* - +-\\n").matcher(r.out()).find(), r.out());
    }

    @Test
    void aBackendWithoutTimestampsSaysSoAndANegativeCountIsRefused() throws Exception {
        Path weights = EmbeddedDefaultModel.extract().resolve("model.safetensors");
        CliTest.Result r = cli("bench", "--backend", "cpu", "--weights", weights.toString(), "--batch", "1",
                "--warmup", "0", "--warmup-seconds", "0", "--iterations", "1", "--profile-passes", "0", "--timeline-passes", "1");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("device timeline: the cpu backend keeps no kernel timestamps"), r.out());
        CliTest.Result bad = cli("bench", "--backend", "cpu", "--timeline-passes", "-1");
        assertNotEquals(0, bad.status());
        assertTrue(bad.err().contains("--timeline-passes >= 0"), bad.err());
    }
}
