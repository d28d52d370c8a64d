package org.vit4j.backend.cuda;

import jcuda.driver.CUdeviceptr;
import org.vit4j.backend.Backend;
import org.vit4j.backend.DeviceBuffer;

/** A float buffer in CUDA device memory: a pooled allocation at least {@code length} floats long. */
final class CudaBuffer implements DeviceBuffer {
    private final CudaBackend backend;
    private final long length;
    private CUdeviceptr ptr;

    CudaBuffer(CudaBackend backend, CUdeviceptr ptr, long length) {
        this.backend = backend;
        this.ptr = ptr;
        this.length = length;
    }

    CUdeviceptr ptr() {
        if (ptr == null) throw new IllegalStateException("cuda buffer used after close");
        return ptr;
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
        return ptr == null;
    }

    @Override
    public void close() {
        if (ptr == null) throw new IllegalStateException("cuda buffer closed twice");
        CUdeviceptr p = ptr;
        ptr = null;
        backend.release(p);
    }
}
