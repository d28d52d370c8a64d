package org.vit4j.backend.opencl;

/**
 * A named kernel parameter (a tile size, a vector width, a variant switch) with its default for
 * GPUs and for CPU devices, after CLBlast: kernels read it as a preprocessor define, so the numbers
 * live here, named, and never in the kernel code. Each op declares its own.
 */
public record TuningParam(String name, int gpu, int cpu, String meaning) {
    public TuningParam {
        Tuning.declare(name);
    }

    public int defaultFor(ClDevice.Kind kind) {
        return kind == ClDevice.Kind.CPU ? cpu : gpu;
    }
}
