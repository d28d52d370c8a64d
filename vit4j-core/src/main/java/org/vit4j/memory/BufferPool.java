package org.vit4j.memory;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.vit4j.Vit4jException;

/**
 * A caching allocator for device memory. Requests are rounded up to a size class; a released
 * block goes back to its class's free list and serves the next request of that class, so a
 * forward pass that repeats the same allocations allocates device memory only the first time.
 *
 * <p>Size classes: 256 bytes and up, four per power of two (2^k times 1, 1.25, 1.5, 1.75), so a
 * block wastes under 25% of itself while activations of one shape always share a class. Blocks
 * are never split or merged: a ViT forward pass has few distinct sizes, and whole blocks keep
 * release O(1) and safe to check.
 *
 * <p>Not thread-safe; a backend serialises its use. {@link #close()} frees every cached block and
 * refuses further use; blocks still handed out at close are freed too, and releasing them later is
 * an {@link IllegalStateException}.
 */
public final class BufferPool<H> implements AutoCloseable {
    private static final long MIN_CLASS = 256;

    private final DeviceAllocator<H> allocator;
    private final String device;
    private final Map<Long, ArrayDeque<H>> free = new HashMap<>();
    private final Map<H, Long> inUse = new IdentityHashMap<>();
    private long bytesInUse;
    private long peak;
    private long bytesCached;
    private long hits;
    private long misses;
    private boolean closed;
    private final long capacity;

    public BufferPool(DeviceAllocator<H> allocator, String device) {
        this(allocator, device, Long.MAX_VALUE);
    }

    /**
     * A pool that holds at most {@code capacity} bytes (in use and cached): a request past it first
     * gives the cache back, then fails with an error that says what fits, instead of growing the
     * process or the device past what it has.
     */
    public BufferPool(DeviceAllocator<H> allocator, String device, long capacity) {
        if (capacity <= 0) throw new Vit4jException(device + ": memory cap " + capacity + " bytes: expected > 0");
        this.allocator = allocator;
        this.device = device;
        this.capacity = capacity;
    }

    /** The most bytes this pool holds; Long.MAX_VALUE where it has no cap. */
    public long capacity() {
        return capacity;
    }

    /** The size class a request of {@code bytes} is served from. */
    public static long sizeClass(long bytes) {
        if (bytes <= MIN_CLASS) return MIN_CLASS;
        int k = 63 - Long.numberOfLeadingZeros(bytes - 1); // 2^k < bytes <= 2^(k+1)
        long quarter = 1L << (k - 2);
        long base = 1L << k;
        return base + quarter * ((bytes - base + quarter - 1) / quarter);
    }

    /** A block of at least {@code bytes} bytes. */
    public synchronized H acquire(long bytes) {
        checkOpen();
        if (bytes < 0) throw new Vit4jException(device + ": cannot allocate " + bytes + " bytes");
        long size = sizeClass(bytes);
        ArrayDeque<H> list = free.get(size);
        H block;
        if (list != null && !list.isEmpty()) {
            block = list.pop();
            bytesCached -= size;
            hits++;
        } else {
            if (bytesInUse + bytesCached + size > capacity) trim();
            if (bytesInUse + size > capacity) {
                throw new Vit4jException(device + ": " + size + " more bytes would pass the memory cap of " + capacity
                        + " bytes (" + bytesInUse + " in use): use a smaller batch, or raise the cap "
                        + "(--memory-cap, BackendOptions.withMemoryCap)");
            }
            try {
                block = allocator.allocate(size);
            } catch (RuntimeException first) {
                // Out of device memory: give the cache back and try once more.
                trim();
                try {
                    block = allocator.allocate(size);
                } catch (RuntimeException second) {
                    second.addSuppressed(first);
                    throw new Vit4jException(device + ": cannot allocate " + size + " bytes (" + stats() + "): "
                            + second.getMessage(), second);
                }
            }
            misses++;
        }
        inUse.put(block, size);
        bytesInUse += size;
        peak = Math.max(peak, bytesInUse);
        return block;
    }

    /** Returns {@code block} to the cache. Releasing a block twice, or one not from this pool, is an error. */
    public synchronized void release(H block) {
        checkOpen();
        Long size = inUse.remove(block);
        if (size == null) {
            throw new IllegalStateException(device + ": buffer released twice, or not allocated by this pool");
        }
        bytesInUse -= size;
        bytesCached += size;
        free.computeIfAbsent(size, s -> new ArrayDeque<>()).push(block);
    }

    /** Frees every cached block on the device. */
    public synchronized void trim() {
        for (ArrayDeque<H> list : free.values()) {
            for (H h : list) allocator.free(h);
            list.clear();
        }
        bytesCached = 0;
    }

    public synchronized PoolStats stats() {
        return new PoolStats(bytesInUse, peak, bytesCached, hits, misses, bytesInUse + bytesCached);
    }

    public synchronized boolean isClosed() {
        return closed;
    }

    private void checkOpen() {
        if (closed) throw new IllegalStateException(device + ": memory pool used after close");
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        trim();
        List<H> leaked = new ArrayList<>(inUse.keySet());
        for (H h : leaked) allocator.free(h);
        inUse.clear();
        bytesInUse = 0;
        closed = true;
    }
}
