package org.vit4j.backend.opencl;

import org.jocl.cl_mem;
import org.vit4j.backend.Backend;
import org.vit4j.backend.DeviceBuffer;

/** A float buffer on an OpenCL device: a pooled {@code cl_mem} at least {@code length} floats long. */
final class ClBuffer implements DeviceBuffer {
    private final OpenClBackend backend;
    private final long length;
    private cl_mem mem;

    ClBuffer(OpenClBackend backend, cl_mem mem, long length) {
        this.backend = backend;
        this.mem = mem;
        this.length = length;
    }

    cl_mem mem() {
        if (mem == null) throw new IllegalStateException("opencl buffer used after close");
        return mem;
    }

    @Override
    public long length() {
        return length;
    }

    @Override
    public Backend backend() {
        return backend;
    }

    @Override
    public boolean isClosed() {
        return mem == null;
    }

    @Override
    public void close() {
        if (mem == null) throw new IllegalStateException("opencl buffer closed twice");
        cl_mem m = mem;
        mem = null;
        backend.release(m);
    }
}
