package org.vit4j.backend.cuda;

/**
 * A device address as the memory pool's handle. The pool and its segment allocator key blocks by
 * identity, so each block is one object for its whole life; a boxed {@code Long} would not be.
 */
record DevicePointer(long address) {
    DevicePointer plus(long bytes) {
        return new DevicePointer(address + bytes);
    }

    @Override
    public String toString() {
        return "0x" + Long.toHexString(address);
    }
}
