package org.vit4j.backend.cuda;

import org.vit4j.ElementType;
import org.vit4j.backend.PooledBuffer;

/** A buffer in CUDA device memory: a pooled device address. */
final class CudaBuffer extends PooledBuffer<DevicePointer> {
    private final CudaBackend backend;

    CudaBuffer(CudaBackend backend, DevicePointer ptr, ElementType dtype, long length) {
        super(backend, ptr, dtype, length);
        this.backend = backend;
    }

    long address() {
        return handle().address();
    }

    @Override
    protected void release(DevicePointer ptr) {
        backend.release(ptr);
    }
}
