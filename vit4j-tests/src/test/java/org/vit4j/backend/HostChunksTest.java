package org.vit4j.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * HostChunks, the parallel host-side work on a batch's input (the NaN check; the copy into the CUDA staging
 * buffer): every index of [0, n) in exactly one chunk, none longer than CHUNK, several where n passes CHUNK, and
 * no int overflow near Integer.MAX_VALUE (the chunks there are only recorded, not walked). JCudaDriver runs on a
 * GPU only, so this is where CI sees its chunks.
 */
class HostChunksTest {

    @Test
    void theChunksCoverTheRangeOnceEach() {
        int c = HostChunks.CHUNK;
        for (int n : new int[] {0, 1, 7, c - 1, c, c + 1, 3 * c + 7, Integer.MAX_VALUE - 5}) {
            List<int[]> ranges = Collections.synchronizedList(new ArrayList<>());
            HostChunks.forEach(n, (from, to) -> ranges.add(new int[] {from, to}));
            List<int[]> sorted = new ArrayList<>(ranges);
            sorted.sort((a, b) -> Integer.compare(a[0], b[0]));
            int at = 0;
            for (int[] r : sorted) {
                assertEquals(at, r[0], "n = " + n + ": a chunk starts where the last ended");
                assertTrue(r[1] > r[0] || n == 0, "n = " + n + ": chunk [" + r[0] + ", " + r[1] + ") not empty");
                assertTrue(r[1] - r[0] <= c, "n = " + n + ": chunk of " + (r[1] - r[0]));
                at = r[1];
            }
            assertEquals(n, at, "n = " + n + ": the chunks end at n");
            assertEquals(Math.max(1, (int) (((long) n + c - 1) / c)), sorted.size(), "n = " + n + ": chunks");
        }
    }

    @Test
    void chunksWriteWhatASerialLoopWrites() {
        int n = 2 * HostChunks.CHUNK + 12345;
        int[] out = new int[n];
        HostChunks.forEach(n, (from, to) -> {
            for (int i = from; i < to; i++) out[i] += i ^ 0x5a5a;
        });
        for (int i = 0; i < n; i++) assertEquals(i ^ 0x5a5a, out[i], "index " + i);
    }

    @Test
    void theMaxIsTakenOverEveryChunk() {
        int n = 3 * HostChunks.CHUNK + 5;
        for (int at : new int[] {0, HostChunks.CHUNK - 1, HostChunks.CHUNK, n - 1}) {
            assertEquals(at, HostChunks.max(n, (from, to) -> from <= at && at < to ? at : -1), "the largest at " + at);
        }
        assertTrue(Double.isNaN(HostChunks.max(n, (from, to) -> to == n ? Double.NaN : from)), "a NaN chunk");
        assertEquals(7, HostChunks.max(3, (from, to) -> 7), "one chunk");
    }

    @Test
    void aNegativeLengthIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> HostChunks.forEach(-1, (from, to) -> { }));
        assertThrows(IllegalArgumentException.class, () -> HostChunks.max(-1, (from, to) -> 0));
    }
}
