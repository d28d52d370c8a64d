package org.vit4j.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.vit4j.Golden;
import org.vit4j.HostTensor;
import org.vit4j.Numerics;
import org.vit4j.backend.BackendProvider;
import org.vit4j.backend.DeviceBuffer;
import org.vit4j.io.CheckpointLoader;
import org.vit4j.io.LoadedModel;
import org.vit4j.io.SafetensorsFile;
import org.vit4j.memory.PoolStats;
import org.vit4j.model.VisionTransformer;

/**
 * What only the CUDA backend has: its graphs and pinned transfers, and its memory pool under a
 * recorded pass. (Every op's parity runs in KernelParityTest and EncoderOnDeviceTest, on CUDA too.)
 * Without an NVIDIA GPU, driver and built kernels these skip, and say which is missing.
 */
class CudaBackendTest {
    @BeforeEach
    void needsCuda() {
        BackendProvider.Probe probe = new CudaProvider().probe();
        Assumptions.assumeTrue(probe.available(), "CUDA tests skipped: " + probe.reason());
    }

    @Test
    void graphReplayGivesTheRecordedPassesResultsAndAllocatesNothing() {
        LoadedModel m = CheckpointLoader.load(Golden.file("vit-ti16-224", "model.safetensors"));
        HostTensor input;
        float[] expected;
        try (SafetensorsFile io = SafetensorsFile.open(Golden.file("vit-ti16-224", "io.safetensors"))) {
            input = io.read("input");
            expected = io.readFloats("logits");
        }
        try (CudaBackend cuda = new CudaBackend(0); VisionTransformer vit = new VisionTransformer(m.weights(), cuda)) {
            float[] first = vit.forward(input).logits().data(); // recorded, then launched
            PoolStats after = cuda.memoryStats();
            for (int i = 0; i < 20; i++) {
                float[] again = vit.forward(input).logits().data(); // replayed
                assertEquals(0, Numerics.relativeL2(again, first), "replay " + i);
            }
            assertEquals(after.misses(), cuda.memoryStats().misses());
            Numerics.assertClose(first, expected, Golden.FP32_TOLERANCE, "cuda graph logits vs PyTorch");
        }
    }

    /** --gemm cublas: cuBLAS where libcublas.so.12 loads, else vit4j's GEMM; the same logits either way. */
    @Test
    void cublasProviderOrItsFallbackMatchesPyTorch() {
        LoadedModel m = CheckpointLoader.load(Golden.file("vit-odd", "model.safetensors"));
        String before = System.getProperty(CudaBackend.GEMM_PROPERTY);
        System.setProperty(CudaBackend.GEMM_PROPERTY, "cublas");
        try (SafetensorsFile io = SafetensorsFile.open(Golden.file("vit-odd", "io.safetensors"));
                CudaBackend cuda = new CudaBackend(0); VisionTransformer vit = new VisionTransformer(m.weights(), cuda)) {
            System.out.println("cuda GEMM provider: " + cuda.gemmProvider());
            for (int pass = 0; pass < 3; pass++) { // recorded, then replayed
                Numerics.assertClose(vit.forward(io.read("input")).logits().data(), io.readFloats("logits"),
                        Golden.FP32_TOLERANCE, cuda.gemmProvider() + " logits vs PyTorch, pass " + pass);
            }
        } finally {
            if (before == null) System.clearProperty(CudaBackend.GEMM_PROPERTY);
            else System.setProperty(CudaBackend.GEMM_PROPERTY, before);
        }
    }

    @Test
    void pinnedRoundTripAndErrors() {
        try (CudaBackend cuda = new CudaBackend(0)) {
            float[] x = Numerics.randn(new java.util.Random(3), 100_003, 1);
            DeviceBuffer b = cuda.upload(x);
            float[] back = new float[x.length];
            cuda.download(b, back);
            assertEquals(0, Numerics.relativeL2(back, x));
            b.close();
            IllegalStateException twice = assertThrows(IllegalStateException.class, b::close);
            assertTrue(twice.getMessage().contains("closed twice"));
        }
    }
}
