package org.vit4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vit4j.cli.CliTest.cli;

import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.vit4j.digits.EmbeddedDefaultModel;

/**
 * {@code bench --warmup-seconds}: after the {@code --warmup} passes, untimed passes go on until that long
 * has passed (so a small model's timed passes do not time the JIT), and 0 runs exactly {@code --warmup}
 * (what bench/compare.sh passes, giving every peer the same count). The encoder line says how many ran.
 */
class BenchWarmupTest {
    private static final Pattern RUNS = Pattern.compile("\\((?:min [0-9.]+, max [0-9.]+; )?(\\d+) runs after (\\d+) warm-up\\)");

    private static int warmUps(CliTest.Result r) {
        Matcher m = RUNS.matcher(r.out());
        assertTrue(m.find(), r.out());
        return Integer.parseInt(m.group(2));
    }

    @Test
    void warmUpGoesOnForTheGivenSecondsAndZeroMeansExactlyTheGivenPasses() throws Exception {
        Path weights = EmbeddedDefaultModel.extract().resolve("model.safetensors");
        CliTest.Result exact = cli("bench", "--backend", "cpu", "--weights", weights.toString(), "--batch", "1",
                "--warmup", "3", "--warmup-seconds", "0", "--iterations", "1", "--profile-passes", "0");
        assertEquals(0, exact.status(), exact.err());
        assertEquals(3, warmUps(exact));

        CliTest.Result timed = cli("bench", "--backend", "cpu", "--weights", weights.toString(), "--batch", "1",
                "--warmup", "0", "--warmup-seconds", "0.5", "--iterations", "1", "--profile-passes", "0");
        assertEquals(0, timed.status(), timed.err());
        // a pass of the embedded digits model takes milliseconds: half a second is many of them
        assertTrue(warmUps(timed) > 3, timed.out());
    }

    @Test
    void aNegativeOrEndlessWarmUpIsRefusedByName() {
        for (String s : new String[] {"-1", "NaN", "1e9"}) {
            CliTest.Result r = cli("bench", "--backend", "cpu", "--warmup-seconds", s);
            assertNotEquals(0, r.status(), s);
            assertTrue(r.err().contains("--warmup-seconds between 0 and 3600"), s + ": " + r.err());
        }
    }
}
