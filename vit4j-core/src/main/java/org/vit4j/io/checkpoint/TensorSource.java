package org.vit4j.io.checkpoint;

import java.nio.file.Path;
import java.util.SortedSet;
import org.vit4j.HostTensor;

/**
 * Named tensors read lazily from a checkpoint: one safetensors file ({@link SafetensorsFile}) or a
 * sharded one ({@link ShardedSafetensors}), as {@link CheckpointLoader} reads them.
 */
public interface TensorSource extends AutoCloseable {
    /** The file the checkpoint is named by (the safetensors file, or the shard index). */
    Path path();

    /** Tensor names in lexicographic order. */
    SortedSet<String> names();

    boolean contains(String name);

    /** Header entry of {@code name}; a {@link CheckpointException} naming file and tensor if absent. */
    TensorInfo info(String name);

    /**
     * The tensor's shape as ints.
     *
     * @throws CheckpointException naming the file and the tensor if it is absent or a dim exceeds an int
     */
    default int[] intShape(String name) {
        TensorInfo t = info(name);
        try {
            return t.intShape();
        } catch (CheckpointException e) {
            throw new CheckpointException(path() + ": " + e.getMessage(), e);
        }
    }

    /** The tensor's elements as float32 (see {@link SafetensorsFile#readFloats}). */
    float[] readFloats(String name);

    /** The tensor in its stored type where vit4j has one, bf16/fp16 as views of the mapping (see {@link SafetensorsFile#read}). */
    HostTensor read(String name);

    @Override
    void close();
}
