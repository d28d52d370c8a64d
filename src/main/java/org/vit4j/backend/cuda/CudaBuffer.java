package org.vit4j.backend.cuda;

import jcuda.driver.CUdeviceptr;
import org.vit4j.memory.PooledBuffer;

/** A float buffer in CUDA device memory: a pooled {@code CUdeviceptr}. */
final class CudaBuffer extends PooledBuffer<CUdeviceptr> {
    private final CudaBackend backend;

    CudaBuffer(CudaBackend backend, CUdeviceptr ptr, long length) {
        super(backend, ptr, length);
        this.backend = backend;
    }

    CUdeviceptr ptr() {
        return handle();
    }

    @Override
    protected void release(CUdeviceptr ptr) {
        backend.release(ptr);
    }
}
