package org.vit4j.memory;

/** Allocates and frees raw device memory for a {@link BufferPool}: {@code clCreateBuffer}, {@code cuMemAlloc}. */
public interface DeviceAllocator<H> {
    /** A new device allocation of exactly {@code bytes} bytes. */
    H allocate(long bytes);

    void free(H handle);
}
