package org.vit4j.backend;

import org.vit4j.ElementType;

/**
 * A device buffer whose memory came from a {@link org.vit4j.memory.BufferPool}: a handle
 * ({@code cl_mem}, a CUDA device address) of at least {@code length} elements of {@code dtype}, given back to the pool on close. Used
 * after close, or closed twice, it fails with an {@link IllegalStateException} naming the device.
 */
public abstract class PooledBuffer<H> implements DeviceBuffer {
    private final Backend backend;
    private final ElementType dtype;
    private final long length;
    private H handle;

    protected PooledBuffer(Backend backend, H handle, ElementType dtype, long length) {
        this.backend = backend;
        this.handle = handle;
        this.dtype = dtype;
        this.length = length;
    }

    /** Gives the memory back to the pool. */
    protected abstract void release(H handle);

    public final H handle() {
        if (handle == null) throw new IllegalStateException(backend.name() + " buffer used after close");
        return handle;
    }

    @Override
    public final ElementType dtype() {
        return dtype;
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
