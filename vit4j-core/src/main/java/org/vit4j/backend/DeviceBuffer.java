package org.vit4j.backend;

import org.vit4j.ElementType;

/**
 * An array of {@link #dtype()} elements in a backend's memory: host arrays for the CPU reference, {@code cl_mem} for
 * OpenCL, device pointers for CUDA. A buffer belongs to the backend that made it and is released by
 * {@link #close()}; using it after that is an {@link IllegalStateException}, never a crash.
 */
public interface DeviceBuffer extends AutoCloseable {

    /** How the elements are stored: fp32, bf16 or fp16. */
    ElementType dtype();

    /** Length in elements. */
    long length();

    /** The backend that allocated this buffer. */
    Backend backend();

    boolean isClosed();

    /** Releases the buffer (back to its backend's pool, where it has one). Closing twice is an error. */
    @Override
    void close();
}
