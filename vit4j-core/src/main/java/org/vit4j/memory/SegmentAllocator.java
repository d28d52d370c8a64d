package org.vit4j.memory;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;

/**
 * Block splitting under a {@link BufferPool}: small requests are carved out of large device
 * segments instead of each getting a device allocation of its own (a ViT's biases and LayerNorm
 * vectors are hundreds of tiny buffers; each cuMemAlloc rounds to 2 MiB granularity and costs a
 * driver call). A segment is freed when every block carved from it has been freed. Requests above
 * {@code smallLimit} bytes go straight to the device. Blocks are aligned to 256 bytes, the
 * alignment cuMemAlloc itself gives, so float4 paths stay aligned.
 */
public final class SegmentAllocator<H> implements DeviceAllocator<H> {
    static final long ALIGN = 256;

    private final DeviceAllocator<H> device;
    private final BiFunction<H, Long, H> offset;
    private final long segmentBytes;
    private final long smallLimit;
    private final List<Segment<H>> segments = new ArrayList<>();
    private final Map<H, Segment<H>> owner = new IdentityHashMap<>();

    private static final class Segment<H> {
        final H base;
        long used;
        int live;

        Segment(H base) {
            this.base = base;
        }
    }

    /**
     * @param device       the real allocator (cuMemAlloc)
     * @param offset       the handle {@code bytes} past a handle (a device address plus bytes)
     * @param segmentBytes size of each carved segment
     * @param smallLimit   largest request carved from a segment
     */
    public SegmentAllocator(DeviceAllocator<H> device, BiFunction<H, Long, H> offset, long segmentBytes, long smallLimit) {
        if (smallLimit > segmentBytes) throw new IllegalArgumentException("smallLimit above segment size");
        this.device = device;
        this.offset = offset;
        this.segmentBytes = segmentBytes;
        this.smallLimit = smallLimit;
    }

    @Override
    public H allocate(long bytes) {
        if (bytes > smallLimit) return device.allocate(bytes);
        long size = (bytes + ALIGN - 1) / ALIGN * ALIGN;
        Segment<H> seg = null;
        for (Segment<H> s : segments) {
            if (s.used + size <= segmentBytes) {
                seg = s;
                break;
            }
        }
        if (seg == null) {
            seg = new Segment<>(device.allocate(segmentBytes));
            segments.add(seg);
        }
        H block = offset.apply(seg.base, seg.used);
        seg.used += size;
        seg.live++;
        owner.put(block, seg);
        return block;
    }

    @Override
    public void free(H handle) {
        Segment<H> seg = owner.remove(handle);
        if (seg == null) {
            device.free(handle); // a large block of its own
            return;
        }
        if (--seg.live == 0) {
            segments.remove(seg);
            device.free(seg.base);
        }
    }

    /** Device segments now held, for tests and statistics. */
    public int segments() {
        return segments.size();
    }
}
