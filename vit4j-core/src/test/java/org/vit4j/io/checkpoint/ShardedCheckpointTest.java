package org.vit4j.io.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vit4j.ElementType;
import org.vit4j.Golden;
import org.vit4j.HostTensor;
import org.vit4j.backend.Backend;
import org.vit4j.backend.Backends;
import org.vit4j.model.VisionTransformer;

/** Issue 12, item 6: Hugging Face hub directories and sharded checkpoints (model.safetensors.index.json). */
public class ShardedCheckpointTest {
    @TempDir
    Path dir;

    /** Every tensor of a golden checkpoint, in its file's order. */
    public static Map<String, HostTensor> tensors(Path file) {
        Map<String, HostTensor> all = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (String n : f.names()) all.put(n, new HostTensor(f.readFloats(n), f.info(n).intShape()));
        }
        return all;
    }

    /** Writes {@code tensors} as {@code shards} shard files and their index into {@code into}; returns the index. */
    public static Path shard(Map<String, HostTensor> tensors, int shards, Path into, ElementType type) throws IOException {
        Files.createDirectories(into);
        List<String> names = new ArrayList<>(tensors.keySet());
        StringBuilder map = new StringBuilder();
        for (int s = 0; s < shards; s++) {
            String file = String.format("model-%05d-of-%05d.safetensors", s + 1, shards);
            Map<String, HostTensor> part = new LinkedHashMap<>();
            for (int i = s; i < names.size(); i += shards) { // interleaved: each block's tensors spread over shards
                part.put(names.get(i), tensors.get(names.get(i)));
                map.append(map.length() == 0 ? "" : ",\n    ").append('"').append(names.get(i)).append("\": \"")
                        .append(file).append('"');
            }
            SafetensorsWriter.write(into.resolve(file), part, Map.of("format", "pt"), type);
        }
        return Files.writeString(into.resolve("model.safetensors.index.json"),
                "{\n  \"metadata\": {\"total_size\": 0},\n  \"weight_map\": {\n    " + map + "\n  }\n}\n");
    }

    private static float[] logits(LoadedModel m, HostTensor input, ElementType precision) {
        try (Backend cpu = Backends.open("cpu"); VisionTransformer vit = new VisionTransformer(m.weights(), cpu, precision)) {
            return vit.forward(input).logits().data();
        }
    }

    private static HostTensor input(String golden) {
        try (SafetensorsFile io = SafetensorsFile.open(Golden.file(golden, "io.safetensors"))) {
            return io.read("input");
        }
    }

    /** Three shards of the HF-named golden checkpoint give the unsharded file's logits bit for bit. */
    @Test
    void shardedGivesTheUnshardedLogits() throws IOException {
        Path single = Golden.file("hf-vit-odd", "model.safetensors");
        Path config = Golden.file("hf-vit-odd", "config.json");
        Path hub = dir.resolve("hub");
        Path index = shard(tensors(single), 3, hub, ElementType.F32);
        Files.copy(config, hub.resolve("config.json"));
        HostTensor in = input("hf-vit-odd");
        float[] want = logits(CheckpointLoader.load(single), in, ElementType.F32);
        LoadedModel viaIndex = CheckpointLoader.load(index);
        LoadedModel viaDir = CheckpointLoader.load(hub);
        assertEquals(index.toString(), viaDir.source());
        assertEquals(CheckpointLoader.load(single).labels(), viaDir.labels(), "config.json from the hub directory");
        assertArrayEquals(want, logits(viaIndex, in, ElementType.F32));
        assertArrayEquals(want, logits(viaDir, in, ElementType.F32));
        try (ShardedSafetensors s = ShardedSafetensors.open(index)) {
            assertEquals(3, s.shards().size());
        }
    }

    /** bf16 shards are read as 16-bit views of their mappings, as one bf16 file is: no float32 copy. */
    @Test
    void bf16ShardsStaySixteenBit() throws IOException {
        Map<String, HostTensor> t = tensors(Golden.file("vit-odd", "model.safetensors"));
        Path index = shard(t, 2, dir.resolve("bf16"), ElementType.BF16);
        Path single = dir.resolve("single/model.safetensors");
        Files.createDirectories(single.getParent());
        SafetensorsWriter.write(single, t, Map.of(), ElementType.BF16);
        Files.copy(Golden.file("vit-odd", "config.json"), single.resolveSibling("config.json"));
        Files.copy(Golden.file("vit-odd", "config.json"), index.resolveSibling("config.json"));
        LoadedModel sharded = CheckpointLoader.load(index);
        for (Map.Entry<String, HostTensor> e : sharded.weights().all().entrySet()) {
            if (e.getKey().endsWith("qkv.weight") || e.getKey().endsWith("fc1.weight")) {
                assertEquals(ElementType.BF16, e.getValue().dtype(), e.getKey());
                assertTrue(e.getValue().bits().isReadOnly() && e.getValue().bits().isDirect(), e.getKey()
                        + ": a view of the mapped shard");
            }
        }
        HostTensor in = input("vit-odd");
        assertArrayEquals(logits(CheckpointLoader.load(single), in, ElementType.BF16), logits(sharded, in, ElementType.BF16));
    }

    /** A Hugging Face hub directory: config.json and model.safetensors, given as the directory. */
    @Test
    void hubDirectoryWithOneFile() throws IOException {
        Path hub = Files.createDirectories(dir.resolve("vit-odd-hub"));
        Files.copy(Golden.file("hf-vit-odd", "model.safetensors"), hub.resolve("model.safetensors"));
        Files.copy(Golden.file("hf-vit-odd", "config.json"), hub.resolve("config.json"));
        HostTensor in = input("hf-vit-odd");
        LoadedModel m = CheckpointLoader.load(hub);
        assertEquals(hub.resolve("model.safetensors").toString(), m.source());
        assertEquals(3, m.config().heads(), "heads from the directory's config.json");
        float[] got = logits(m, in, ElementType.F32);
        float[] want;
        try (SafetensorsFile io = SafetensorsFile.open(Golden.file("hf-vit-odd", "io.safetensors"))) {
            want = io.readFloats("logits");
        }
        org.vit4j.Numerics.assertClose(got, want, Golden.FP32_TOLERANCE, "hub directory against PyTorch");
    }

    private String error(Path weights) {
        return assertThrows(CheckpointException.class, () -> CheckpointLoader.load(weights)).getMessage();
    }

    @Test
    void brokenShardSetsAreOneLineErrors() throws IOException {
        Map<String, HostTensor> t = tensors(Golden.file("hf-vit-odd", "model.safetensors"));
        // A missing shard: named, with a tensor it should hold.
        Path index = shard(t, 3, dir.resolve("missing"), ElementType.F32);
        Files.delete(index.resolveSibling("model-00002-of-00003.safetensors"));
        String e = error(index);
        assertTrue(e.contains("model.safetensors.index.json: shard \"model-00002-of-00003.safetensors\" not found in "),
                e);
        assertTrue(e.contains("3 shards in all"), e);
        // The index maps a tensor to a shard that does not hold it.
        index = shard(t, 2, dir.resolve("wrong"), ElementType.F32);
        String first = t.keySet().iterator().next();
        String json = Files.readString(index).replace("\"" + first + "\": \"model-00001-of-00002.safetensors\"",
                "\"" + first + "\": \"model-00002-of-00002.safetensors\"");
        Files.writeString(index, json);
        e = error(index);
        assertTrue(e.contains("tensor '" + first + "' is mapped to shard \"model-00002-of-00002.safetensors\", which "
                + "does not hold it"), e);
        // A tensor left out of the index (a shard holds more than the index says).
        index = shard(t, 2, dir.resolve("unlisted"), ElementType.F32);
        Files.writeString(index, Files.readString(index).replace("\"" + first + "\": \"model-00001-of-00002.safetensors\",", ""));
        e = error(index);
        assertTrue(e.contains("holds tensor '" + first + "' that model.safetensors.index.json does not map to it"), e);
        // A tensor the model needs is in no shard: the loader's usual complaint.
        index = shard(Map.of("cls_token", t.get("vit.embeddings.cls_token")), 1, dir.resolve("thin"), ElementType.F32);
        e = error(index);
        assertTrue(e.startsWith("model.safetensors.index.json: "), e);
        // A shard outside the directory, a broken index, a directory with neither file.
        index = shard(t, 1, dir.resolve("escape"), ElementType.F32);
        Files.writeString(index, Files.readString(index).replace("\"model-00001-of-00001.safetensors\"",
                "\"../escape/model-00001-of-00001.safetensors\""));
        e = error(index);
        assertTrue(e.contains("names shard \"../escape/model-00001-of-00001.safetensors\", expected a file name beside "
                + "the index"), e);
        Files.writeString(index, "{\"weight_map\": {\"a\": \"x.safetensors\",}}");
        e = error(index);
        assertTrue(e.contains("model.safetensors.index.json: not valid JSON at line 1"), e);
        Path none = Files.createDirectories(dir.resolve("none"));
        Files.writeString(none.resolve("pytorch_model.bin"), "x");
        e = error(none);
        assertTrue(e.contains("is a directory without model.safetensors or model.safetensors.index.json")
                && e.contains("pytorch_model.bin, which vit4j does not read"), e);
        for (String m : List.of(e)) assertEquals(1, m.lines().count(), m);
    }
}
