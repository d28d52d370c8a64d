package org.vit4j.backend;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Named;
import org.vit4j.backend.cuda.CpuCudaDriver;
import org.vit4j.backend.cuda.CudaBackend;
import org.vit4j.backend.cuda.CudaCpuProvider;
import org.vit4j.backend.cuda.CudaKernels.GemmTile;
import org.vit4j.backend.cuda.CudaProvider;
import org.vit4j.backend.cuda.JCudaDriver;
import org.vit4j.backend.opencl.ClDevice;
import org.vit4j.backend.opencl.OpenClBackend;
import org.vit4j.backend.opencl.OpenClProvider;

/**
 * The device backends the kernel tests run on: OpenCL with its device's own tuning and with the
 * other kind's (so GPU-shaped kernels are checked on PoCL too), CUDA where a GPU is present, and
 * the CUDA kernels on the CPU (cuda-cpu) with each block's threads run first to last and last to
 * first, strict (a missing barrier or a divergent one shows in one order at least); the second as a
 * compute capability 9.0 device, which runs the Hopper kernels (linear_v4_tma: wgmma with TMA loads) where the first runs
 * version 3 (and {@link #withGemmVariants()} adds one without tensor maps, which runs linear_v4). Where none is
 * available the tests skip and say why; with {@code VIT4J_REQUIRE_OPENCL=1} (set by
 * scripts/test-all.sh, so in CI) a missing OpenCL is a failure instead, likewise CUDA with
 * {@code VIT4J_REQUIRE_CUDA=1} (set by bench/gpu-check.sh on a GPU host), and cuda-cpu with
 * {@code VIT4J_REQUIRE_CUDA_CPU=1} (set in CI: there every CUDA test runs, on the CPU).
 * {@code VIT4J_TEST_BACKENDS} (a comma-separated list of opencl, cuda, cuda-cpu) keeps only the backends
 * it names, every other one neither tested nor required: bench/gpu-check.sh sets {@code cuda}, so that its
 * few minutes on a GPU go to the GPU and not to the CPU devices CI has already run.
 *
 * <p>A name without parentheses is also the name {@code vit4j --backend} takes for that backend.
 */
public final class DevicesUnderTest {
    private DevicesUnderTest() {}

    private static final Map<String, Backend> OPEN = new java.util.concurrent.ConcurrentHashMap<>();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> OPEN.values().forEach(Backend::close)));
    }

    private static final BackendProvider.Probe NOT_WANTED =
            BackendProvider.Probe.unavailable(List.of(), "not in VIT4J_TEST_BACKENDS");

    /** The backend names {@code VIT4J_TEST_BACKENDS} may list. */
    static final Set<String> BACKEND_NAMES = Set.of("opencl", "cuda", CudaCpuProvider.NAME);

    /**
     * The backends a {@code VIT4J_TEST_BACKENDS} value keeps: all of them where it is unset or blank,
     * else those it lists (comma-separated; an unknown name is an error naming the variable).
     */
    static Set<String> backendsWanted(String value) {
        if (value == null || value.isBlank()) return BACKEND_NAMES;
        Set<String> out = new java.util.LinkedHashSet<>();
        for (String name : value.split(",")) {
            String n = name.strip();
            if (!BACKEND_NAMES.contains(n)) {
                throw new IllegalArgumentException("VIT4J_TEST_BACKENDS: unknown backend '" + n + "' in '" + value
                        + "' (expected a comma-separated list of " + String.join(", ", new java.util.TreeSet<>(BACKEND_NAMES)) + ")");
            }
            out.add(n);
        }
        return out;
    }

    private static boolean wanted(String backend) {
        return backendsWanted(System.getenv("VIT4J_TEST_BACKENDS")).contains(backend);
    }

    /** One backend per name for the whole test run: building kernels on PoCL takes seconds. */
    private static Named<Supplier<Backend>> shared(String name, Supplier<Backend> open) {
        return Named.of(name, () -> OPEN.computeIfAbsent(name, n -> open.get()));
    }

    /** True where a missing cuda-cpu library must fail the tests (CI) rather than skip them. */
    public static boolean requireCudaCpu() {
        return wanted(CudaCpuProvider.NAME) && "1".equals(System.getenv("VIT4J_REQUIRE_CUDA_CPU"));
    }

    /**
     * The provider's probe where {@code VIT4J_TEST_BACKENDS} keeps {@code name}, else one that says it is not
     * wanted; an unavailable backend whose {@code requireVariable} is 1 fails the tests instead.
     */
    private static BackendProvider.Probe probe(String name, BackendProvider provider, String requireVariable,
            String shown) {
        if (!wanted(name)) return NOT_WANTED;
        BackendProvider.Probe p = provider.probe();
        if (!p.available() && "1".equals(System.getenv(requireVariable))) {
            throw new AssertionError(requireVariable + "=1 but " + shown + " is unavailable: " + p.reason());
        }
        return p;
    }

    /**
     * {@link #all()} and, where OpenCL is available, the linear kernels the device's defaults do not
     * pick, so every GEMM variant meets the oracle: linear_v4 (the CPU default before v5) and v5 with
     * sizes other than this machine's (AVX2-sized VW 8 and SSE-sized VW 4 micro-kernels, odd MR and
     * NR = 3 vectors, so panel and row edges fall inside a tile; the VW 8 one walks the panels two row
     * work-groups at a time, so a short last group comes up wherever the row work-groups are odd). The parity
     * shapes are small, so the defaults prefetch the next weight panel (LinearOps.v5PrefetchNext); the VW 4 one
     * does not, so both builds meet the oracle.
     * Only the linear tests use these.
     */
    public static List<Named<Supplier<Backend>>> withGemmVariants() {
        List<Named<Supplier<Backend>>> out = new ArrayList<>(withCpuVariants(
                "opencl (linear v4)", Map.of("GEMM_VARIANT", 4),
                "opencl (linear v5, VW 8, MR 5, NR 24, WGX 3, GROUP 2)",
                Map.of("GEMM_VARIANT", 5, "GEMM_V5_VW", 8, "GEMM_V5_MR", 5, "GEMM_V5_NR", 24, "GEMM_V5_WGX", 3,
                        "GEMM_V5_GROUP", 2),
                "opencl (linear v5, VW 4, MR 3, NR 12, no next-panel prefetch)", Map.of("GEMM_VARIANT", 5, "GEMM_V5_VW", 4,
                        "GEMM_V5_MR", 3, "GEMM_V5_NR", 12, "GEMM_V5_PREFETCH_NEXT", 0)));
        // On a GPU the model picks the small tile for most parity shapes (they are small against 100+ SMs):
        // the large and the wide tiles' kernels join the linear tests through these two
        if (wanted("cuda") && new CudaProvider().probe().available()) {
            out.add(shared("cuda (large tile)",
                    () -> new CudaBackend(new JCudaDriver(0), BackendOptions.DEFAULT, GemmTile.Policy.LARGE)));
            out.add(shared("cuda (wide tile where TMA runs)",
                    () -> new CudaBackend(new JCudaDriver(0), BackendOptions.DEFAULT, GemmTile.Policy.WIDE)));
        }
        // the Hopper GEMM with cp.async loads (linear_v4_*): the sm_90 device of all() runs it with TMA
        // loads (linear_v4_tma_*), as a GPU does whose driver has tensor maps; this one has none
        if (wanted(CudaCpuProvider.NAME) && new CudaCpuProvider().probe().available()) {
            out.add(shared(CudaCpuProvider.NAME + " (sm_90, no tensor maps)", () -> CudaCpuProvider.open(
                    new CpuCudaDriver.Options(false, true, 90, false), BackendOptions.DEFAULT)));
            // the wide TMA tile (linear_v4_tma_wide_*), which only VIT4J_CUDA_TILE=wide runs on a GPU
            out.add(shared(CudaCpuProvider.NAME + " (sm_90, wide TMA tile)", () -> CudaCpuProvider.open(
                    new CpuCudaDriver.Options(true, true, 90, true), BackendOptions.DEFAULT,
                    GemmTile.Policy.WIDE)));
        }
        return out;
    }

    /**
     * {@link #all()} and, where OpenCL is available, the CPU attention kernels the device's defaults do
     * not pick: attention_v3 (streaming; past 1024 keys v4 runs it too), attention_v4 with an AVX2
     * device's sizes (8-key vectors, 12 accumulators: 6 rows x 2 vectors, P V in four passes at hd 64) and
     * with odd sizes (5 rows a work-item, 3-vector key chunks, 3-vector P V passes and a shorter last one,
     * 8-key vectors, 3 work-items a group), so row, chunk, pass and padding edges fall inside a work-item.
     * Only the attention tests use these.
     */
    public static List<Named<Supplier<Backend>>> withAttentionVariants() {
        return withCpuVariants(
                "opencl (attention v3)", Map.of("ATTN_VARIANT", 3),
                "opencl (attention v4, AVX2 sizes: KB 8, ACC 12)", Map.of("ATTN_VARIANT", 4, "ATTN_V4_KB", 8, "ATTN_V4_ACC", 12),
                "opencl (attention v4, QR 5, NK 3, KB 8, ACC 15, WG 3)",
                Map.of("ATTN_VARIANT", 4, "ATTN_V4_QR", 5, "ATTN_V4_NK", 3, "ATTN_V4_KB", 8, "ATTN_V4_ACC", 15,
                        "ATTN_CPU_WG", 3));
    }

    /**
     * {@link #all()} and, where OpenCL is available, the CPU patch-embedding kernels the device's
     * defaults do not pick: patch_embed_v2 and patch_embed_v4 with AVX2-sized vectors and odd sizes (5
     * patches a work-item, panels of 3 vectors of 8, 3 work-items a group, the panels walked two row
     * work-groups at a time), so patch and channel edges fall inside a work-item and a short last group
     * comes up wherever the row work-groups are odd. Only the patch-embedding tests use these.
     */
    public static List<Named<Supplier<Backend>>> withPatchEmbedVariants() {
        return withCpuVariants(
                "opencl (patch embed v2)", Map.of("PE_VARIANT", 2),
                "opencl (patch embed v4, VW 8, MR 5, NR 24, WGX 3, GROUP 2)",
                Map.of("PE_VARIANT", 4, "PE_V4_VW", 8, "PE_V4_MR", 5, "PE_V4_NR", 24, "PE_V4_WGX", 3, "PE_V4_GROUP", 2));
    }

    /** {@link #all()} plus, where OpenCL is available, the device tuned as a CPU with each (name, overrides) pair. */
    @SuppressWarnings("unchecked")
    private static List<Named<Supplier<Backend>>> withCpuVariants(Object... nameThenOverrides) {
        List<Named<Supplier<Backend>>> out = new ArrayList<>(all());
        if (wanted("opencl") && new OpenClProvider().probe().available()) {
            for (int i = 0; i < nameThenOverrides.length; i += 2) {
                Map<String, Integer> tuning = (Map<String, Integer>) nameThenOverrides[i + 1];
                out.add(shared((String) nameThenOverrides[i], () -> OpenClBackend.open(0, tuning, ClDevice.Kind.CPU)));
            }
        }
        return out;
    }

    /**
     * The OpenCL entries of {@link #all()}, for the tests of OpenCL-only behaviour; where there are none
     * (OpenCL unavailable, or left out by {@code VIT4J_TEST_BACKENDS}) the test is aborted, saying why,
     * instead of failing as a parameterized test with no arguments.
     */
    public static List<Named<Supplier<Backend>>> openCl() {
        List<Named<Supplier<Backend>>> out = all().stream().filter(b -> b.getName().startsWith("opencl")).toList();
        Assumptions.assumeFalse(out.isEmpty(), () -> "no OpenCL device to test: "
                + (wanted("opencl") ? new OpenClProvider().probe().reason() : NOT_WANTED.reason()));
        return out;
    }

    public static List<Named<Supplier<Backend>>> all() {
        List<Named<Supplier<Backend>>> out = new ArrayList<>();
        BackendProvider.Probe cl = probe("opencl", new OpenClProvider(), "VIT4J_REQUIRE_OPENCL", "OpenCL");
        if (cl.available()) {
            out.add(shared("opencl", () -> OpenClBackend.open(0, Map.of())));
            out.add(shared("opencl (gpu tuning)", () -> OpenClBackend.open(0, Map.of(), ClDevice.Kind.GPU)));
            out.add(shared("opencl (cpu tuning)", () -> OpenClBackend.open(0, Map.of(), ClDevice.Kind.CPU)));
        }
        BackendProvider.Probe cuda = probe("cuda", new CudaProvider(), "VIT4J_REQUIRE_CUDA", "CUDA");
        if (cuda.available()) {
            out.add(shared("cuda", () -> new CudaProvider().open(0)));
        }
        BackendProvider.Probe cudaCpu =
                probe(CudaCpuProvider.NAME, new CudaCpuProvider(), "VIT4J_REQUIRE_CUDA_CPU", CudaCpuProvider.NAME);
        if (cudaCpu.available()) {
            out.add(shared(CudaCpuProvider.NAME, () -> CudaCpuProvider.open(new CpuCudaDriver.Options(false, true),
                    BackendOptions.DEFAULT)));
            // the reverse-order device reports compute capability 9.0, so that the Hopper kernels
            // (linear_v4_tma, through wgmma.cuh's and tma.cuh's fallbacks) join every device test; the
            // forward one 8.0; linear_v4 with cp.async loads: withGemmVariants
            out.add(shared(CudaCpuProvider.NAME + " (reverse order, sm_90)", () -> CudaCpuProvider.open(
                    new CpuCudaDriver.Options(true, true, 90), BackendOptions.DEFAULT)));
        }
        Assumptions.assumeFalse(out.isEmpty(), "no device backend to test: opencl: " + cl.reason() + "; cuda: "
                + cuda.reason() + "; cuda-cpu: " + cudaCpu.reason());
        return out;
    }
}
