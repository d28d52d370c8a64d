package org.vit4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vit4j.cli.CliTest.cli;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * vit4j soak, the command behind bench/soak.sh, on a few passes: it samples at whole cycles of the
 * batch sizes and reports each criterion. Whether memory stays flat over 10,000 passes is the
 * script's to say (bench/results/*-soak.txt), not a timed unit test's.
 */
class SoakCommandTest {
    @Test
    void samplesAtWholeCyclesAndJudgesEachCriterion() {
        CliTest.Result r = cli("soak", "--backend", "cpu", "--forwards", "60", "--samples", "3", "--batches", "1,2");
        assertTrue(r.status() == 0 || r.status() == 3, r.err());
        List<String> rows = r.out().lines().filter(l -> l.matches("\\s*\\d+\\s+\\d+\\.\\d.*")).toList();
        assertEquals(3, rows.size(), r.out());
        assertEquals(List.of("0", "30", "60"), rows.stream().map(l -> l.trim().split("\\s+")[0]).toList(), r.out());
        assertTrue(r.out().contains("judged: 2 samples from forward 30 (after 10% warm-up)"), r.out());
        assertTrue(r.out().contains("logits: every pass equal to the first at its batch size, bit for bit"), r.out());
        assertTrue(r.out().matches("(?s).*\nrss: .* \\(criterion < 16 MiB\\): (flat|GROWS)\n.*"), r.out());
        assertTrue(r.out().matches("(?s).*\npool: .*: flat\n.*"), "cpu has no pool: flat by definition\n" + r.out());
        assertTrue(r.out().contains("verdict: " + (r.status() == 0 ? "FLAT" : "NOT FLAT")), r.out());
        CliTest.Result bad = cli("soak", "--backend", "cpu", "--forwards", "61", "--batches", "1,2");
        assertEquals(2, bad.status());
        assertTrue(bad.err().contains("--forwards must be a whole number of cycles of the 2 batch sizes"), bad.err());
    }
}
