package org.vit4j.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vit4j.Numerics.assertClose;
import static org.vit4j.Numerics.randn;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.vit4j.Vit4jException;
import org.vit4j.backend.cpu.CpuBackend;
import org.vit4j.backend.cpu.Gelu;

/**
 * The reference ops against definitions computed another way. The end-to-end check of the
 * reference against PyTorch is {@code GoldenParityTest}.
 */
class CpuBackendTest {
    private final Random random = new Random(42);

    @Test
    void erfMatchesTabulatedValues() {
        // erf to 16 digits (Abramowitz & Stegun 7.1; values from mpmath).
        double[][] table = {
            {0.0, 0.0}, {0.1, 0.1124629160182849}, {0.5, 0.5204998778130465}, {1.0, 0.8427007929497149},
            {1.5, 0.9661051464753108}, {2.0, 0.9953222650189527}, {2.9, 0.9999589021219005},
            {3.0, 0.9999779095030014}, {3.5, 0.9999992569016276}, {4.0, 0.9999999845827421},
            {5.0, 0.9999999999984626}, {-0.7, -0.6778011938374184}, {-3.2, -0.9999939742388483}
        };
        for (double[] row : table) {
            assertEquals(row[1], Gelu.erf(row[0]), 2e-15, "erf(" + row[0] + ")");
        }
    }

    @Test
    void geluIsExactNotTanh() {
        // GELU(1) = 0.5 * (1 + erf(1/sqrt 2)) = 0.8413447460685429; the tanh form gives 0.8411919906.
        assertEquals(0.8413447460685429, Gelu.exact(1.0), 1e-15);
        assertEquals(-0.15865525393145707, Gelu.exact(-1.0), 1e-15);
        // Deep in the negative tail GELU is tiny but not zero: x * Phi(x), Phi(-10) = 7.6198530241605e-24.
        assertEquals(-7.6198530241605e-23, Gelu.exact(-10.0), 1e-35);
        assertEquals(0.0, Gelu.exact(-40.0), 1e-300);
    }

    @ParameterizedTest
    @CsvSource({"1,7,5", "13,33,17", "197,64,96"})
    void linearEpiloguesComposeFromSimplerOps(int rows, int in, int out) {
        try (CpuBackend be = new CpuBackend()) {
            DeviceBuffer x = be.upload(randn(random, rows * in, 1));
            DeviceBuffer w = be.upload(randn(random, out * in, 1 / Math.sqrt(in)));
            DeviceBuffer b = be.upload(randn(random, out, 0.5));
            DeviceBuffer r = be.upload(randn(random, rows * out, 1));
            DeviceBuffer plain = be.allocate((long) rows * out);
            DeviceBuffer fused = be.allocate((long) rows * out);
            DeviceBuffer composed = be.allocate((long) rows * out);

            be.linear(x, w, b, plain, rows, in, out, Epilogue.BIAS, null);
            be.linear(x, w, b, fused, rows, in, out, Epilogue.BIAS_GELU, null);
            be.gelu(plain, composed, (long) rows * out);
            assertClose(read(be, fused), read(be, composed), 1e-6, "bias+GELU vs GELU(bias)");

            be.linear(x, w, b, fused, rows, in, out, Epilogue.BIAS_RESIDUAL, r);
            be.add(plain, r, composed, (long) rows * out);
            assertClose(read(be, fused), read(be, composed), 1e-6, "bias+residual vs add");

            be.linear(x, w, null, fused, rows, in, out, Epilogue.NONE, null);
            float[] noBias = read(be, fused), withBias = read(be, plain), bias = read(be, b);
            for (int i = 0; i < noBias.length; i++) noBias[i] += bias[i % out];
            assertClose(noBias, withBias, 1e-6, "none + bias vs bias");
        }
    }

    @Test
    void linearIsTheDotProductOfRowsWithWeightRows() {
        try (CpuBackend be = new CpuBackend()) {
            // 2x3 times (2x3)^T: hand-computed.
            DeviceBuffer x = be.upload(new float[] {1, 2, 3, -1, 0.5f, 2});
            DeviceBuffer w = be.upload(new float[] {1, 0, -1, 2, 1, 0.25f});
            DeviceBuffer b = be.upload(new float[] {0.5f, -1});
            DeviceBuffer y = be.allocate(4);
            be.linear(x, w, b, y, 2, 3, 2, Epilogue.BIAS, null);
            assertEquals(Arrays.toString(new float[] {1 - 3 + 0.5f, 2 + 2 + 0.75f - 1, -1 - 2 + 0.5f, -2 + 0.5f + 0.5f - 1}),
                    Arrays.toString(read(be, y)));
        }
    }

    @ParameterizedTest
    @CsvSource({"1,5,8,2", "2,197,96,3", "3,26,72,3"})
    void qkvLayoutIsLinearThenPermute(int batch, int tokens, int dim, int heads) {
        try (CpuBackend be = new CpuBackend()) {
            int rows = batch * tokens, hd = dim / heads;
            DeviceBuffer x = be.upload(randn(random, rows * dim, 1));
            DeviceBuffer w = be.upload(randn(random, 3 * dim * dim, 1 / Math.sqrt(dim)));
            DeviceBuffer b = be.upload(randn(random, 3 * dim, 0.3));
            DeviceBuffer flat = be.allocate(3L * rows * dim);
            DeviceBuffer qkv = be.allocate(3L * rows * dim);
            be.linear(x, w, b, flat, rows, dim, 3 * dim, Epilogue.BIAS, null);
            be.linearQkv(x, w, b, qkv, batch, tokens, dim, heads);
            float[] f = read(be, flat), q = read(be, qkv);
            for (int n = 0; n < batch; n++)
                for (int t = 0; t < tokens; t++)
                    for (int which = 0; which < 3; which++)
                        for (int h = 0; h < heads; h++)
                            for (int e = 0; e < hd; e++) {
                                float expected = f[(n * tokens + t) * 3 * dim + which * dim + h * hd + e];
                                float actual = q[(((which * batch + n) * heads + h) * tokens + t) * hd + e];
                                assertEquals(expected, actual, 0f);
                            }
        }
    }

    @Test
    void attentionWithEqualKeysAveragesTheValues() {
        // softmax over equal scores is uniform, so every query gets the mean of v, whatever q is.
        int batch = 2, tokens = 7, heads = 3, hd = 5;
        int plane = batch * heads * tokens * hd;
        float[] qkv = randn(random, 3 * plane, 1);
        float[] key = randn(random, hd, 1);
        for (int row = 0; row < batch * heads * tokens; row++) System.arraycopy(key, 0, qkv, plane + row * hd, hd);
        try (CpuBackend be = new CpuBackend()) {
            DeviceBuffer in = be.upload(qkv);
            DeviceBuffer out = be.allocate(plane);
            be.attention(in, out, batch, tokens, heads, hd, 0.37f);
            float[] y = read(be, out);
            for (int n = 0; n < batch; n++)
                for (int h = 0; h < heads; h++)
                    for (int e = 0; e < hd; e++) {
                        double mean = 0;
                        for (int s = 0; s < tokens; s++) mean += qkv[2 * plane + ((n * heads + h) * tokens + s) * hd + e];
                        mean /= tokens;
                        for (int t = 0; t < tokens; t++) {
                            assertEquals(mean, y[(n * tokens + t) * heads * hd + h * hd + e], 1e-6);
                        }
                    }
        }
    }

    @Test
    void attentionPicksTheDominantKey() {
        // One key aligned with the query and a huge scale: the output is that key's value.
        int tokens = 4, hd = 2;
        float[] qkv = new float[3 * tokens * hd];
        float[] q = {1, 0}, keys = {0, 1, 1, 0, -1, 0, 0, -1}, values = {1, 2, 3, 4, 5, 6, 7, 8};
        for (int t = 0; t < tokens; t++) System.arraycopy(q, 0, qkv, t * hd, hd);
        System.arraycopy(keys, 0, qkv, tokens * hd, keys.length);
        System.arraycopy(values, 0, qkv, 2 * tokens * hd, values.length);
        try (CpuBackend be = new CpuBackend()) {
            DeviceBuffer in = be.upload(qkv), out = be.allocate(tokens * hd);
            be.attention(in, out, 1, tokens, 1, hd, 1000f);
            float[] y = read(be, out);
            for (int t = 0; t < tokens; t++) {
                assertEquals(3f, y[t * hd], 1e-6f);
                assertEquals(4f, y[t * hd + 1], 1e-6f);
            }
        }
    }

    @Test
    void layerNormGivesZeroMeanUnitVarianceThenScalesAndShifts() {
        int rows = 5, dim = 37;
        float[] x = randn(random, rows * dim, 3);
        for (int i = 0; i < x.length; i++) x[i] += 1000; // a large offset: a one-pass variance would cancel
        float[] gamma = randn(random, dim, 1), beta = randn(random, dim, 1);
        try (CpuBackend be = new CpuBackend()) {
            DeviceBuffer out = be.allocate(rows * dim);
            be.layerNorm(be.upload(x), be.upload(gamma), be.upload(beta), out, rows, dim, 1e-6f);
            float[] y = read(be, out);
            for (int r = 0; r < rows; r++) {
                double mean = 0, var = 0;
                double[] z = new double[dim];
                for (int i = 0; i < dim; i++) z[i] = (y[r * dim + i] - beta[i]) / gamma[i];
                for (double v : z) mean += v / dim;
                for (double v : z) var += (v - mean) * (v - mean) / dim;
                assertEquals(0, mean, 1e-4);
                assertEquals(1, var, 1e-3);
            }
        }
    }

    @Test
    void patchEmbedOfOnePixelPatchesIsAPerPixelLinearMap() {
        // With P = 1 a patch is one pixel's C values: out[1 + i] = W . pixel_i + b + pos[1 + i].
        int c = 3, size = 3, d = 4;
        float[] img = randn(random, c * size * size, 1), w = randn(random, d * c, 1), b = randn(random, d, 1);
        float[] cls = randn(random, d, 1), pos = randn(random, (size * size + 1) * d, 1);
        try (CpuBackend be = new CpuBackend()) {
            DeviceBuffer out = be.allocate((size * size + 1) * d);
            be.patchEmbed(new PatchEmbedShape(1, c, size, 1, d), be.upload(img), be.upload(w), be.upload(b),
                    be.upload(cls), be.upload(pos), out);
            float[] y = read(be, out);
            for (int j = 0; j < d; j++) assertEquals(cls[j] + pos[j], y[j], 1e-6f);
            for (int p = 0; p < size * size; p++) {
                for (int j = 0; j < d; j++) {
                    double acc = b[j] + pos[(1 + p) * d + j];
                    for (int ch = 0; ch < c; ch++) acc += w[j * c + ch] * img[ch * size * size + p];
                    assertEquals(acc, y[(1 + p) * d + j], 1e-5);
                }
            }
        }
    }

    @Test
    void patchEmbedOfNonSquareImagesMatchesADoubleConvolution() {
        // An H x W image with H != W: a (H / P) x (W / P) grid, patches row-major, each patch read (c, y, x),
        // against a direct strided convolution in double.
        for (int[] shape : new int[][] {{2, 3, 15, 35, 5, 7}, {1, 2, 24, 8, 4, 5}, {2, 1, 6, 6, 3, 3}}) {
            int batch = shape[0], c = shape[1], h = shape[2], wd = shape[3], p = shape[4], d = shape[5];
            int gh = h / p, gw = wd / p, t = gh * gw + 1;
            float[] img = randn(random, batch * c * h * wd, 1), w = randn(random, d * c * p * p, 1);
            float[] b = randn(random, d, 1), cls = randn(random, d, 1), pos = randn(random, t * d, 1);
            try (CpuBackend be = new CpuBackend()) {
                float[] poison = new float[batch * t * d];
                Arrays.fill(poison, Float.NaN);
                DeviceBuffer out = be.upload(poison);
                be.patchEmbed(new PatchEmbedShape(batch, c, h, wd, p, d), be.upload(img), be.upload(w), be.upload(b),
                        be.upload(cls), be.upload(pos), out);
                float[] y = read(be, out);
                double err = 0, norm = 0;
                for (int n = 0; n < batch; n++) {
                    for (int tok = 0; tok < t; tok++) {
                        for (int j = 0; j < d; j++) {
                            double want = (double) pos[tok * d + j];
                            if (tok == 0) {
                                want += cls[j];
                            } else {
                                int py = (tok - 1) / gw, px = (tok - 1) % gw;
                                want += b[j];
                                for (int ch = 0; ch < c; ch++)
                                    for (int dy = 0; dy < p; dy++)
                                        for (int dx = 0; dx < p; dx++)
                                            want += (double) w[((j * c + ch) * p + dy) * p + dx]
                                                    * img[((n * c + ch) * h + py * p + dy) * wd + px * p + dx];
                            }
                            double got = y[(n * t + tok) * d + j];
                            err += (got - want) * (got - want);
                            norm += want * want;
                        }
                    }
                }
                assertTrue(Math.sqrt(err / norm) < 1e-6, Arrays.toString(shape) + ": rel L2 " + Math.sqrt(err / norm));
            }
        }
    }

    @Test
    void badArgumentsAreClearErrors() {
        try (CpuBackend be = new CpuBackend(); CpuBackend other = new CpuBackend()) {
            DeviceBuffer x = be.allocate(10), w = be.allocate(6), y = be.allocate(4);
            Vit4jException shortBuffer = assertThrows(Vit4jException.class,
                    () -> be.linear(x, w, null, y, 4, 3, 2, Epilogue.NONE, null));
            assertTrue(shortBuffer.getMessage().contains("'x' holds 10 elements, expected at least 12"),
                    shortBuffer.getMessage());
            DeviceBuffer half = be.allocate(org.vit4j.ElementType.BF16, 12);
            Vit4jException mixed = assertThrows(Vit4jException.class,
                    () -> be.linear(half, w, null, y, 2, 3, 2, Epilogue.NONE, null));
            assertTrue(mixed.getMessage().contains("linear: argument 'weight' is fp32, expected bf16 like 'x'"),
                    mixed.getMessage());
            DeviceBuffer foreign = other.allocate(12);
            Vit4jException wrongOwner = assertThrows(Vit4jException.class,
                    () -> be.linear(foreign, w, null, y, 4, 3, 2, Epilogue.NONE, null));
            assertTrue(wrongOwner.getMessage().contains("belongs to backend"), wrongOwner.getMessage());
            Vit4jException noBias = assertThrows(Vit4jException.class,
                    () -> be.linear(x, w, null, y, 2, 3, 2, Epilogue.BIAS_GELU, null));
            assertTrue(noBias.getMessage().contains("bias"), noBias.getMessage());
            x.close();
            IllegalStateException closed = assertThrows(IllegalStateException.class,
                    () -> be.gelu(x, y, 4));
            assertTrue(closed.getMessage().contains("closed"), closed.getMessage());
            assertThrows(IllegalStateException.class, x::close, "double close");
        }
    }

    @Test
    void buffersAreCountedAndReleased() {
        CpuBackend be = new CpuBackend();
        DeviceBuffer a = be.allocate(3);
        DeviceBuffer b = be.upload(new float[] {1, 2});
        assertEquals(2, be.liveBuffers());
        a.close();
        b.close();
        assertEquals(0, be.liveBuffers());
        be.close();
        assertThrows(IllegalStateException.class, () -> be.allocate(1));
    }

    private static float[] read(Backend be, DeviceBuffer b) {
        float[] host = new float[(int) b.length()];
        be.download(b, host);
        return host;
    }

    /** Issue 12: batch 300000 on cpu ended in an OutOfMemoryError; the heap is the cpu backend's device memory. */
    @Test
    void anAllocationPastTheHeapIsAClearError() {
        try (CpuBackend be = new CpuBackend()) {
            long tooMany = Math.min(Integer.MAX_VALUE - 16, Runtime.getRuntime().maxMemory() / 4 + (1 << 20));
            Vit4jException e = assertThrows(Vit4jException.class, () -> be.allocate(tooMany));
            assertTrue(e.getMessage().contains("Java heap is full") && e.getMessage().contains("smaller batch"), e.getMessage());
            assertEquals(0, be.liveBuffers());
        }
    }
}
