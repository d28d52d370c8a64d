package org.vit4j.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.vit4j.ElementType;
import org.vit4j.Vit4jException;
import org.vit4j.backend.BackendOptions;
import org.vit4j.backend.BackendProvider;
import org.vit4j.backend.DeviceBuffer;
import org.vit4j.backend.DevicesUnderTest;
import org.vit4j.backend.Epilogue;

/**
 * Tensor maps on cuda-cpu: {@link CpuCudaDriver#encodeTensorMap} writes kernels/cuda/tma.cuh's
 * {@code tma::CpuTensorMap} (the 128 bytes its fallback of cp.async.bulk.tensor reads) from
 * cuTensorMapEncodeTiled's arguments, with one-line errors naming the argument; kernels taking a map by
 * value have the parameter kind 'm', and a launch passes the 128 bytes (checked: made by this driver, the
 * tensor still inside a live allocation). The Hopper GEMM with TMA loads (linear_v4_tma_*) through the
 * driver directly, recorded and replayed; the backend's map cache and its kernel choice. (Its parity over
 * every shape runs in KernelParityTest / HalfKernelParityTest on the sm_90 cuda-cpu device.)
 */
class CpuTensorMapTest {

    private static CpuCudaDriver driver(int computeCapability, boolean tensorMaps) {
        BackendProvider.Probe cpu = new CudaCpuProvider().probe();
        if (!cpu.available() && DevicesUnderTest.requireCudaCpu()) {
            throw new AssertionError("VIT4J_REQUIRE_CUDA_CPU=1 but cuda-cpu is unavailable: " + cpu.reason());
        }
        Assumptions.assumeTrue(cpu.available(), "cuda-cpu tests skipped: " + cpu.reason());
        return new CpuCudaDriver(new CpuCudaDriver.Options(false, true, computeCapability, tensorMaps));
    }

    private static ByteBuffer le(byte[] b) {
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    }

    @Test
    void encodesTmaCuhsLayoutFromTheEncodeArguments() {
        try (CpuCudaDriver d = driver(90, true)) {
            assertNull(d.tensorMapProblem());
            long a = d.malloc(197 * 784 * 2);
            byte[] map = d.encodeTensorMap(TensorMapSpec.matrix(TensorMapSpec.DataType.BFLOAT16, a, 197, 768, 784 * 2,
                    128, 64, TensorMapSpec.Swizzle.B128));
            assertEquals(KernelArg.TensorMap.BYTES, map.length);
            ByteBuffer m = le(map);
            assertEquals(0x4d543456, m.getInt(0), "magic");
            assertEquals(9, m.getInt(4), "dtype BFLOAT16");
            assertEquals(2, m.getInt(8), "rank");
            assertEquals(0, m.getInt(12), "interleave");
            assertEquals(3, m.getInt(16), "swizzle 128B");
            assertEquals(2, m.getInt(20), "l2 128B");
            assertEquals(0, m.getInt(24), "oob zero");
            assertEquals(2, m.getInt(28), "element bytes");
            assertEquals(a, m.getLong(32), "address");
            assertEquals(768, m.getLong(40), "dims[0]: innermost");
            assertEquals(197, m.getLong(48), "dims[1]");
            assertEquals(784 * 2, m.getLong(80), "strides[0]: the row pitch");
            assertEquals(64, m.getShort(112), "box[0]");
            assertEquals(128, m.getShort(114), "box[1]");
            assertEquals(1, map[122], "elementStrides[0]");
            assertEquals(1, map[123], "elementStrides[1]");
            // the same arguments, the same bytes
            assertArrayEquals(map, d.encodeTensorMap(TensorMapSpec.matrix(TensorMapSpec.DataType.BFLOAT16, a, 197, 768,
                    784 * 2, 128, 64, TensorMapSpec.Swizzle.B128)));
            d.free(a);
        }
    }

    @Test
    void badMapsAreOneLineErrorsNamingTheArgument() {
        try (CpuCudaDriver d = driver(90, true)) {
            long a = d.malloc(64 * 64 * 2);
            var bf = TensorMapSpec.DataType.BFLOAT16;
            List<String[]> cases = new ArrayList<>();
            // {what the message must name, ...} for each bad map; each spec passes TensorMapSpec's own checks
            cases.add(new String[] {"swizzle width", "inner"});
            cases.add(new String[] {"multiple of 16 bytes"});
            cases.add(new String[] {"oobFill NaN needs a floating-point dtype"});
            cases.add(new String[] {"interleave"});
            cases.add(new String[] {"address", "not inside one device allocation"});
            cases.add(new String[] {"address", "not inside one device allocation"});
            List<Runnable> calls = List.of(
                    // a 128-element bf16 box row is 256 bytes: wider than the 128-byte swizzle
                    () -> d.encodeTensorMap(TensorMapSpec.matrix(bf, a, 16, 128, 256, 8, 128, TensorMapSpec.Swizzle.B128)),
                    // 3 bf16 elements: 6 bytes, not a multiple of 16
                    () -> d.encodeTensorMap(TensorMapSpec.matrix(bf, a, 16, 64, 128, 8, 3, TensorMapSpec.Swizzle.NONE)),
                    () -> d.encodeTensorMap(new TensorMapSpec(TensorMapSpec.DataType.UINT16, a, new long[] {64, 16},
                            new long[] {128}, new int[] {64, 8}, new int[] {1, 1}, TensorMapSpec.Interleave.NONE,
                            TensorMapSpec.Swizzle.B128, TensorMapSpec.L2Promotion.B128,
                            TensorMapSpec.OobFill.NAN_REQUEST_ZERO_FMA)),
                    () -> d.encodeTensorMap(new TensorMapSpec(bf, a, new long[] {64, 16}, new long[] {128},
                            new int[] {64, 8}, new int[] {1, 1}, TensorMapSpec.Interleave.B16, TensorMapSpec.Swizzle.NONE,
                            TensorMapSpec.L2Promotion.B128, TensorMapSpec.OobFill.ZERO)),
                    // 65 rows of 128 bytes: one row past the allocation's 64
                    () -> d.encodeTensorMap(TensorMapSpec.matrix(bf, a, 65, 64, 128, 64, 64, TensorMapSpec.Swizzle.B128)),
                    // not device memory at all
                    () -> d.encodeTensorMap(TensorMapSpec.matrix(bf, 0x1000, 4, 64, 128, 4, 64, TensorMapSpec.Swizzle.B128)));
            for (int i = 0; i < calls.size(); i++) {
                Runnable call = calls.get(i);
                Vit4jException e = assertThrows(Vit4jException.class, call::run, "case " + i);
                assertTrue(e.getMessage().startsWith("cuda-cpu: encodeTensorMap: "), e.getMessage());
                assertTrue(e.getMessage().contains("TensorMapSpec["), "names the map: " + e.getMessage());
                assertEquals(-1, e.getMessage().indexOf('\n'), "one line: " + e.getMessage());
                for (String s : cases.get(i)) assertTrue(e.getMessage().contains(s), "case " + i + ": " + e.getMessage());
            }
            // what TensorMapSpec itself checks names the field before the driver sees it
            Vit4jException e = assertThrows(Vit4jException.class,
                    () -> TensorMapSpec.matrix(bf, a, 64, 64, 128, 300, 64, TensorMapSpec.Swizzle.B128));
            assertTrue(e.getMessage().contains("box[1]"), e.getMessage());
            d.free(a);
        }
    }

    @Test
    void aDriverWithoutTensorMapsSaysSo() {
        try (CpuCudaDriver d = driver(90, false)) {
            assertTrue(d.tensorMapProblem().contains("tensor maps switched off"), d.tensorMapProblem());
            long a = d.malloc(4096);
            Vit4jException e = assertThrows(Vit4jException.class, () -> d.encodeTensorMap(TensorMapSpec.matrix(
                    TensorMapSpec.DataType.BFLOAT16, a, 4, 64, 128, 4, 64, TensorMapSpec.Swizzle.B128)));
            assertTrue(e.getMessage().contains("tensor maps switched off"), e.getMessage());
            d.free(a);
        }
    }

    /** bf16 bits of x (round to nearest even), and back. */
    private static short bf16(double x) {
        int b = Float.floatToRawIntBits((float) x);
        return (short) ((b + 0x7FFF + ((b >> 16) & 1)) >>> 16);
    }

    private static double fromBf16(short s) {
        return Float.intBitsToFloat((s & 0xFFFF) << 16);
    }

    @Test
    void theTmaGemmTakesMapsByValueAndRunsRecordedToo() {
        try (CpuCudaDriver d = driver(90, true)) {
            // M = 197 (a tail of 69 rows past one 128-row tile), N = 70 (a 64-column tile and 6), K = 72 (a
            // 64-element slab and 8): every edge the maps' zero fill covers
            int m = 197, n = 70, k = 72;
            Random r = new Random(13);
            short[] x = new short[m * k], w = new short[n * k];
            for (int i = 0; i < x.length; i++) x[i] = bf16(r.nextGaussian());
            for (int i = 0; i < w.length; i++) w[i] = bf16(r.nextGaussian() / Math.sqrt(k));
            long dx = d.malloc(x.length * 2L), dw = d.malloc(w.length * 2L), dy = d.malloc((long) m * n * 2);
            d.copyHtoD(dx, x, 0, x.length);
            d.copyHtoD(dw, w, 0, w.length);
            CudaDriver.Function f = d.function("linear", "linear_v4_tma_none_bf16");
            assertEquals("mmpppiii", CudaCpuNative.signature(CudaCpuNative.function("linear", "linear_v4_tma_none_bf16")));
            assertEquals("mmppiiii", CudaCpuNative.signature(CudaCpuNative.function("linear", "linear_v4_tma_qkv_f16")));
            CudaKernels.TensorMaps maps = spec -> new KernelArg.TensorMap(d.encodeTensorMap(spec));
            CudaKernels.Launch l = CudaKernels.linear(90, maps, ElementType.BF16, dx, dw, 0, dy, m, k, n, Epilogue.NONE, 0);
            assertEquals("linear_v4_tma_none_bf16", l.kernelName());
            assertEquals("mmpppiii", l.kinds());
            assertEquals(CudaKernels.HopperGemm.TMA_SHARED_BYTES, l.sharedBytes());
            double[] want = new double[m * n];
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int q = 0; q < k; q++) s += fromBf16(x[i * k + q]) * fromBf16(w[j * k + q]);
                    want[i * n + j] = s;
                }
            }
            for (int round = 0; round < 2; round++) {
                short[] nan = new short[m * n];
                java.util.Arrays.fill(nan, (short) 0x7FC0);
                d.copyHtoD(dy, nan, 0, nan.length);
                if (round == 0) {
                    d.launch(f, l.grid(), l.block(), l.sharedBytes(), l.args());
                } else { // recorded with the maps' values, then replayed
                    d.beginCapture();
                    d.launch(f, l.grid(), l.block(), new int[] {1, 1, 1}, l.sharedBytes(), l.args());
                    CudaDriver.Graph g = d.endCapture();
                    d.launchGraph(g);
                    d.destroyGraph(g);
                }
                short[] got = new short[m * n];
                d.copyDtoH(got, 0, dy, got.length);
                for (int i = 0; i < got.length; i++) {
                    double g = fromBf16(got[i]);
                    assertTrue(Math.abs(g - want[i]) <= 1e-2 * Math.abs(want[i]) + 1e-6,
                            "round " + round + " element " + i + ": " + g + " want " + want[i]);
                }
            }
            // pointers where the kernel takes maps: the kinds differ
            List<KernelArg> ptrs = new ArrayList<>(l.args());
            ptrs.set(0, KernelArg.ptr(dx));
            ptrs.set(1, KernelArg.ptr(dw));
            Vit4jException e = assertThrows(Vit4jException.class, () -> d.launch(f, l.grid(), l.block(), l.sharedBytes(), ptrs));
            assertTrue(e.getMessage().contains("mmpppiii") && e.getMessage().contains("pppppiii"), e.getMessage());
            // a map that this driver did not make
            List<KernelArg> forged = new ArrayList<>(l.args());
            forged.set(1, new KernelArg.TensorMap(new byte[128]));
            e = assertThrows(Vit4jException.class, () -> d.launch(f, l.grid(), l.block(), l.sharedBytes(), forged));
            assertTrue(e.getMessage().contains("argument 1"), e.getMessage());
            // no clusters on the CPU
            e = assertThrows(Vit4jException.class,
                    () -> d.launch(f, new int[] {2, 2, 1}, l.block(), new int[] {2, 1, 1}, l.sharedBytes(), l.args()));
            assertTrue(e.getMessage().contains("cluster"), e.getMessage());
            // the map of a freed buffer: an error at the launch, not a stray read
            d.free(dw);
            e = assertThrows(Vit4jException.class, () -> d.launch(f, l.grid(), l.block(), l.sharedBytes(), l.args()));
            assertTrue(e.getMessage().contains("argument 1") && e.getMessage().contains("tensor map"), e.getMessage());
            d.free(dx);
            d.free(dy);
        }
    }

    @Test
    void theBackendEncodesEachMapOnceAndSaysWhichGemmRuns() {
        try (CudaBackend b = new CudaBackend(driver(90, true), BackendOptions.DEFAULT)) {
            assertTrue(b.kernelChoices().contains("linear_v4_tma (wgmma, TMA loads"), b.kernelChoices());
            assertTrue(b.kernelChoices().contains(CudaKernels.HopperGemm.LARGE.label() + " or "
                    + CudaKernels.HopperGemm.SMALL.label() + " per shape on " + CpuCudaDriver.Options.SMALL_GPU + " SMs"),
                    b.kernelChoices());
            DeviceBuffer x = b.allocate(ElementType.BF16, 197 * 64), w = b.allocate(ElementType.BF16, 96 * 64);
            DeviceBuffer y = b.allocate(ElementType.BF16, 197 * 96), x2 = b.allocate(ElementType.BF16, 5 * 64);
            DeviceBuffer y2 = b.allocate(ElementType.BF16, 5 * 96);
            b.write(new float[197 * 64], x);
            b.write(new float[96 * 64], w);
            b.write(new float[5 * 64], x2);
            b.linear(x, w, null, y, 197, 64, 96, Epilogue.NONE, null);
            assertEquals(2, b.tensorMapsEncoded());
            b.linear(x, w, null, y, 197, 64, 96, Epilogue.NONE, null);
            assertEquals(2, b.tensorMapsEncoded(), "the same buffers and shapes: no new map");
            b.linear(x2, w, null, y2, 5, 64, 96, Epilogue.NONE, null);
            assertEquals(3, b.tensorMapsEncoded(), "a new activation: its map; the weight's is kept");
            for (DeviceBuffer buf : List.of(x, w, y, x2, y2)) buf.close();
        }
        try (CudaBackend b = new CudaBackend(driver(90, false), BackendOptions.DEFAULT)) {
            assertTrue(b.kernelChoices().contains("linear_v4 (wgmma, cp.async loads") && b.kernelChoices().contains("no TMA"),
                    b.kernelChoices());
        }
        try (CudaBackend b = new CudaBackend(driver(90, true), BackendOptions.DEFAULT, CudaKernels.GemmTile.Policy.WIDE)) {
            assertTrue(b.kernelChoices().contains("linear_v4_tma (wgmma, TMA loads, " + CudaKernels.HopperGemm.WIDE.label()
                    + " (VIT4J_CUDA_TILE=wide)"), b.kernelChoices());
            DeviceBuffer x = b.allocate(ElementType.BF16, 197 * 64), w = b.allocate(ElementType.BF16, 96 * 64);
            DeviceBuffer y = b.allocate(ElementType.BF16, 197 * 96);
            b.write(new float[197 * 64], x);
            b.write(new float[96 * 64], w);
            b.linear(x, w, null, y, 197, 64, 96, Epilogue.NONE, null);
            assertEquals(2, b.tensorMapsEncoded(), "the wide tile reads x and the weight through tensor maps");
            for (DeviceBuffer buf : List.of(x, w, y)) buf.close();
        }
        try (CudaBackend b = new CudaBackend(driver(90, false), BackendOptions.DEFAULT, CudaKernels.GemmTile.Policy.WIDE)) {
            assertTrue(b.kernelChoices().contains("no wide kernel without TMA loads"), b.kernelChoices());
        }
        try (CudaBackend b = new CudaBackend(driver(80, true), BackendOptions.DEFAULT)) {
            assertTrue(b.kernelChoices().contains("linear_v3 (mma.sync"), b.kernelChoices());
        }
    }
}
