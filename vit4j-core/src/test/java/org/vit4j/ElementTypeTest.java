package org.vit4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ShortBuffer;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Rounding to bf16 and fp16 against an oracle that does not share the code under test: the result's
 * value must be the representable value nearest to x (compared in double with its two neighbours
 * in the type), ties to the even pattern, past the largest finite value infinity, NaN a NaN.
 */
class ElementTypeTest {

    private static void checkNearest(ElementType t, float x) {
        short b = t.toBits(x);
        float got = t.fromBits(b);
        if (Float.isNaN(x)) {
            assertTrue(Float.isNaN(got), t + " of NaN " + Integer.toHexString(Float.floatToRawIntBits(x)));
            return;
        }
        assertEquals(Math.copySign(1f, x), Math.copySign(1f, got), 0f, "sign of " + x);
        if (Float.isInfinite(got)) {
            // Overflow: x must be at least the largest finite value plus half its ulp.
            double max = t == ElementType.BF16 ? 0x1.FEp127 : 65504.0;
            double halfUlp = t == ElementType.BF16 ? 0x1p119 : 16.0;
            assertTrue(Float.isInfinite(x) || Math.abs((double) x) >= max + halfUlp, t + " of " + x + " is " + got);
            return;
        }
        double err = Math.abs((double) got - x);
        for (int step : new int[] {-1, 1}) {
            short nb = (short) (b + step);
            if (((b & 0x7fff) == 0 && step == -1)) continue; // below +-0 is the other sign's zero
            float other = t.fromBits(nb);
            if (Float.isNaN(other) || Float.isInfinite(other)) continue;
            double e = Math.abs((double) other - x);
            assertTrue(err < e || (err == e && (b & 1) == 0),
                    t + " of " + x + " (0x" + Integer.toHexString(Float.floatToRawIntBits(x)) + "): got " + got
                            + ", but " + other + " is nearer or an even tie");
        }
    }

    @Test
    void roundsToNearestEvenOnMillionsOfValuesAndTheEdges() {
        SplittableRandom r = new SplittableRandom(7);
        int[] edges = {0, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0x7f800001, 0x477fe000, 0x477fefff,
            0x477ff000, 0x38800000, 0x387fffff, 0x33000000, 0x33000001, 0x32ffffff, 0x3f800000, 0x3f808000,
            0x3f818000, 0x7f7f8000, 0x7f7fffff, 0x00000001, 0x3f801000, 0x3f803000};
        for (ElementType t : new ElementType[] {ElementType.BF16, ElementType.F16}) {
            for (int bits : edges) checkNearest(t, Float.intBitsToFloat(bits));
            for (int i = 0; i < 1_000_000; i++) checkNearest(t, Float.intBitsToFloat(r.nextInt()));
            for (int i = 0; i < 200_000; i++) checkNearest(t, (float) (r.nextGaussian() * 3)); // the usual range
        }
    }

    /** The bulk conversion (one switch, then a loop) writes exactly the range asked, each value as the one-value one does. */
    @Test
    void bulkConversionOfARangeEqualsTheOneValueConversion() {
        SplittableRandom r = new SplittableRandom(11);
        float[] values = new float[1000];
        for (int i = 0; i < values.length; i++) values[i] = i % 97 == 0 ? Float.NaN : Float.intBitsToFloat(r.nextInt());
        for (ElementType t : new ElementType[] {ElementType.BF16, ElementType.F16}) {
            short[] out = new short[values.length];
            java.util.Arrays.fill(out, (short) 0x5a5a);
            t.toBits(values, 123, 877, out, 7);
            for (int i = 0; i < out.length; i++) {
                short want = i >= 7 && i < 7 + 754 ? t.toBits(values[116 + i]) : (short) 0x5a5a;
                assertEquals(want, out[i], t + " at " + i);
            }
            short[] whole = t.toBits(values);
            for (int i = 0; i < values.length; i++) assertEquals(t.toBits(values[i]), whole[i], t + " whole at " + i);
        }
        assertThrows(IllegalStateException.class, () -> ElementType.F32.toBits(values, 0, 1, new short[1], 0));
    }

    @Test
    void everyPatternRoundTripsExactly() {
        for (ElementType t : new ElementType[] {ElementType.BF16, ElementType.F16}) {
            for (int b = 0; b < 65536; b++) {
                float v = t.fromBits((short) b);
                if (Float.isNaN(v)) continue;
                assertEquals((short) b, t.toBits(v), t + " pattern " + Integer.toHexString(b));
                assertEquals(v, t.round(v), 0f);
            }
        }
        assertEquals(1.5f, ElementType.F32.round(1.5f), 0f);
    }

    @Test
    void halfTensorsConvertAndCarryTheirType() {
        HostTensor f = new HostTensor(new float[] {1f, 1.00390625f, -3.1415927f, 65519f}, new int[] {2, 2});
        HostTensor h = f.to(ElementType.F16);
        assertEquals(ElementType.F16, h.dtype());
        float[] back = h.toFloats();
        assertEquals(1f, back[0], 0f);
        assertEquals(-3.140625f, back[2], 0f);
        assertEquals(65504f, back[3], 0f);
        assertThrows(Vit4jException.class, h::data, "no float32 array behind a half tensor");
        HostTensor b = HostTensor.ofBits(ElementType.BF16, ShortBuffer.wrap(new short[] {0x3f80, (short) 0xc000}), new int[] {2});
        assertEquals(-2f, b.toFloats()[1], 0f);
        Vit4jException tooBig = assertThrows(Vit4jException.class,
                () -> new HostTensor(new float[0], new int[] {65536, 65536, 65536, 65536}));
        assertTrue(tooBig.getMessage().contains("more elements than one tensor can hold"), tooBig.getMessage());
    }

    @Test
    void precisionNames() {
        assertEquals(ElementType.BF16, ElementType.parse("bf16"));
        assertEquals(ElementType.F16, ElementType.parse("FP16"));
        assertEquals(ElementType.F32, ElementType.parse("fp32"));
        Vit4jException e = assertThrows(Vit4jException.class, () -> ElementType.parse("fp8"));
        assertTrue(e.getMessage().contains("'fp8' is not one of fp32, bf16, fp16"), e.getMessage());
    }
}
