package org.vit4j.backend.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ShortBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.vit4j.ElementType;
import org.vit4j.backend.Backend;
import org.vit4j.backend.DeviceBuffer;
import org.vit4j.backend.DevicesUnderTest;
import org.vit4j.backend.Epilogue;

/**
 * kernels/opencl/common.cl's storage helpers, bit for bit, on every OpenCL tuning variant: the
 * loads of bf16/fp16 are exact, the stores round as {@link ElementType} does (nearest, ties to
 * even, NaN kept, overflow to infinity, fp16 subnormals), on the scalar and the vector paths; and
 * the fused add + LayerNorm normalises the sum it stores (rounded), exactly as add then layerNorm.
 */
class StorageTypeTest {
    private static final ElementType[] HALF = {ElementType.BF16, ElementType.F16};

    static Stream<Arguments> halfCases() {
        List<Arguments> out = new ArrayList<>();
        for (Named<Supplier<Backend>> b : DevicesUnderTest.openCl()) for (ElementType t : HALF) out.add(Arguments.of(b, t));
        return out.stream();
    }

    static Stream<Arguments> allTypeCases() {
        List<Arguments> out = new ArrayList<>();
        for (Named<Supplier<Backend>> b : DevicesUnderTest.openCl()) for (ElementType t : ElementType.values()) out.add(Arguments.of(b, t));
        return out.stream();
    }

    private static void assertSameValue(float want, float got, String what) {
        if (Float.isNaN(want)) {
            assertTrue(Float.isNaN(got), what + ": want NaN, got " + got);
        } else {
            assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(got),
                    () -> what + ": want " + want + ", got " + got);
        }
    }

    /** Every one of the 65536 patterns is loaded exactly and stored back unchanged (NaNs stay NaN). */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("halfCases")
    void everyPatternLoadsAndStoresExactly(Supplier<Backend> device, ElementType type) {
        Backend be = device.get();
        int n = 1 << 16;
        short[] bits = new short[n];
        for (int i = 0; i < n; i++) bits[i] = (short) i;
        // Rows [p, 0 x 15] times w = [1, 0 x 15]: the GEMM loads p (on its vector path where the
        // variant has one, K = 16) and stores p * 1 + 0 * 0 + ... = p, except -0, which becomes +0.
        float[] rows = new float[n * 16], w = new float[16];
        w[0] = 1;
        try (DeviceBuffer x = be.allocate(type, n); DeviceBuffer copy = be.allocate(type, n);
                DeviceBuffer zeros = be.upload(new float[n], type); DeviceBuffer sum = be.allocate(type, n);
                DeviceBuffer wide = be.allocate(type, (long) n * 16); DeviceBuffer one = be.upload(w, type);
                DeviceBuffer viaGemm = be.allocate(type, n)) {
            be.writeBits(ShortBuffer.wrap(bits), x);
            be.selectToken(x, copy, n, 1, 1, 0); // one element per image: cp1, the bits as they are
            be.add(x, zeros, sum, n); // the scalar ld1 and st1: p + 0 = p
            float[] values = new float[n], got = new float[n], added = new float[n];
            be.download(x, values);
            be.download(copy, got);
            be.download(sum, added);
            for (int i = 0; i < n; i++) {
                assertSameValue(type.fromBits(bits[i]), values[i], type.label() + " pattern " + Integer.toHexString(i));
                assertSameValue(values[i], got[i], type.label() + " copy of pattern " + Integer.toHexString(i));
                assertSameValue(values[i] == 0 ? 0f : values[i], added[i], type.label() + " pattern "
                        + Integer.toHexString(i) + " + 0");
                rows[i * 16] = values[i];
            }
            be.write(rows, wide);
            be.linear(wide, one, null, viaGemm, n, 16, 1, Epilogue.NONE, null);
            be.download(viaGemm, got);
            for (int i = 0; i < n; i++) {
                float want = values[i] == 0 ? 0f : values[i]; // -0 * 1 + (+0) is +0
                assertSameValue(want, got[i], type.label() + " pattern " + Integer.toHexString(i) + " through linear");
            }
        }
    }

    /**
     * Products of two stored values are exact in float, so out = x . w^T with K = 1 stores exactly
     * the product rounded once: random products (ties included, about 1 in 256 for bf16 and 1 in
     * 2048 for fp16), overflow to infinity, fp16 subnormals and underflow to zero, NaN. N = 16 makes
     * the CPU-shaped GEMM store four-wide vectors.
     */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("halfCases")
    void storesRoundLikeElementType(Supplier<Backend> device, ElementType type) {
        Backend be = device.get();
        Random r = new Random(11);
        int m = 40_000, n = 16;
        float[] x = new float[m], w = new float[n];
        // Exponent ranges whose products stay normal floats (exact) and reach past the type's range.
        int lo = type == ElementType.BF16 ? -60 : -24, hi = type == ElementType.BF16 ? 60 : 15;
        for (int i = 0; i < m; i++) x[i] = type.round(randomValue(r, lo, hi));
        for (int j = 0; j < n; j++) w[j] = type.round(randomValue(r, lo, hi));
        x[0] = Float.NaN;
        x[1] = Float.POSITIVE_INFINITY;
        x[2] = type == ElementType.BF16 ? 0x1.fep127f : 65504f; // largest finite: times w > 1 overflows
        w[0] = 1f;
        w[1] = type == ElementType.BF16 ? 0x1p-8f : 0x1p-12f;
        try (DeviceBuffer xb = be.upload(x, type); DeviceBuffer wb = be.upload(w, type);
                DeviceBuffer out = be.allocate(type, (long) m * n)) {
            be.linear(xb, wb, null, out, m, 1, n, Epilogue.NONE, null);
            float[] got = new float[m * n];
            be.download(out, got);
            int ties = 0;
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    float exact = x[i] * w[j];
                    float want = type.round(exact);
                    if (isTie(type, exact)) ties++;
                    assertSameValue(want, got[i * n + j], type.label() + " " + x[i] + " * " + w[j] + " = " + exact);
                }
            }
            assertTrue(ties > 100, "only " + ties + " ties were tested");
        }
    }

    private static float randomValue(Random r, int lo, int hi) {
        float v = (float) Math.scalb(1 + r.nextFloat(), lo + r.nextInt(hi - lo + 1));
        return r.nextBoolean() ? -v : v;
    }

    /** Whether {@code v} lies exactly half-way between two neighbours of {@code type} (normal range). */
    private static boolean isTie(ElementType type, float v) {
        int drop = type == ElementType.BF16 ? 16 : 13;
        int bits = Float.floatToRawIntBits(v);
        return Float.isFinite(v) && (bits & ((1 << drop) - 1)) == 1 << (drop - 1);
    }

    /** The fused add + LayerNorm's normed output is layerNorm of the stored sum, bit for bit. */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("allTypeCases")
    void fusedAddLayerNormNormalisesTheStoredSum(Supplier<Backend> device, ElementType type) {
        OpenClBackend be = (OpenClBackend) device.get();
        int v = be.tuning().get(LayerNormOps.VARIANT);
        org.junit.jupiter.api.Assumptions.assumeTrue(v != 1, "layernorm_v1 has no fused form to compare with");
        Random r = new Random(5);
        for (int[] shape : new int[][] {{197, 192}, {7, 1000}, {3, 33}}) {
            int rows = shape[0], dim = shape[1];
            float[] x = new float[rows * dim], res = new float[rows * dim], g = new float[dim], b = new float[dim];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) (r.nextGaussian() * 3 + 40); // a common offset: the shifted sums matter
                res[i] = (float) r.nextGaussian();
            }
            for (int i = 0; i < dim; i++) {
                g[i] = (float) r.nextGaussian();
                b[i] = (float) r.nextGaussian();
            }
            try (DeviceBuffer xb = be.upload(x, type); DeviceBuffer rb = be.upload(res, type);
                    DeviceBuffer gb = be.upload(g, type); DeviceBuffer bb = be.upload(b, type);
                    DeviceBuffer sum = be.allocate(type, x.length); DeviceBuffer normed = be.allocate(type, x.length);
                    DeviceBuffer sum2 = be.allocate(type, x.length); DeviceBuffer normed2 = be.allocate(type, x.length)) {
                be.addLayerNorm(xb, rb, sum, normed, gb, bb, rows, dim, 1e-5f);
                be.add(xb, rb, sum2, x.length);
                be.layerNorm(sum2, gb, bb, normed2, rows, dim, 1e-5f);
                float[] s1 = new float[x.length], s2 = new float[x.length], n1 = new float[x.length],
                        n2 = new float[x.length];
                be.download(sum, s1);
                be.download(sum2, s2);
                be.download(normed, n1);
                be.download(normed2, n2);
                for (int i = 0; i < x.length; i++) {
                    assertSameValue(s2[i], s1[i], type.label() + " " + rows + "x" + dim + " sum " + i);
                    assertSameValue(n2[i], n1[i], type.label() + " " + rows + "x" + dim + " normed " + i);
                }
            }
        }
    }
}
