package org.vit4j.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.vit4j.ElementType;
import org.vit4j.Vit4jException;
import org.vit4j.backend.Epilogue;
import org.vit4j.backend.PatchEmbedShape;
import org.vit4j.backend.cuda.CudaKernels.Attention;
import org.vit4j.backend.cuda.CudaKernels.Elementwise;
import org.vit4j.backend.cuda.CudaKernels.Gemm;
import org.vit4j.backend.cuda.CudaKernels.Launch;
import org.vit4j.backend.cuda.CudaKernels.LayerNorm;
import org.vit4j.backend.cuda.CudaKernels.TensorCoreGemm;

/**
 * The launch plans' arithmetic, with no GPU: grids cover every output, blocks and shared memory are
 * within the limits every target architecture has without opt-in, and each plan names a kernel that
 * {@code kernels/cuda/<module>.cu} declares, with an argument of the right kind (pointer, int, float)
 * for each of that kernel's parameters.
 * The tile constants are compared with the .cu files so the two sides cannot drift apart.
 */
class CudaKernelsTest {
    /** Any device address (plans only pass addresses on); 0 would mean an absent buffer. */
    private static final long P = 0x7f00_0000_0100L;
    private static final int SMEM_LIMIT = 48 * 1024;
    private static final Path CUDA_DIR = Path.of(System.getProperty("user.dir"), "kernels", "cuda");

    private static final int[][] GEMM_SHAPES = {
        {1, 1, 1}, {197, 384, 384}, {77, 129, 67}, {8 * 197, 1152, 384}, {8 * 197, 1536, 384}, {64, 64, 64},
        {65, 65, 65}, {5, 3, 1537}, {64 * 197, 768, 3072}
    };

    private static void checkLimits(Launch l) {
        assertTrue(l.block()[0] * l.block()[1] * l.block()[2] <= 1024, l.toString());
        assertTrue(l.grid()[1] <= 65535 && l.grid()[2] <= 65535, l.toString());
        for (int g : l.grid()) assertTrue(g >= 1, l.toString());
        assertTrue(l.sharedBytes() + l.staticSharedBytes() <= SMEM_LIMIT, l.toString());
        assertNotNull(l.args());
        assertTrue(CudaKernels.KERNELS.get(l.module()).contains(l.kernelName()), l.toString());
    }

    @Test
    void linearGridCoversOutput() {
        for (int[] s : GEMM_SHAPES) {
            int m = s[0], n = s[1], k = s[2];
            for (Epilogue e : Epilogue.values()) {
                Launch l = CudaKernels.linear(P, P, P, P, m, k, n, e, P);
                checkLimits(l);
                assertEquals(Gemm.THREADS, l.block()[0]);
                assertTrue((long) l.grid()[0] * Gemm.BN >= n && (long) (l.grid()[0] - 1) * Gemm.BN < n);
                assertTrue((long) l.grid()[1] * Gemm.BM >= m && (long) (l.grid()[1] - 1) * Gemm.BM < m);
                assertEquals(8, l.argCount());
            }
            Launch v1 = CudaKernels.linearV1(P, P, 0, P, m, k, n, Epilogue.NONE, 0);
            checkLimits(v1);
            assertTrue((long) v1.grid()[0] * v1.block()[0] >= n && (long) v1.grid()[1] * v1.block()[1] >= m);
        }
    }

    @Test
    void linearPicksKernelByEpilogue() {
        assertEquals("linear_v2_none", CudaKernels.linear(P, P, 0, P, 4, 4, 4, Epilogue.NONE, 0).kernelName());
        // as in the CPU reference, a bias given with NONE is added
        assertEquals("linear_v2_bias", CudaKernels.linear(P, P, P, P, 4, 4, 4, Epilogue.NONE, 0).kernelName());
        assertEquals("linear_v2_bias", CudaKernels.linear(P, P, P, P, 4, 4, 4, Epilogue.BIAS, 0).kernelName());
        assertEquals("linear_v2_bias_gelu",
                CudaKernels.linear(P, P, P, P, 4, 4, 4, Epilogue.BIAS_GELU, 0).kernelName());
        assertEquals("linear_v2_bias_residual",
                CudaKernels.linear(P, P, P, P, 4, 4, 4, Epilogue.BIAS_RESIDUAL, P).kernelName());
        assertThrows(Vit4jException.class, () -> CudaKernels.linear(P, P, 0, P, 4, 4, 4, Epilogue.BIAS, 0));
        assertThrows(Vit4jException.class,
                () -> CudaKernels.linear(P, P, P, P, 4, 4, 4, Epilogue.BIAS_RESIDUAL, 0));
        assertThrows(Vit4jException.class, () -> CudaKernels.linear(P, P, P, P, 0, 4, 4, Epilogue.BIAS, 0));
    }

    @Test
    void qkvGridCoversOutput() {
        int[][] shapes = {{1, 1, 48, 3}, {2, 197, 384, 6}, {8, 197, 768, 12}, {3, 17, 80, 1}};
        for (int[] s : shapes) {
            Launch l = CudaKernels.linearQkv(P, P, 0, P, s[0], s[1], s[2], s[3]);
            checkLimits(l);
            assertEquals("linear_v2_qkv", l.kernelName());
            assertTrue((long) l.grid()[0] * Gemm.BN >= 3L * s[2]);
            assertTrue((long) l.grid()[1] * Gemm.BM >= (long) s[0] * s[1]);
            assertEquals(8, l.argCount());
        }
        assertThrows(Vit4jException.class, () -> CudaKernels.linearQkv(P, P, P, P, 1, 1, 10, 3));
    }

    @Test
    void patchEmbedGridCoversPatches() {
        PatchEmbedShape[] shapes = {
            new PatchEmbedShape(1, 1, 4, 2, 3), new PatchEmbedShape(8, 3, 224, 16, 384),
            new PatchEmbedShape(3, 3, 15, 5, 70), new PatchEmbedShape(64, 3, 224, 16, 768),
            new PatchEmbedShape(2, 3, 15, 35, 5, 70), new PatchEmbedShape(3, 3, 48, 224, 16, 384)
        };
        for (PatchEmbedShape s : shapes) {
            Launch l = CudaKernels.patchEmbed(s, P, P, P, P, P, P);
            checkLimits(l);
            long patches = (long) s.batch() * s.patches();
            assertTrue((long) l.grid()[0] * Gemm.BN >= s.dim());
            assertTrue((long) l.grid()[1] * Gemm.BM >= patches && (long) (l.grid()[1] - 1) * Gemm.BM < patches);
            assertEquals(12, l.argCount());
            Launch v1 = CudaKernels.patchEmbedV1(s, P, P, P, P, P, P);
            checkLimits(v1);
            assertTrue((long) v1.grid()[1] * 16 >= (long) s.batch() * s.tokens());
        }
    }

    @Test
    void layerNormOneWarpPerRow() {
        for (int rows : new int[] {1, 3, 4, 5, 197, 8 * 197, 64 * 197}) {
            for (int dim : new int[] {1, 7, 384, 1000, 4096}) {
                Launch l = CudaKernels.layerNorm(P, P, P, P, rows, dim, 1e-6f);
                checkLimits(l);
                assertEquals(LayerNorm.THREADS, l.block()[0]);
                assertTrue((long) l.grid()[0] * LayerNorm.WARPS >= rows);
                assertTrue((long) (l.grid()[0] - 1) * LayerNorm.WARPS < rows);
                assertEquals(7, l.argCount());
                Launch f = CudaKernels.addLayerNorm(P, P, P, P, P, P, rows, dim, 1e-6f);
                checkLimits(f);
                assertEquals(9, f.argCount());
                assertTrue((long) f.grid()[0] * LayerNorm.WARPS >= rows);
            }
        }
    }

    @Test
    void attentionPicksKernelAndCoversQueries() {
        for (int hd : new int[] {1, 16, 17, 32, 48, 64, 80, 100, 128}) {
            for (int tokens : new int[] {1, 5, 31, 32, 33, 197, 257, 577}) {
                Launch l = CudaKernels.attention(P, P, 8, tokens, 6, hd, 0.125f);
                checkLimits(l);
                boolean templated = Attention.TEMPLATED.contains(hd);
                assertEquals(templated ? "attention_v2_hd" + hd : "attention_v2_generic", l.kernelName());
                assertEquals(templated ? 6 : 7, l.argCount());
                assertEquals(Attention.THREADS, l.block()[0]);
                assertTrue((long) l.grid()[0] * Attention.BQ >= tokens);
                assertTrue((long) (l.grid()[0] - 1) * Attention.BQ < tokens);
                assertEquals(8 * 6, l.grid()[1]);
            }
        }
        assertThrows(Vit4jException.class, () -> CudaKernels.attention(P, P, 1, 1, 1, 129, 1f));
    }

    @Test
    void attentionProbsCoversEveryRow() {
        for (int hd : new int[] {1, 17, 64, 200}) {
            for (int tokens : new int[] {1, 5, 33, 197, 577}) {
                for (int batch : new int[] {1, 3, 64}) {
                    Launch l = CudaKernels.attentionProbs(ElementType.F32, P, P, batch, tokens, 6, hd, 0.125f);
                    checkLimits(l);
                    assertEquals("attention_probs", l.kernelName());
                    assertEquals(7, l.argCount());
                    assertEquals(Attention.PROBS_THREADS, l.block()[0]);
                    assertEquals(32 * Attention.PROBS_WARPS, Attention.PROBS_THREADS);
                    long rows = (long) batch * 6 * tokens;
                    assertTrue((long) l.grid()[0] * Attention.PROBS_WARPS >= rows);
                    assertTrue((long) (l.grid()[0] - 1) * Attention.PROBS_WARPS < rows);
                }
            }
        }
        assertThrows(Vit4jException.class, () -> CudaKernels.attentionProbs(ElementType.F32, P, P, 1, 0, 1, 8, 1f));
    }

    @Test
    void elementwiseCoversN() {
        for (long n : new long[] {1, 3, 4, 5, 1023, 1024, 1025, 8L * 197 * 1536}) {
            Launch g = CudaKernels.gelu(P, P, n);
            checkLimits(g);
            assertTrue((long) g.grid()[0] * Elementwise.THREADS * Elementwise.PER_THREAD >= n);
            assertEquals(3, g.argCount());
            Launch a = CudaKernels.add(P, P, P, n);
            checkLimits(a);
            assertEquals(4, a.argCount());
        }
        Launch s = CudaKernels.selectToken(P, P, 3, 197, 385, 0);
        checkLimits(s);
        assertTrue((long) s.grid()[0] * Elementwise.THREADS * Elementwise.PER_THREAD >= 3L * 385);
        assertEquals(6, s.argCount());
        assertThrows(Vit4jException.class, () -> CudaKernels.selectToken(P, P, 1, 5, 4, 5));
        assertThrows(Vit4jException.class, () -> CudaKernels.gelu(P, P, 1L << 32));
    }

    /** The values reach the kernel in parameter order, an absent buffer as the null pointer, a float by its bits. */
    @Test
    void argumentsCarryTheirValuesInParameterOrder() {
        Launch l = CudaKernels.linear(0x100, 0x200, 0, 0x300, 5, 6, 7, Epilogue.NONE, 0);
        assertEquals(List.of(KernelArg.ptr(0x100), KernelArg.ptr(0x200), KernelArg.ptr(0), KernelArg.ptr(0),
                KernelArg.ptr(0x300), KernelArg.i32(5), KernelArg.i32(7), KernelArg.i32(6)), l.args());
        assertEquals("pppppiii", l.kinds());
        Launch ln = CudaKernels.layerNorm(0x10, 0x20, 0x30, 0x40, 3, 8, 1e-6f);
        assertEquals("ppppiif", ln.kinds());
        assertEquals(Float.floatToRawIntBits(1e-6f), ln.args().get(6).bits());
        assertEquals(-3L, KernelArg.i32(-3).bits(), "an int's bits are sign-extended");
        List<KernelArg> args = new ArrayList<>(List.of(KernelArg.i32(1)));
        Launch copy = new Launch("elementwise", "gelu", new int[] {1, 1, 1}, new int[] {1, 1, 1}, 0, args, 0);
        args.add(KernelArg.i32(2));
        assertEquals(1, copy.argCount(), "a plan keeps its own copy of the argument list");
    }

    // ---- the .cu sources: kernel names, parameter counts, tile constants ----

    private static String source(String module) throws IOException {
        String text = Files.readString(CUDA_DIR.resolve(module + ".cu"));
        if (Files.exists(CUDA_DIR.resolve("common.cuh"))) text = Files.readString(CUDA_DIR.resolve("common.cuh")) + text;
        return text.replace("\\\n", " ");
    }

    /** The storage types of {@code VIT4J_FOR_EACH_DTYPE(X)} in common.cuh: C++ type -> kernel name suffix, in order. */
    private static Map<String, String> dtypeSuffixes() throws IOException {
        return typeList("VIT4J_FOR_EACH_DTYPE");
    }

    /** The same for {@code VIT4J_FOR_EACH_HALF_DTYPE(X)}: the types of the kernels named name##H. */
    private static Map<String, String> halfSuffixes() throws IOException {
        return typeList("VIT4J_FOR_EACH_HALF_DTYPE");
    }

    private static Map<String, String> typeList(String macro) throws IOException {
        String common = Files.readString(CUDA_DIR.resolve("common.cuh"));
        Matcher def = Pattern.compile("(?m)^#define\\s+" + macro + "\\(X\\)(.*)$").matcher(common);
        assertTrue(def.find(), "common.cuh defines no " + macro + "(X)");
        Matcher x = Pattern.compile("X\\(\\s*(\\w+)\\s*,\\s*(\\w*)\\s*\\)").matcher(def.group(1));
        Map<String, String> out = new java.util.LinkedHashMap<>();
        while (x.find()) out.put(x.group(1), x.group(2));
        return out;
    }

    /**
     * Kernel name -> parameter kinds ('p' pointer, 'i' int, 'f' float). Macros are expanded once: object-like ones
     * and function-like ones (a parameter list such as LINEAR_PARAMS(T)) outside the macros that define kernels. A
     * kernel named name##S (inside a macro instantiated by VIT4J_FOR_EACH_DTYPE) is one kernel per suffix.
     */
    private static Map<String, String> kernels(String module) throws IOException {
        String text = source(module);
        Matcher def = Pattern.compile("(?m)^#define\\s+(\\w+)(\\(([^)]*)\\))?[ \\t]+(.*)$").matcher(text);
        record Macro(List<String> params, String body) {}
        Map<String, Macro> macros = new HashMap<>();
        while (def.find()) {
            List<String> params = def.group(2) == null ? null
                    : List.of(def.group(3).split("\\s*,\\s*")).stream().map(String::strip).toList();
            macros.put(def.group(1), new Macro(params, def.group(4)));
        }
        for (Map.Entry<String, Macro> e : macros.entrySet()) {
            Macro m = e.getValue();
            if (m.params() == null) {
                text = text.replaceAll("\\((\\s*)" + e.getKey() + "(\\s*)\\)", "(" + Matcher.quoteReplacement(m.body()) + ")");
            } else if (!m.body().contains("extern") && !e.getKey().startsWith("VIT4J_FOR_EACH_")) {
                Matcher use = Pattern.compile("\\b" + e.getKey() + "\\(([^()]*)\\)").matcher(text);
                StringBuilder sb = new StringBuilder();
                while (use.find()) {
                    String[] actual = use.group(1).split(",", -1);
                    String body = m.body();
                    for (int i = 0; i < m.params().size() && i < actual.length; i++) {
                        body = body.replaceAll("\\b" + m.params().get(i) + "\\b", Matcher.quoteReplacement(actual[i].strip()));
                    }
                    use.appendReplacement(sb, Matcher.quoteReplacement(body));
                }
                use.appendTail(sb);
                text = sb.toString();
            }
        }
        Matcher k = Pattern.compile(
                "extern\\s+\"C\"\\s+__global__\\s+void\\s+(?:__launch_bounds__\\([^)]*\\)\\s+)?(\\w+?)(##[SH])?\\s*\\(([^)]*)\\)")
                .matcher(text);
        Map<String, String> out = new HashMap<>();
        while (k.find()) {
            StringBuilder kinds = new StringBuilder();
            if (!k.group(3).isBlank()) {
                for (String param : k.group(3).split(",")) {
                    if (param.matches("\\s*const\\s+__grid_constant__\\s+tma::TensorMap\\s+\\w+\\s*")) kinds.append('m');
                    else if (param.contains("*")) kinds.append('p');
                    else if (param.matches("\\s*(const\\s+)?float\\s+\\w+\\s*")) kinds.append('f');
                    else if (param.matches("\\s*(const\\s+)?int\\s+\\w+\\s*")) kinds.append('i');
                    else throw new AssertionError("parameter '" + param.strip() + "' of " + k.group(1) + " is not a pointer, int or float");
                }
            }
            if (k.group(2) == null) {
                out.put(k.group(1), kinds.toString());
            } else {
                Map<String, String> types = k.group(2).equals("##H") ? halfSuffixes() : dtypeSuffixes();
                for (String suffix : types.values()) out.put(k.group(1) + suffix, kinds.toString());
            }
        }
        return out;
    }

    private static int constant(String module, String name) throws IOException {
        Matcher m = Pattern.compile("constexpr\\s+int\\s+" + name + "\\s*=\\s*(\\d+)\\s*;").matcher(source(module));
        assertTrue(m.find(), name + " not found in " + module);
        return Integer.parseInt(m.group(1));
    }

    /** The suffixes Java names kernels with are common.cuh's, type for type. */
    @Test
    void suffixesAreTheKernelSourcesOnes() throws IOException {
        if (!Files.isDirectory(CUDA_DIR)) return;
        Map<String, ElementType> cxx = Map.of("float", ElementType.F32, "__nv_bfloat16", ElementType.BF16,
                "__half", ElementType.F16);
        Map<String, String> declared = dtypeSuffixes();
        assertEquals(ElementType.values().length, declared.size(), declared.toString());
        for (Map.Entry<String, String> e : declared.entrySet()) {
            assertTrue(cxx.containsKey(e.getKey()), "unknown storage type " + e.getKey());
            assertEquals(e.getValue(), CudaKernels.suffix(cxx.get(e.getKey())), e.getKey());
        }
    }

    /** Every plan of every storage type. */
    private static List<Launch> everyPlan() {
        List<Launch> plans = new ArrayList<>();
        PatchEmbedShape s = new PatchEmbedShape(1, 3, 32, 16, 8);
        for (ElementType t : ElementType.values()) {
            plans.add(CudaKernels.linearV1(t, P, P, P, P, 4, 4, 4, Epilogue.BIAS, 0));
            for (Epilogue e : Epilogue.values()) plans.add(CudaKernels.linear(t, P, P, P, P, 4, 4, 4, e, P));
            plans.add(CudaKernels.linear(t, P, P, 0, P, 4, 4, 4, Epilogue.NONE, 0));
            plans.add(CudaKernels.linearQkvV2(t, P, P, P, P, 1, 4, 8, 2));
            plans.add(CudaKernels.linearV2(t, P, P, P, P, 4, 16, 4, Epilogue.BIAS_GELU, 0));
            plans.add(CudaKernels.patchEmbedV2(t, s, P, P, P, P, P, P));
            plans.add(CudaKernels.patchEmbedV1(t, s, P, P, P, P, P, P));
            plans.add(CudaKernels.layerNorm(t, P, P, P, P, 2, 8, 1e-6f));
            plans.add(CudaKernels.layerNormV1(t, P, P, P, P, 2, 8, 1e-6f));
            plans.add(CudaKernels.addLayerNorm(t, P, P, P, P, P, P, 2, 8, 1e-6f));
            for (int hd : new int[] {32, 64, 80, 128, 20}) plans.add(CudaKernels.attentionSimt(t, P, P, 1, 3, 2, hd, 1f));
            plans.add(CudaKernels.attentionProbs(t, P, P, 1, 3, 2, 20, 1f));
            plans.add(CudaKernels.gelu(t, P, P, 5));
            plans.add(CudaKernels.add(t, P, P, P, 5));
            plans.add(CudaKernels.selectToken(t, P, P, 1, 2, 3, 0));
        }
        return plans;
    }

    /** A plan in a storage type is the fp32 plan with the type's kernel: same grid, block, arguments. */
    @Test
    void typedPlansDifferOnlyInTheKernelName() {
        List<Launch> all = everyPlan();
        int perType = all.size() / ElementType.values().length;
        for (int i = 0; i < perType; i++) {
            Launch f32 = all.get(i);
            for (int t = 1; t < ElementType.values().length; t++) {
                ElementType type = ElementType.values()[t];
                Launch l = all.get(t * perType + i);
                assertEquals(f32.kernelName() + CudaKernels.suffix(type), l.kernelName());
                assertEquals(f32.module(), l.module());
                assertTrue(Arrays.equals(f32.grid(), l.grid()) && Arrays.equals(f32.block(), l.block()), l.toString());
                assertEquals(f32.args(), l.args());
                assertEquals(f32.staticSharedBytes(), l.staticSharedBytes());
                checkLimits(l);
            }
        }
        assertEquals("linear_v2_bias_gelu_bf16",
                CudaKernels.linear(ElementType.BF16, P, P, P, P, 4, 4, 4, Epilogue.BIAS_GELU, 0).kernelName());
        assertEquals("attention_v2_generic_f16", CudaKernels.attention(ElementType.F16, P, P, 1, 3, 2, 20, 1f).kernelName());
        assertEquals("linear_v2_none", CudaKernels.linear(P, P, 0, P, 4, 4, 4, Epilogue.NONE, 0).kernelName(),
                "the untyped plans are fp32");
        assertThrows(Vit4jException.class, () -> CudaKernels.gelu(null, P, P, 5));
        // the tensor-core kernels exist in bf16 and fp16 only; every other kernel in each type (the cuBLAS
        // epilogues as bias_rows / qkv_scatter in fp32 and their *_acc forms in bf16 and fp16)
        for (Map.Entry<String, List<String>> e : CudaKernels.KERNELS.entrySet()) {
            List<String> typed = e.getValue().stream().filter(n -> !tensorCore(n)).toList();
            long half = typed.stream().filter(n -> n.endsWith("_bf16") || n.endsWith("_f16")).count();
            assertEquals(2 * typed.size() / 3, half, e.getKey());
            long tc = e.getValue().size() - typed.size();
            int expected = switch (e.getKey()) {
                case "linear" -> 70;   // linear_v3_, linear_v4_, linear_v4_tma_ [small_]{none,bias,bias_gelu,bias_residual,qkv} x {bf16, f16}, linear_v4_tma_wide_*
                case "attention" -> 4; // attention_v3_hd{64,80} x {bf16, f16}
                case "patch_embed" -> 4; // patch_embed_v3[_small] x {bf16, f16}
                default -> 0;
            };
            assertEquals(expected, tc, e.getKey() + ": tensor-core kernels");
            assertTrue(e.getValue().stream().filter(CudaKernelsTest::tensorCore)
                    .allMatch(n -> n.endsWith("_bf16") || n.endsWith("_f16")), e.getKey());
        }
    }

    /** The Hopper GEMM with TMA loads (linear_v4_tma_*): each epilogue and the QKV projection, bf16 and fp16, maps of zeros. */
    private static List<Launch> tmaPlans() {
        CudaKernels.TensorMaps zeros = spec -> new KernelArg.TensorMap(new byte[KernelArg.TensorMap.BYTES]);
        List<Launch> plans = new ArrayList<>();
        for (ElementType t : new ElementType[] {ElementType.BF16, ElementType.F16}) {
            for (Epilogue e : Epilogue.values()) {
                plans.add(CudaKernels.linear(90, zeros, t, P, P, e == Epilogue.NONE ? 0 : P, P, 197, 64, 70, e, P));
            }
            plans.add(CudaKernels.linear(90, zeros, t, P, P, P, P, 197, 64, 70, Epilogue.NONE, 0));
            plans.add(CudaKernels.linearQkv(90, zeros, t, P, P, P, P, 2, 197, 64, 2));
        }
        return plans;
    }

    /**
     * Where the driver has tensor maps, the Hopper plans are version 4's with TMA loads: the linear_v4_tma_
     * kernel, x and weight replaced by their maps (row-major [rows, K] and [N, K], boxes of BK x BM and BK x
     * BN, 128-byte swizzle, zero fill), every other argument, grid and block as linear_v4's, and the shared
     * memory of the slabs and barriers; without maps, below 9.0 or where version 4 does not apply, the plan
     * is what it was.
     */
    @Test
    void hopperLinearUsesTmaLoadsWhereTheDriverHasTensorMaps() {
        List<TensorMapSpec> asked = new ArrayList<>();
        CudaKernels.TensorMaps maps = spec -> {
            asked.add(spec);
            return new KernelArg.TensorMap(new byte[KernelArg.TensorMap.BYTES]);
        };
        for (ElementType t : new ElementType[] {ElementType.BF16, ElementType.F16}) {
            asked.clear();
            Launch v4 = CudaKernels.linear(90, t, 0x1000, 0x2000, 0x3000, 0x4000, 197, 72, 70, Epilogue.BIAS_GELU, 0);
            Launch l = CudaKernels.linear(90, maps, t, 0x1000, 0x2000, 0x3000, 0x4000, 197, 72, 70, Epilogue.BIAS_GELU, 0);
            assertEquals(v4.kernelName().replace("linear_v4_", "linear_v4_tma_"), l.kernelName());
            assertEquals("mmpppiii", l.kinds());
            assertEquals(v4.args().subList(2, 8), l.args().subList(2, 8));
            assertArrayEquals(v4.grid(), l.grid());
            assertArrayEquals(v4.block(), l.block());
            assertEquals(CudaKernels.HopperGemm.TMA_SHARED_BYTES, l.sharedBytes());
            assertTrue(l.sharedBytes() > 48 * 1024 && l.sharedBytes() >= CudaKernels.HopperGemm.SHARED_BYTES + 16);
            assertEquals(2, asked.size());
            TensorMapSpec a = asked.get(0), w = asked.get(1);
            TensorMapSpec.DataType dt = t == ElementType.BF16 ? TensorMapSpec.DataType.BFLOAT16 : TensorMapSpec.DataType.FLOAT16;
            assertEquals(dt, a.dtype());
            assertEquals(0x1000, a.address());
            assertArrayEquals(new long[] {72, 197}, a.dims());
            assertArrayEquals(new long[] {144}, a.strideBytes());
            assertArrayEquals(new int[] {CudaKernels.HopperGemm.BK, CudaKernels.HopperGemm.BM}, a.box());
            assertEquals(TensorMapSpec.Swizzle.B128, a.swizzle());
            assertEquals(TensorMapSpec.OobFill.ZERO, a.oobFill());
            assertEquals(0x2000, w.address());
            assertArrayEquals(new long[] {72, 70}, w.dims());
            assertArrayEquals(new int[] {CudaKernels.HopperGemm.BK, CudaKernels.HopperGemm.BN}, w.box());
            asked.clear();
            Launch q = CudaKernels.linearQkv(90, maps, t, 0x1000, 0x2000, 0, 0x4000, 2, 197, 64, 2);
            assertEquals("linear_v4_tma_qkv" + CudaKernels.suffix(t), q.kernelName());
            assertEquals("mmppiiii", q.kinds());
            assertArrayEquals(new long[] {64, 394}, asked.get(0).dims());
            assertArrayEquals(new long[] {64, 192}, asked.get(1).dims());
            // no maps asked where TMA does not run
            asked.clear();
            assertTrue(CudaKernels.linear(80, maps, t, 0x1000, 0x2000, 0x3000, 0x4000, 197, 72, 70, Epilogue.BIAS, 0)
                    .kernelName().startsWith("linear_v3_"));
            assertTrue(CudaKernels.linear(90, maps, t, 0x1008, 0x2000, 0x3000, 0x4000, 197, 72, 70, Epilogue.BIAS, 0)
                    .kernelName().startsWith("linear_v2_"), "x not 16-byte aligned");
            assertTrue(CudaKernels.linear(90, maps, t, 0x1000, 0x2000, 0x3000, 0x4000, 197, 70, 70, Epilogue.BIAS, 0)
                    .kernelName().startsWith("linear_v2_"), "K % 8 != 0");
            assertTrue(asked.isEmpty());
        }
        assertEquals("linear_v2_bias", CudaKernels.linear(90, maps, ElementType.F32, 0x1000, 0x2000, 0x3000, 0x4000, 197, 72,
                70, Epilogue.BIAS, 0).kernelName());
        assertTrue(asked.isEmpty());
    }

    /** The small tile's plans (*_small_*): versions 3, 4 and 4 with TMA, each epilogue and the QKV projection, bf16 and fp16; the wide tile's (TMA). */
    private static List<Launch> smallTilePlans() {
        CudaKernels.TensorMaps zeros = spec -> new KernelArg.TensorMap(new byte[KernelArg.TensorMap.BYTES]);
        List<Launch> plans = new ArrayList<>();
        CudaKernels.GpuTarget wide = new CudaKernels.GpuTarget(90, 132, CudaKernels.GemmTile.Policy.WIDE);
        for (ElementType t : new ElementType[] {ElementType.BF16, ElementType.F16}) {
            for (Epilogue e : Epilogue.values()) {
                plans.add(CudaKernels.linear(wide, zeros, t, P, P, e == Epilogue.NONE ? 0 : P, P, 197, 64, 70, e, P));
            }
            plans.add(CudaKernels.linearQkv(wide, zeros, t, P, P, P, P, 2, 197, 64, 2));
        }
        for (int cc : new int[] {80, 90}) {
            CudaKernels.GpuTarget gpu = new CudaKernels.GpuTarget(cc, 132, CudaKernels.GemmTile.Policy.SMALL);
            for (CudaKernels.TensorMaps maps : new CudaKernels.TensorMaps[] {null, zeros}) {
                for (ElementType t : new ElementType[] {ElementType.BF16, ElementType.F16}) {
                    for (Epilogue e : Epilogue.values()) {
                        plans.add(CudaKernels.linear(gpu, maps, t, P, P, e == Epilogue.NONE ? 0 : P, P, 197, 64, 70, e, P));
                    }
                    plans.add(CudaKernels.linear(gpu, maps, t, P, P, P, P, 197, 64, 70, Epilogue.NONE, 0));
                    plans.add(CudaKernels.linearQkv(gpu, maps, t, P, P, P, P, 2, 197, 64, 2));
                    plans.add(CudaKernels.patchEmbed(gpu, t, new PatchEmbedShape(2, 3, 224, 16, 384), P, P, P, P, P, P));
                }
            }
        }
        return plans;
    }

    /**
     * The tile model: ViT-B/16's projection and fc2 (N = 768) at batch 1 (M = 197) on an H200's 132 SMs take
     * the small tile (the large one makes 24 blocks), QKV and fc1 the large one, and at batch 256 all the large one;
     * unknown multiprocessors and forced policies as documented; the boundary as computed by hand.
     */
    @Test
    void tileChoiceFollowsTheWaveModel() {
        CudaKernels.GemmTile wgL = CudaKernels.HopperGemm.LARGE, wgS = CudaKernels.HopperGemm.SMALL;
        CudaKernels.GpuTarget h200 = new CudaKernels.GpuTarget(90, 132, CudaKernels.GemmTile.Policy.AUTO);
        // b1: the projection and fc2 (N = 768) make 2 x 12 = 24 large blocks (one wave, 192) or 48 small ones
        // (one wave, 128): small; QKV (N = 2304) 72 large (192) or 144 small (two waves, 256): large; fc1 likewise
        for (int n : new int[] {768, 2304, 3072}) {
            assertEquals(n == 768 ? wgS : wgL, CudaKernels.HopperGemm.tile(h200, 197, n), "b1 N=" + n);
            assertEquals(wgL, CudaKernels.HopperGemm.tile(h200, 256 * 197, n), "b256 N=" + n);
            // 108 SMs, 128 x 128 against 64 x 64: N = 768 12 large blocks (256) or 48 small (128); N = 2304
            // 36 (256) or 144 (two waves, 256): a tie, large
            assertEquals(n == 768 ? TensorCoreGemm.SMALL : TensorCoreGemm.LARGE, TensorCoreGemm.tile(
                    new CudaKernels.GpuTarget(80, 108, CudaKernels.GemmTile.Policy.AUTO), 197, n), "A100 b1 N=" + n);
            assertEquals(TensorCoreGemm.LARGE, TensorCoreGemm.tile(new CudaKernels.GpuTarget(80, 108,
                    CudaKernels.GemmTile.Policy.AUTO), 256 * 197, n), "A100 b256 N=" + n);
        }
        // by hand, 132 SMs, N = 768: M = 1576 (b8) gives 13 x 12 = 156 large blocks (2 waves x 192 = 384)
        // and 25 x 12 = 300 small ones (3 waves x 128 = 384): a tie, the large tile
        assertEquals(wgL, CudaKernels.HopperGemm.tile(h200, 1576, 768));
        long large = CudaKernels.ceilDiv(wgL.blocks(1576, 768), 132) * (long) (wgL.bm() + wgL.bn());
        long small = CudaKernels.ceilDiv(wgS.blocks(1576, 768), 132) * (long) (wgS.bm() + wgS.bn());
        assertEquals(large, small, "the tie this case was chosen for (tiles " + wgL.label() + ", " + wgS.label() + ")");
        assertEquals(wgL, CudaKernels.HopperGemm.tile(CudaKernels.GpuTarget.of(90), 197, 768), "multiprocessors unknown");
        assertEquals(wgL, CudaKernels.HopperGemm.tile(new CudaKernels.GpuTarget(90, 132, CudaKernels.GemmTile.Policy.LARGE), 197, 768));
        assertEquals(wgS, CudaKernels.HopperGemm.tile(new CudaKernels.GpuTarget(90, 132, CudaKernels.GemmTile.Policy.SMALL),
                256 * 197, 768));
        assertEquals(CudaKernels.GemmTile.Policy.AUTO, CudaKernels.GemmTile.Policy.parse(null));
        assertEquals(CudaKernels.GemmTile.Policy.SMALL, CudaKernels.GemmTile.Policy.parse(" Small "));
        Vit4jException bad = assertThrows(Vit4jException.class, () -> CudaKernels.GemmTile.Policy.parse("tiny"));
        assertTrue(bad.getMessage().contains("VIT4J_CUDA_TILE") && bad.getMessage().contains("tiny"), bad.getMessage());
        assertThrows(Vit4jException.class, () -> new CudaKernels.GpuTarget(90, -1, CudaKernels.GemmTile.Policy.AUTO));
    }

    /**
     * A plan on the small tile names the *_small_* kernel of its version, with that tile's block, shared memory,
     * grid (covering the output, no block wholly outside) and, with TMA loads, boxes of BK x BM and BK x BN of
     * that tile; its other arguments are the large tile's plan's.
     */
    @Test
    void smallTilePlansCarryTheirTile() {
        List<TensorMapSpec> asked = new ArrayList<>();
        CudaKernels.TensorMaps maps = spec -> {
            asked.add(spec);
            return new KernelArg.TensorMap(new byte[KernelArg.TensorMap.BYTES]);
        };
        int m = 197, k = 72, n = 70;
        for (int cc : new int[] {80, 90}) {
            CudaKernels.GpuTarget small = new CudaKernels.GpuTarget(cc, 132, CudaKernels.GemmTile.Policy.SMALL);
            CudaKernels.GpuTarget large = new CudaKernels.GpuTarget(cc, 132, CudaKernels.GemmTile.Policy.LARGE);
            CudaKernels.GemmTile tile = cc == 90 ? CudaKernels.HopperGemm.SMALL : TensorCoreGemm.SMALL;
            for (CudaKernels.TensorMaps mp : new CudaKernels.TensorMaps[] {null, maps}) {
                for (ElementType t : new ElementType[] {ElementType.BF16, ElementType.F16}) {
                    asked.clear();
                    Launch s = CudaKernels.linear(small, mp, t, 0x1000, 0x2000, 0x3000, 0x4000, m, k, n, Epilogue.BIAS_GELU, 0);
                    Launch l = CudaKernels.linear(large, mp, t, 0x1000, 0x2000, 0x3000, 0x4000, m, k, n, Epilogue.BIAS_GELU, 0);
                    String version = cc == 90 ? (mp != null ? "linear_v4_tma_" : "linear_v4_") : "linear_v3_";
                    assertEquals(version + "small_bias_gelu" + CudaKernels.suffix(t), s.kernelName());
                    assertEquals(version + "bias_gelu" + CudaKernels.suffix(t), l.kernelName());
                    assertEquals(l.kinds(), s.kinds());
                    assertEquals(l.args().subList(2, 8), s.args().subList(2, 8));
                    assertEquals(tile.threads(), s.block()[0]);
                    int shared = cc == 90 ? (mp != null ? tile.tmaSharedBytes() : tile.sharedBytes()) : 0;
                    assertEquals(shared, s.sharedBytes());
                    assertEquals(cc == 90 ? 0 : tile.staticSharedBytes(), s.staticSharedBytes());
                    assertTrue((long) s.grid()[0] * tile.bn() >= n && (long) (s.grid()[0] - 1) * tile.bn() < n);
                    assertTrue((long) s.grid()[1] * tile.bm() >= m && (long) (s.grid()[1] - 1) * tile.bm() < m);
                    if (cc == 90 && mp != null) {
                        assertArrayEquals(new int[] {tile.bk(), tile.bm()}, asked.get(0).box());
                        assertArrayEquals(new int[] {tile.bk(), tile.bn()}, asked.get(1).box());
                    } else {
                        assertTrue(asked.isEmpty());
                    }
                    if (mp == null) { // the patch embedding: version 3's tiles on every device
                        PatchEmbedShape pe = new PatchEmbedShape(2, 3, 224, 16, 768);
                        Launch ps = CudaKernels.patchEmbed(small, t, pe, 0x1000, 0x2000, P, P, P, P);
                        Launch pl = CudaKernels.patchEmbed(large, t, pe, 0x1000, 0x2000, P, P, P, P);
                        assertEquals("patch_embed_v3_small" + CudaKernels.suffix(t), ps.kernelName());
                        assertEquals("patch_embed_v3" + CudaKernels.suffix(t), pl.kernelName());
                        assertEquals(pl.args(), ps.args());
                        assertEquals(TensorCoreGemm.SMALL.threads(), ps.block()[0]);
                        assertEquals(TensorCoreGemm.SMALL.staticSharedBytes(), ps.staticSharedBytes());
                        assertArrayEquals(new int[] {CudaKernels.ceilDiv(768, TensorCoreGemm.SMALL.bn()),
                                CudaKernels.ceilDiv(2 * 196, TensorCoreGemm.SMALL.bm()), 1}, ps.grid());
                    }
                    Launch q = CudaKernels.linearQkv(small, mp, t, 0x1000, 0x2000, 0, 0x4000, 2, 197, 64, 2);
                    assertEquals(version + "small_qkv" + CudaKernels.suffix(t), q.kernelName());
                    assertArrayEquals(new int[] {CudaKernels.ceilDiv(192, tile.bn()), CudaKernels.ceilDiv(394, tile.bm()), 1},
                            q.grid());
                }
            }
        }
    }

    /**
     * VIT4J_CUDA_TILE=wide: the wide tile's TMA kernels (linear_v4_tma_wide_*, 128 KiB and more of shared memory,
     * boxes of its BK x BM and BK x BN) where version 4 runs with TMA loads; the large tile everywhere else
     * (version 4 with cp.async, version 3, the patch embedding), as it has no wide kernels.
     */
    @Test
    void wideTileRunsWithTmaLoadsOnly() {
        List<TensorMapSpec> asked = new ArrayList<>();
        CudaKernels.TensorMaps maps = spec -> {
            asked.add(spec);
            return new KernelArg.TensorMap(new byte[KernelArg.TensorMap.BYTES]);
        };
        CudaKernels.GemmTile wide = CudaKernels.HopperGemm.WIDE;
        assertTrue(wide.tmaSharedBytes() > 48 * 1024, wide.label());
        assertEquals(wide.stages() * (wide.bm() + wide.bn()) * wide.bk() * 2 + 64, wide.tmaSharedBytes());
        assertEquals(wide.bm() / 64 * 128, wide.threads());
        CudaKernels.GpuTarget h = new CudaKernels.GpuTarget(90, 132, CudaKernels.GemmTile.Policy.WIDE);
        for (ElementType t : new ElementType[] {ElementType.BF16, ElementType.F16}) {
            asked.clear();
            Launch l = CudaKernels.linear(h, maps, t, 0x1000, 0x2000, 0x3000, 0x4000, 300, 72, 200, Epilogue.BIAS_RESIDUAL,
                    0x5000);
            assertEquals("linear_v4_tma_wide_bias_residual" + CudaKernels.suffix(t), l.kernelName());
            assertEquals(wide.tmaSharedBytes(), l.sharedBytes());
            assertArrayEquals(new int[] {CudaKernels.ceilDiv(200, wide.bn()), CudaKernels.ceilDiv(300, wide.bm()), 1}, l.grid());
            assertArrayEquals(new int[] {wide.threads(), 1, 1}, l.block());
            assertArrayEquals(new int[] {wide.bk(), wide.bm()}, asked.get(0).box());
            assertArrayEquals(new int[] {wide.bk(), wide.bn()}, asked.get(1).box());
            assertEquals("linear_v4_tma_wide_qkv" + CudaKernels.suffix(t),
                    CudaKernels.linearQkv(h, maps, t, 0x1000, 0x2000, 0, 0x4000, 2, 197, 64, 2).kernelName());
            assertEquals("linear_v4_bias" + CudaKernels.suffix(t), CudaKernels.linear(h, null, t, 0x1000, 0x2000, 0x3000,
                    0x4000, 300, 72, 200, Epilogue.BIAS, 0).kernelName(), "no tensor maps: the large cp.async kernel");
            assertEquals("linear_v3_bias" + CudaKernels.suffix(t), CudaKernels.linear(new CudaKernels.GpuTarget(80, 108,
                    CudaKernels.GemmTile.Policy.WIDE), maps, t, 0x1000, 0x2000, 0x3000, 0x4000, 300, 72, 200, Epilogue.BIAS, 0)
                    .kernelName());
            assertEquals("patch_embed_v3" + CudaKernels.suffix(t), CudaKernels.patchEmbed(h, t,
                    new PatchEmbedShape(1, 3, 224, 16, 768), 0x1000, 0x2000, P, P, P, P).kernelName());
        }
        assertEquals(CudaKernels.GemmTile.Policy.WIDE, CudaKernels.GemmTile.Policy.parse("wide"));
    }

    /**
     * The CPU driver reports {@link CpuCudaDriver.Options#SMALL_GPU} multiprocessors so that the parity tests'
     * linear and QKV shapes run both tiles on each version (mma.sync and wgmma); were the model or the shapes
     * to change so that one tile is never picked, its kernels would lose their backend parity tests: this fails.
     */
    @Test
    void parityShapesRunBothTilesOnTheCpuDriver() {
        for (int cc : new int[] {80, 90}) {
            CudaKernels.GpuTarget gpu = new CudaKernels.GpuTarget(cc, CpuCudaDriver.Options.SMALL_GPU,
                    CudaKernels.GemmTile.Policy.AUTO);
            java.util.Set<String> linear = new java.util.TreeSet<>(), qkv = new java.util.TreeSet<>();
            for (Object[] s : org.vit4j.backend.KernelParityTest.LINEAR_SHAPES) {
                int m = (Integer) s[0], k = (Integer) s[1], n = (Integer) s[2];
                if (k % 8 != 0) continue;
                linear.add(CudaKernels.linear(gpu, null, ElementType.BF16, P, P, P, P, m, k, n, Epilogue.BIAS, 0).kernelName());
            }
            for (Object[] s : org.vit4j.backend.KernelParityTest.QKV_SHAPES) {
                int b = (Integer) s[0], tokens = (Integer) s[1], d = (Integer) s[2], h = (Integer) s[3];
                if (d % 8 != 0) continue;
                qkv.add(CudaKernels.linearQkv(gpu, null, ElementType.BF16, P, P, P, P, b, tokens, d, h).kernelName());
            }
            String v = cc == 90 ? "linear_v4_" : "linear_v3_";
            assertEquals(java.util.Set.of(v + "bias_bf16", v + "small_bias_bf16"), linear, "compute capability " + cc);
            assertEquals(java.util.Set.of(v + "qkv_bf16", v + "small_qkv_bf16"), qkv, "compute capability " + cc);
            java.util.Set<String> patch = new java.util.TreeSet<>();
            for (Object[] s : org.vit4j.backend.KernelParityTest.PATCH_EMBED_SHAPES) {
                PatchEmbedShape shape = new PatchEmbedShape((Integer) s[0], (Integer) s[1], (Integer) s[2], (Integer) s[3],
                        (Integer) s[4], (Integer) s[5]);
                patch.add(CudaKernels.patchEmbed(gpu, ElementType.BF16, shape, P, P, P, P, P, P).kernelName());
            }
            assertTrue(patch.containsAll(java.util.Set.of("patch_embed_v3_bf16", "patch_embed_v3_small_bf16")),
                    "compute capability " + cc + ": " + patch);
        }
    }

    /** The tensor-core kernels (bf16 and fp16 only): linear_v3_*, linear_v4_* (Hopper), attention_v3_*, patch_embed_v3. */
    private static boolean tensorCore(String name) {
        return name.startsWith("linear_v3_") || name.startsWith("linear_v4_") || name.startsWith("attention_v3_")
                || name.startsWith("patch_embed_v3");
    }

    /** Plans that run on the tensor cores: each epilogue, the QKV projection, attention, patch embedding; bf16 and fp16. */
    private static List<Launch> tensorCorePlans() {
        List<Launch> plans = new ArrayList<>();
        for (ElementType t : new ElementType[] {ElementType.BF16, ElementType.F16}) {
            plans.add(CudaKernels.patchEmbed(t, new PatchEmbedShape(2, 3, 224, 16, 384), P, P, P, P, P, P));
            for (int hd : new int[] {64, 80}) plans.add(CudaKernels.attention(t, P, P, 2, 197, 3, hd, 0.125f));
            for (Epilogue e : Epilogue.values()) plans.add(CudaKernels.linear(t, P, P, P, P, 197, 64, 100, e, P));
            for (Epilogue e : Epilogue.values()) plans.add(CudaKernels.linear(90, t, P, P, P, P, 197, 64, 100, e, P));
            plans.add(CudaKernels.linearQkv(90, t, P, P, P, P, 1, 4, 8, 2));
            plans.add(CudaKernels.linear(t, P, P, 0, P, 197, 64, 100, Epilogue.NONE, 0));
            plans.add(CudaKernels.linearQkv(t, P, P, P, P, 1, 4, 8, 2));
        }
        return plans;
    }

    /**
     * bf16/fp16 linear layers run on the tensor cores exactly where K is a multiple of 8 and both operands are
     * 16-byte aligned; otherwise, and always in fp32, version 2. The tensor-core plan is version 2's with the
     * linear_v3_ kernel, its grid over TC tiles, its block and its shared memory: the same arguments.
     */
    @Test
    void halfLinearRunsOnTensorCoresWhereItApplies() {
        for (ElementType t : ElementType.values()) {
            for (int[] s : GEMM_SHAPES) {
                int m = s[0], n = s[1], k = s[2];
                for (long x : new long[] {P, P + 2, P + 16}) {
                    for (Epilogue e : Epilogue.values()) {
                        Launch l = CudaKernels.linear(t, x, P, P, P, m, k, n, e, P);
                        Launch v2 = CudaKernels.linearV2(t, x, P, P, P, m, k, n, e, P);
                        checkLimits(l);
                        boolean tc = t != ElementType.F32 && k % TensorCoreGemm.K_MULTIPLE == 0 && x % 16 == 0;
                        assertEquals(tc, CudaKernels.TensorCoreGemm.applies(t, k, x, P));
                        assertEquals(v2.args(), l.args());
                        if (!tc) {
                            assertEquals(v2.toString(), l.toString());
                            continue;
                        }
                        assertEquals(v2.kernelName().replace("linear_v2_", "linear_v3_"), l.kernelName());
                        assertEquals(TensorCoreGemm.THREADS, l.block()[0]);
                        assertEquals(TensorCoreGemm.STATIC_SHARED_BYTES, l.staticSharedBytes());
                        assertTrue((long) l.grid()[0] * TensorCoreGemm.BN >= n && (long) (l.grid()[0] - 1) * TensorCoreGemm.BN < n);
                        assertTrue((long) l.grid()[1] * TensorCoreGemm.BM >= m && (long) (l.grid()[1] - 1) * TensorCoreGemm.BM < m);
                    }
                }
            }
            Launch q = CudaKernels.linearQkv(t, P, P, P, P, 2, 197, 384, 6);
            checkLimits(q);
            assertEquals(t == ElementType.F32 ? "linear_v2_qkv" : "linear_v3_qkv" + CudaKernels.suffix(t), q.kernelName());
            assertEquals(CudaKernels.linearQkvV2(t, P, P, P, P, 2, 197, 384, 6).args(), q.args());
            assertEquals("linear_v2_qkv" + CudaKernels.suffix(t),
                    CudaKernels.linearQkv(t, P, P, P, P, 2, 197, 386, 2).kernelName(), "dim 386: K % 8 != 0");
            assertEquals("linear_v2_qkv" + CudaKernels.suffix(t),
                    CudaKernels.linearQkv(t, P + 8, P, P, P, 2, 197, 384, 6).kernelName(), "x only 8-byte aligned");
        }
    }

    /** bf16/fp16 attention with head dim 64 or 80 and an aligned qkv runs attention_v3_hd*; the rest as before. */
    @Test
    void halfAttentionRunsOnTensorCoresWhereItApplies() {
        for (ElementType t : ElementType.values()) {
            for (int hd : new int[] {16, 32, 64, 80, 100, 128}) {
                for (int tokens : new int[] {1, 5, 63, 64, 65, 197, 257, 577}) {
                    for (long qkv : new long[] {P, P + 8}) {
                        Launch l = CudaKernels.attention(t, qkv, P, 8, tokens, 6, hd, 0.125f);
                        Launch simt = CudaKernels.attentionSimt(t, qkv, P, 8, tokens, 6, hd, 0.125f);
                        checkLimits(l);
                        boolean tc = t != ElementType.F32 && (hd == 64 || hd == 80) && qkv % 16 == 0;
                        assertEquals(tc, CudaKernels.TensorCoreAttention.applies(t, hd, qkv));
                        assertEquals(simt.args(), l.args());
                        if (!tc) {
                            assertEquals(simt.toString(), l.toString());
                            continue;
                        }
                        assertEquals("attention_v3_hd" + hd + CudaKernels.suffix(t), l.kernelName());
                        assertEquals(CudaKernels.TensorCoreAttention.THREADS, l.block()[0]);
                        int bq = CudaKernels.TensorCoreAttention.BQ;
                        assertTrue((long) l.grid()[0] * bq >= tokens && (long) (l.grid()[0] - 1) * bq < tokens);
                        assertEquals(8 * 6, l.grid()[1]);
                    }
                }
            }
        }
    }

    /** bf16/fp16 patch embedding runs patch_embed_v3 where P and the image width are multiples of 8 and image, weight aligned. */
    @Test
    void halfPatchEmbedRunsOnTensorCoresWhereItApplies() {
        PatchEmbedShape[] shapes = {
            new PatchEmbedShape(1, 1, 4, 2, 3), new PatchEmbedShape(8, 3, 224, 16, 384),
            new PatchEmbedShape(3, 3, 15, 5, 70), new PatchEmbedShape(2, 3, 224, 14, 1280), new PatchEmbedShape(3, 2, 40, 8, 136),
            new PatchEmbedShape(2, 3, 40, 24, 8, 72), new PatchEmbedShape(2, 3, 24, 20, 4, 40),
            new PatchEmbedShape(2, 3, 20, 24, 4, 40)
        };
        for (ElementType t : ElementType.values()) {
            for (PatchEmbedShape s : shapes) {
                for (long img : new long[] {P, P + 8}) {
                    Launch l = CudaKernels.patchEmbed(t, s, img, P, P, P, P, P);
                    Launch v2 = CudaKernels.patchEmbedV2(t, s, img, P, P, P, P, P);
                    checkLimits(l);
                    assertEquals(v2.args(), l.args());
                    boolean tc = t != ElementType.F32 && s.patch() % 8 == 0 && s.width() % 8 == 0 && img % 16 == 0;
                    if (!tc) {
                        assertEquals(v2.toString(), l.toString());
                        continue;
                    }
                    assertEquals("patch_embed_v3" + CudaKernels.suffix(t), l.kernelName());
                    long patches = (long) s.batch() * s.patches();
                    assertTrue((long) l.grid()[0] * TensorCoreGemm.BN >= s.dim());
                    assertTrue((long) l.grid()[1] * TensorCoreGemm.BM >= patches
                            && (long) (l.grid()[1] - 1) * TensorCoreGemm.BM < patches);
                }
            }
        }
    }

    /**
     * The Hopper GEMM (linear_v4_*, sm_90a SASS) runs exactly on compute capability 9.0, where version 3 would
     * otherwise run; every other device (unknown 0, Volta to Ada, Blackwell 10.0 and 12.0) keeps version 3.
     * The plan is version 3's with the linear_v4_ kernel, its grid over WG tiles, its block and its dynamic
     * shared memory: the same arguments.
     */
    @Test
    void hopperLinearRunsOnComputeCapability90Only() {
        for (int cc : new int[] {0, 70, 75, 80, 86, 89, 90, 100, 120}) {
            for (ElementType t : ElementType.values()) {
                for (int[] s : GEMM_SHAPES) {
                    int m = s[0], n = s[1], k = s[2];
                    for (long x : new long[] {P, P + 2, P + 16}) {
                        for (Epilogue e : Epilogue.values()) {
                            Launch l = CudaKernels.linear(cc, t, x, P, P, P, m, k, n, e, P);
                            Launch v3 = CudaKernels.linear(t, x, P, P, P, m, k, n, e, P);
                            checkLimits(l);
                            boolean hopper = cc == 90 && t != ElementType.F32 && k % 8 == 0 && x % 16 == 0;
                            assertEquals(hopper, CudaKernels.HopperGemm.applies(cc, t, k, x, P), l.toString());
                            assertEquals(v3.args(), l.args());
                            if (!hopper) {
                                assertEquals(v3.toString(), l.toString(), "compute capability " + cc);
                                assertEquals(v3.sharedBytes(), l.sharedBytes());
                                continue;
                            }
                            assertEquals(v3.kernelName().replace("linear_v3_", "linear_v4_"), l.kernelName());
                            assertEquals(CudaKernels.HopperGemm.THREADS, l.block()[0]);
                            assertEquals(CudaKernels.HopperGemm.SHARED_BYTES, l.sharedBytes());
                            assertEquals(0, l.staticSharedBytes());
                            assertTrue((long) l.grid()[0] * CudaKernels.HopperGemm.BN >= n
                                    && (long) (l.grid()[0] - 1) * CudaKernels.HopperGemm.BN < n);
                            assertTrue((long) l.grid()[1] * CudaKernels.HopperGemm.BM >= m
                                    && (long) (l.grid()[1] - 1) * CudaKernels.HopperGemm.BM < m);
                        }
                    }
                }
                Launch q = CudaKernels.linearQkv(cc, t, P, P, P, P, 2, 197, 384, 6);
                checkLimits(q);
                String want = t == ElementType.F32 ? "linear_v2_qkv" : (cc == 90 ? "linear_v4_qkv" : "linear_v3_qkv") + CudaKernels.suffix(t);
                assertEquals(want, q.kernelName(), "compute capability " + cc);
                assertEquals(CudaKernels.linearQkvV2(t, P, P, P, P, 2, 197, 384, 6).args(), q.args());
                assertEquals(cc == 90 && t != ElementType.F32 ? CudaKernels.HopperGemm.SHARED_BYTES : 0, q.sharedBytes());
                assertEquals("linear_v2_qkv" + CudaKernels.suffix(t),
                        CudaKernels.linearQkv(cc, t, P, P, P, P, 2, 197, 386, 2).kernelName(), "dim 386: K % 8 != 0");
                assertEquals("linear_v2_qkv" + CudaKernels.suffix(t),
                        CudaKernels.linearQkv(cc, t, P + 8, P, P, P, 2, 197, 384, 6).kernelName(), "x only 8-byte aligned");
            }
        }
    }

    @Test
    void plansMatchTheKernelSources() throws IOException {
        if (!Files.isDirectory(CUDA_DIR)) return; // run from elsewhere than the project root
        List<Launch> plans = everyPlan();
        plans.addAll(tensorCorePlans());
        plans.addAll(tmaPlans());
        plans.addAll(smallTilePlans());
        plans.add(CudaKernels.biasRows(P, P, 2, 3, true));
        plans.add(CudaKernels.qkvScatter(P, P, P, 1, 2, 8, 2));
        Map<String, Map<String, String>> declared = new HashMap<>();
        for (Launch l : plans) {
            Map<String, String> ks = declared.computeIfAbsent(l.module(), m -> {
                try {
                    return kernels(m);
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            assertTrue(ks.containsKey(l.kernelName()), l.kernelName() + " not declared in " + l.module() + ".cu");
            assertEquals(ks.get(l.kernelName()), l.kinds(), "parameter kinds of " + l.kernelName());
        }
        for (Map.Entry<String, List<String>> e : CudaKernels.KERNELS.entrySet()) {
            assertEquals(new java.util.TreeSet<>(e.getValue()), new java.util.TreeSet<>(kernels(e.getKey()).keySet()),
                    "kernels of " + e.getKey() + ".cu");
        }
        assertEquals(Gemm.BM, constant("linear", "GEMM_BM"));
        assertEquals(Gemm.BN, constant("linear", "GEMM_BN"));
        assertEquals(Gemm.BK, constant("linear", "GEMM_BK"));
        assertEquals(Gemm.TM, constant("linear", "GEMM_TM"));
        assertEquals(Gemm.TN, constant("linear", "GEMM_TN"));
        assertEquals(LayerNorm.WARPS, constant("layernorm", "LN_WARPS"));
        assertEquals(LayerNorm.VEC, constant("layernorm", "LN_VEC"));
        assertEquals(Attention.BQ, constant("attention", "ATTN_BQ"));
        assertEquals(Attention.TPR, constant("attention", "ATTN_TPR"));
        assertEquals(Attention.BK, constant("attention", "ATTN_BK"));
        assertEquals(Attention.HD_MAX, constant("attention", "ATTN_HD_MAX"));
        assertEquals(Elementwise.THREADS, constant("elementwise", "EW_THREADS"));
        String tc = Files.readString(CUDA_DIR.resolve("gemm_tc.cuh"));
        for (String[] c : new String[][] {{"BM", "" + TensorCoreGemm.BM}, {"BN", "" + TensorCoreGemm.BN},
                {"BK", "" + TensorCoreGemm.BK}, {"STAGES", "" + TensorCoreGemm.STAGES}}) {
            Matcher m = Pattern.compile("(?m)^#define VIT4J_TC_" + c[0] + " (\\d+)$").matcher(tc);
            assertTrue(m.find(), "VIT4J_TC_" + c[0] + " in gemm_tc.cuh");
            assertEquals(c[1], m.group(1), "VIT4J_TC_" + c[0]);
        }
        String wg = Files.readString(CUDA_DIR.resolve("gemm_wg.cuh"));
        for (String[] c : new String[][] {{"BM", "" + CudaKernels.HopperGemm.BM}, {"BN", "" + CudaKernels.HopperGemm.BN},
                {"BK", "" + CudaKernels.HopperGemm.BK}, {"STAGES", "" + CudaKernels.HopperGemm.STAGES}}) {
            Matcher m = Pattern.compile("(?m)^#define VIT4J_WG_" + c[0] + " (\\d+)$").matcher(wg);
            assertTrue(m.find(), "VIT4J_WG_" + c[0] + " in gemm_wg.cuh");
            assertEquals(c[1], m.group(1), "VIT4J_WG_" + c[0]);
        }
        for (String[] c : new String[][] {{"TC_SMALL_BM", "" + TensorCoreGemm.SMALL.bm()},
                {"TC_SMALL_BN", "" + TensorCoreGemm.SMALL.bn()}, {"TC_SMALL_BK", "" + TensorCoreGemm.SMALL.bk()},
                {"TC_SMALL_STAGES", "" + TensorCoreGemm.SMALL.stages()}}) {
            Matcher m = Pattern.compile("(?m)^#define VIT4J_" + c[0] + " (\\d+)$").matcher(tc);
            assertTrue(m.find(), "VIT4J_" + c[0] + " in gemm_tc.cuh");
            assertEquals(c[1], m.group(1), "VIT4J_" + c[0]);
        }
        for (String[] c : new String[][] {{"WG_SMALL_BM", "" + CudaKernels.HopperGemm.SMALL.bm()},
                {"WG_SMALL_BN", "" + CudaKernels.HopperGemm.SMALL.bn()}, {"WG_SMALL_BK", "" + CudaKernels.HopperGemm.SMALL.bk()},
                {"WG_SMALL_STAGES", "" + CudaKernels.HopperGemm.SMALL.stages()}}) {
            Matcher m = Pattern.compile("(?m)^#define VIT4J_" + c[0] + " (\\d+)$").matcher(wg);
            assertTrue(m.find(), "VIT4J_" + c[0] + " in gemm_wg.cuh");
            assertEquals(c[1], m.group(1), "VIT4J_" + c[0]);
        }
        for (CudaKernels.GemmTile t : new CudaKernels.GemmTile[] {CudaKernels.HopperGemm.LARGE, CudaKernels.HopperGemm.SMALL}) {
            assertEquals(t.bm() / 64 * 128, t.threads(), t.label());
            assertEquals(t.stages() * (t.bm() + t.bn()) * t.bk() * 2, t.sharedBytes(), t.label());
            assertEquals(t.sharedBytes() + 64, t.tmaSharedBytes(), t.label());
        }
        for (String[] c : new String[][] {{"WG_WIDE_BM", "" + CudaKernels.HopperGemm.WIDE.bm()},
                {"WG_WIDE_BN", "" + CudaKernels.HopperGemm.WIDE.bn()}, {"WG_WIDE_BK", "" + CudaKernels.HopperGemm.WIDE.bk()},
                {"WG_WIDE_STAGES", "" + CudaKernels.HopperGemm.WIDE.stages()}}) {
            Matcher m = Pattern.compile("(?m)^#define VIT4J_" + c[0] + " (\\d+)$").matcher(wg);
            assertTrue(m.find(), "VIT4J_" + c[0] + " in gemm_wg.cuh");
            assertEquals(c[1], m.group(1), "VIT4J_" + c[0]);
        }
        CudaKernels.GemmTile small = TensorCoreGemm.SMALL;
        assertEquals(small.stages() * (small.bm() + small.bn()) * small.bk() * 2, small.staticSharedBytes());
        assertEquals(CudaKernels.HopperGemm.THREADS, CudaKernels.HopperGemm.BM / 64 * 128);
        assertEquals(CudaKernels.HopperGemm.SHARED_BYTES,
                CudaKernels.HopperGemm.STAGES * (CudaKernels.HopperGemm.BM + CudaKernels.HopperGemm.BN) * CudaKernels.HopperGemm.BK * 2);
    }
}
