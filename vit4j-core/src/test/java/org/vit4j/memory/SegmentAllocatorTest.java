package org.vit4j.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SegmentAllocatorTest {
    /** A fake device address: a base allocation and an offset into it. */
    record Addr(long[] base, long offset) {}

    static final class Device implements DeviceAllocator<Addr> {
        int allocations;
        int frees;
        long live;

        @Override
        public Addr allocate(long bytes) {
            allocations++;
            live += bytes;
            return new Addr(new long[] {bytes}, 0);
        }

        @Override
        public void free(Addr a) {
            assertEquals(0, a.offset(), "only whole allocations go back to the device");
            frees++;
            live -= a.base()[0];
        }
    }

    @Test
    void smallBlocksShareSegmentsAlignedAndDisjoint() {
        Device dev = new Device();
        SegmentAllocator<Addr> seg = new SegmentAllocator<>(dev, (a, off) -> new Addr(a.base(), a.offset() + off),
                1 << 20, 64 << 10);
        List<Addr> blocks = new ArrayList<>();
        List<Long> sizes = new ArrayList<>();
        Random r = new Random(1);
        for (int i = 0; i < 500; i++) {
            long bytes = 1 + r.nextInt(64 << 10);
            blocks.add(seg.allocate(bytes));
            sizes.add(bytes);
        }
        assertTrue(dev.allocations < 40, "500 small blocks in few segments: " + dev.allocations);
        for (int i = 0; i < blocks.size(); i++) {
            Addr a = blocks.get(i);
            assertEquals(0, a.offset() % SegmentAllocator.ALIGN, "aligned");
            assertTrue(a.offset() + sizes.get(i) <= 1 << 20, "inside its segment");
            for (int j = 0; j < i; j++) {
                Addr b = blocks.get(j);
                if (a.base() != b.base()) continue;
                boolean disjoint = a.offset() + sizes.get(i) <= b.offset() || b.offset() + sizes.get(j) <= a.offset();
                assertTrue(disjoint, "blocks " + i + " and " + j + " overlap");
            }
        }
        Addr big = seg.allocate(5 << 20);
        assertEquals(5 << 20, big.base()[0], "large requests get their own allocation");
        seg.free(big);
        for (Addr a : blocks) seg.free(a);
        assertEquals(0, seg.segments());
        assertEquals(0, dev.live, "every segment went back once its blocks were freed");
        assertEquals(dev.allocations, dev.frees);
    }

    @Test
    void underAPoolTheStatisticsStillAddUp() {
        Device dev = new Device();
        BufferPool<Addr> pool = new BufferPool<>(new SegmentAllocator<>(dev,
                (a, off) -> new Addr(a.base(), a.offset() + off), 1 << 20, 64 << 10), "fake");
        List<Addr> held = new ArrayList<>();
        for (int i = 0; i < 100; i++) held.add(pool.acquire(1000 + 37 * i));
        held.forEach(pool::release);
        PoolStats s = pool.stats();
        assertEquals(0, s.bytesInUse());
        assertEquals(s.deviceBytes(), s.bytesCached());
        pool.close();
        assertEquals(0, dev.live);
    }
}
