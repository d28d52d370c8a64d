package org.vit4j.model;

import org.vit4j.ElementType;
import org.vit4j.backend.Backend;
import org.vit4j.backend.DeviceBuffer;

/**
 * The buffers of a forward pass at one batch size, shared by every block: the token stream itself
 * is updated in place, so a pass needs these few buffers whatever the depth. Kept from pass to pass
 * at the same batch size, so that each pass runs on the same buffers (which lets a backend replay
 * a recorded pass).
 */
final class Activations implements AutoCloseable {
    final int batch;
    final int tokens;
    /** The input images, [B, C, S, S]. */
    final DeviceBuffer images;
    /** The residual stream z, [B, T, D]. */
    final DeviceBuffer stream;
    /** LN(z), [B, T, D]. */
    final DeviceBuffer normed;
    /** q, k, v per head, [3, B, H, T, D/H]. */
    final DeviceBuffer qkv;
    /** Attention output, heads concatenated, [B, T, D]. */
    final DeviceBuffer attended;
    /** MLP hidden layer, [B, T, mlp]. */
    final DeviceBuffer hidden;
    /** The class token before and after the final norm, [B, D]. */
    final DeviceBuffer classToken;
    final DeviceBuffer preLogits;
    /** [B, classes], or null without a head. */
    final DeviceBuffer logits;

    Activations(Backend be, VitConfig c, int batch, ElementType type) {
        this.batch = batch;
        this.tokens = c.tokens();
        long rows = (long) batch * tokens;
        long d = c.hiddenSize();
        // Allocate in a try so that a failure half way leaks nothing.
        DeviceBuffer[] made = new DeviceBuffer[9];
        try {
            made[0] = be.allocate(type, rows * d);
            made[1] = be.allocate(type, rows * d);
            made[2] = be.allocate(type, 3 * rows * d);
            made[3] = be.allocate(type, rows * d);
            made[4] = be.allocate(type, rows * c.mlpSize());
            made[5] = be.allocate(type, batch * d);
            made[6] = be.allocate(type, batch * d);
            made[7] = c.numClasses() > 0 ? be.allocate(type, (long) batch * c.numClasses()) : null;
            made[8] = be.allocate(type, (long) batch * c.channels() * c.imageHeight() * c.imageWidth());
        } catch (RuntimeException e) {
            for (DeviceBuffer b : made) if (b != null) b.close();
            throw e;
        }
        stream = made[0];
        normed = made[1];
        qkv = made[2];
        attended = made[3];
        hidden = made[4];
        classToken = made[5];
        preLogits = made[6];
        logits = made[7];
        images = made[8];
        this.backend = be;
    }

    private final Backend backend;

    /** The bytes of the buffers above at {@code batch} images, as allocated (the pool's rounding aside). */
    static long bytes(VitConfig c, long batch, ElementType type) {
        long rows = batch * c.tokens(), d = c.hiddenSize();
        long elements = rows * d * 6 + rows * c.mlpSize() + batch * d * 2 + batch * c.numClasses()
                + batch * c.channels() * c.imageHeight() * c.imageWidth();
        return elements * type.bytes();
    }

    int rows() {
        return batch * tokens;
    }

    @Override
    public void close() {
        backend.forget(this);
        for (DeviceBuffer b : new DeviceBuffer[] {stream, normed, qkv, attended, hidden, classToken, preLogits, logits, images}) {
            if (b != null) b.close();
        }
    }
}
