package org.vit4j.backend;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.IntFunction;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.vit4j.ElementType;
import org.vit4j.Numerics;
import org.vit4j.backend.cpu.CpuBackend;

/**
 * Every op of every device backend in bf16 and fp16 against the cpu backend's half-precision path,
 * at the shapes of {@link KernelParityTest}. Inputs are fresh random values rounded to the type
 * (the same stored values on both sides); each output is poisoned with NaN before the run, so an
 * element the kernel fails to write fails the test. Two budgets, both must hold:
 * <ol>
 *   <li><b>Tight, per element</b>: the device's stored value is within 2 units in the last place of
 *       the storage type of the cpu backend's (their 16-bit patterns as sign-magnitude ordinals
 *       differ by at most 2). Cancellation rule: where |want| is tiny against the output tensor's
 *       RMS, a float32 sum (device) and a double sum (cpu) legitimately differ by more ulps of a
 *       tiny value, so an element also passes if |got - want| <= 2 ulp of the type at 1e-2 * RMS
 *       (an absolute slack, the same for every element of the tensor; 1e-2 * RMS since float32 sums of
 *       hundreds of terms reach it, see {@link #CANCELLATION}). Attention takes the slack at
 *       1e-2 * RMS ({@link #ATTENTION_CANCELLATION}): its float32 scores carry an absolute error of
 *       about 1e-6 (score magnitudes up to ~10 times float's epsilon), which moves every output by
 *       about 1e-6 * |v| whatever its size, about 2 fp16 ulps at 1e-3 * RMS. A plain float32
 *       attention written in Java (scores, exp, sums in float) gives the device's values to the bit
 *       on the elements that failed the 1e-3 floor (e.g. -8.857e-5 against the double reference's
 *       -8.744e-5, 19 fp16 ulps, at T = 257, where the output's RMS is 0.6): the kernel is not at
 *       fault, float32 accumulation is, which ElementType prescribes.</li>
 *   <li><b>Loose, per tensor</b>: relative L2 error against the float32 CPU oracle run on the
 *       unrounded inputs at most 1e-2 (bf16) or 2e-3 (fp16). It measures the tensor as a whole, so
 *       it is checked on outputs of at least {@value #LOOSE_MIN_ELEMENTS} elements: in a smaller one
 *       a single cancelling element (a + b with b near -a, its inputs' rounding errors relative to a
 *       near-zero result) decides it, as it did for add at n = 1.</li>
 * </ol>
 * Backends: each one of {@link DevicesUnderTest#all()} runs every type it {@link Backend#supports}
 * (CUDA joins as its kernels gain the types); {@link #openClRunsBothHalfTypes} fails, rather than
 * skips, an OpenCL variant that does not support both.
 */
class HalfKernelParityTest {
    static final int ULPS = 2;
    static final int LOOSE_MIN_ELEMENTS = 32;
    /**
     * Where |want| < this times the tensor's RMS, the absolute slack of the cancellation rule applies.
     * 1e-2 for every op that sums (GEMMs over K up to 768, LayerNorm, attention): a float32 sum of O(1)
     * terms differs from the double one by ~1e-6 absolute, which on a small output of a random draw
     * exceeded 2 fp16 ulps at 1e-3 * RMS in a few percent of runs (linear with residual on cuda-cpu:
     * 1 element of 151,296, 2.3e-6 off; the patch embedding likewise), a flaky test, not a kernel fault.
     */
    static final double CANCELLATION = 1e-2;
    /** The same for attention, whose fp32 score error moves small outputs by ~1e-6 * |v| (see above). */
    static final double ATTENTION_CANCELLATION = 1e-2;
    /**
     * The same for the patch embedding's long sums (K = C * P * P, 768 at P 16): a sequential float32
     * FMA chain (the CUDA kernel's, reproduced bit for bit by plain Java float arithmetic) differs
     * from the double sum by up to ~1.5x the 1e-3 slack on small outputs in ~3% of random draws.
     */
    static final double LONG_SUM_CANCELLATION = 1e-2;
    private static final CpuBackend CPU = new CpuBackend();
    private static final ElementType[] HALF = {ElementType.BF16, ElementType.F16};
    private final long seed = System.nanoTime();
    private final Random random = new Random(seed);

    /** Relative L2 budget against the fp32 oracle on unrounded inputs. */
    static double looseBudget(ElementType t) {
        return t == ElementType.BF16 ? 1e-2 : 2e-3;
    }

    // ---- cases ----

    static Stream<Arguments> cases(Object[][] shapes) {
        return cases(DevicesUnderTest.all(), shapes);
    }

    static Stream<Arguments> cases(List<Named<Supplier<Backend>>> backends, Object[][] shapes) {
        List<Arguments> out = new ArrayList<>();
        for (Named<Supplier<Backend>> b : backends) {
            for (ElementType t : HALF) {
                if (!supports(b, t)) continue; // opencl: asserted by openClRunsBothHalfTypes
                for (Object[] s : shapes) {
                    Object[] args = new Object[s.length + 2];
                    args[0] = b;
                    args[1] = t;
                    System.arraycopy(s, 0, args, 2, s.length);
                    out.add(Arguments.of(args));
                }
            }
        }
        return out.stream();
    }

    /**
     * Whether the backend runs {@code type}; true where it cannot even be opened, so that its cases
     * fail with the reason instead of the whole list of cases failing at discovery.
     */
    static boolean supports(Named<Supplier<Backend>> backend, ElementType type) {
        try {
            return backend.getPayload().get().supports(type);
        } catch (RuntimeException e) {
            return true;
        }
    }

    static Stream<Arguments> openClBackends() {
        return DevicesUnderTest.openCl().stream().map(Arguments::of);
    }

    /** Every OpenCL variant runs both half types: one that did not would otherwise drop out of the cases above. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("openClBackends")
    void openClRunsBothHalfTypes(Supplier<Backend> device) {
        Backend be = device.get();
        for (ElementType t : ElementType.values()) {
            assertTrue(be.supports(t), be.name() + " must support " + t.label());
        }
    }

    // ---- the three sides of a check ----

    /** The op on one side: {@code buf} maps an index from {@link Trio#input}/{@link Trio#output} to that side's buffer. */
    interface Op {
        void run(Backend be, IntFunction<DeviceBuffer> buf);
    }

    /** Inputs made once, uploaded to the cpu backend in half, the device in half, and the cpu in fp32. */
    private final class Trio {
        final Backend dev;
        final ElementType type;
        final List<DeviceBuffer> cpuHalf = new ArrayList<>();
        final List<DeviceBuffer> devHalf = new ArrayList<>();
        final List<DeviceBuffer> cpu32 = new ArrayList<>();

        Trio(Backend dev, ElementType type) {
            this.dev = dev;
            this.type = type;
        }

        /** Random N(0, std) input: rounded to the type on the half sides, as it is on the fp32 side. */
        int input(int n, double std) {
            return add(Numerics.randn(random, n, std));
        }

        /** An output, NaN on every side until written. */
        int output(int n) {
            float[] nan = new float[n];
            Arrays.fill(nan, Float.NaN);
            return add(nan);
        }

        private int add(float[] host) {
            cpuHalf.add(CPU.upload(host, type));
            devHalf.add(dev.upload(host, type));
            cpu32.add(CPU.upload(host));
            return cpuHalf.size() - 1;
        }

        void run(Op op) {
            op.run(CPU, cpuHalf::get);
            op.run(dev, devHalf::get);
            op.run(CPU, cpu32::get);
        }

        void check(int output, String what) {
            check(output, what, CANCELLATION);
        }

        void check(int output, String what, double cancellation) {
            int n = (int) cpuHalf.get(output).length();
            float[] want = new float[n], got = new float[n], oracle = new float[n];
            CPU.download(cpuHalf.get(output), want);
            dev.download(devHalf.get(output), got);
            CPU.download(cpu32.get(output), oracle);
            String where = dev.name() + " " + type.label() + " " + what + " (seed " + seed + ")";
            assertWithinUlps(type, got, want, cancellation, where);
            double err = Numerics.relativeL2(got, oracle);
            assertTrue(n < LOOSE_MIN_ELEMENTS || err <= looseBudget(type), where + ": relative L2 error against the fp32 oracle " + err + " > "
                    + looseBudget(type));
        }

        void close() {
            cpuHalf.forEach(DeviceBuffer::close);
            devHalf.forEach(DeviceBuffer::close);
            cpu32.forEach(DeviceBuffer::close);
        }
    }

    // ---- the tight comparison ----

    /** The 16-bit pattern of {@code v} (a value of {@code t}) as a sign-magnitude ordinal: adjacent values differ by 1. */
    static int ordinal(ElementType t, float v) {
        int bits = t.toBits(v) & 0xffff;
        return (bits & 0x8000) != 0 ? -(bits & 0x7fff) : bits;
    }

    /** The spacing of {@code t}'s values at magnitude {@code x}. */
    static double ulp(ElementType t, double x) {
        int e = Math.getExponent((float) Math.max(Math.abs(x), Float.MIN_NORMAL));
        return t == ElementType.BF16 ? Math.scalb(1.0, Math.max(e, -126) - 7) : Math.scalb(1.0, Math.max(e, -14) - 10);
    }

    /** Each element within {@link #ULPS} ulps, or within the cancellation rule's absolute slack. */
    static void assertWithinUlps(ElementType t, float[] got, float[] want, double cancellation, String where) {
        double sq = 0;
        for (float w : want) sq += (double) w * w;
        double rms = Math.sqrt(sq / want.length);
        double slack = ULPS * ulp(t, cancellation * rms);
        int bad = 0, first = -1, worst = 0;
        for (int i = 0; i < want.length; i++) {
            if (Float.isNaN(want[i])) throw new AssertionError(where + ": the cpu reference left element " + i + " NaN");
            boolean ok;
            if (Float.isNaN(got[i])) {
                ok = false;
            } else {
                int d = Math.abs(ordinal(t, got[i]) - ordinal(t, want[i]));
                ok = d <= ULPS || Math.abs((double) got[i] - want[i]) <= slack;
                if (!ok) worst = Math.max(worst, d);
            }
            if (!ok) {
                if (first < 0) first = i;
                bad++;
            }
        }
        if (bad > 0) {
            throw new AssertionError(where + ": " + bad + " of " + want.length + " elements beyond " + ULPS + " ulp"
                    + " (and the slack " + slack + " at " + cancellation + " RMS); first at " + first + ": got " + got[first]
                    + ", want " + want[first] + (Float.isNaN(got[first]) ? " (NaN: not written)" : "")
                    + "; worst " + worst + " ulp");
        }
    }

    // ---- linear ----

    static Stream<Arguments> linearShapes() {
        return cases(DevicesUnderTest.withGemmVariants(), KernelParityTest.LINEAR_SHAPES);
    }

    @ParameterizedTest(name = "{0} {1} M={2} K={3} N={4}")
    @MethodSource("linearShapes")
    void linear(Supplier<Backend> device, ElementType type, int m, int k, int n) {
        Trio p = new Trio(device.get(), type);
        try {
            int x = p.input(m * k, 1), w = p.input(n * k, 1 / Math.sqrt(k)), b = p.input(n, 0.5);
            int r = p.input(m * n, 1);
            for (Epilogue e : Epilogue.values()) {
                int y = p.output(m * n);
                boolean residual = e == Epilogue.BIAS_RESIDUAL;
                p.run((be, buf) -> be.linear(buf.apply(x), buf.apply(w), e == Epilogue.NONE ? null : buf.apply(b),
                        buf.apply(y), m, k, n, e, residual ? buf.apply(r) : null));
                p.check(y, "linear " + e);
            }
            // The residual updated in place, as the encoder does.
            p.run((be, buf) -> be.linear(buf.apply(x), buf.apply(w), buf.apply(b), buf.apply(r), m, k, n,
                    Epilogue.BIAS_RESIDUAL, buf.apply(r)));
            p.check(r, "linear in-place residual");
        } finally {
            p.close();
        }
    }

    static Stream<Arguments> qkvShapes() {
        return cases(DevicesUnderTest.withGemmVariants(), KernelParityTest.QKV_SHAPES);
    }

    @ParameterizedTest(name = "{0} {1} B={2} T={3} D={4} H={5}")
    @MethodSource("qkvShapes")
    void linearQkv(Supplier<Backend> device, ElementType type, int batch, int tokens, int dim, int heads) {
        Trio p = new Trio(device.get(), type);
        try {
            int rows = batch * tokens;
            int x = p.input(rows * dim, 1), w = p.input(3 * dim * dim, 1 / Math.sqrt(dim)), b = p.input(3 * dim, 0.5);
            int y = p.output(3 * rows * dim);
            p.run((be, buf) -> be.linearQkv(buf.apply(x), buf.apply(w), buf.apply(b), buf.apply(y), batch, tokens, dim,
                    heads));
            p.check(y, "linearQkv");
            int z = p.output(3 * rows * dim);
            p.run((be, buf) -> be.linearQkv(buf.apply(x), buf.apply(w), null, buf.apply(z), batch, tokens, dim, heads));
            p.check(z, "linearQkv without bias");
        } finally {
            p.close();
        }
    }

    // ---- attention ----

    static Stream<Arguments> attentionShapes() {
        return cases(DevicesUnderTest.withAttentionVariants(), KernelParityTest.ATTENTION_SHAPES);
    }

    @ParameterizedTest(name = "{0} {1} B={2} T={3} H={4} hd={5}")
    @MethodSource("attentionShapes")
    void attention(Supplier<Backend> device, ElementType type, int batch, int tokens, int heads, int hd) {
        Trio p = new Trio(device.get(), type);
        try {
            int n = batch * tokens * heads * hd;
            // Scores of O(1) to O(10): a peaked softmax, where a wrong running max would show.
            int qkv = p.input(3 * n, 1.5);
            int out = p.output(n);
            float scale = (float) (1 / Math.sqrt(hd));
            p.run((be, buf) -> be.attention(buf.apply(qkv), buf.apply(out), batch, tokens, heads, hd, scale));
            p.check(out, "attention", ATTENTION_CANCELLATION);
        } finally {
            p.close();
        }
    }

    static Stream<Arguments> attentionProbsShapes() {
        return cases(KernelParityTest.ATTENTION_PROBS_SHAPES);
    }

    /**
     * The probabilities from a bf16/fp16 qkv are float32 (not rounded to the type): held to the cpu
     * backend's, computed in double from the same stored values, at the fp32 budget (1e-5 relative L2),
     * every row summing to 1 within 1e-6; and the buffer's type is asked for, not the qkv's.
     */
    @ParameterizedTest(name = "{0} {1} B={2} T={3} H={4} hd={5}")
    @MethodSource("attentionProbsShapes")
    void attentionProbs(Supplier<Backend> device, ElementType type, int batch, int tokens, int heads, int hd) {
        Backend dev = device.get();
        int n = 3 * batch * tokens * heads * hd, np = batch * heads * tokens * tokens;
        float[] host = Numerics.randn(random, n, 1.5);
        for (int i = 0; i < n; i++) host[i] = type.round(host[i]);
        float[] nan = new float[np];
        Arrays.fill(nan, Float.NaN);
        float scale = (float) (1 / Math.sqrt(hd));
        try (DeviceBuffer cq = CPU.upload(host, type); DeviceBuffer cp = CPU.upload(nan, ElementType.F32);
                DeviceBuffer dq = dev.upload(host, type); DeviceBuffer dp = dev.upload(nan, ElementType.F32)) {
            CPU.attentionProbs(cq, cp, batch, tokens, heads, hd, scale);
            dev.attentionProbs(dq, dp, batch, tokens, heads, hd, scale);
            float[] want = new float[np], got = new float[np];
            CPU.download(cp, want);
            dev.download(dp, got);
            double err = Numerics.relativeL2(got, want);
            assertTrue(err <= KernelParityTest.FP32, dev.name() + " " + type.label() + " attentionProbs: relative L2 "
                    + err + " > " + KernelParityTest.FP32 + " (seed " + seed + ")");
            KernelParityTest.assertRowsSumToOne(dev.name() + " " + type.label(), got, tokens);
            try (DeviceBuffer wrong = dev.upload(nan, type)) {
                org.junit.jupiter.api.Assertions.assertThrows(org.vit4j.Vit4jException.class,
                        () -> dev.attentionProbs(dq, wrong, batch, tokens, heads, hd, scale), "probs must be fp32");
            }
        }
    }

    // ---- layer norm ----

    static Stream<Arguments> layerNormShapes() {
        return cases(KernelParityTest.LAYER_NORM_SHAPES);
    }

    @ParameterizedTest(name = "{0} {1} rows={2} dim={3}")
    @MethodSource("layerNormShapes")
    void layerNorm(Supplier<Backend> device, ElementType type, int rows, int dim) {
        Trio p = new Trio(device.get(), type);
        try {
            int x = p.input(rows * dim, 2), g = p.input(dim, 1), b = p.input(dim, 1);
            int y = p.output(rows * dim);
            p.run((be, buf) -> be.layerNorm(buf.apply(x), buf.apply(g), buf.apply(b), buf.apply(y), rows, dim, 1e-6f));
            p.check(y, "layerNorm");
            int r = p.input(rows * dim, 2), sum = p.output(rows * dim), normed = p.output(rows * dim);
            p.run((be, buf) -> be.addLayerNorm(buf.apply(x), buf.apply(r), buf.apply(sum), buf.apply(normed),
                    buf.apply(g), buf.apply(b), rows, dim, 1e-5f));
            p.check(sum, "addLayerNorm sum");
            p.check(normed, "addLayerNorm normed");
        } finally {
            p.close();
        }
    }

    // ---- patch embedding ----

    static Stream<Arguments> patchEmbedShapes() {
        return cases(DevicesUnderTest.withPatchEmbedVariants(), KernelParityTest.PATCH_EMBED_SHAPES);
    }

    @ParameterizedTest(name = "{0} {1} B={2} C={3} H={4} W={5} P={6} D={7}")
    @MethodSource("patchEmbedShapes")
    void patchEmbed(Supplier<Backend> device, ElementType type, int batch, int c, int height, int width, int patch,
            int dim) {
        Trio p = new Trio(device.get(), type);
        try {
            PatchEmbedShape s = new PatchEmbedShape(batch, c, height, width, patch, dim);
            int img = p.input((int) s.imageFloats(), 1), w = p.input(dim * s.patchDim(), 1 / Math.sqrt(s.patchDim()));
            int b = p.input(dim, 0.5), cls = p.input(dim, 1), pos = p.input(s.tokens() * dim, 1);
            int out = p.output((int) s.outputFloats());
            p.run((be, buf) -> be.patchEmbed(s, buf.apply(img), buf.apply(w), buf.apply(b), buf.apply(cls),
                    buf.apply(pos), buf.apply(out)));
            p.check(out, "patchEmbed", LONG_SUM_CANCELLATION);
        } finally {
            p.close();
        }
    }

    // ---- elementwise ----

    static Stream<Arguments> elementwiseShapes() {
        return cases(KernelParityTest.ELEMENTWISE_SHAPES);
    }

    @ParameterizedTest(name = "{0} {1} n={2}")
    @MethodSource("elementwiseShapes")
    void elementwise(Supplier<Backend> device, ElementType type, int n) {
        Trio p = new Trio(device.get(), type);
        try {
            int a = p.input(n, 3), b = p.input(n, 3), g = p.output(n), s = p.output(n);
            p.run((be, buf) -> be.gelu(buf.apply(a), buf.apply(g), n));
            p.check(g, "gelu");
            p.run((be, buf) -> be.add(buf.apply(a), buf.apply(b), buf.apply(s), n));
            p.check(s, "add");
            // In place, as the encoder runs GELU.
            p.run((be, buf) -> be.gelu(buf.apply(a), buf.apply(a), n));
            p.check(a, "gelu in place");
        } finally {
            p.close();
        }
    }

    static Stream<Arguments> selectShapes() {
        return cases(KernelParityTest.SELECT_SHAPES);
    }

    @ParameterizedTest(name = "{0} {1} B={2} T={3} D={4} token={5}")
    @MethodSource("selectShapes")
    void selectToken(Supplier<Backend> device, ElementType type, int batch, int tokens, int dim, int token) {
        Trio p = new Trio(device.get(), type);
        try {
            int x = p.input(batch * tokens * dim, 1), out = p.output(batch * dim);
            p.run((be, buf) -> be.selectToken(buf.apply(x), buf.apply(out), batch, tokens, dim, token));
            p.check(out, "selectToken");
        } finally {
            p.close();
        }
    }
}
