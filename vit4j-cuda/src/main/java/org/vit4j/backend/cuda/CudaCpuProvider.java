package org.vit4j.backend.cuda;

import java.util.List;
import org.vit4j.Vit4jException;
import org.vit4j.backend.Backend;
import org.vit4j.backend.BackendOptions;
import org.vit4j.backend.BackendProvider;

/**
 * {@code cuda-cpu}: the CUDA backend with its kernels compiled for the CPU ({@link CpuCudaDriver}), so
 * that every CUDA test runs where there is no GPU. Slow, and for testing only: {@code auto} never
 * picks it. Unavailable, with the reason, where libvit4j_cudacpu.so is neither in the jar nor built.
 */
public final class CudaCpuProvider implements BackendProvider {
    public static final String NAME = "cuda-cpu";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public int preference() {
        return 100;
    }

    @Override
    public String testingOnly() {
        return "CUDA kernels executed on the CPU, for testing";
    }

    @Override
    public Probe probe() {
        String reason = CpuCudaDriver.unavailableReason();
        if (reason != null) return Probe.unavailable(List.of(), reason);
        try {
            return Probe.available(List.of(CpuCudaDriver.describe()));
        } catch (RuntimeException | LinkageError e) {
            return Probe.unavailable(List.of(), "libvit4j_cudacpu.so failed to describe itself: " + e.getMessage());
        }
    }

    @Override
    public Backend open(int device) {
        return open(device, BackendOptions.DEFAULT);
    }

    /** Forward thread order, strict: see {@link #open(CpuCudaDriver.Options, BackendOptions)} for others. */
    @Override
    public Backend open(int device, BackendOptions options) {
        Probe probe = probe();
        if (!probe.available()) throw new Vit4jException("backend '" + NAME + "': " + probe.reason());
        if (device != 0) throw new Vit4jException("backend '" + NAME + "' has one device, 0; got " + device);
        return open(CpuCudaDriver.Options.DEFAULT, options);
    }

    /** A cuda-cpu backend whose blocks run with {@code driver}'s options (thread order, strictness). */
    public static CudaBackend open(CpuCudaDriver.Options driver, BackendOptions options) {
        return new CudaBackend(new CpuCudaDriver(driver), options);
    }

    /** The same with the tensor-core GEMMs' tile policy given (null: {@code VIT4J_CUDA_TILE}). */
    public static CudaBackend open(CpuCudaDriver.Options driver, BackendOptions options, CudaKernels.GemmTile.Policy tiles) {
        return new CudaBackend(new CpuCudaDriver(driver), options, tiles);
    }
}
