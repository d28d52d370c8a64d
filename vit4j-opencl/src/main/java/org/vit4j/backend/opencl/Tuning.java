package org.vit4j.backend.opencl;

import java.util.Map;
import org.vit4j.Vit4jException;

/**
 * The tuning values in force on one device: each {@link TuningParam}'s default for the device's
 * kind, unless overridden. Overrides come from the caller when the backend opens
 * ({@link org.vit4j.backend.BackendOptions#openClTuning()}; the CLI's {@code --opencl-tuning
 * GEMM_VARIANT=1,GEMM_V3_TM=32}), never from global state.
 */
public final class Tuning {
    /** Every parameter name an op has declared (TuningParam registers itself). */
    private static final java.util.Set<String> DECLARED = java.util.concurrent.ConcurrentHashMap.newKeySet();

    static void declare(String name) {
        DECLARED.add(name);
    }

    private final ClDevice.Kind kind;
    private final Map<String, Integer> overrides;

    Tuning(ClDevice.Kind kind, Map<String, Integer> overrides) {
        this.kind = kind;
        this.overrides = Map.copyOf(overrides);
    }

    /** A misspelt override would silently change nothing: name it instead. Call once every op is built. */
    void rejectUnknownOverrides() {
        for (String name : overrides.keySet()) {
            if (!DECLARED.contains(name)) {
                throw new Vit4jException("OpenCL tuning: unknown parameter '" + name + "'; known: "
                        + new java.util.TreeSet<>(DECLARED));
            }
        }
    }

    /** Whether the caller set this parameter (rather than its default being in force). */
    boolean isOverridden(TuningParam p) {
        return overrides.containsKey(p.name());
    }

    /** These tuning values with {@code more} overriding them as well. */
    Tuning with(Map<String, Integer> more) {
        Map<String, Integer> all = new java.util.HashMap<>(overrides);
        all.putAll(more);
        return new Tuning(kind, all);
    }

    public int get(TuningParam p) {
        return overrides.getOrDefault(p.name(), p.defaultFor(kind));
    }

    /** Build options defining each parameter: "-D NAME=value ...". */
    public String defines(TuningParam... params) {
        StringBuilder s = new StringBuilder();
        for (TuningParam p : params) s.append(" -D ").append(p.name()).append('=').append(get(p));
        return s.toString();
    }

    public ClDevice.Kind kind() {
        return kind;
    }
}
