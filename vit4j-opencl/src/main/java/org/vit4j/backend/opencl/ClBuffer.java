package org.vit4j.backend.opencl;

import org.jocl.cl_mem;
import org.vit4j.ElementType;
import org.vit4j.backend.PooledBuffer;

/** A buffer on an OpenCL device: a pooled {@code cl_mem}. */
final class ClBuffer extends PooledBuffer<cl_mem> {
    private final OpenClBackend backend;

    ClBuffer(OpenClBackend backend, cl_mem mem, ElementType dtype, long length) {
        super(backend, mem, dtype, length);
        this.backend = backend;
    }

    cl_mem mem() {
        return handle();
    }

    @Override
    protected void release(cl_mem mem) {
        backend.release(mem);
    }
}
