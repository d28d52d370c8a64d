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
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.vit4j.Vit4jException;
import org.vit4j.backend.BackendProvider;
import org.vit4j.backend.DevicesUnderTest;

/**
 * Tensor maps on cuda-cpu: {@link CpuCudaDriver#encodeTensorMap} writes kernels/cuda/tma.cuh's
 * {@code tma::CpuTensorMap} (the 128 bytes its fallback of cp.async.bulk.tensor reads) from
 * cuTensorMapEncodeTiled's arguments, with one-line errors naming the argument; kernels taking a map by
 * value have the parameter kind 'm', and a launch passes the 128 bytes (checked: made by this driver, the
 * tensor still inside a live allocation).
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
}
