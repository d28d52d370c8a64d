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

    /**
     * Bumped by the backend whenever the buffer's contents change (a host write, a copy into it, an op
     * writing it), so a derived copy made from it (the packed weights of linear_v5) knows it is stale.
     */
    long writes;
    /** linear_v5's packed copy of this buffer as a weight, owned by the backend; closed with this buffer. */
    LinearOps.Packed packed;

    cl_mem mem() {
        return handle();
    }

    /** Records a change of contents (see {@link #writes}); returns this buffer. */
    ClBuffer written() {
        writes++;
        return this;
    }

    @Override
    protected void release(cl_mem mem) {
        LinearOps.Packed p = packed;
        packed = null;
        try {
            if (p != null) p.buffer().close();
        } finally {
            backend.release(mem);
        }
    }
}
