package org.vit4j.backend.opencl;

import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import org.vit4j.Vit4jException;

/**
 * The tuning values in force on one device: each {@link TuningParam}'s default for the device's
 * kind, unless overridden. Overrides come from the caller, or from the system property
 * {@code vit4j.opencl.tuning} or the environment variable {@code VIT4J_OPENCL_TUNING}, written
 * {@code NAME=value,NAME=value} (e.g. {@code GEMM_VARIANT=1,GEMM_TILE=32}).
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

    /** Overrides from the system property, else the environment; empty when neither is set. */
    public static Map<String, Integer> fromEnvironment() {
        String spec = System.getProperty("vit4j.opencl.tuning");
        if (spec == null) spec = System.getenv("VIT4J_OPENCL_TUNING");
        return parse(spec);
    }

    public static Map<String, Integer> parse(String spec) {
        Map<String, Integer> out = new HashMap<>();
        if (spec == null || spec.isBlank()) return out;
        for (String item : spec.split(",")) {
            String[] kv = item.trim().split("=");
            try {
                if (kv.length != 2) throw new NumberFormatException();
                out.put(kv[0].trim().toUpperCase(Locale.ROOT), Integer.parseInt(kv[1].trim()));
            } catch (NumberFormatException e) {
                throw new Vit4jException("OpenCL tuning '" + item.trim() + "' is not NAME=integer (in '" + spec + "')");
            }
        }
        return out;
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
