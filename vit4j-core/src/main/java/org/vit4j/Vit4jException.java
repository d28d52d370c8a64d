package org.vit4j;

/**
 * Base of every error vit4j reports about its input: a checkpoint, a config, an image, a tensor
 * shape or an argument. The message names the thing at fault and what was expected, so that the
 * CLI can print it as one line.
 */
public class Vit4jException extends RuntimeException {
    public Vit4jException(String message) {
        super(message);
    }

    public Vit4jException(String message, Throwable cause) {
        super(message, cause);
    }
}
