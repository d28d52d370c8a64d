package org.vit4j.backend.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.vit4j.ElementType;
import org.vit4j.backend.DeviceBuffer;
import org.vit4j.backend.Epilogue;

/**
 * ClRuntime sets only the kernel arguments that changed since the kernel's last launch (a JNI call
 * each, on a core the device's threads need). What must hold: a call that repeats the last one sets
 * nothing, one that changes an argument sets that one, and every call computes with its own
 * arguments, including a buffer closed and allocated again (the pool hands back the same cl_mem with
 * new contents) and an optional buffer that goes absent.
 */
class KernelArgumentsTest {
    private static final int M = 29, K = 40, N = 70;

    @BeforeAll
    static void device() {
        Assumptions.assumeTrue(new OpenClProvider().probe().available(), "no OpenCL device");
    }

    @Test
    void aRepeatedLaunchSetsNothingAndAChangedOneSetsOnlyWhatChanged() {
        try (OpenClBackend b = OpenClBackend.open(0, Map.of());
                DeviceBuffer x = buffer(b, M * K, 1);
                DeviceBuffer w1 = buffer(b, N * K, 2);
                DeviceBuffer w2 = buffer(b, N * K, 3);
                DeviceBuffer bias = buffer(b, N, 4);
                DeviceBuffer y = b.allocate(ElementType.F32, M * N)) {
            b.linear(x, w1, bias, y, M, K, N, Epilogue.BIAS, null); // packs w1, then the GEMM
            b.linear(x, w2, bias, y, M, K, N, Epilogue.BIAS, null); // packs w2 (the pack kernel's arguments change)
            b.linear(x, w1, bias, y, M, K, N, Epilogue.BIAS, null); // w1's packed copy again
            long before = b.kernelArgumentsSet();
            b.linear(x, w1, bias, y, M, K, N, Epilogue.BIAS, null);
            assertEquals(before, b.kernelArgumentsSet(), "the same call again sets no argument");
            b.linear(x, w2, bias, y, M, K, N, Epilogue.BIAS, null);
            assertEquals(before + 1, b.kernelArgumentsSet(), "another weight (already packed) sets that argument alone");
        }
    }

    @Test
    void eachLaunchComputesWithItsOwnArguments() {
        try (OpenClBackend b = OpenClBackend.open(0, Map.of())) {
            float[] xa = random(M * K, 11), xb = random(M * K, 12), wa = random(N * K, 13), wb = random(N * K, 14);
            float[] ba = random(N, 15), bb = random(N, 16);
            DeviceBuffer x1 = upload(b, xa), x2 = upload(b, xb), w1 = upload(b, wa), w2 = upload(b, wb);
            DeviceBuffer b1 = upload(b, ba), b2 = upload(b, bb), y = b.allocate(ElementType.F32, M * N);
            try {
                check(b, x1, xa, w1, wa, b1, ba, y, M);
                check(b, x2, xb, w1, wa, b1, ba, y, M); // A changed
                check(b, x2, xb, w2, wb, b1, ba, y, M); // W changed
                check(b, x2, xb, w2, wb, b2, bb, y, M); // bias changed
                check(b, x1, xa, w2, wb, null, null, y, M); // bias absent (the plain epilogue's kernel)
                check(b, x1, xa, w2, wb, b2, bb, y, M - 7); // a scalar (the rows) changed
                check(b, x1, xa, w2, wb, b2, bb, y, M);
                // The same cl_mem back from the pool with other contents: the argument is unchanged, the data new.
                x1.close();
                DeviceBuffer again = upload(b, xb);
                try {
                    check(b, again, xb, w2, wb, b2, bb, y, M);
                } finally {
                    again.close();
                }
            } finally {
                for (DeviceBuffer d : new DeviceBuffer[] {x2, w1, w2, b1, b2, y}) d.close();
            }
        }
    }

    /** y = x W^T (+ bias) on the device, output poisoned with NaN first, against a double reference. */
    private static void check(OpenClBackend b, DeviceBuffer x, float[] xh, DeviceBuffer w, float[] wh, DeviceBuffer bias,
            float[] bh, DeviceBuffer y, int rows) {
        float[] poison = new float[M * N];
        Arrays.fill(poison, Float.NaN);
        b.write(poison, y);
        b.linear(x, w, bias, y, rows, K, N, bias == null ? Epilogue.NONE : Epilogue.BIAS, null);
        float[] got = new float[M * N];
        b.download(y, got);
        double err = 0, norm = 0;
        for (int m = 0; m < rows; m++) {
            for (int n = 0; n < N; n++) {
                double want = bh == null ? 0 : bh[n];
                for (int k = 0; k < K; k++) want += (double) xh[m * K + k] * wh[n * K + k];
                double d = got[m * N + n] - want;
                err += d * d;
                norm += want * want;
            }
        }
        double rel = Math.sqrt(err / norm);
        assertTrue(rel < 1e-5, "relative L2 " + rel + " at rows " + rows + (bias == null ? ", no bias" : ""));
    }

    private static DeviceBuffer buffer(OpenClBackend b, int n, long seed) {
        return upload(b, random(n, seed));
    }

    private static DeviceBuffer upload(OpenClBackend b, float[] v) {
        DeviceBuffer d = b.allocate(ElementType.F32, v.length);
        b.write(v, d);
        return d;
    }

    private static float[] random(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (r.nextDouble() * 2 - 1);
        return v;
    }
}
