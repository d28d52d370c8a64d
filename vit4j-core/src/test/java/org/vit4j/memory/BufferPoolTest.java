package org.vit4j.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.vit4j.Vit4jException;

class BufferPoolTest {

    /** A fake device: counts what is allocated and freed, and can run out of memory. */
    static final class FakeDevice implements DeviceAllocator<long[]> {
        final Set<long[]> live = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        long capacity = Long.MAX_VALUE;
        long used;
        int allocations;

        @Override
        public long[] allocate(long bytes) {
            if (used + bytes > capacity) throw new IllegalStateException("out of device memory");
            used += bytes;
            allocations++;
            long[] h = {bytes};
            live.add(h);
            return h;
        }

        @Override
        public void free(long[] handle) {
            if (!live.remove(handle)) throw new AssertionError("freed twice or unknown");
            used -= handle[0];
        }
    }

    @Test
    void sizeClassesWasteUnderAQuarter() {
        assertEquals(256, BufferPool.sizeClass(1));
        assertEquals(256, BufferPool.sizeClass(256));
        for (long bytes = 257; bytes < 5_000_000; bytes = bytes * 9 / 8 + 1) {
            long c = BufferPool.sizeClass(bytes);
            assertTrue(c >= bytes && c < bytes * 1.25 + 1, bytes + " -> " + c);
            assertEquals(c, BufferPool.sizeClass(c), "a class maps to itself");
        }
    }

    @Test
    void releasedBlocksServeTheNextRequestOfTheirClass() {
        FakeDevice dev = new FakeDevice();
        BufferPool<long[]> pool = new BufferPool<>(dev, "fake");
        long[] a = pool.acquire(1000);
        pool.release(a);
        long[] b = pool.acquire(1001); // same class
        assertSame(a, b);
        long[] c = pool.acquire(5000);
        assertNotSame(a, c);
        PoolStats s = pool.stats();
        assertEquals(1, s.hits());
        assertEquals(2, s.misses());
        assertEquals(BufferPool.sizeClass(1000) + BufferPool.sizeClass(5000), s.bytesInUse());
        assertEquals(0, s.bytesCached());
        assertEquals(dev.used, s.deviceBytes());
    }

    @Test
    void statisticsAddUp() {
        FakeDevice dev = new FakeDevice();
        BufferPool<long[]> pool = new BufferPool<>(dev, "fake");
        List<long[]> held = new ArrayList<>();
        java.util.Random r = new java.util.Random(1);
        for (int step = 0; step < 2000; step++) {
            if (!held.isEmpty() && r.nextBoolean()) {
                pool.release(held.remove(r.nextInt(held.size())));
            } else {
                held.add(pool.acquire(1 + r.nextInt(100_000)));
            }
            PoolStats s = pool.stats();
            assertEquals(dev.used, s.bytesInUse() + s.bytesCached(), "device bytes = in use + cached");
            assertEquals(dev.allocations, s.misses());
            assertTrue(s.peakBytesInUse() >= s.bytesInUse());
        }
        long inUse = 0;
        for (long[] h : held) inUse += h[0];
        assertEquals(inUse, pool.stats().bytesInUse());
    }

    @Test
    void doubleReleaseAndForeignBlocksAreErrors() {
        BufferPool<long[]> pool = new BufferPool<>(new FakeDevice(), "fake");
        long[] a = pool.acquire(10);
        pool.release(a);
        IllegalStateException twice = assertThrows(IllegalStateException.class, () -> pool.release(a));
        assertTrue(twice.getMessage().contains("released twice"), twice.getMessage());
        assertThrows(IllegalStateException.class, () -> pool.release(new long[] {10}));
    }

    @Test
    void closeFreesEverythingAndRefusesUse() {
        FakeDevice dev = new FakeDevice();
        BufferPool<long[]> pool = new BufferPool<>(dev, "fake");
        long[] held = pool.acquire(300);
        pool.release(pool.acquire(7000));
        pool.close();
        assertEquals(0, dev.used);
        assertTrue(dev.live.isEmpty());
        assertThrows(IllegalStateException.class, () -> pool.acquire(1));
        assertThrows(IllegalStateException.class, () -> pool.release(held));
    }

    @Test
    void outOfMemoryTrimsTheCacheAndRetries() {
        FakeDevice dev = new FakeDevice();
        dev.capacity = 1 << 20;
        BufferPool<long[]> pool = new BufferPool<>(dev, "fake");
        pool.release(pool.acquire(600_000)); // cached, holding most of the device
        long[] big = pool.acquire(700_000); // needs the cache freed first
        assertEquals(0, pool.stats().bytesCached());
        Vit4jException e = assertThrows(Vit4jException.class, () -> pool.acquire(900_000));
        assertTrue(e.getMessage().contains("fake: cannot allocate"), e.getMessage());
        pool.release(big);
    }

    /** Issue 12: the pool grew past what the device reported. A cap gives the cache back, then says what fits. */
    @org.junit.jupiter.api.Test
    void aCapGivesTheCacheBackThenRefusesWithAClearError() {
        FakeDevice dev = new FakeDevice();
        BufferPool<long[]> pool = new BufferPool<>(dev, "fake", 4096);
        long[] a = pool.acquire(2048);
        long[] b = pool.acquire(1024);
        pool.release(b); // cached, not freed
        long[] c = pool.acquire(2048); // fits only once the cache is given back
        org.junit.jupiter.api.Assertions.assertEquals(4096, dev.used);
        org.vit4j.Vit4jException e = org.junit.jupiter.api.Assertions.assertThrows(org.vit4j.Vit4jException.class,
                () -> pool.acquire(256));
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("memory cap of 4096 bytes")
                && e.getMessage().contains("smaller batch"), e.getMessage());
        pool.release(a);
        pool.release(c);
        pool.close();
        org.junit.jupiter.api.Assertions.assertEquals(0, dev.used);
    }
}
