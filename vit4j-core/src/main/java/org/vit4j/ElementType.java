package org.vit4j;

import java.util.Locale;

/**
 * How a tensor's elements are stored: float32, bfloat16 or IEEE binary16. Half-precision types are
 * storage only: every op reads them, computes and accumulates in float32 (the CPU reference in
 * double) and rounds its result once when it stores it. The rounding points, the same on every
 * backend:
 * <ol>
 *   <li>weights (every parameter) once, when the model uploads them;</li>
 *   <li>the input images once, when they are written to the device;</li>
 *   <li>each op's output once, at its store: a fused epilogue (bias, GELU, residual) rounds its
 *       final value only; attention keeps scores and probabilities in float32 and rounds the
 *       output; the fused add + LayerNorm rounds the sum it stores and normalises that rounded
 *       sum, exactly as the unfused add then LayerNorm would.</li>
 * </ol>
 * Logits and pre-logits come back to the host as float32 (their values are the stored ones).
 * Conversions from float round to nearest, ties to even; NaN stays NaN; values past the largest
 * finite number become infinity (the IEEE rules, as CUDA's __float2bfloat16_rn / __float2half_rn).
 */
public enum ElementType {
    F32(4, "fp32"),
    BF16(2, "bf16"),
    F16(2, "fp16");

    private final int bytes;
    private final String label;

    ElementType(int bytes, String label) {
        this.bytes = bytes;
        this.label = label;
    }

    /** Bytes per element. */
    public int bytes() {
        return bytes;
    }

    /** "fp32", "bf16", "fp16": the spelling of {@code --precision}. */
    public String label() {
        return label;
    }

    public boolean isHalf() {
        return bytes == 2;
    }

    /** The type {@code --precision} names: fp32, bf16 or fp16 (also f32, float32, bfloat16, f16, float16, half). */
    public static ElementType parse(String s) {
        String v = s == null ? "" : s.trim().toLowerCase(Locale.ROOT);
        return switch (v) {
            case "fp32", "f32", "float32", "float" -> F32;
            case "bf16", "bfloat16" -> BF16;
            case "fp16", "f16", "float16", "half" -> F16;
            default -> throw new Vit4jException("precision '" + s + "' is not one of fp32, bf16, fp16");
        };
    }

    /** {@code x} rounded to this type, as a float (exact for F32). */
    public float round(float x) {
        return switch (this) {
            case F32 -> x;
            case BF16 -> bf16ToFloat(floatToBf16(x));
            case F16 -> halfToFloat(floatToHalf(x));
        };
    }

    /** The 16-bit pattern of {@code x} in this (half) type. */
    public short toBits(float x) {
        return switch (this) {
            case BF16 -> floatToBf16(x);
            case F16 -> floatToHalf(x);
            case F32 -> throw new IllegalStateException("fp32 has no 16-bit pattern");
        };
    }

    /** The value of a 16-bit pattern of this (half) type; exact. */
    public float fromBits(short bits) {
        return switch (this) {
            case BF16 -> bf16ToFloat(bits);
            case F16 -> halfToFloat(bits);
            case F32 -> throw new IllegalStateException("fp32 has no 16-bit pattern");
        };
    }

    /** The 16-bit patterns of {@code values} in this (half) type. */
    public short[] toBits(float[] values) {
        short[] out = new short[values.length];
        toBits(values, 0, values.length, out, 0);
        return out;
    }

    /** The 16-bit patterns of {@code values[from, to)} in this (half) type, into {@code out} from {@code at} on. */
    public void toBits(float[] values, int from, int to, short[] out, int at) {
        switch (this) { // once, outside the loop: a batch of 256 images is 38.5M values
            case BF16 -> { for (int i = from; i < to; i++) out[at + i - from] = floatToBf16(values[i]); }
            case F16 -> { for (int i = from; i < to; i++) out[at + i - from] = floatToHalf(values[i]); }
            case F32 -> throw new IllegalStateException("fp32 has no 16-bit pattern");
        }
    }

    /** Fills {@code out} with the values of the patterns of {@code bits} from its position on; returns {@code out}. */
    public float[] fromBits(java.nio.ShortBuffer bits, float[] out) {
        int at = bits.position();
        for (int i = 0; i < out.length; i++) out[i] = fromBits(bits.get(at + i));
        return out;
    }

    // ---- conversions (the same arithmetic as native/cudacpu/cuda_cpu.h) ----

    static short floatToBf16(float f) {
        int x = Float.floatToRawIntBits(f);
        if ((x & 0x7fffffff) > 0x7f800000) return (short) ((x >>> 16) | 0x40); // NaN stays NaN, quiet
        x += 0x7fff + ((x >>> 16) & 1);
        return (short) (x >>> 16);
    }

    static float bf16ToFloat(short b) {
        return Float.intBitsToFloat((b & 0xffff) << 16);
    }

    static short floatToHalf(float f) {
        int x = Float.floatToRawIntBits(f);
        int sign = (x >>> 16) & 0x8000;
        x &= 0x7fffffff;
        if (x >= 0x7f800000) return (short) (sign | (x > 0x7f800000 ? 0x7e00 | ((x >>> 13) & 0x3ff) : 0x7c00));
        if (x >= 0x477ff000) return (short) (sign | 0x7c00); // rounds to >= 65520: infinity
        if (x < 0x38800000) { // below 2^-14: a subnormal half or zero
            int e = x >>> 23;
            if (e < 102) return (short) sign; // below 2^-25: rounds to zero
            int m = (x & 0x7fffff) | 0x800000;
            int s = 126 - e; // the value in units of 2^-24 is m >> s
            int r = m >>> s;
            int rem = m & ((1 << s) - 1), halfway = 1 << (s - 1);
            if (rem > halfway || (rem == halfway && (r & 1) != 0)) r++;
            return (short) (sign | r);
        }
        x -= 0x38000000; // exponent bias 127 -> 15
        int r = x >>> 13;
        int rem = x & 0x1fff;
        if (rem > 0x1000 || (rem == 0x1000 && (r & 1) != 0)) r++;
        return (short) (sign | r);
    }

    static float halfToFloat(short h) {
        int bits = h & 0xffff;
        int sign = (bits & 0x8000) << 16;
        int exp = (bits >>> 10) & 0x1f;
        int mant = bits & 0x3ff;
        if (exp == 0x1f) return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
        if (exp == 0) {
            float v = mant * 0x1p-24f; // zero or subnormal, exact
            return sign != 0 ? -v : v;
        }
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }
}
