package org.vit4j.backend.cpu;

import org.vit4j.ElementType;
import org.vit4j.backend.Backend;
import org.vit4j.backend.DeviceBuffer;

/**
 * A buffer of the CPU reference: a Java float array. A bf16/fp16 buffer holds float values that its
 * type represents exactly (every store rounds), so the half-precision path computes from exactly the
 * values a device stores.
 */
final class CpuBuffer implements DeviceBuffer {
    private final CpuBackend backend;
    private final ElementType dtype;
    private float[] data;

    CpuBuffer(CpuBackend backend, ElementType dtype, float[] data) {
        this.backend = backend;
        this.dtype = dtype;
        this.data = data;
    }

    @Override
    public ElementType dtype() {
        return dtype;
    }

    /** The array; fails cleanly on a closed buffer. */
    float[] data() {
        if (data == null) throw new IllegalStateException("cpu buffer used after close");
        return data;
    }

    @Override
    public long length() {
        return data().length;
    }

    @Override
    public Backend backend() {
        return backend;
    }

    @Override
    public boolean isClosed() {
        return data == null;
    }

    @Override
    public void close() {
        if (data == null) throw new IllegalStateException("cpu buffer closed twice");
        data = null;
        backend.released();
    }
}
