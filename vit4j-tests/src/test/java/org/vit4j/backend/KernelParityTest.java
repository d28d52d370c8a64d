package org.vit4j.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.vit4j.Numerics;
import org.vit4j.backend.cpu.CpuBackend;

/**
 * Every op of every device backend against the CPU reference, on fresh random inputs over many
 * shapes (batch 1 and more, N = 197 and odd N, sizes that are not tile multiples, head dims
 * 32/64/80/128). Each output is poisoned with NaN before the run, so an element the kernel fails
 * to write fails the test. fp32 budget: relative L2 error <= 1e-5.
 */
public class KernelParityTest {
    static final double FP32 = 1e-5;
    private static final CpuBackend CPU = new CpuBackend();
    private final Random random = new Random();

    /** Inputs made once, uploaded to the reference and the device alike. */
    private final class Pair {
        final Backend dev;
        final List<DeviceBuffer> cpuBufs = new ArrayList<>();
        final List<DeviceBuffer> devBufs = new ArrayList<>();

        Pair(Backend dev) {
            this.dev = dev;
        }

        /** Random N(0, std) input. */
        int input(int n, double std) {
            float[] x = Numerics.randn(random, n, std);
            return add(x);
        }

        /** An output, NaN on both sides until written. */
        int output(int n) {
            float[] nan = new float[n];
            java.util.Arrays.fill(nan, Float.NaN);
            return add(nan);
        }

        /** |input i| on the reference side only: the inputs of an error bound's scale. */
        int absOnReference(int i) {
            float[] h = new float[(int) cpuBufs.get(i).length()];
            CPU.download(cpuBufs.get(i), h);
            for (int j = 0; j < h.length; j++) h[j] = Math.abs(h[j]);
            cpuBufs.add(CPU.upload(h));
            devBufs.add(null);
            return cpuBufs.size() - 1;
        }

        private static double norm(float[] v) {
            double s = 0;
            for (float x : v) s += (double) x * x;
            return Math.sqrt(s);
        }

        private int add(float[] host) {
            cpuBufs.add(CPU.upload(host));
            devBufs.add(dev.upload(host));
            return cpuBufs.size() - 1;
        }

        DeviceBuffer c(int i) {
            return cpuBufs.get(i);
        }

        DeviceBuffer d(int i) {
            return devBufs.get(i);
        }

        void check(int output, String what) {
            check(output, what, -1);
        }

        /**
         * As {@link #check(int, String)}, with the relative error's denominator at least 5% of the norm
         * of reference buffer {@code magnitude} (the same op on the inputs' absolute values, so the sum of
         * the terms' sizes): where terms cancel (x.w + b + r ~ 0 at K = 1, which random inputs draw now and
         * then) a correct fp32 kernel is off by a few ulps of the terms, not of their tiny sum, and the
         * plain relative error would flag it. Elsewhere the output's own norm is far above the floor.
         */
        void check(int output, String what, int magnitude) {
            float[] want = new float[(int) cpuBufs.get(output).length()];
            float[] got = new float[want.length];
            CPU.download(cpuBufs.get(output), want);
            dev.download(devBufs.get(output), got);
            double err = Numerics.relativeL2(got, want);
            if (magnitude >= 0 && !Double.isNaN(err)) {
                float[] size = new float[want.length];
                CPU.download(cpuBufs.get(magnitude), size);
                double wantNorm = norm(want), floor = 0.05 * norm(size);
                if (wantNorm < floor) err = err * wantNorm / floor;
            }
            assertTrue(err <= FP32, dev.name() + " " + what + ": relative L2 error " + err + " > " + FP32
                    + (Double.isNaN(err) ? " (NaN: an element was not written)" : ""));
        }

        void close() {
            cpuBufs.forEach(DeviceBuffer::close);
            devBufs.stream().filter(java.util.Objects::nonNull).forEach(DeviceBuffer::close);
        }
    }

    /** Shared with HalfKernelParityTest: the same shapes in every storage type. */
    public static final Object[][] LINEAR_SHAPES = {
            {1, 1, 1}, {1, 7, 5}, {3, 13, 17}, {33, 65, 31}, {197, 192, 576}, {394, 384, 384}, {26, 72, 150},
            {197, 150, 72}, {2, 768, 10}, {70, 300, 129},
        };
    /** Shared with HalfKernelParityTest: the same shapes in every storage type. */
    public static final Object[][] QKV_SHAPES = {
            {1, 197, 192, 3}, {2, 26, 72, 3}, {3, 50, 160, 2}, {1, 17, 256, 2}, {2, 5, 64, 2}, {1, 1, 8, 1},
        };
    /** Shared with HalfKernelParityTest: the same shapes in every storage type. */
    static final Object[][] ATTENTION_SHAPES = {
            {1, 197, 3, 64}, {2, 197, 2, 32}, {1, 50, 2, 80}, {2, 17, 1, 128}, {1, 1, 1, 32}, {3, 5, 4, 24},
            {1, 257, 2, 64}, {2, 65, 3, 16}, {1, 1021, 1, 16}, {1, 1030, 1, 32}, // attention_v4 at its 1024 keys, then v3 past them
        };
    /** Shared with HalfKernelParityTest: the same shapes in every storage type. */
    static final Object[][] LAYER_NORM_SHAPES = {{1, 1}, {197, 192}, {3, 72}, {5, 1000}, {2, 1023}, {394, 384}, {7, 33}};
    /** Shared with HalfKernelParityTest: the same shapes in every storage type. */
    /** {batch, channels, height, width, patch, dim}; non-square grids (3 x 7, 6 x 2, ...) too. */
    public static final Object[][] PATCH_EMBED_SHAPES = {
            {1, 3, 224, 224, 16, 192}, {2, 3, 30, 30, 6, 72}, {3, 1, 8, 8, 2, 64}, {1, 3, 28, 28, 14, 33},
            {2, 3, 32, 32, 8, 40}, {1, 3, 64, 64, 32, 17}, {2, 3, 15, 35, 5, 70}, {3, 3, 48, 16, 8, 40},
            {2, 1, 12, 36, 4, 33}, {1, 3, 32, 224, 16, 64},
        };
    /** Shared with HalfKernelParityTest: the same shapes in every storage type. */
    static final Object[][] ELEMENTWISE_SHAPES = {{1}, {1000}, {12345}, {197 * 768 + 3}};
    /** Shared with HalfKernelParityTest: the same shapes in every storage type. */
    static final Object[][] SELECT_SHAPES = {{2, 197, 192, 0}, {3, 5, 7, 4}};

    static Stream<Arguments> cases(Object[][] shapes) {
        return cases(DevicesUnderTest.all(), shapes);
    }

    static Stream<Arguments> cases(List<Named<Supplier<Backend>>> backends, Object[][] shapes) {
        List<Arguments> out = new ArrayList<>();
        for (Named<Supplier<Backend>> b : backends) {
            for (Object[] s : shapes) {
                Object[] args = new Object[s.length + 1];
                args[0] = b;
                System.arraycopy(s, 0, args, 1, s.length);
                out.add(Arguments.of(args));
            }
        }
        return out.stream();
    }

    // ---- linear ----

    static Stream<Arguments> linearShapes() {
        return cases(DevicesUnderTest.withGemmVariants(), LINEAR_SHAPES);
    }

    @ParameterizedTest(name = "{0} M={1} K={2} N={3}")
    @MethodSource("linearShapes")
    void linear(Supplier<Backend> device, int m, int k, int n) {
        Pair p = new Pair(device.get());
        try {
            int x = p.input(m * k, 1), w = p.input(n * k, 1 / Math.sqrt(k)), b = p.input(n, 0.5);
            int r = p.input(m * n, 1);
            int ax = p.absOnReference(x), aw = p.absOnReference(w), ab = p.absOnReference(b), ar = p.absOnReference(r);
            for (Epilogue e : Epilogue.values()) {
                int y = p.output(m * n), size = p.output(m * n);
                boolean residual = e == Epilogue.BIAS_RESIDUAL;
                CPU.linear(p.c(x), p.c(w), e == Epilogue.NONE ? null : p.c(b), p.c(y), m, k, n, e, residual ? p.c(r) : null);
                CPU.linear(p.c(ax), p.c(aw), e == Epilogue.NONE ? null : p.c(ab), p.c(size), m, k, n, e,
                        residual ? p.c(ar) : null);
                p.dev.linear(p.d(x), p.d(w), e == Epilogue.NONE ? null : p.d(b), p.d(y), m, k, n, e,
                        residual ? p.d(r) : null);
                p.check(y, "linear " + e, size);
            }
            // The residual updated in place, as the encoder does.
            int size = p.output(m * n);
            CPU.linear(p.c(ax), p.c(aw), p.c(ab), p.c(size), m, k, n, Epilogue.BIAS_RESIDUAL, p.c(ar));
            CPU.linear(p.c(x), p.c(w), p.c(b), p.c(r), m, k, n, Epilogue.BIAS_RESIDUAL, p.c(r));
            p.dev.linear(p.d(x), p.d(w), p.d(b), p.d(r), m, k, n, Epilogue.BIAS_RESIDUAL, p.d(r));
            p.check(r, "linear in-place residual", size);
        } finally {
            p.close();
        }
    }

    static Stream<Arguments> qkvShapes() {
        return cases(DevicesUnderTest.withGemmVariants(), QKV_SHAPES);
    }

    static Stream<Arguments> gemmBackends() {
        return DevicesUnderTest.withGemmVariants().stream().map(Arguments::of);
    }

    /**
     * A weight changed after its first use gives the new result: linear_v5 keeps a packed copy of each
     * weight between calls, which a host write or an op writing the buffer (here a copy into it) must
     * make stale. The other kernels read the weight as it is; they pass trivially.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("gemmBackends")
    void linearSeesAWeightChangedAfterItsFirstUse(Supplier<Backend> device) {
        Pair p = new Pair(device.get());
        try {
            int m = 37, k = 45, n = 70;
            int x = p.input(m * k, 1), w = p.input(n * k, 1 / Math.sqrt(k)), b = p.input(n, 0.5);
            int y = p.output(m * n);
            CPU.linear(p.c(x), p.c(w), p.c(b), p.c(y), m, k, n, Epilogue.BIAS, null);
            p.dev.linear(p.d(x), p.d(w), p.d(b), p.d(y), m, k, n, Epilogue.BIAS, null);
            p.check(y, "linear, first use of the weight");
            float[] other = Numerics.randn(random, n * k, 1 / Math.sqrt(k));
            CPU.write(other, p.c(w));
            p.dev.write(other, p.d(w));
            int y2 = p.output(m * n);
            CPU.linear(p.c(x), p.c(w), p.c(b), p.c(y2), m, k, n, Epilogue.BIAS, null);
            p.dev.linear(p.d(x), p.d(w), p.d(b), p.d(y2), m, k, n, Epilogue.BIAS, null);
            p.check(y2, "linear after a host write into the weight");
            int w3 = p.input(n * k, 1 / Math.sqrt(k));
            CPU.copy(p.c(w3), p.c(w), (long) n * k);
            p.dev.copy(p.d(w3), p.d(w), (long) n * k);
            int y3 = p.output(m * n);
            CPU.linear(p.c(x), p.c(w), p.c(b), p.c(y3), m, k, n, Epilogue.BIAS, null);
            p.dev.linear(p.d(x), p.d(w), p.d(b), p.d(y3), m, k, n, Epilogue.BIAS, null);
            p.check(y3, "linear after a copy into the weight");
            // The same buffer as a weight of another shape (fewer rows, longer K): packed anew.
            int m4 = 5, k4 = 90, n4 = 33;
            int x4 = p.input(m4 * k4, 1), y4 = p.output(m4 * n4);
            CPU.linear(p.c(x4), p.c(w), null, p.c(y4), m4, k4, n4, Epilogue.NONE, null);
            p.dev.linear(p.d(x4), p.d(w), null, p.d(y4), m4, k4, n4, Epilogue.NONE, null);
            p.check(y4, "linear with the weight buffer read as another shape");
        } finally {
            p.close();
        }
    }

    /**
     * A weight used again unchanged is not prepared again (issue 16, item 4: no per-pass cost around
     * the ops): after its first use, later linear calls with the same weight acquire no device buffer
     * (linear_v5 packs once; its copy is a pool buffer, so a repack would show as an acquire) and give
     * the same result as the oracle each time.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("gemmBackends")
    void linearPreparesAnUnchangedWeightOnce(Supplier<Backend> device) {
        Pair p = new Pair(device.get());
        try {
            int m = 29, k = 51, n = 66;
            int x = p.input(m * k, 1), w = p.input(n * k, 1 / Math.sqrt(k)), b = p.input(n, 0.5);
            int[] ys = {p.output(m * n), p.output(m * n), p.output(m * n)};
            CPU.linear(p.c(x), p.c(w), p.c(b), p.c(ys[0]), m, k, n, Epilogue.BIAS, null);
            p.dev.linear(p.d(x), p.d(w), p.d(b), p.d(ys[0]), m, k, n, Epilogue.BIAS, null);
            p.check(ys[0], "linear, first use of the weight");
            org.vit4j.memory.PoolStats first = p.dev.memoryStats();
            for (int i = 1; i < ys.length; i++) {
                CPU.linear(p.c(x), p.c(w), p.c(b), p.c(ys[i]), m, k, n, Epilogue.BIAS, null);
                p.dev.linear(p.d(x), p.d(w), p.d(b), p.d(ys[i]), m, k, n, Epilogue.BIAS, null);
                p.check(ys[i], "linear, use " + (i + 1) + " of the unchanged weight");
                org.vit4j.memory.PoolStats now = p.dev.memoryStats();
                assertEquals(first.hits() + first.misses(), now.hits() + now.misses(),
                        "buffers acquired by use " + (i + 1) + " of an unchanged weight: " + first + " -> " + now);
            }
        } finally {
            p.close();
        }
    }

    @ParameterizedTest(name = "{0} B={1} T={2} D={3} H={4}")
    @MethodSource("qkvShapes")
    void linearQkv(Supplier<Backend> device, int batch, int tokens, int dim, int heads) {
        Pair p = new Pair(device.get());
        try {
            int rows = batch * tokens;
            int x = p.input(rows * dim, 1), w = p.input(3 * dim * dim, 1 / Math.sqrt(dim)), b = p.input(3 * dim, 0.5);
            int y = p.output(3 * rows * dim);
            CPU.linearQkv(p.c(x), p.c(w), p.c(b), p.c(y), batch, tokens, dim, heads);
            p.dev.linearQkv(p.d(x), p.d(w), p.d(b), p.d(y), batch, tokens, dim, heads);
            p.check(y, "linearQkv");
            int z = p.output(3 * rows * dim);
            CPU.linearQkv(p.c(x), p.c(w), null, p.c(z), batch, tokens, dim, heads);
            p.dev.linearQkv(p.d(x), p.d(w), null, p.d(z), batch, tokens, dim, heads);
            p.check(z, "linearQkv without bias");
        } finally {
            p.close();
        }
    }

    // ---- attention ----

    static Stream<Arguments> attentionShapes() {
        return cases(DevicesUnderTest.withAttentionVariants(), ATTENTION_SHAPES);
    }

    @ParameterizedTest(name = "{0} B={1} T={2} H={3} hd={4}")
    @MethodSource("attentionShapes")
    void attention(Supplier<Backend> device, int batch, int tokens, int heads, int hd) {
        // Scores of O(1) to O(10): a peaked softmax, where a wrong running max would show.
        checkAttention(device.get(), Numerics.randn(random, 3 * batch * tokens * heads * hd, 1.5), batch, tokens, heads, hd);
    }

    /** attention of {@code qkv} ([3, B, H, T, hd]) on the device against the oracle, the output poisoned with NaN. */
    private void checkAttention(Backend dev, float[] qkv, int batch, int tokens, int heads, int hd) {
        Pair p = new Pair(dev);
        try {
            int in = p.add(qkv);
            int out = p.output(batch * tokens * heads * hd);
            float scale = (float) (1 / Math.sqrt(hd));
            CPU.attention(p.c(in), p.c(out), batch, tokens, heads, hd, scale);
            p.dev.attention(p.d(in), p.d(out), batch, tokens, heads, hd, scale);
            p.check(out, "attention");
        } finally {
            p.close();
        }
    }

    static Stream<Arguments> attentionEdgeShapes() {
        return cases(DevicesUnderTest.withAttentionVariants(), new Object[][] {{1, 197, 3, 64}, {3, 5, 4, 24}, {2, 65, 2, 16}});
    }

    /**
     * Scores falling by 3 a key (q's first element sqrt(hd), key j's -3j, the rest small noise), so that a
     * row spans hundreds: most exponentials underflow to 0, the range the CPU kernels' own exp2 clamps
     * (below 2^-126: 0). Random inputs of that spread would not do: fp32 dot products of magnitude ~1000
     * are off by ~1e-4 there, and softmax turns that into its relative error.
     */
    @ParameterizedTest(name = "{0} B={1} T={2} H={3} hd={4}")
    @MethodSource("attentionEdgeShapes")
    void attentionWithScoresFarApart(Supplier<Backend> device, int batch, int tokens, int heads, int hd) {
        int n = batch * tokens * heads * hd;
        float[] qkv = Numerics.randn(random, 3 * n, 0.3);
        for (int row = 0; row < batch * heads * tokens; row++) { // rows [b, h, t] of q, then of k
            qkv[row * hd] = (float) Math.sqrt(hd);
            qkv[n + row * hd] = -3f * (row % tokens);
        }
        checkAttention(device.get(), qkv, batch, tokens, heads, hd);
    }

    /** A NaN in one key of one (b, h) makes every output of that (b, h) NaN and no other: never a finite guess. */
    @ParameterizedTest(name = "{0} B={1} T={2} H={3} hd={4}")
    @MethodSource("attentionEdgeShapes")
    void attentionCarriesNaN(Supplier<Backend> device, int batch, int tokens, int heads, int hd) {
        Backend dev = device.get();
        int n = batch * tokens * heads * hd;
        float[] qkv = Numerics.randn(random, 3 * n, 1.5);
        int b = batch - 1, h = heads - 1, key = tokens / 2; // qkv [3, B, H, T, hd]: k is plane 1
        qkv[n + ((b * heads + h) * tokens + key) * hd + hd / 2] = Float.NaN;
        float[] got = new float[n];
        try (DeviceBuffer in = dev.upload(qkv); DeviceBuffer out = dev.allocate(n)) {
            dev.attention(in, out, batch, tokens, heads, hd, (float) (1 / Math.sqrt(hd)));
            dev.download(out, got);
        }
        for (int bb = 0; bb < batch; bb++)
            for (int t = 0; t < tokens; t++)
                for (int hh = 0; hh < heads; hh++)
                    for (int e = 0; e < hd; e++) {
                        float v = got[((bb * tokens + t) * heads + hh) * hd + e]; // out [B, T, H * hd]
                        boolean poisoned = bb == b && hh == h;
                        assertTrue(poisoned == Float.isNaN(v), dev.name() + ": output b " + bb + " t " + t + " h " + hh
                                + " e " + e + " is " + v + (poisoned ? ", expected NaN (its head saw a NaN key)" : ", expected finite"));
                    }
    }

    /** The attention shapes plus odd ones for the probabilities (T not a multiple of 32, odd head dims, hd > 128). */
    static final Object[][] ATTENTION_PROBS_SHAPES = {
            {1, 197, 3, 64}, {2, 37, 3, 24}, {1, 1, 1, 32}, {3, 5, 4, 17}, {1, 257, 2, 80}, {2, 65, 3, 16},
            {1, 26, 2, 200},
        };

    static Stream<Arguments> attentionProbsShapes() {
        return cases(ATTENTION_PROBS_SHAPES);
    }

    /** softmax(q k^T scale) written out in float32: against the reference, and every row sums to 1. */
    @ParameterizedTest(name = "{0} B={1} T={2} H={3} hd={4}")
    @MethodSource("attentionProbsShapes")
    void attentionProbs(Supplier<Backend> device, int batch, int tokens, int heads, int hd) {
        Pair p = new Pair(device.get());
        try {
            int n = batch * tokens * heads * hd;
            int qkv = p.input(3 * n, 1.5); // peaked rows, as for attention
            int probs = p.output(batch * heads * tokens * tokens);
            float scale = (float) (1 / Math.sqrt(hd));
            CPU.attentionProbs(p.c(qkv), p.c(probs), batch, tokens, heads, hd, scale);
            p.dev.attentionProbs(p.d(qkv), p.d(probs), batch, tokens, heads, hd, scale);
            p.check(probs, "attentionProbs");
            float[] got = new float[batch * heads * tokens * tokens];
            p.dev.download(p.d(probs), got);
            assertRowsSumToOne(p.dev.name(), got, tokens);
        } finally {
            p.close();
        }
    }

    /** Each row of {@code tokens} probabilities sums to 1 within 1e-6 (summed in double). */
    static void assertRowsSumToOne(String who, float[] probs, int tokens) {
        double worst = 0;
        for (int r = 0; r < probs.length / tokens; r++) {
            double sum = 0;
            for (int s = 0; s < tokens; s++) sum += probs[r * tokens + s];
            worst = Math.max(worst, Math.abs(sum - 1));
        }
        assertTrue(worst <= 1e-6, who + ": a probability row sums to 1 +- " + worst + " (budget 1e-6)");
    }

    // ---- layer norm ----

    static Stream<Arguments> layerNormShapes() {
        return cases(LAYER_NORM_SHAPES);
    }

    @ParameterizedTest(name = "{0} rows={1} dim={2}")
    @MethodSource("layerNormShapes")
    void layerNorm(Supplier<Backend> device, int rows, int dim) {
        Pair p = new Pair(device.get());
        try {
            int x = p.input(rows * dim, 2), g = p.input(dim, 1), b = p.input(dim, 1);
            int y = p.output(rows * dim);
            CPU.layerNorm(p.c(x), p.c(g), p.c(b), p.c(y), rows, dim, 1e-6f);
            p.dev.layerNorm(p.d(x), p.d(g), p.d(b), p.d(y), rows, dim, 1e-6f);
            p.check(y, "layerNorm");
            int r = p.input(rows * dim, 2), sum = p.output(rows * dim), normed = p.output(rows * dim);
            CPU.addLayerNorm(p.c(x), p.c(r), p.c(sum), p.c(normed), p.c(g), p.c(b), rows, dim, 1e-5f);
            p.dev.addLayerNorm(p.d(x), p.d(r), p.d(sum), p.d(normed), p.d(g), p.d(b), rows, dim, 1e-5f);
            p.check(sum, "addLayerNorm sum");
            p.check(normed, "addLayerNorm normed");
        } finally {
            p.close();
        }
    }

    // ---- patch embedding ----

    static Stream<Arguments> patchEmbedShapes() {
        return cases(DevicesUnderTest.withPatchEmbedVariants(), PATCH_EMBED_SHAPES);
    }

    @ParameterizedTest(name = "{0} B={1} C={2} H={3} W={4} P={5} D={6}")
    @MethodSource("patchEmbedShapes")
    void patchEmbed(Supplier<Backend> device, int batch, int c, int height, int width, int patch, int dim) {
        Pair p = new Pair(device.get());
        try {
            PatchEmbedShape s = new PatchEmbedShape(batch, c, height, width, patch, dim);
            int img = p.input((int) s.imageFloats(), 1), w = p.input(dim * s.patchDim(), 1 / Math.sqrt(s.patchDim()));
            int b = p.input(dim, 0.5), cls = p.input(dim, 1), pos = p.input(s.tokens() * dim, 1);
            int out = p.output((int) s.outputFloats());
            CPU.patchEmbed(s, p.c(img), p.c(w), p.c(b), p.c(cls), p.c(pos), p.c(out));
            p.dev.patchEmbed(s, p.d(img), p.d(w), p.d(b), p.d(cls), p.d(pos), p.d(out));
            p.check(out, "patchEmbed");
        } finally {
            p.close();
        }
    }

    // ---- elementwise ----

    static Stream<Arguments> elementwiseShapes() {
        return cases(ELEMENTWISE_SHAPES);
    }

    @ParameterizedTest(name = "{0} n={1}")
    @MethodSource("elementwiseShapes")
    void elementwise(Supplier<Backend> device, int n) {
        Pair p = new Pair(device.get());
        try {
            int a = p.input(n, 3), b = p.input(n, 3), g = p.output(n), s = p.output(n);
            CPU.gelu(p.c(a), p.c(g), n);
            p.dev.gelu(p.d(a), p.d(g), n);
            p.check(g, "gelu");
            CPU.add(p.c(a), p.c(b), p.c(s), n);
            p.dev.add(p.d(a), p.d(b), p.d(s), n);
            p.check(s, "add");
        } finally {
            p.close();
        }
    }

    /** Each GELU value to 1e-5 relative, the negative tail included (where 1 + erf would cancel). */
    @ParameterizedTest(name = "{0}")
    @MethodSource("backendsOnly")
    void geluElementwiseAcrossItsRange(Supplier<Backend> device) {
        int n = 4801;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = -12f + 24f * i / (n - 1); // -12 .. 12 in steps of 0.005
        Backend dev = device.get();
        try (DeviceBuffer in = dev.upload(x); DeviceBuffer out = dev.allocate(n);
                DeviceBuffer fused = dev.allocate(n); DeviceBuffer one = dev.upload(new float[] {1f});
                DeviceBuffer zero = dev.upload(new float[] {0f})) {
            dev.gelu(in, out, n);
            dev.linear(in, one, zero, fused, n, 1, 1, Epilogue.BIAS_GELU, null); // the GEMM epilogue's GELU
            float[] got = new float[n], gotFused = new float[n];
            dev.download(out, got);
            dev.download(fused, gotFused);
            for (int i = 0; i < n; i++) {
                double want = org.vit4j.backend.cpu.Gelu.exact(x[i]);
                if (Math.abs(want) < 1e-30) continue; // below float's normal range
                double tol = 1e-5 * Math.abs(want);
                assertTrue(Math.abs(got[i] - want) <= tol, "gelu(" + x[i] + ") = " + got[i] + ", want " + want);
                assertTrue(Math.abs(gotFused[i] - want) <= tol, "linear+gelu(" + x[i] + ") = " + gotFused[i] + ", want " + want);
            }
        }
    }

    static Stream<Arguments> backendsOnly() {
        return cases(new Object[][] {{}});
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("selectShapes")
    void selectToken(Supplier<Backend> device, int batch, int tokens, int dim, int token) {
        Pair p = new Pair(device.get());
        try {
            int x = p.input(batch * tokens * dim, 1), out = p.output(batch * dim);
            CPU.selectToken(p.c(x), p.c(out), batch, tokens, dim, token);
            p.dev.selectToken(p.d(x), p.d(out), batch, tokens, dim, token);
            p.check(out, "selectToken");
        } finally {
            p.close();
        }
    }

    static Stream<Arguments> selectShapes() {
        return cases(SELECT_SHAPES);
    }
}
