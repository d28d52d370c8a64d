package org.vit4j.memory;

/**
 * A snapshot of a device memory pool.
 *
 * @param bytesInUse      bytes of blocks handed out and not yet released (at their size class)
 * @param peakBytesInUse  the most {@code bytesInUse} has been
 * @param bytesCached     bytes of released blocks kept for reuse
 * @param hits            requests served from the cache
 * @param misses          requests that allocated device memory
 * @param deviceBytes     bytes allocated on the device now ({@code bytesInUse + bytesCached})
 */
public record PoolStats(long bytesInUse, long peakBytesInUse, long bytesCached, long hits, long misses,
        long deviceBytes) {

    public static final PoolStats NONE = new PoolStats(0, 0, 0, 0, 0, 0);

    @Override
    public String toString() {
        return String.format("in use %,d B (peak %,d), cached %,d B, %d hits, %d misses (device allocations)",
                bytesInUse, peakBytesInUse, bytesCached, hits, misses);
    }
}
