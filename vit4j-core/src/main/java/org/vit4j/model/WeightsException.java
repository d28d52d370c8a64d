package org.vit4j.model;

import org.vit4j.Vit4jException;

/**
 * The tensors given for a model do not fit its config: one it needs is missing, or has another
 * shape. The message names the source of the tensors, the tensor, and the shape expected. A
 * checkpoint loader reports it as its own kind of error (the model knows nothing of files).
 */
public class WeightsException extends Vit4jException {
    public WeightsException(String message) {
        super(message);
    }
}
