package org.vit4j.io.checkpoint;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import org.vit4j.HostTensor;

/**
 * A safetensors file opened for reading.
 *
 * <p>{@link #open(Path)} reads and validates only the header (as strictly as the reference
 * implementation: every tensor's byte count must match its dtype and shape, and the tensors'
 * byte ranges must tile the data section exactly, without gaps, overlaps or trailing bytes).
 * Tensor data is read lazily: {@link #readFloats(String)} memory-maps just that tensor's bytes,
 * so files larger than 2 GB work and reading one tensor never copies the whole file.
 *
 * <p>Instances are safe to share between threads. After {@link #close()} every accessor except
 * {@link #path()} throws {@link IllegalStateException}.
 */
public final class SafetensorsFile implements TensorSource {

    /** Largest header accepted, as in the reference implementation (100 MB). */
    public static final long MAX_HEADER_SIZE = 100_000_000L;

    private static final String METADATA_KEY = "__metadata__";
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private final Path path;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, TensorInfo> tensors; // sorted by name
    private final Map<String, String> metadata;
    private volatile boolean closed;

    private SafetensorsFile(Path path, FileChannel channel, long dataStart,
                            Map<String, TensorInfo> tensors, Map<String, String> metadata) {
        this.path = path;
        this.channel = channel;
        this.dataStart = dataStart;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    /**
     * Opens {@code path} and validates its header.
     *
     * @throws CheckpointException if the file cannot be read or is not a valid safetensors file;
     *     the message names the file, the tensor at fault where there is one, and what was expected
     */
    public static SafetensorsFile open(Path path) {
        // A named pipe or a device would block the open or the read forever: only regular files.
        if (Files.exists(path) && !Files.isRegularFile(path)) {
            throw new CheckpointException(path + ": " + (Files.isDirectory(path) ? "is a directory" : "is not a regular file"
                    + " (a named pipe or a device?)") + ", expected a safetensors checkpoint file");
        }
        FileChannel ch;
        try {
            ch = FileChannel.open(path, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new CheckpointException(path + ": no such file (expected a safetensors checkpoint)", e);
        } catch (IOException e) {
            throw new CheckpointException(path + ": cannot open (" + e + ")", e);
        }
        try {
            return parse(path, ch);
        } catch (RuntimeException e) {
            closeQuietly(ch);
            throw e;
        }
    }

    private static SafetensorsFile parse(Path path, FileChannel ch) {
        long fileSize;
        byte[] header;
        long n;
        try {
            fileSize = ch.size();
            if (fileSize < 8) {
                throw bad(path, "file is truncated: " + fileSize
                        + " bytes, expected at least 8 (the little-endian u64 header length)");
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0);
            n = lenBuf.flip().getLong();
            // n is an unsigned u64: a negative long means >= 2^63.
            if (n < 0 || n > fileSize - 8) {
                throw bad(path, "header length " + Long.toUnsignedString(n) + " runs past the end of the file ("
                        + fileSize + " bytes, so at most " + (fileSize - 8) + " expected)");
            }
            if (n > MAX_HEADER_SIZE) {
                throw bad(path, "header length " + n + " is larger than the maximum of " + MAX_HEADER_SIZE + " bytes");
            }
            if (n < 2) {
                throw bad(path, "header length " + n + " is too small to hold a JSON object");
            }
            ByteBuffer hb = ByteBuffer.allocate((int) n);
            readFully(ch, hb, 8);
            header = hb.array();
        } catch (IOException e) {
            throw new CheckpointException(path + ": cannot read header (" + e + ")", e);
        }
        long dataStart = 8 + n;
        long dataLength = fileSize - dataStart;

        JsonNode root;
        try {
            root = JSON.readTree(header);
        } catch (JsonProcessingException e) {
            throw new CheckpointException(path + ": header is not valid JSON (expected a UTF-8 JSON object): "
                    + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new CheckpointException(path + ": header is not valid JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw bad(path, "header is a JSON " + kind(root) + ", expected a JSON object mapping tensor names to "
                    + "{dtype, shape, data_offsets}");
        }

        Map<String, String> metadata = new LinkedHashMap<>();
        Map<String, TensorInfo> tensors = new TreeMap<>();
        for (Map.Entry<String, JsonNode> e : root.properties()) {
            String name = e.getKey();
            JsonNode v = e.getValue();
            if (METADATA_KEY.equals(name)) {
                parseMetadata(path, v, metadata);
            } else {
                TensorInfo info = parseEntry(path, name, v);
                if (info.end() > dataLength) {
                    throw bad(path, "tensor \"" + name + "\": data_offsets [" + info.begin() + ", " + info.end()
                            + "] run past the end of the file (data section is " + dataLength + " bytes)");
                }
                tensors.put(name, info);
            }
        }
        checkTiling(path, tensors, dataLength);
        return new SafetensorsFile(path, ch, dataStart, Collections.unmodifiableMap(tensors),
                Collections.unmodifiableMap(metadata));
    }

    private static void parseMetadata(Path path, JsonNode v, Map<String, String> out) {
        if (v.isNull()) return;
        if (!v.isObject()) {
            throw bad(path, "\"__metadata__\" is a JSON " + kind(v) + ", expected an object of string to string");
        }
        for (Map.Entry<String, JsonNode> m : v.properties()) {
            if (!m.getValue().isTextual()) {
                throw bad(path, "\"__metadata__\" entry \"" + m.getKey() + "\" is a JSON " + kind(m.getValue())
                        + ", expected a string");
            }
            out.put(m.getKey(), m.getValue().textValue());
        }
    }

    private static TensorInfo parseEntry(Path path, String name, JsonNode v) {
        String where = "tensor \"" + name + "\"";
        if (!v.isObject()) {
            throw bad(path, where + " is a JSON " + kind(v) + ", expected an object {dtype, shape, data_offsets}");
        }
        JsonNode dt = v.get("dtype");
        JsonNode sh = v.get("shape");
        JsonNode off = v.get("data_offsets");
        if (dt == null) throw bad(path, where + " has no \"dtype\" (expected e.g. \"F32\")");
        if (sh == null) throw bad(path, where + " has no \"shape\" (expected an array of dims)");
        if (off == null) throw bad(path, where + " has no \"data_offsets\" (expected [begin, end])");
        if (!dt.isTextual()) {
            throw bad(path, where + ": \"dtype\" is a JSON " + kind(dt) + ", expected a string such as \"F32\"");
        }
        DType dtype;
        try {
            dtype = DType.parse(dt.textValue());
        } catch (CheckpointException e) {
            throw bad(path, where + ": " + e.getMessage());
        }
        if (!sh.isArray()) {
            throw bad(path, where + ": \"shape\" is a JSON " + kind(sh) + ", expected an array of non-negative integers");
        }
        long[] shape = new long[sh.size()];
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = sh.get(i);
            if (!d.isIntegralNumber() || !d.canConvertToLong()) {
                throw bad(path, where + ": shape[" + i + "] is " + d + ", expected a non-negative integer");
            }
            shape[i] = d.longValue();
            if (shape[i] < 0) {
                throw bad(path, where + ": shape " + sh + " has negative dim " + shape[i]
                        + " (expected non-negative dims)");
            }
        }
        if (!off.isArray() || off.size() != 2) {
            throw bad(path, where + ": \"data_offsets\" is " + off + ", expected an array [begin, end] of two integers");
        }
        long[] be = new long[2];
        for (int i = 0; i < 2; i++) {
            JsonNode o = off.get(i);
            if (!o.isIntegralNumber() || !o.canConvertToLong() || o.longValue() < 0) {
                throw bad(path, where + ": data_offsets[" + i + "] is " + o + ", expected a non-negative integer");
            }
            be[i] = o.longValue();
        }
        if (be[1] < be[0]) {
            throw bad(path, where + ": data_offsets [" + be[0] + ", " + be[1] + "] have end < begin (expected begin <= end)");
        }
        TensorInfo info = new TensorInfo(name, dtype, shape, be[0], be[1]);
        long expectedBytes;
        try {
            expectedBytes = Math.multiplyExact(info.elementCount(), (long) dtype.byteSize());
        } catch (ArithmeticException e) {
            throw bad(path, where + ": shape " + sh + " has more elements than fit in a long");
        }
        if (expectedBytes != info.byteLength()) {
            throw bad(path, where + ": " + dtype + " " + Arrays.toString(shape) + " needs " + expectedBytes
                    + " bytes, but data_offsets [" + be[0] + ", " + be[1] + "] span " + info.byteLength());
        }
        return info;
    }

    /** The sorted byte ranges must cover [0, dataLength) exactly, as the reference implementation requires. */
    private static void checkTiling(Path path, Map<String, TensorInfo> tensors, long dataLength) {
        List<TensorInfo> sorted = new ArrayList<>(tensors.values());
        sorted.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end)
                .thenComparing(TensorInfo::name));
        long cursor = 0;
        TensorInfo prev = null;
        for (TensorInfo t : sorted) {
            if (t.begin() < cursor) {
                throw bad(path, "tensor \"" + t.name() + "\" data_offsets [" + t.begin() + ", " + t.end()
                        + "] overlap tensor \"" + prev.name() + "\" [" + prev.begin() + ", " + prev.end()
                        + "] (expected disjoint byte ranges)");
            }
            if (t.begin() > cursor) {
                throw bad(path, "tensor \"" + t.name() + "\" data_offsets [" + t.begin() + ", " + t.end()
                        + "] leave a gap of unused bytes [" + cursor + ", " + t.begin() + ")"
                        + (prev == null ? " at the start of the data section" : " after tensor \"" + prev.name() + "\"")
                        + " (expected tensors to tile the data section without gaps)");
            }
            cursor = t.end();
            prev = t;
        }
        if (cursor != dataLength) {
            throw bad(path, (dataLength - cursor) + " trailing unused bytes [" + cursor + ", " + dataLength
                    + ") after the last tensor" + (prev == null ? "" : " \"" + prev.name() + "\"")
                    + " (expected the tensors to end exactly at the end of the file)");
        }
    }

    @Override
    public Path path() {
        return path;
    }

    /** Tensor names in lexicographic order, without {@code __metadata__}. */
    @Override
    public SortedSet<String> names() {
        checkOpen();
        return Collections.unmodifiableSortedSet(new TreeSet<>(tensors.keySet()));
    }

    @Override
    public boolean contains(String name) {
        checkOpen();
        return tensors.containsKey(name);
    }

    /** Header entry of {@code name}; throws {@link CheckpointException} naming file and tensor if absent. */
    @Override
    public TensorInfo info(String name) {
        checkOpen();
        TensorInfo t = tensors.get(name);
        if (t == null) {
            throw new CheckpointException(path + ": no tensor \"" + name + "\" (the file has " + tensors.size()
                    + " tensors" + nearby(name) + ")");
        }
        return t;
    }

    /**
     * The tensor's shape as ints.
     *
     * @throws CheckpointException naming the file and the tensor if it is absent or a dim exceeds an int
     */
    @Override
    public int[] intShape(String name) {
        TensorInfo t = info(name);
        try {
            return t.intShape();
        } catch (CheckpointException e) {
            throw new CheckpointException(path + ": " + e.getMessage(), e);
        }
    }

    /** Contents of {@code __metadata__} (empty if absent). */
    public Map<String, String> metadata() {
        checkOpen();
        return metadata;
    }

    /**
     * The tensor's elements as float32, row-major. F64 is narrowed, F16 and BF16 are widened exactly.
     *
     * @throws CheckpointException if the tensor is absent, not of a float dtype, or has more than
     *     {@code Integer.MAX_VALUE - 8} elements
     */
    @Override
    public float[] readFloats(String name) {
        TensorInfo t = info(name);
        if (!t.dtype().isFloatConvertible()) {
            throw new CheckpointException(path + ": tensor \"" + name + "\" has dtype " + t.dtype()
                    + ", expected a float dtype (F64, F32, F16 or BF16) to read as float32");
        }
        long count = t.elementCount();
        if (count > Integer.MAX_VALUE - 8) {
            throw new CheckpointException(path + ": tensor \"" + name + "\" has " + count
                    + " elements, more than fit in one Java array (at most " + (Integer.MAX_VALUE - 8) + ")");
        }
        float[] out = new float[(int) count];
        if (count == 0) return out;
        ByteBuffer buf = map(t);
        switch (t.dtype()) {
            case F32 -> buf.asFloatBuffer().get(out);
            case F64 -> {
                var db = buf.asDoubleBuffer();
                for (int i = 0; i < out.length; i++) out[i] = (float) db.get(i);
            }
            case F16 -> {
                var sb = buf.asShortBuffer();
                for (int i = 0; i < out.length; i++) out[i] = Half.toFloat(sb.get(i));
            }
            case BF16 -> {
                var sb = buf.asShortBuffer();
                for (int i = 0; i < out.length; i++) out[i] = Half.bf16ToFloat(sb.get(i));
            }
            default -> throw new AssertionError(t.dtype());
        }
        return out;
    }

    /**
     * The tensor with its shape, in its stored type where vit4j has one: BF16 and F16 as their 16-bit
     * patterns over a read-only mapping of the file (no float32 copy, no copy at all), F32 as floats;
     * F64 narrowed to float32.
     */
    @Override
    public HostTensor read(String name) {
        TensorInfo t = info(name);
        int[] shape = intShape(name);
        if ((t.dtype() == DType.BF16 || t.dtype() == DType.F16) && t.elementCount() > 0) {
            if (t.elementCount() > Integer.MAX_VALUE - 8) readFloats(name); // the same clear error
            org.vit4j.ElementType type = t.dtype() == DType.BF16 ? org.vit4j.ElementType.BF16 : org.vit4j.ElementType.F16;
            return HostTensor.ofBits(type, map(t).asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN).asShortBuffer(), shape);
        }
        return new HostTensor(readFloats(name), shape);
    }

    /** The raw little-endian bytes of a tensor, mapped read-only (any dtype). */
    public ByteBuffer rawBytes(String name) {
        TensorInfo t = info(name);
        if (t.byteLength() == 0) return ByteBuffer.allocate(0).order(ByteOrder.LITTLE_ENDIAN);
        return map(t).asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    private ByteBuffer map(TensorInfo t) {
        if (t.byteLength() > Integer.MAX_VALUE) {
            throw new CheckpointException(path + ": tensor \"" + t.name() + "\" is " + t.byteLength()
                    + " bytes, more than one mapping can hold (at most " + Integer.MAX_VALUE + ")");
        }
        checkOpen();
        try {
            MappedByteBuffer mb = channel.map(FileChannel.MapMode.READ_ONLY, dataStart + t.begin(), t.byteLength());
            mb.order(ByteOrder.LITTLE_ENDIAN);
            return mb;
        } catch (ClosedChannelException e) {
            throw new IllegalStateException(path + " is closed; cannot read tensor \"" + t.name() + "\"", e);
        } catch (IOException e) {
            throw new CheckpointException(path + ": cannot read tensor \"" + t.name() + "\" (" + e + ")", e);
        }
    }

    /** Closes the file; idempotent. Mappings already returned stay valid until garbage-collected. */
    @Override
    public void close() {
        closed = true;
        closeQuietly(channel);
    }

    private void checkOpen() {
        if (closed) throw new IllegalStateException(path + " is closed (SafetensorsFile used after close())");
    }

    private String nearby(String name) {
        if (tensors.isEmpty()) return "";
        List<String> similar = new ArrayList<>();
        String tail = name.contains(".") ? name.substring(name.lastIndexOf('.')) : name;
        for (String k : tensors.keySet()) {
            if (k.endsWith(tail) && similar.size() < 3) similar.add(k);
        }
        return similar.isEmpty() ? "" : "; similar: " + String.join(", ", similar);
    }

    @Override
    public String toString() {
        return "SafetensorsFile[" + path + ", " + tensors.size() + " tensors" + (closed ? ", closed" : "") + "]";
    }

    private static CheckpointException bad(Path path, String what) {
        return new CheckpointException(path + ": " + what);
    }

    private static String kind(JsonNode n) {
        if (n == null || n.isMissingNode()) return "empty document";
        return n.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        while (buf.hasRemaining()) {
            int r = ch.read(buf, pos);
            if (r < 0) throw new java.io.EOFException("unexpected end of file at byte " + pos);
            pos += r;
        }
    }

    private static void closeQuietly(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // nothing useful to do
        }
    }
}
