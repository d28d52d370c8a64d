package org.vit4j.io.image;

import org.vit4j.Vit4jException;

/** An input image is missing, unreadable, corrupt, of an unsupported format, or unusable as given. */
public class ImageException extends Vit4jException {
    public ImageException(String message) {
        super(message);
    }

    public ImageException(String message, Throwable cause) {
        super(message, cause);
    }
}
