package org.vit4j.backend.cuda;

import org.vit4j.memory.PooledBuffer;

/** A float buffer in CUDA device memory: a pooled device address. */
final class CudaBuffer extends PooledBuffer<DevicePointer> {
    private final CudaBackend backend;

    CudaBuffer(CudaBackend backend, DevicePointer ptr, long length) {
        super(backend, ptr, length);
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
