package org.vit4j.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vit4j.ElementType;
import org.vit4j.Vit4jException;
import org.vit4j.backend.DevicesUnderTest;

/**
 * libvit4j_cuda.so (native/cuda) against fakes of the CUDA driver and cuBLAS (native/cuda/tests, built
 * by CMake next to the library): each fake logs every argument it receives to fake.log in its own
 * directory and fails on request (fake.control), so these check, without a GPU, that what the Java
 * side asks for reaches the driver and cuBLAS exactly: the tensor map's every field, the launch's
 * cluster dimensions and parameters, cublasGemmEx's transposes, sizes, leading dimensions and types
 * for row-major C = A W^T; and that a missing library or entry point is a one-line reason and a
 * failing call an exception with the error's name. Nothing here runs a real driver or cuBLAS.
 * Skipped where the library was not built, except with {@code VIT4J_REQUIRE_CUDA_CPU=1} (CI), which
 * builds it with the cuda-cpu library.
 */
class CudaNativeTest {
    private static final Path FAKES = Path.of("build", "native", "fake");

    @TempDir
    Path dir;

    private final Random random = new Random();

    @BeforeAll
    static void libraryBuilt() {
        String why = CudaNative.load();
        if (why != null && DevicesUnderTest.requireCudaCpu()) {
            throw new AssertionError("VIT4J_REQUIRE_CUDA_CPU=1 but libvit4j_cuda.so does not load: " + why);
        }
        Assumptions.assumeTrue(why == null, "libvit4j_cuda.so tests skipped: " + why);
    }

    /**
     * A fresh directory holding copies of the fakes of {@code variant} (each copy a library of its own).
     * The fakes live in the build tree only: a GPU distribution has the jar's library but not them.
     */
    private Path fakes(String variant) throws IOException {
        boolean built = Files.isDirectory(FAKES.resolve("cuda")) && Files.isDirectory(FAKES.resolve("cublas"));
        if (!built && DevicesUnderTest.requireCudaCpu()) {
            throw new AssertionError("VIT4J_REQUIRE_CUDA_CPU=1 but the fakes of libvit4j_cuda.so's tests are not at "
                    + FAKES.toAbsolutePath());
        }
        Assumptions.assumeTrue(built, "skipped: no fakes of libcuda/libcublas at " + FAKES.toAbsolutePath());
        Path d = Files.createTempDirectory(dir, variant);
        try (var files = Files.list(FAKES.resolve(variant))) {
            for (Path f : files.collect(Collectors.toList())) Files.copy(f, d.resolve(f.getFileName()));
        }
        return d;
    }

    private static void control(Path d, String... lines) throws IOException {
        Files.writeString(d.resolve("fake.control"), String.join("\n", lines) + "\n");
    }

    /** The fake's log lines that start with {@code call}. */
    private static List<String> calls(Path d, String call) throws IOException {
        Path log = d.resolve("fake.log");
        if (!Files.exists(log)) return List.of();
        return Files.readAllLines(log).stream().filter(l -> l.startsWith(call + " ")).collect(Collectors.toList());
    }

    private static String last(Path d, String call) throws IOException {
        List<String> c = calls(d, call);
        assertFalse(c.isEmpty(), "the fake logged no " + call);
        return c.get(c.size() - 1);
    }

    private CudaNative.Driver driver(Path d) {
        CudaNative.Bound<CudaNative.Driver> b = CudaNative.bindDriver(d.resolve("libcuda.so.1").toString());
        assertNull(b.problem(), "binding the fake driver");
        return b.value();
    }

    private static String join(long[] v) {
        return Arrays.stream(v).mapToObj(Long::toString).collect(Collectors.joining(","));
    }

    private static String join(int[] v) {
        return Arrays.stream(v).mapToObj(Integer::toString).collect(Collectors.joining(","));
    }

    private static <E extends Enum<E>> E pick(Random r, E[] values) {
        return values[r.nextInt(values.length)];
    }

    // ---- this machine: no driver ------------------------------------------------------------------------

    @Test
    void loadsAndSaysWhatIsMissingWithoutADriver() {
        assertNull(CudaNative.load());
        CudaNative.Bound<CudaNative.Driver> d = CudaNative.driver();
        if (!new CudaProvider().probe().available()) {
            // No GPU driver here (CI): the reason names the file, in one line, and nothing is bound.
            assertNull(d.value());
            assertTrue(d.problem().startsWith("no libcuda.so.1 ("), d.problem());
            assertEquals(1, d.problem().lines().count(), d.problem());
            Vit4jException e = assertThrows(Vit4jException.class, () -> d.orThrow("cuTensorMapEncodeTiled"));
            assertTrue(e.getMessage().startsWith("cuda: cuTensorMapEncodeTiled is unavailable: no libcuda.so.1 ("),
                    e.getMessage());
        } else {
            // A GPU host (bench/gpu-check.sh): a driver of CUDA 12.0 or newer has both entry points.
            assertNull(d.problem(), "the real driver's entry points");
        }
        CudaNative.Bound<CudaNative.Cublas> b = CudaNative.cublas();
        if (b.value() == null) {
            assertTrue(b.problem().startsWith("no libcublas.so.13, libcublas.so.12 ("), b.problem());
            assertEquals(1, b.problem().lines().count(), b.problem());
            // --gemm cublas then falls back to vit4j's GEMM: no handle, nothing thrown.
            assertNull(CublasGemm.tryCreate(0, 0, 0));
        }
    }

    /**
     * On a GPU host (bench/gpu-check.sh; skipped elsewhere, as no driver is there): the real driver
     * through libvit4j_cuda.so. cuLaunchKernelEx runs a real kernel (elementwise add, on an odd n) with
     * and without a cluster attribute and gives exactly a + b; cuTensorMapEncodeTiled encodes a map of
     * a real buffer, and rejects one it must (a 128-byte swizzle with a 1 KiB inner box) with the
     * driver's error name.
     */
    @Test
    @Tag("gpu") // left out of Maven builds (see the root pom); run by the distribution on a GPU host
    void onAGpuTheRealDriverLaunchesWithClustersAndEncodesTensorMaps() {
        var gpu = new CudaProvider().probe();
        if (!gpu.available() && "1".equals(System.getenv("VIT4J_REQUIRE_CUDA"))) {
            throw new AssertionError("VIT4J_REQUIRE_CUDA=1 but CUDA is unavailable: " + gpu.reason());
        }
        Assumptions.assumeTrue(gpu.available(), "no GPU here: " + gpu.reason());
        try (JCudaDriver d = new JCudaDriver(0)) {
            d.makeCurrent();
            Assumptions.assumeTrue(d.hopperProblem() == null, "no clusters / tensor maps: " + d.hopperProblem());
            int n = 4 * CudaKernels.Elementwise.THREADS * 6 - 3; // 6 blocks, the last one partial
            float[] a = new float[n], b = new float[n], out = new float[n];
            for (int i = 0; i < n; i++) {
                a[i] = random.nextFloat() * 2 - 1;
                b[i] = random.nextFloat() * 2 - 1;
            }
            long da = d.malloc(4L * n), db = d.malloc(4L * n), dout = d.malloc(4L * n);
            try {
                d.copyHtoD(da, a, 0, n);
                d.copyHtoD(db, b, 0, n);
                for (int[] cluster : new int[][] {{1, 1, 1}, {2, 1, 1}, {3, 1, 1}}) {
                    float[] nan = new float[n];
                    Arrays.fill(nan, Float.NaN);
                    d.copyHtoD(dout, nan, 0, n);
                    CudaKernels.Launch l = CudaKernels.add(da, db, dout, n);
                    assertEquals(6, l.grid()[0]);
                    d.launch(d.function(l.module(), l.kernelName()), l.grid(), l.block(), cluster, l.sharedBytes(), l.args());
                    d.copyDtoH(out, 0, dout, n);
                    for (int i = 0; i < n; i++) assertEquals(a[i] + b[i], out[i], "element " + i + ", cluster " + cluster[0]);
                }
                byte[] map = d.encodeTensorMap(TensorMapSpec.matrix(TensorMapSpec.DataType.FLOAT32, da, 6, n / 6 / 4 * 4,
                        n / 6 / 4 * 16, 4, 32, TensorMapSpec.Swizzle.B128));
                assertEquals(128, map.length);
                Vit4jException e = assertThrows(Vit4jException.class, () -> d.encodeTensorMap(TensorMapSpec.matrix(
                        TensorMapSpec.DataType.FLOAT32, da, 6, 512, 2048, 4, 256, TensorMapSpec.Swizzle.B128)));
                assertTrue(e.getMessage().startsWith("cuda: cuTensorMapEncodeTiled failed: CUDA_ERROR_INVALID_VALUE"),
                        e.getMessage());
            } finally {
                d.free(da);
                d.free(db);
                d.free(dout);
            }
        }
    }

    // ---- the driver ------------------------------------------------------------------------------------

    @Test
    void tensorMapArgumentsArriveAsAsked() throws IOException {
        Path d = fakes("cuda");
        CudaNative.Driver driver = driver(d);
        try {
            for (int trial = 0; trial < 40; trial++) {
                int rank = 1 + trial % 5;
                TensorMapSpec.DataType dtype = pick(random, TensorMapSpec.DataType.values());
                TensorMapSpec.Interleave interleave = pick(random, TensorMapSpec.Interleave.values());
                long[] dims = new long[rank];
                long[] strides = new long[rank - 1];
                int[] box = new int[rank];
                int[] es = new int[rank];
                long pitch = dtype.bytes;
                for (int i = 0; i < rank; i++) {
                    dims[i] = 1 + random.nextInt(i == 0 ? 5000 : 300); // odd sizes too
                    box[i] = 1 + random.nextInt(256);
                    es[i] = 1 + random.nextInt(8);
                    if (i > 0) {
                        pitch = (pitch * dims[i - 1] + 15) / 16 * 16 + 16L * random.nextInt(4); // padded rows
                        strides[i - 1] = pitch;
                    }
                }
                long address = (0x7f0000000000L + random.nextInt(1 << 20)) * 32; // 32-byte aligned
                TensorMapSpec spec = new TensorMapSpec(dtype, address, dims, strides, box, es, interleave,
                        pick(random, TensorMapSpec.Swizzle.values()), pick(random, TensorMapSpec.L2Promotion.values()),
                        pick(random, TensorMapSpec.OobFill.values()));
                byte[] map = driver.encodeTiled(spec);
                String expected = "cuTensorMapEncodeTiled dtype=" + dtype.code + " rank=" + rank + " address=0x"
                        + Long.toHexString(address) + " dims=" + join(dims) + " strides=" + join(strides) + " box="
                        + join(box) + " elementStrides=" + join(es) + " interleave=" + interleave.code + " swizzle="
                        + spec.swizzle().code + " l2=" + spec.l2Promotion().code + " oob=" + spec.oobFill().code;
                assertEquals(expected, last(d, "cuTensorMapEncodeTiled"), spec.toString());
                // The 128 bytes come back as the driver wrote them (the fake: rank | dtype << 8, the address, then i).
                assertEquals(128, map.length);
                ByteBuffer bb = ByteBuffer.wrap(map).order(ByteOrder.LITTLE_ENDIAN);
                assertEquals(rank | ((long) dtype.code << 8), bb.getLong(0));
                assertEquals(address, bb.getLong(8));
                for (int i = 16; i < 128; i++) assertEquals((byte) i, map[i], "byte " + i);
            }
            // The fake was asked for CUDA 12.0's ABI of the entry points, with default flags.
            List<String> lookups = calls(d, "cuGetProcAddress_v2");
            assertTrue(lookups.contains("cuGetProcAddress_v2 cuTensorMapEncodeTiled version=12000 flags=0"), lookups.toString());
            assertTrue(lookups.contains("cuGetProcAddress_v2 cuLaunchKernelEx version=12000 flags=0"), lookups.toString());
        } finally {
            driver.release();
        }
    }

    @Test
    void theMatrixHelperListsDimensionsInnermostFirst() throws IOException {
        Path d = fakes("cuda");
        CudaNative.Driver driver = driver(d);
        try {
            // A row-major [197, 768] bf16 matrix with rows padded to 1552 bytes, boxes of 64 rows x 64 columns.
            driver.encodeTiled(TensorMapSpec.matrix(TensorMapSpec.DataType.BFLOAT16, 0x7f0000001000L, 197, 768, 1552, 64, 64,
                    TensorMapSpec.Swizzle.B128));
            assertEquals("cuTensorMapEncodeTiled dtype=9 rank=2 address=0x7f0000001000 dims=768,197 strides=1552 box=64,64 "
                    + "elementStrides=1,1 interleave=0 swizzle=3 l2=2 oob=0", last(d, "cuTensorMapEncodeTiled"));
        } finally {
            driver.release();
        }
    }

    @Test
    void badTensorMapsAreOneLineErrorsNamingTheArgument() {
        long a = 0x7f0000001000L;
        var dt = TensorMapSpec.DataType.FLOAT32;
        var ni = TensorMapSpec.Interleave.NONE;
        var sw = TensorMapSpec.Swizzle.NONE;
        var l2 = TensorMapSpec.L2Promotion.NONE;
        var oob = TensorMapSpec.OobFill.ZERO;
        List<String> messages = new ArrayList<>();
        messages.add(assertThrows(Vit4jException.class, () -> new TensorMapSpec(dt, a, new long[] {100, 10}, new long[] {404},
                new int[] {8, 8}, new int[] {1, 1}, ni, sw, l2, oob)).getMessage());
        messages.add(assertThrows(Vit4jException.class, () -> new TensorMapSpec(dt, a + 8, new long[] {100, 10},
                new long[] {400}, new int[] {8, 8}, new int[] {1, 1}, ni, sw, l2, oob)).getMessage());
        messages.add(assertThrows(Vit4jException.class, () -> new TensorMapSpec(dt, a, new long[] {100, 10}, new long[] {400},
                new int[] {8, 257}, new int[] {1, 1}, ni, sw, l2, oob)).getMessage());
        messages.add(assertThrows(Vit4jException.class, () -> new TensorMapSpec(dt, a, new long[] {100, 10}, new long[] {400},
                new int[] {8, 8}, new int[] {1, 9}, ni, sw, l2, oob)).getMessage());
        messages.add(assertThrows(Vit4jException.class, () -> new TensorMapSpec(dt, a, new long[] {100, 10, 3},
                new long[] {400}, new int[] {8, 8, 1}, new int[] {1, 1, 1}, ni, sw, l2, oob)).getMessage());
        messages.add(assertThrows(Vit4jException.class, () -> new TensorMapSpec(dt, a, new long[6], new long[5], new int[6],
                new int[6], ni, sw, l2, oob)).getMessage());
        List<String> names = List.of("strideBytes[0]", "aligned to 16", "box[1]", "elementStrides[1]", "strideBytes must have rank - 1 = 2",
                "rank (dims.length) must be 1..5, got 6");
        for (int i = 0; i < names.size(); i++) {
            assertTrue(messages.get(i).contains(names.get(i)), messages.get(i));
            assertEquals(1, messages.get(i).lines().count(), messages.get(i));
        }
    }

    @Test
    void clusterLaunchesCarryTheClusterAndEveryParameter() throws IOException {
        Path d = fakes("cuda");
        CudaNative.Driver driver = driver(d);
        try {
            for (int trial = 0; trial < 20; trial++) {
                int[] cluster = {1 + random.nextInt(4), 1 + random.nextInt(2), 1 + random.nextInt(2)};
                if (trial == 0) cluster = new int[] {1, 1, 1};
                int[] grid = {cluster[0] * (1 + random.nextInt(50)), cluster[1] * (1 + random.nextInt(7)),
                    cluster[2] * (1 + random.nextInt(3))};
                int[] block = {32 * (1 + random.nextInt(8)), 1 + random.nextInt(2), 1};
                int shared = random.nextInt(228 * 1024);
                long function = random.nextLong() & 0x7fffffffffffL;
                long stream = random.nextLong() & 0x7fffffffffffL;
                long pointer = random.nextLong();
                int integer = random.nextInt();
                float real = random.nextFloat() * 100 - 50;
                byte[] map = new byte[128];
                random.nextBytes(map);
                control(d, "params 8 4 128 4");
                driver.launch(function, grid, block, cluster, shared, stream, List.of(KernelArg.ptr(pointer),
                        KernelArg.i32(integer), new KernelArg.TensorMap(map), KernelArg.f32(real)));
                String attrs = Arrays.equals(cluster, new int[] {1, 1, 1}) ? "attrs=0[]"
                        : "attrs=1[cluster=" + join(cluster) + "]";
                String params = hex(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(pointer).array()) + ","
                        + hex(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(integer).array()) + "," + hex(map)
                        + "," + hex(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(real).array());
                assertEquals("cuLaunchKernelEx f=0x" + Long.toHexString(function) + " grid=" + join(grid) + " block="
                        + join(block) + " shared=" + shared + " stream=0x" + Long.toHexString(stream) + " " + attrs
                        + " params=" + params + " extra=null", last(d, "cuLaunchKernelEx"));
            }
            // A grid that is not a multiple of the cluster never reaches the driver.
            int before = calls(d, "cuLaunchKernelEx").size();
            Vit4jException e = assertThrows(Vit4jException.class, () -> driver.launch(1, new int[] {5, 1, 1},
                    new int[] {128, 1, 1}, new int[] {2, 1, 1}, 0, 0, List.of()));
            assertTrue(e.getMessage().contains("not a multiple of the cluster [2, 1, 1]"), e.getMessage());
            assertEquals(before, calls(d, "cuLaunchKernelEx").size());
        } finally {
            driver.release();
        }
    }

    private static String hex(byte[] b) {
        StringBuilder s = new StringBuilder();
        for (byte x : b) s.append(String.format("%02x", x & 0xff));
        return s.toString();
    }

    @Test
    void driverErrorsAreExceptionsWithTheErrorsName() throws IOException {
        Path d = fakes("cuda");
        CudaNative.Driver driver = driver(d);
        try {
            control(d, "fail cuTensorMapEncodeTiled 1", "fail cuLaunchKernelEx 700");
            Vit4jException e = assertThrows(Vit4jException.class, () -> driver.encodeTiled(TensorMapSpec.matrix(
                    TensorMapSpec.DataType.FLOAT16, 0x10000, 64, 64, 128, 64, 64, TensorMapSpec.Swizzle.B128)));
            assertEquals("cuda: cuTensorMapEncodeTiled failed: CUDA_ERROR_INVALID_VALUE (1)", e.getMessage());
            e = assertThrows(Vit4jException.class, () -> driver.launch(1, new int[] {1, 1, 1}, new int[] {32, 1, 1},
                    new int[] {1, 1, 1}, 0, 0, List.of(KernelArg.i32(3))));
            assertEquals("cuda: cuLaunchKernelEx failed: CUDA_ERROR_ILLEGAL_ADDRESS (700)", e.getMessage());
            // A code the driver has no name for still says its number.
            control(d, "fail cuLaunchKernelEx 12345");
            e = assertThrows(Vit4jException.class, () -> driver.launch(1, new int[] {1, 1, 1}, new int[] {32, 1, 1},
                    new int[] {1, 1, 1}, 0, 0, List.of()));
            assertEquals("cuda: cuLaunchKernelEx failed: CUDA error 12345", e.getMessage());
        } finally {
            driver.release();
        }
    }

    @Test
    void aMissingDriverOrEntryPointIsOneLineNamingIt() throws IOException {
        fakes("cuda"); // (skips where the fakes are not built)
        Path empty = Files.createTempDirectory(dir, "empty");
        CudaNative.Bound<CudaNative.Driver> b = CudaNative.bindDriver(empty.resolve("libcuda.so.1").toString());
        assertNull(b.value());
        assertTrue(b.problem().startsWith("no " + empty.resolve("libcuda.so.1") + " ("), b.problem());

        for (String symbol : List.of("cuTensorMapEncodeTiled", "cuLaunchKernelEx")) {
            Path d = fakes("cuda");
            control(d, "hide " + symbol);
            b = CudaNative.bindDriver(d.resolve("libcuda.so.1").toString());
            assertNull(b.value());
            assertEquals(d.resolve("libcuda.so.1") + " has no " + symbol + " (cuGetProcAddress returned 500, status 1)",
                    b.problem());
        }

        Path old = fakes("cuda-no-proc-address");
        b = CudaNative.bindDriver(old.resolve("libcuda.so.1").toString());
        assertNull(b.value());
        assertEquals(old.resolve("libcuda.so.1") + " has no cuGetProcAddress (a driver older than CUDA 11.3)", b.problem());
        for (String p : List.of(b.problem())) assertEquals(1, p.lines().count());
    }

    // ---- cuBLAS ----------------------------------------------------------------------------------------

    private static List<String> cublasFiles(Path d) {
        return List.of(d.resolve("libcublas.so.13").toString(), d.resolve("libcublas.so.12").toString());
    }

    @Test
    void gemmExGetsRowMajorCAsColumnMajorCTransposed() throws IOException {
        Path d = fakes("cublas");
        CudaNative.Bound<CudaNative.Cublas> b = CudaNative.bindCublas(cublasFiles(d));
        assertNull(b.problem());
        CudaNative.Cublas lib = b.value();
        long stream = 0x5000, workspace = 0x600000, wsBytes = 32L << 20;
        CublasGemm g = CublasGemm.create(lib, null, stream, workspace, wsBytes, false);
        CublasGemm tf32 = CublasGemm.create(lib, null, stream, workspace, wsBytes, true);
        try {
            assertEquals("cublasSetStream_v2 own=1 stream=0x5000", last(d, "cublasSetStream_v2"));
            assertEquals("cublasSetWorkspace_v2 own=1 workspace=0x600000 bytes=33554432", last(d, "cublasSetWorkspace_v2"));
            int[][] shapes = {{197, 768, 2304}, {394, 768, 768}, {1, 3, 5}, {37, 64, 3072}, {256 * 197, 3072, 768}};
            for (int[] s : shapes) {
                for (ElementType in : ElementType.values()) {
                    for (ElementType out : in == ElementType.F32 ? List.of(ElementType.F32) : List.of(ElementType.F32, in)) {
                        for (boolean accumulate : new boolean[] {false, true}) {
                            int m = s[0], k = s[1], n = s[2];
                            long a = 0x100000L * (1 + random.nextInt(1000)), w = a + 0x7f00000L, c = w + 0x7f00000L;
                            g.gemm(a, w, in, c, out, m, k, n, accumulate);
                            int type = in == ElementType.F32 ? 0 : in == ElementType.BF16 ? 14 : 2;
                            int ctype = out == ElementType.F32 ? 0 : type;
                            // C^T[n, m] = W[n, k] . A^T[k, m] in column-major: W is read transposed (its
                            // column-major view is W^T, leading dimension k), A as is (A^T, ldb k), C with ldc n.
                            assertEquals("cublasGemmEx own=1 transa=1 transb=0 m=" + n + " n=" + m + " k=" + k
                                    + " alpha=1 A=0x" + Long.toHexString(w) + " Atype=" + type + " lda=" + k + " B=0x"
                                    + Long.toHexString(a) + " Btype=" + type + " ldb=" + k + " beta=" + (accumulate ? 1 : 0)
                                    + " C=0x" + Long.toHexString(c) + " Ctype=" + ctype + " ldc=" + n
                                    + " computeType=68 algo=-1", last(d, "cublasGemmEx"), in + "->" + out);
                        }
                    }
                }
            }
            g.gemm(0x1000, 0x2000, 0x3000, 3, 4, 5, true); // the fp32 overload the backend calls
            assertTrue(last(d, "cublasGemmEx").contains(" m=5 n=3 k=4 alpha=1 A=0x2000 Atype=0 lda=4 B=0x1000 Btype=0 ldb=4 beta=1 "
                    + "C=0x3000 Ctype=0 ldc=5 computeType=68 "), last(d, "cublasGemmEx"));
            tf32.gemm(0x1000, 0x2000, 0x3000, 3, 4, 5, false); // TF32 only where asked for, fp32 only
            assertTrue(last(d, "cublasGemmEx").endsWith(" computeType=77 algo=-1"), last(d, "cublasGemmEx"));
            tf32.gemm(0x1000, 0x2000, ElementType.BF16, 0x3000, ElementType.F32, 3, 4, 5, false);
            assertTrue(last(d, "cublasGemmEx").endsWith(" computeType=68 algo=-1"), last(d, "cublasGemmEx"));
            Vit4jException e = assertThrows(Vit4jException.class,
                    () -> g.gemm(0x1000, 0x2000, ElementType.BF16, 0x3000, ElementType.F16, 3, 4, 5, false));
            assertTrue(e.getMessage().startsWith("cublas gemm: output fp16 with bf16 operands"), e.getMessage());
        } finally {
            g.close();
            tf32.close();
            assertEquals(2, calls(d, "cublasDestroy_v2").size());
            assertEquals("cublasDestroy_v2 own=1", last(d, "cublasDestroy_v2"));
            lib.release();
        }
    }

    @Test
    void cublasErrorsAreExceptionsWithTheStatusName() throws IOException {
        Path d = fakes("cublas");
        CudaNative.Cublas lib = CudaNative.bindCublas(cublasFiles(d)).value();
        assertNotNull(lib);
        try {
            CublasGemm g = CublasGemm.create(lib, null, 0, 0x1000, 1024, false);
            control(d, "fail cublasGemmEx 13");
            Vit4jException e = assertThrows(Vit4jException.class, () -> g.gemm(0x100, 0x200, 0x300, 2, 3, 4, false));
            assertEquals("cuda: cublasGemmEx failed: CUBLAS_STATUS_EXECUTION_FAILED (13)", e.getMessage());
            g.close();
            // A failing cublasSetWorkspace destroys the handle it made and says so.
            control(d, "fail cublasSetWorkspace_v2 7");
            int destroyed = calls(d, "cublasDestroy_v2").size();
            e = assertThrows(Vit4jException.class, () -> CublasGemm.create(lib, null, 0, 0x1000, 1024, false));
            assertEquals("cuda: cublasSetWorkspace failed: CUBLAS_STATUS_INVALID_VALUE (7)", e.getMessage());
            assertEquals(destroyed + 1, calls(d, "cublasDestroy_v2").size());
            control(d, "fail cublasCreate_v2 3");
            e = assertThrows(Vit4jException.class, () -> CublasGemm.create(lib, null, 0, 0x1000, 1024, false));
            assertEquals("cuda: cublasCreate failed: CUBLAS_STATUS_ALLOC_FAILED (3)", e.getMessage());
        } finally {
            lib.release();
        }
    }

    @Test
    void cublasIsFoundAs13Else12AndAMissingOneIsOneLine() throws IOException {
        fakes("cublas"); // (skips where the fakes are not built)
        Path empty = Files.createTempDirectory(dir, "empty");
        CudaNative.Bound<CudaNative.Cublas> b = CudaNative.bindCublas(cublasFiles(empty));
        assertNull(b.value());
        assertTrue(b.problem().startsWith("no " + empty.resolve("libcublas.so.13") + ", " + empty.resolve("libcublas.so.12")
                + " ("), b.problem());
        assertEquals(1, b.problem().lines().count());

        // Only .12 there (a CUDA 12 host): that one is bound.
        Path twelve = Files.createTempDirectory(dir, "twelve");
        Files.copy(FAKES.resolve("cublas").resolve("libcublas.so.13"), twelve.resolve("libcublas.so.12"));
        b = CudaNative.bindCublas(cublasFiles(twelve));
        assertNull(b.problem());
        assertEquals(twelve.resolve("libcublas.so.12").toString(), b.value().file);
        b.value().release();

        Path noGemm = fakes("cublas-no-gemmex");
        b = CudaNative.bindCublas(cublasFiles(noGemm));
        assertNull(b.value());
        assertEquals(noGemm.resolve("libcublas.so.13") + " has no cublasGemmEx", b.problem());
    }

    // ---- cuBLASLt ------------------------------------------------------------------------------------

    private static List<String> cublasLtFiles(Path d) {
        return List.of(d.resolve("libcublasLt.so.13").toString(), d.resolve("libcublasLt.so.12").toString());
    }

    @Test
    void cublasLtGetsTheBiasEpilogueAndTheResidualAsC() throws IOException {
        Path d = fakes("cublas");
        CudaNative.Cublas lib = CudaNative.bindCublas(cublasFiles(d)).value();
        CudaNative.Bound<CudaNative.CublasLt> b = CudaNative.bindCublasLt(cublasLtFiles(d));
        assertNull(b.problem());
        CudaNative.CublasLt lt = b.value();
        long stream = 0x5000, workspace = 0x600000, wsBytes = 32L << 20;
        CublasGemm g = CublasGemm.create(lib, lt, stream, workspace, wsBytes, false);
        try {
            assertTrue(g.fusesBias());
            int[][] shapes = {{197, 768, 768}, {394, 3072, 768}, {1, 3, 5}, {37, 64, 80}};
            for (int[] s : shapes) {
                for (ElementType type : ElementType.values()) {
                    for (boolean withResidual : new boolean[] {false, true}) {
                        int m = s[0], k = s[1], n = s[2];
                        long a = 0x100000L * (1 + random.nextInt(1000)), w = a + 0x7f00000L, out = w + 0x7f00000L;
                        long bias = out + 0x7f00000L, residual = withResidual ? bias + 0x100000L : 0;
                        g.gemmBias(a, w, bias, residual, out, type, m, k, n);
                        int t = type == ElementType.F32 ? 0 : type == ElementType.BF16 ? 14 : 2;
                        // Column-major D^T[n, m] = W A^T + bias over D^T's rows (our features) + beta C^T:
                        // W stored k x n (read transposed), A^T k x m, C and D n x m with ld n.
                        assertEquals("cublasLtMatmul own=1 compute=68 scale=0 transa=1 transb=0 epilogue=4 bias=0x"
                                + Long.toHexString(bias) + " biasType=" + t + " alpha=1 A=0x" + Long.toHexString(w) + " " + t
                                + ":" + k + "x" + n + "/" + k + " B=0x" + Long.toHexString(a) + " " + t + ":" + k + "x" + m + "/"
                                + k + " beta=" + (withResidual ? 1 : 0) + " C=0x" + Long.toHexString(withResidual ? residual : out)
                                + " " + t + ":" + n + "x" + m + "/" + n + " D=0x" + Long.toHexString(out) + " " + t + ":" + n + "x"
                                + m + "/" + n + " algo=0xa160 workspace=0x600000 bytes=33554432 stream=0x5000",
                                last(d, "cublasLtMatmul"), type + " " + Arrays.toString(s));
                    }
                }
            }
            assertTrue(last(d, "cublasLtMatmulAlgoGetHeuristic").startsWith(
                    "cublasLtMatmulAlgoGetHeuristic requested=1 maxWorkspace=33554432 desc=0x"), last(d, "cublasLtMatmulAlgoGetHeuristic"));
            // Errors name the step and the status, and leave no descriptor behind.
            control(d, "fail cublasLtMatmul 13");
            Vit4jException e = assertThrows(Vit4jException.class,
                    () -> g.gemmBias(0x100, 0x200, 0x300, 0, 0x400, ElementType.BF16, 2, 3, 4));
            assertEquals("cuda: cublasLtMatmul failed: CUBLAS_STATUS_EXECUTION_FAILED (13)", e.getMessage());
            control(d, "hide algorithms");
            e = assertThrows(Vit4jException.class, () -> g.gemmBias(0x100, 0x200, 0x300, 0, 0x400, ElementType.F32, 2, 3, 4));
            assertEquals("cuda: cublasLtMatmulAlgoGetHeuristic (no algorithm) failed: CUBLAS_STATUS_NOT_SUPPORTED (15)",
                    e.getMessage());
            control(d, "fail cublasLtMatrixLayoutCreate 3");
            e = assertThrows(Vit4jException.class, () -> g.gemmBias(0x100, 0x200, 0x300, 0, 0x400, ElementType.F32, 2, 3, 4));
            assertEquals("cuda: cublasLtMatrixLayoutCreate(A) failed: CUBLAS_STATUS_ALLOC_FAILED (3)", e.getMessage());
            control(d);
        } finally {
            g.close();
            assertEquals("cublasLtDestroy own=1 live=0", last(d, "cublasLtDestroy"), "every descriptor destroyed");
            lt.release();
            lib.release();
        }
        Path empty = Files.createTempDirectory(dir, "empty");
        b = CudaNative.bindCublasLt(cublasLtFiles(empty));
        assertNull(b.value());
        assertTrue(b.problem().startsWith("no " + empty.resolve("libcublasLt.so.13") + ", " + empty.resolve("libcublasLt.so.12")
                + " ("), b.problem());
    }

    /** The addresses the fake logged for {@code call} ("call 0x..."), in order. */
    private static List<String> addresses(Path d, String call) throws IOException {
        return calls(d, call).stream().map(l -> l.split(" ")[1]).collect(Collectors.toList());
    }

    /**
     * cuBLASLt's descriptor, layouts and heuristic are made once per problem and kept for the life of
     * the handle: a second call of the same shape (other pointers, another bias, with or without a
     * residual) makes no descriptor and asks no heuristic, yet reaches cublasLtMatmul with its own
     * pointers and bias; another shape, type or a less aligned bias makes a plan of its own; close
     * destroys every descriptor and layout exactly once, before the handle, and nothing else after.
     */
    @Test
    void cublasLtPlansAreMadeOncePerProblemAndDestroyedOnceOnClose() throws IOException {
        Path d = fakes("cublas");
        CudaNative.Cublas lib = CudaNative.bindCublas(cublasFiles(d)).value();
        CudaNative.CublasLt lt = CudaNative.bindCublasLt(cublasLtFiles(d)).value();
        assertNotNull(lt);
        long stream = 0x7000, workspace = 0x900000, wsBytes = 4L << 20;
        CublasGemm g = CublasGemm.create(lib, lt, stream, workspace, wsBytes, false);
        try {
            int m = 197 + random.nextInt(200), k = 64 * (1 + random.nextInt(12)) + 1, n = 3 * k;
            int descs = 0, layouts = 0, heuristics = 0;
            for (int call = 0; call < 5; call++) {
                long a = 0x100000L * (1 + random.nextInt(1000)), w = a + 0x7f00000L, out = w + 0x7f00000L;
                long bias = out + 0x7f00000L + 0x100L * random.nextInt(64), residual = call % 2 == 1 ? bias + 0x100000L : 0;
                g.gemmBias(a, w, bias, residual, out, ElementType.BF16, m, k, n);
                if (call == 0) {
                    descs = 1;
                    layouts = 4;
                    heuristics = 1;
                }
                assertEquals(descs, calls(d, "cublasLtMatmulDescCreate").size(), "call " + call + ": matmul descriptors made");
                assertEquals(layouts, calls(d, "cublasLtMatrixLayoutCreate").size(), "call " + call + ": layouts made");
                assertEquals(heuristics, calls(d, "cublasLtMatmulAlgoGetHeuristic").size(), "call " + call + ": heuristics asked");
                assertEquals(call + 1, calls(d, "cublasLtMatmul").size());
                // The cached plan still gets this call's pointers and bias.
                String mm = last(d, "cublasLtMatmul");
                assertTrue(mm.contains(" bias=0x" + Long.toHexString(bias) + " biasType=14 "), mm);
                assertTrue(mm.contains(" A=0x" + Long.toHexString(w) + " 14:" + k + "x" + n + "/" + k + " B=0x" + Long.toHexString(a)
                        + " 14:" + k + "x" + m + "/" + k + " beta=" + (residual != 0 ? 1 : 0) + " C=0x"
                        + Long.toHexString(residual != 0 ? residual : out) + " 14:" + n + "x" + m + "/" + n + " D=0x"
                        + Long.toHexString(out) + " 14:" + n + "x" + m + "/" + n + " "), mm);
                assertTrue(mm.endsWith(" workspace=0x900000 bytes=4194304 stream=0x7000"), mm);
            }
            assertEquals(1, g.planCount());
            // Each of these is a problem of its own: another m, another n, another k, another type, and a
            // bias only 2-byte aligned (the heuristic assumed the first bias's 256 bytes).
            long a = 0x100000L, w = 0x8000000L, out = 0x10000000L, bias = 0x18000000L;
            g.gemmBias(a, w, bias, 0, out, ElementType.BF16, m + 1, k, n);
            g.gemmBias(a, w, bias, 0, out, ElementType.BF16, m, k, n + 1);
            g.gemmBias(a, w, bias, 0, out, ElementType.BF16, m, k + 1, n);
            g.gemmBias(a, w, bias, 0, out, ElementType.F16, m, k, n);
            g.gemmBias(a, w, bias + 2, 0, out, ElementType.BF16, m, k, n);
            assertEquals(6, g.planCount());
            assertEquals(6, calls(d, "cublasLtMatmulDescCreate").size());
            assertEquals(24, calls(d, "cublasLtMatrixLayoutCreate").size());
            assertEquals(6, calls(d, "cublasLtMatmulAlgoGetHeuristic").size());
            assertTrue(last(d, "cublasLtMatmul").contains(" bias=0x" + Long.toHexString(bias + 2) + " "), last(d, "cublasLtMatmul"));
            // Again each of them, and the first: all cached by now.
            g.gemmBias(a, w, bias, 0, out, ElementType.BF16, m + 1, k, n);
            g.gemmBias(a, w, bias, 0, out, ElementType.F16, m, k, n);
            g.gemmBias(a, w, bias + 2, 0, out, ElementType.BF16, m, k, n);
            g.gemmBias(a, w, bias + 0x400, 0x20000000L, out, ElementType.BF16, m, k, n);
            assertEquals(6, calls(d, "cublasLtMatmulDescCreate").size());
            assertEquals(6, calls(d, "cublasLtMatmulAlgoGetHeuristic").size());
            // Nothing but the preferences (which only feed the heuristic) was destroyed while the handle lives.
            assertEquals(List.of(), calls(d, "cublasLtMatmulDescDestroy"));
            assertEquals(List.of(), calls(d, "cublasLtMatrixLayoutDestroy"));
            assertEquals(6, calls(d, "cublasLtMatmulPreferenceDestroy").size());
            // A plan that fails to be made is not kept, and leaves nothing behind.
            control(d, "fail cublasLtMatrixLayoutCreate 3");
            assertThrows(Vit4jException.class, () -> g.gemmBias(0x100, 0x200, 0x300, 0, 0x400, ElementType.F32, 2, 3, 4));
            control(d);
            assertEquals(6, g.planCount());
        } finally {
            g.close();
            g.close(); // twice: nothing more
        }
        List<String> made = new ArrayList<>(addresses(d, "cublasLtMatmulDescCreate"));
        made.addAll(addresses(d, "cublasLtMatrixLayoutCreate"));
        List<String> destroyed = new ArrayList<>(addresses(d, "cublasLtMatmulDescDestroy"));
        destroyed.addAll(addresses(d, "cublasLtMatrixLayoutDestroy"));
        made.sort(null);
        destroyed.sort(null);
        assertEquals(made, destroyed, "every descriptor and layout destroyed exactly once");
        List<String> log = Files.readAllLines(d.resolve("fake.log"));
        assertFalse(log.stream().anyMatch(l -> l.contains(" twice") || l.contains("given a destroyed")), String.join("\n", log));
        assertEquals("cublasLtDestroy own=1 live=0", last(d, "cublasLtDestroy"), "the plans go before the handle");
        assertEquals(1, calls(d, "cublasLtDestroy").size());
        List<String> ltLog = log.stream().filter(l -> l.startsWith("cublasLt")).collect(Collectors.toList());
        assertTrue(ltLog.get(ltLog.size() - 1).startsWith("cublasLtDestroy "), "nothing after the handle: " + ltLog);
        assertThrows(IllegalStateException.class, () -> g.gemmBias(0x100, 0x200, 0x300, 0, 0x400, ElementType.BF16, 2, 3, 4));
        lt.release();
        lib.release();
    }

    @Test
    void theSameFakeTwiceIsTwoIndependentBindings() throws IOException {
        // Each test's copy is a library of its own: one directory's control file does not reach another's.
        Path d1 = fakes("cuda");
        Path d2 = fakes("cuda");
        CudaNative.Driver a = driver(d1);
        CudaNative.Driver b = driver(d2);
        try {
            control(d1, "fail cuTensorMapEncodeTiled 1");
            TensorMapSpec spec = TensorMapSpec.matrix(TensorMapSpec.DataType.FLOAT32, 0x20000, 8, 8, 32, 8, 8,
                    TensorMapSpec.Swizzle.NONE);
            assertThrows(Vit4jException.class, () -> a.encodeTiled(spec));
            assertEquals(128, b.encodeTiled(spec).length);
            assertEquals(1, calls(d2, "cuTensorMapEncodeTiled").size());
            assertEquals(1, calls(d1, "cuTensorMapEncodeTiled").size());
        } finally {
            a.release();
            b.release();
        }
    }
}
