package org.vit4j.io.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tensors beyond the 2 GB mark of a (sparse) file are mapped individually and read correctly. */
class SafetensorsLargeFileTest {
    @TempDir
    Path dir;

    @Test
    void readsTensorPastTwoGigabytes() throws IOException {
        long big = (1L << 31) + 16; // U8 bytes, more than one mapping can hold
        String header = "{\"big\":{\"dtype\":\"U8\",\"shape\":[" + big + "],\"data_offsets\":[0," + big + "]},"
                + "\"tail\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[" + big + "," + (big + 16) + "]}}";
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        Path p = dir.resolve("sparse.safetensors");
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                StandardOpenOption.SPARSE)) {
            ch.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).flip());
            ch.write(ByteBuffer.wrap(h));
            ByteBuffer tail = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
            tail.putFloat(1.5f).putFloat(-2f).putFloat(1e-3f).putFloat(42f).flip();
            ch.write(tail, 8 + h.length + big);
        }
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertEquals(big, f.info("big").end());
            assertArrayEquals(new float[] {1.5f, -2f, 1e-3f, 42f}, f.readFloats("tail"));
            assertArrayEquals(new int[] {2, 2}, f.read("tail").shape());
            CheckpointException e = assertThrows(CheckpointException.class, () -> f.readFloats("big"));
            assertTrue(e.getMessage().contains("\"big\"") && e.getMessage().contains("U8"), e.getMessage());
            assertThrows(CheckpointException.class, () -> f.rawBytes("big"));
        }
    }
}
