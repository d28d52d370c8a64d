package org.vit4j.io.checkpoint;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import org.vit4j.HostTensor;

/**
 * Writes float32 tensors as a safetensors file.
 *
 * <p>Tensors are laid out in the map's iteration order (use a {@code LinkedHashMap} to choose it);
 * {@code __metadata__}, when non-empty, comes first in the header. The JSON header is padded with
 * spaces to a multiple of 8 bytes, as the reference implementation does, so the data section
 * starts 8-byte aligned.
 */
public final class SafetensorsWriter {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int CHUNK_FLOATS = 1 << 16;

    private SafetensorsWriter() {}

    /**
     * Writes {@code tensors} converted to {@code type} (round to nearest even where it narrows), e.g.
     * a bf16 copy of a float32 checkpoint.
     */
    public static void write(Path path, Map<String, HostTensor> tensors, Map<String, String> metadata,
            org.vit4j.ElementType type) {
        Map<String, HostTensor> converted = new java.util.LinkedHashMap<>();
        tensors.forEach((k, v) -> converted.put(k, v == null ? null : v.to(type)));
        write(path, converted, metadata);
    }

    /**
     * Writes {@code tensors}, each in its own element type (F32, BF16 or F16), and {@code metadata}
     * (which may be null or empty) to {@code path}, replacing any existing file.
     *
     * @throws CheckpointException on a bad name or an I/O error, naming the file
     */
    public static void write(Path path, Map<String, HostTensor> tensors, Map<String, String> metadata) {
        byte[] header = header(path, tensors, metadata);
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.WRITE, StandardOpenOption.CREATE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).flip();
            writeFully(ch, len);
            writeFully(ch, ByteBuffer.wrap(header));
            ByteBuffer buf = ByteBuffer.allocate(CHUNK_FLOATS * 4).order(ByteOrder.LITTLE_ENDIAN);
            for (HostTensor t : tensors.values()) {
                if (t.dtype() != org.vit4j.ElementType.F32) { // 16-bit patterns as they are
                    java.nio.ShortBuffer bits = t.bits();
                    for (int i = 0; i < bits.limit(); i += 2 * CHUNK_FLOATS) {
                        int n = Math.min(2 * CHUNK_FLOATS, bits.limit() - i);
                        buf.clear();
                        java.nio.ShortBuffer part = bits.duplicate();
                        part.position(i).limit(i + n);
                        buf.asShortBuffer().put(part);
                        buf.limit(n * 2);
                        writeFully(ch, buf);
                    }
                    continue;
                }
                float[] d = t.data();
                for (int i = 0; i < d.length; i += CHUNK_FLOATS) {
                    int n = Math.min(CHUNK_FLOATS, d.length - i);
                    buf.clear();
                    buf.asFloatBuffer().put(d, i, n);
                    buf.limit(n * 4);
                    writeFully(ch, buf);
                }
            }
        } catch (IOException e) {
            throw new CheckpointException(path + ": cannot write safetensors file (" + e + ")", e);
        }
    }

    private static byte[] header(Path path, Map<String, HostTensor> tensors, Map<String, String> metadata) {
        ObjectNode root = JSON.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode m = root.putObject("__metadata__");
            metadata.forEach((k, v) -> {
                if (k == null || v == null) {
                    throw new CheckpointException(path + ": metadata entry " + k + "=" + v
                            + " has a null key or value (expected strings)");
                }
                m.put(k, v);
            });
        }
        long offset = 0;
        for (Map.Entry<String, HostTensor> e : tensors.entrySet()) {
            String name = e.getKey();
            if (name == null || name.equals("__metadata__")) {
                throw new CheckpointException(path + ": invalid tensor name " + (name == null ? "null" : "\"" + name + "\"")
                        + " (expected a non-null name other than \"__metadata__\")");
            }
            HostTensor t = e.getValue();
            if (t == null) {
                throw new CheckpointException(path + ": tensor \"" + name + "\" is null (expected a HostTensor)");
            }
            ObjectNode entry = root.putObject(name);
            entry.put("dtype", switch (t.dtype()) {
                case F32 -> DType.F32.name();
                case BF16 -> DType.BF16.name();
                case F16 -> DType.F16.name();
            });
            ArrayNode shape = entry.putArray("shape");
            for (int d : t.shape()) shape.add(d);
            long end = offset + (long) t.dtype().bytes() * t.elementCount();
            entry.putArray("data_offsets").add(offset).add(end);
            offset = end;
        }
        byte[] json;
        try {
            json = JSON.writeValueAsString(root).getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new CheckpointException(path + ": cannot encode header (" + e.getOriginalMessage() + ")", e);
        }
        int padded = (json.length + 7) & ~7;
        byte[] out = new byte[padded];
        System.arraycopy(json, 0, out, 0, json.length);
        for (int i = json.length; i < padded; i++) out[i] = ' ';
        return out;
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }
}
