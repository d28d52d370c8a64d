package org.vit4j.io.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vit4j.HostTensor;

class SafetensorsFileTest {

    @TempDir
    Path dir;

    // ---------------------------------------------------------------- helpers

    /** A file with the given header JSON (unpadded) followed by {@code dataBytes} bytes 0,1,2,... */
    private Path raw(String name, String headerJson, int dataBytes) throws IOException {
        byte[] h = headerJson.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        for (int i = 0; i < dataBytes; i++) b.put((byte) i);
        Path p = dir.resolve(name);
        Files.write(p, b.array());
        return p;
    }

    /** A file with one tensor of the given dtype whose data is the given little-endian shorts. */
    private Path shorts(String name, String dtype, short... values) throws IOException {
        String header = "{\"t\":{\"dtype\":\"" + dtype + "\",\"shape\":[" + values.length
                + "],\"data_offsets\":[0," + (2 * values.length) + "]}}";
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + 2 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        for (short v : values) b.putShort(v);
        Path p = dir.resolve(name);
        Files.write(p, b.array());
        return p;
    }

    /** Opens {@code p}, expects a CheckpointException whose message names the file and every fragment. */
    private static CheckpointException assertBad(Path p, String... fragments) {
        CheckpointException e = assertThrows(CheckpointException.class, () -> SafetensorsFile.open(p).close());
        String m = e.getMessage();
        assertTrue(m.contains(p.getFileName().toString()), () -> "message should name the file: " + m);
        for (String f : fragments) {
            assertTrue(m.contains(f), () -> "message should contain \"" + f + "\": " + m);
        }
        return e;
    }

    private static String entry(String name, String dtype, String shape, long begin, long end) {
        return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" + begin + ","
                + end + "]}";
    }

    // ---------------------------------------------------------------- round trips

    @Test
    void roundTripSeveralShapesIncludingScalarAndEmpty() throws IOException {
        Map<String, HostTensor> in = new LinkedHashMap<>();
        in.put("z.weight", new HostTensor(new float[] {1, -2, 3.5f, Float.MIN_VALUE, Float.MAX_VALUE, -0f}, new int[] {2, 3}));
        in.put("a.scalar", new HostTensor(new float[] {42.25f}, new int[] {}));
        in.put("empty", new HostTensor(new float[0], new int[] {0, 4}));
        float[] big = new float[3 * 5 * 7 * 2];
        for (int i = 0; i < big.length; i++) big[i] = (float) Math.sin(i) * 100;
        in.put("m.4d", new HostTensor(big, new int[] {3, 5, 7, 2}));
        in.put("vec", new HostTensor(new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}, new int[] {3}));
        Map<String, String> meta = Map.of("format", "pt", "note", "ünïcode ✓");
        Path p = dir.resolve("rt.safetensors");
        SafetensorsWriter.write(p, in, meta);

        // header padded to 8 bytes with spaces
        byte[] bytes = Files.readAllBytes(p);
        long n = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, n % 8);
        assertTrue(new String(bytes, 8, (int) n, StandardCharsets.UTF_8).startsWith("{\"__metadata__\""));

        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertEquals(in.keySet(), f.names());
            assertEquals(List.of("a.scalar", "empty", "m.4d", "vec", "z.weight"), List.copyOf(f.names()));
            assertEquals(meta, f.metadata());
            for (var e : in.entrySet()) {
                HostTensor t = f.read(e.getKey());
                assertArrayEquals(e.getValue().shape(), t.shape(), e.getKey());
                assertArrayEquals(e.getValue().data(), t.data(), e.getKey());
                assertEquals(DType.F32, f.info(e.getKey()).dtype());
            }
            // insertion order decides the layout
            assertEquals(0, f.info("z.weight").begin());
            assertEquals(24, f.info("a.scalar").begin());
            assertEquals(1, f.info("a.scalar").elementCount());
            assertEquals(0, f.info("empty").elementCount());
            assertEquals(28, f.info("empty").begin());
            assertEquals(28, f.info("empty").end());
            assertTrue(f.contains("vec"));
            assertFalse(f.contains("__metadata__"));
        }
    }

    @Test
    void roundTripWithoutMetadataAndEmptyFile() {
        Path p = dir.resolve("none.safetensors");
        SafetensorsWriter.write(p, Map.of(), null);
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertTrue(f.names().isEmpty());
            assertTrue(f.metadata().isEmpty());
        }
        Path q = dir.resolve("one.safetensors");
        SafetensorsWriter.write(q, Map.of("x", new HostTensor(new float[] {7}, new int[] {1, 1, 1})), Map.of());
        try (SafetensorsFile f = SafetensorsFile.open(q)) {
            assertArrayEquals(new int[] {1, 1, 1}, f.read("x").shape());
            assertArrayEquals(new float[] {7}, f.readFloats("x"));
        }
    }

    @Test
    void readsF64AndAcceptsPaddedHeaderAndMetadata() throws IOException {
        String header = "{\"__metadata__\":{\"k\":\"v\"}," + entry("d", "F64", "[2]", 0, 16) + "}    ";
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + 16).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).putDouble(1.5).putDouble(-1e300);
        Path p = dir.resolve("f64.safetensors");
        Files.write(p, b.array());
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertArrayEquals(new float[] {1.5f, Float.NEGATIVE_INFINITY}, f.readFloats("d"));
            assertEquals(Map.of("k", "v"), f.metadata());
        }
    }

    // ---------------------------------------------------------------- F16 / BF16

    @Test
    void decodesF16FromHandComputedBits() throws IOException {
        Path p = shorts("f16.safetensors", "F16",
                (short) 0x3C00, (short) 0xC000, (short) 0x7BFF, (short) 0x0001, (short) 0x7C00, (short) 0xFC00,
                (short) 0x0000, (short) 0x8000, (short) 0x3555, (short) 0x03FF, (short) 0x0400, (short) 0x7E00,
                (short) 0x3800);
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertEquals(DType.F16, f.info("t").dtype());
            float[] v = f.readFloats("t");
            assertEquals(1.0f, v[0]);
            assertEquals(-2.0f, v[1]);
            assertEquals(65504.0f, v[2]);
            assertEquals(0x1p-24f, v[3]); // smallest subnormal
            assertEquals(Float.POSITIVE_INFINITY, v[4]);
            assertEquals(Float.NEGATIVE_INFINITY, v[5]);
            assertEquals(Float.floatToRawIntBits(0.0f), Float.floatToRawIntBits(v[6]));
            assertEquals(Float.floatToRawIntBits(-0.0f), Float.floatToRawIntBits(v[7]));
            assertEquals(0.333251953125f, v[8]); // 0x3555 = 1365/4096
            assertEquals(1023 * 0x1p-24f, v[9]); // largest subnormal
            assertEquals(0x1p-14f, v[10]); // smallest normal
            assertTrue(Float.isNaN(v[11]));
            assertEquals(0.5f, v[12]);
        }
    }

    @Test
    void decodesBF16FromHandComputedBits() throws IOException {
        Path p = shorts("bf16.safetensors", "BF16",
                (short) 0x3F80, (short) 0xC000, (short) 0x7F80, (short) 0xFF80, (short) 0x7FC0, (short) 0x0001,
                (short) 0x3EAB);
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            float[] v = f.readFloats("t");
            assertEquals(1.0f, v[0]);
            assertEquals(-2.0f, v[1]);
            assertEquals(Float.POSITIVE_INFINITY, v[2]);
            assertEquals(Float.NEGATIVE_INFINITY, v[3]);
            assertTrue(Float.isNaN(v[4]));
            assertEquals(Float.intBitsToFloat(0x00010000), v[5]);
            assertEquals(Float.intBitsToFloat(0x3EAB0000), v[6]);
        }
    }

    @Test
    void halfConversionMatchesDoubleArithmeticForAllBitPatterns() {
        for (int b = 0; b < 0x10000; b++) {
            final int bits = b;
            int exp = (bits >>> 10) & 0x1f;
            int mant = bits & 0x3ff;
            double sign = (bits & 0x8000) != 0 ? -1 : 1;
            float got = Half.toFloat((short) bits);
            if (exp == 0x1f) {
                if (mant == 0) assertEquals((float) (sign * Double.POSITIVE_INFINITY), got);
                else assertTrue(Float.isNaN(got), Integer.toHexString(bits));
                continue;
            }
            double expect = exp == 0 ? sign * mant * Math.pow(2, -24) : sign * (1 + mant / 1024.0) * Math.pow(2, exp - 15);
            assertEquals((float) expect, got, () -> Integer.toHexString(bits));
        }
    }

    // ---------------------------------------------------------------- lookups and misuse

    @Test
    void missingTensorNamesFileAndTensor() {
        Path p = dir.resolve("m.safetensors");
        SafetensorsWriter.write(p, Map.of("blocks.0.attn.qkv.weight", new HostTensor(new float[] {1}, new int[] {1})), null);
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            CheckpointException e = assertThrows(CheckpointException.class, () -> f.info("blocks.1.attn.qkv.weight"));
            assertTrue(e.getMessage().contains("m.safetensors"), e.getMessage());
            assertTrue(e.getMessage().contains("blocks.1.attn.qkv.weight"), e.getMessage());
            assertThrows(CheckpointException.class, () -> f.readFloats("nope"));
            assertThrows(CheckpointException.class, () -> f.read("nope"));
        }
    }

    @Test
    void readFloatsOnIntegerDtypeFailsClearly() throws IOException {
        Path p = raw("i64.safetensors", "{" + entry("position_ids", "I64", "[1,2]", 0, 16) + "}", 16);
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertEquals(DType.I64, f.info("position_ids").dtype());
            CheckpointException e = assertThrows(CheckpointException.class, () -> f.readFloats("position_ids"));
            assertTrue(e.getMessage().contains("i64.safetensors"), e.getMessage());
            assertTrue(e.getMessage().contains("position_ids"), e.getMessage());
            assertTrue(e.getMessage().contains("I64"), e.getMessage());
            assertEquals(16, f.rawBytes("position_ids").remaining());
        }
    }

    @Test
    void useAfterCloseFailsCleanly() {
        Path p = dir.resolve("c.safetensors");
        SafetensorsWriter.write(p, Map.of("x", new HostTensor(new float[] {1, 2}, new int[] {2})), null);
        SafetensorsFile f = SafetensorsFile.open(p);
        assertArrayEquals(new float[] {1, 2}, f.readFloats("x"));
        f.close();
        f.close(); // idempotent
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> f.readFloats("x"));
        assertTrue(e.getMessage().contains("c.safetensors"), e.getMessage());
        assertThrows(IllegalStateException.class, () -> f.read("x"));
        assertThrows(IllegalStateException.class, f::names);
        assertThrows(IllegalStateException.class, () -> f.info("x"));
        assertEquals(p, f.path());
    }

    @Test
    void missingFile() {
        Path p = dir.resolve("absent.safetensors");
        assertBad(p, "no such file");
    }

    @Test
    void dtypeParse() {
        assertEquals(DType.BF16, DType.parse("BF16"));
        assertEquals(2, DType.F16.byteSize());
        assertEquals(8, DType.I64.byteSize());
        CheckpointException e = assertThrows(CheckpointException.class, () -> DType.parse("Q4_K"));
        assertTrue(e.getMessage().contains("Q4_K"));
        assertThrows(CheckpointException.class, () -> DType.parse(null));
    }

    // ---------------------------------------------------------------- bad input, one test each

    @Test
    void fileShorterThan8Bytes() throws IOException {
        Path p = dir.resolve("short.safetensors");
        Files.write(p, new byte[] {1, 2, 3});
        assertBad(p, "truncated", "at least 8");
    }

    @Test
    void headerLengthBeyondFileSize() throws IOException {
        Path p = dir.resolve("hdr.safetensors");
        ByteBuffer b = ByteBuffer.allocate(20).order(ByteOrder.LITTLE_ENDIAN).putLong(1000);
        Files.write(p, b.array());
        assertBad(p, "header length 1000", "past the end");
    }

    @Test
    void hugeHeaderLengthDoesNotAllocate() throws IOException {
        Path p = dir.resolve("huge.safetensors");
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(Long.MIN_VALUE); // 2^63
        Files.write(p, b.array());
        assertBad(p, "9223372036854775808", "past the end");
        ByteBuffer c = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(-1L); // 2^64 - 1
        Files.write(p, c.array());
        assertBad(p, "18446744073709551615");
    }

    @Test
    void headerNotJson() throws IOException {
        assertBad(raw("nojson.safetensors", "{\"a\": [1, 2", 0), "not valid JSON");
        assertBad(raw("garbage.safetensors", "hello world!", 0), "not valid JSON");
        assertBad(raw("trailing.safetensors", "{} {}", 0), "not valid JSON");
    }

    @Test
    void headerNotAnObject() throws IOException {
        assertBad(raw("array.safetensors", "[1, 2, 3]", 0), "array", "expected a JSON object");
    }

    @Test
    void entryNotAnObject() throws IOException {
        assertBad(raw("entry.safetensors", "{\"w\": 5}", 0), "\"w\"", "expected an object");
    }

    @Test
    void entryMissingDtype() throws IOException {
        assertBad(raw("nodtype.safetensors", "{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "\"w\"", "dtype");
    }

    @Test
    void entryMissingShape() throws IOException {
        assertBad(raw("noshape.safetensors", "{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4), "\"w\"", "shape");
    }

    @Test
    void entryMissingOffsets() throws IOException {
        assertBad(raw("nooffs.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4), "\"w\"", "data_offsets");
    }

    @Test
    void wrongJsonTypes() throws IOException {
        assertBad(raw("t1.safetensors", "{\"w\":{\"dtype\":32,\"shape\":[1],\"data_offsets\":[0,4]}}", 4),
                "\"w\"", "dtype", "expected a string");
        assertBad(raw("t2.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":\"1\",\"data_offsets\":[0,4]}}", 4),
                "\"w\"", "shape", "expected an array");
        assertBad(raw("t3.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4),
                "\"w\"", "shape[0]", "integer");
        assertBad(raw("t4.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4),
                "\"w\"", "data_offsets", "[begin, end]");
        assertBad(raw("t5.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[\"0\",4]}}", 4),
                "\"w\"", "data_offsets[0]", "integer");
        assertBad(raw("t6.safetensors", "{\"__metadata__\":{\"a\":1}}", 0), "__metadata__", "\"a\"", "string");
        assertBad(raw("t7.safetensors", "{\"__metadata__\":[]}", 0), "__metadata__", "object");
    }

    @Test
    void duplicateTensorName() throws IOException {
        assertBad(raw("dup.safetensors", "{" + entry("w", "F32", "[1]", 0, 4) + "," + entry("w", "F32", "[1]", 4, 8) + "}", 8),
                "Duplicate field 'w'");
    }

    @Test
    void unknownDtype() throws IOException {
        assertBad(raw("dt.safetensors", "{" + entry("w", "F17", "[1]", 0, 4) + "}", 4), "\"w\"", "unknown dtype \"F17\"", "F32");
    }

    @Test
    void negativeDim() throws IOException {
        assertBad(raw("neg.safetensors", "{" + entry("w", "F32", "[2,-2]", 0, 16) + "}", 16), "\"w\"", "negative dim -2");
    }

    @Test
    void negativeOffset() throws IOException {
        assertBad(raw("negoff.safetensors", "{" + entry("w", "F32", "[1]", -4, 0) + "}", 4), "\"w\"", "data_offsets[0]");
    }

    @Test
    void endBeforeBegin() throws IOException {
        assertBad(raw("endbegin.safetensors", "{" + entry("w", "F32", "[0]", 8, 4) + "}", 8), "\"w\"", "end < begin");
    }

    @Test
    void byteCountDisagreesWithShape() throws IOException {
        assertBad(raw("count.safetensors", "{" + entry("w", "F32", "[2,3]", 0, 20) + "}", 20),
                "\"w\"", "needs 24 bytes", "span 20");
        assertBad(raw("count16.safetensors", "{" + entry("h", "F16", "[3]", 0, 12) + "}", 12),
                "\"h\"", "needs 6 bytes");
    }

    @Test
    void elementCountOverflow() throws IOException {
        assertBad(raw("ovf.safetensors", "{" + entry("w", "F32", "[4294967296,4294967296]", 0, 4) + "}", 4),
                "\"w\"", "long");
    }

    @Test
    void offsetsPastEndOfFile() throws IOException {
        assertBad(raw("past.safetensors", "{" + entry("w", "F32", "[4]", 0, 16) + "}", 12), "\"w\"", "past the end");
    }

    @Test
    void overlappingTensors() throws IOException {
        assertBad(raw("overlap.safetensors",
                "{" + entry("a", "F32", "[2]", 0, 8) + "," + entry("b", "F32", "[2]", 4, 12) + "}", 12),
                "\"a\"", "\"b\"", "overlap");
    }

    @Test
    void gapBetweenTensors() throws IOException {
        assertBad(raw("gap.safetensors",
                "{" + entry("a", "F32", "[1]", 0, 4) + "," + entry("b", "F32", "[1]", 8, 12) + "}", 12),
                "\"b\"", "gap", "[4, 8)");
    }

    @Test
    void leadingUnusedBytes() throws IOException {
        assertBad(raw("lead.safetensors", "{" + entry("a", "F32", "[1]", 4, 8) + "}", 8),
                "\"a\"", "gap", "start of the data section");
    }

    @Test
    void trailingUnusedBytes() throws IOException {
        assertBad(raw("trail.safetensors", "{" + entry("a", "F32", "[1]", 0, 4) + "}", 6),
                "\"a\"", "2 trailing unused bytes");
    }
}
