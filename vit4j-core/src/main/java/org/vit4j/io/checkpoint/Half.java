package org.vit4j.io.checkpoint;

/** IEEE 754 binary16 and bfloat16 to float32 conversion (exact; Java 17 has no Float.float16ToFloat). */
final class Half {
    private Half() {}

    /** binary16 bits (low 16 bits of {@code h}) to float: handles zeros, subnormals, inf and NaN. */
    static float toFloat(short h) {
        int bits = h & 0xffff;
        int sign = (bits & 0x8000) << 16;
        int exp = (bits >>> 10) & 0x1f;
        int mant = bits & 0x3ff;
        if (exp == 0x1f) {
            // inf (mant == 0) or NaN (payload kept in the top mantissa bits)
            return Float.intBitsToFloat(sign | 0x7f80_0000 | (mant << 13));
        }
        if (exp == 0) {
            // zero or subnormal: mant * 2^-24, exact in float32
            float v = mant * 0x1p-24f;
            return sign != 0 ? -v : v;
        }
        return Float.intBitsToFloat(sign | ((exp + (127 - 15)) << 23) | (mant << 13));
    }

    /** bfloat16 bits: the upper 16 bits of a float32. */
    static float bf16ToFloat(short h) {
        return Float.intBitsToFloat((h & 0xffff) << 16);
    }
}
