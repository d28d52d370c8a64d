package org.vit4j.io.checkpoint;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import org.vit4j.HostTensor;

/**
 * A checkpoint sharded the Hugging Face way: {@code model.safetensors.index.json}, whose
 * {@code weight_map} names for each tensor the safetensors file (beside the index) that holds it.
 *
 * <p>{@link #open(Path)} reads the index and every shard's header (each validated as
 * {@link SafetensorsFile#open} does) and checks that the index and the shards agree: every shard the
 * index names is there, every tensor it maps is in that shard, and no shard holds a tensor the
 * index does not map to it. Tensors are then read as from one file: memory-mapped one at a time,
 * bf16/fp16 kept as 16-bit views of the mapping.
 */
public final class ShardedSafetensors implements TensorSource {
    /** The index file's name in a Hugging Face hub directory. */
    public static final String INDEX_NAME = "model.safetensors.index.json";

    /** Largest index accepted (a 20,000-tensor index is about 2 MB). */
    static final long MAX_INDEX_BYTES = 100_000_000L;

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private final Path index;
    private final Map<String, SafetensorsFile> byTensor; // sorted by name
    private final List<SafetensorsFile> shards;

    private ShardedSafetensors(Path index, Map<String, SafetensorsFile> byTensor, List<SafetensorsFile> shards) {
        this.index = index;
        this.byTensor = byTensor;
        this.shards = shards;
    }

    /**
     * Opens the index and its shards.
     *
     * @throws CheckpointException naming the index (and the shard or tensor at fault) when the index is
     *     not valid, a shard is missing or not a valid safetensors file, or index and shards disagree
     */
    public static ShardedSafetensors open(Path index) {
        String name = index.getFileName().toString();
        if (!Files.isRegularFile(index)) {
            throw new CheckpointException(index + ": " + (!Files.exists(index) ? "no such file"
                    : Files.isDirectory(index) ? "is a directory" : "is not a regular file (a named pipe or a device?)")
                    + ", expected a safetensors shard index (" + INDEX_NAME + ")");
        }
        JsonNode root;
        try {
            long size = Files.size(index);
            if (size > MAX_INDEX_BYTES) {
                throw new CheckpointException(index + ": " + size + " bytes, more than the " + MAX_INDEX_BYTES
                        + " a shard index may have");
            }
            root = JSON.readTree(Files.readAllBytes(index));
        } catch (JsonProcessingException e) {
            var loc = e.getLocation();
            throw new CheckpointException(index + ": not valid JSON" + (loc == null ? "" : " at line " + loc.getLineNr()
                    + ", column " + loc.getColumnNr()) + ": " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new CheckpointException(index + ": cannot read (" + e + ")", e);
        }
        JsonNode map = root == null ? null : root.get("weight_map");
        if (root == null || !root.isObject() || map == null || !map.isObject()) {
            throw new CheckpointException(index + ": expected a JSON object with a \"weight_map\" object mapping "
                    + "tensor names to shard files");
        }
        if (map.isEmpty()) throw new CheckpointException(index + ": \"weight_map\" is empty, expected the tensors' shards");
        Path dir = index.toAbsolutePath().getParent();
        Map<String, List<String>> tensorsOfShard = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : map.properties()) {
            JsonNode v = e.getValue();
            if (!v.isTextual()) {
                throw new CheckpointException(index + ": weight_map entry \"" + e.getKey() + "\" is " + v
                        + ", expected the name of a shard file");
            }
            String shard = v.textValue();
            Path rel;
            try {
                rel = Path.of(shard).normalize();
            } catch (java.nio.file.InvalidPathException bad) {
                rel = null;
            }
            if (shard.isEmpty() || rel == null || rel.isAbsolute() || rel.startsWith("..") || rel.toString().isEmpty()) {
                throw new CheckpointException(index + ": weight_map entry \"" + e.getKey() + "\" names shard \"" + shard
                        + "\", expected a file name beside the index");
            }
            tensorsOfShard.computeIfAbsent(rel.toString(), k -> new ArrayList<>()).add(e.getKey());
        }
        List<SafetensorsFile> opened = new ArrayList<>();
        try {
            Map<String, SafetensorsFile> byTensor = new TreeMap<>();
            for (Map.Entry<String, List<String>> e : tensorsOfShard.entrySet()) {
                Path shardPath = dir.resolve(e.getKey());
                List<String> mapped = e.getValue();
                if (!Files.exists(shardPath)) {
                    throw new CheckpointException(index + ": shard \"" + e.getKey() + "\" not found in " + dir
                            + " (the index maps " + mapped.size() + " tensor" + (mapped.size() == 1 ? "" : "s")
                            + " to it, e.g. '" + mapped.get(0) + "'; " + tensorsOfShard.size() + " shards in all)");
                }
                SafetensorsFile f = SafetensorsFile.open(shardPath);
                opened.add(f);
                for (String t : mapped) {
                    if (!f.contains(t)) {
                        throw new CheckpointException(index + ": tensor '" + t + "' is mapped to shard \"" + e.getKey()
                                + "\", which does not hold it (" + f.names().size() + " tensors there)");
                    }
                    byTensor.put(t, f);
                }
                List<String> extra = new ArrayList<>(f.names());
                extra.removeAll(new java.util.HashSet<>(mapped));
                if (!extra.isEmpty()) {
                    throw new CheckpointException(index + ": shard \"" + e.getKey() + "\" holds tensor"
                            + (extra.size() == 1 ? " '" + extra.get(0) + "'" : "s " + (extra.size() > 4
                            ? extra.subList(0, 4) + " ..." : extra)) + " that " + name + " does not map to it");
                }
            }
            return new ShardedSafetensors(index, Collections.unmodifiableMap(byTensor), List.copyOf(opened));
        } catch (RuntimeException e) {
            for (SafetensorsFile f : opened) f.close();
            throw e;
        }
    }

    @Override
    public Path path() {
        return index;
    }

    /** The shard files, in the order the index first names them. */
    public List<Path> shards() {
        return shards.stream().map(SafetensorsFile::path).toList();
    }

    @Override
    public SortedSet<String> names() {
        return Collections.unmodifiableSortedSet(new TreeSet<>(byTensor.keySet()));
    }

    @Override
    public boolean contains(String name) {
        return byTensor.containsKey(name);
    }

    private SafetensorsFile shardOf(String name) {
        SafetensorsFile f = byTensor.get(name);
        if (f == null) {
            throw new CheckpointException(index + ": no tensor \"" + name + "\" in the index (" + byTensor.size()
                    + " tensors in " + shards.size() + " shards)");
        }
        return f;
    }

    @Override
    public TensorInfo info(String name) {
        return shardOf(name).info(name);
    }

    @Override
    public int[] intShape(String name) {
        return shardOf(name).intShape(name); // names the shard
    }

    @Override
    public float[] readFloats(String name) {
        return shardOf(name).readFloats(name);
    }

    @Override
    public HostTensor read(String name) {
        return shardOf(name).read(name);
    }

    /** Closes every shard; idempotent. Tensors already read stay valid. */
    @Override
    public void close() {
        for (SafetensorsFile f : shards) f.close();
    }

    @Override
    public String toString() {
        return "ShardedSafetensors[" + index + ", " + byTensor.size() + " tensors in " + shards.size() + " shards]";
    }
}
