package org.vit4j.io.checkpoint;

import org.vit4j.Vit4jException;

/** A checkpoint or its config is malformed, or lacks or misshapes a tensor the model needs. */
public class CheckpointException extends Vit4jException {
    public CheckpointException(String message) {
        super(message);
    }

    public CheckpointException(String message, Throwable cause) {
        super(message, cause);
    }
}
