package org.vit4j.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vit4j.Vit4jException;
import org.vit4j.io.checkpoint.CheckpointException;
import org.vit4j.io.checkpoint.ModelConfigFile;

/**
 * Findings of the fuzz targets' inputs whose fix the property alone does not pin down (the old
 * behaviour broke no rule of FuzzProperty, it was silently wrong): each has its committed input
 * beside the target's other inputs, and here the behaviour it must have.
 */
class FuzzFindingsTest {
    @TempDir
    Path dir;

    /** A committed input of a target, copied out of the test classpath. */
    private Path input(String target, String name, String as) throws IOException {
        try (var in = FuzzFindingsTest.class.getResourceAsStream(target + "Inputs/fuzz/" + name)) {
            assertTrue(in != null, "no input " + name + " for " + target);
            Path p = dir.resolve(as);
            Files.copy(in, p);
            return p;
        }
    }

    @Test
    void inputSizePastIntIsAnErrorNotEight() throws IOException {
        Path cfg = input("ConfigFuzzTest", "regress-input-size-wraps-config.json", "config.json");
        CheckpointException e = assertThrows(CheckpointException.class, () -> ModelConfigFile.read(cfg));
        assertTrue(e.getMessage().contains("config.json: key 'pretrained_cfg.input_size'"), e.getMessage());
    }

    @Test
    void messagesAreOneLineWhateverTheyQuote() {
        String m = new Vit4jException("tensor \"a\nb\r\u2028c\u0000\" is bad").getMessage();
        assertEquals("tensor \"a\\nb\\r\\u2028c\\u0000\" is bad", m);
    }
}
