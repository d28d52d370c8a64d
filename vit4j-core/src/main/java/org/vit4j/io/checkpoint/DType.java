package org.vit4j.io.checkpoint;

/**
 * Element types of the safetensors format, spelled as in the file header ({@code "F32"}, ...).
 * Only whole-byte types are listed; the sub-byte float types of the reference implementation
 * (F4, F6_*) are reported as unsupported by {@link #parse(String)}.
 */
public enum DType {
    F64(8, true),
    F32(4, true),
    F16(2, true),
    BF16(2, true),
    F8_E4M3(1, false),
    F8_E5M2(1, false),
    I64(8, false),
    I32(4, false),
    I16(2, false),
    I8(1, false),
    U64(8, false),
    U32(4, false),
    U16(2, false),
    U8(1, false),
    BOOL(1, false);

    private final int byteSize;
    private final boolean convertibleToFloat;

    DType(int byteSize, boolean convertibleToFloat) {
        this.byteSize = byteSize;
        this.convertibleToFloat = convertibleToFloat;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /** Whether {@link SafetensorsFile#readFloats(String)} can convert this type to float32. */
    public boolean isFloatConvertible() {
        return convertibleToFloat;
    }

    /**
     * The dtype spelled {@code s} in a safetensors header (exact, upper case).
     *
     * @throws CheckpointException if {@code s} is null or names no supported dtype
     */
    public static DType parse(String s) {
        if (s == null) {
            throw new CheckpointException("dtype is missing (expected one of " + known() + ")");
        }
        for (DType t : values()) {
            if (t.name().equals(s)) return t;
        }
        throw new CheckpointException("unknown dtype \"" + s + "\" (expected one of " + known() + ")");
    }

    private static String known() {
        StringBuilder sb = new StringBuilder();
        for (DType t : values()) {
            if (sb.length() > 0) sb.append(", ");
            sb.append(t.name());
        }
        return sb.toString();
    }
}
