package org.vit4j.memory;

import org.vit4j.backend.Backend;
import org.vit4j.backend.DeviceBuffer;

/**
 * A device buffer whose memory came from a {@link BufferPool}: a handle ({@code cl_mem}, a CUDA
 * device address) at least {@code length} floats long, given back to the pool on close. Used
 * after close, or closed twice, it fails with an {@link IllegalStateException} naming the device.
 */
public abstract class PooledBuffer<H> implements DeviceBuffer {
    private final Backend backend;
    private final long length;
    private H handle;

    protected PooledBuffer(Backend backend, H handle, long length) {
        this.backend = backend;
        this.handle = handle;
        this.length = length;
    }

    /** Gives the memory back to the pool. */
    protected abstract void release(H handle);

    public final H handle() {
        if (handle == null) throw new IllegalStateException(backend.name() + " buffer used after close");
        return handle;
    }

    @Override
    public final long length() {
        return length;
    }

    @Override
    public final Backend backend() {
        return backend;
    }

    @Override
    public final boolean isClosed() {
        return handle == null;
    }

    @Override
    public final void close() {
        if (handle == null) throw new IllegalStateException(backend.name() + " buffer closed twice");
        H h = handle;
        handle = null;
        release(h);
    }
}
