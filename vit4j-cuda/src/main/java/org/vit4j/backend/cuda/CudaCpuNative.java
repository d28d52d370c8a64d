package org.vit4j.backend.cuda;

import org.vit4j.backend.NativeLibrary;

/**
 * The JNI side of the {@code cuda-cpu} driver: {@code libvit4j_cudacpu.so}, built by CMakeLists.txt
 * from native/ with every kernel of kernels/cuda compiled as C++ for the CPU (each CUDA thread a
 * fiber, a block's threads on one worker thread, blocks spread over worker threads). Device
 * pointers are host addresses. Every method throws {@link org.vit4j.Vit4jException} with the
 * reason on failure (a launch whose argument kinds do not match the kernel's parameters, an
 * unknown kernel, a strict-mode fault naming the kernel and the thread); none of them crashes the
 * JVM on bad input it can check.
 */
final class CudaCpuNative {
    private CudaCpuNative() {}

    private static final NativeLibrary LIBRARY =
            new NativeLibrary("libvit4j_cudacpu.so", "CMakeLists.txt builds it; the jar packs it from build/native");

    /**
     * Loads the library once: the copy in the jar (extracted to a temporary file, since a shared
     * library must be a file to be loaded), else the one CMake built under build/native. Returns
     * null when it is loaded, else why not, in one line; never throws.
     */
    static String load() {
        return LIBRARY.load();
    }

    /** Launch flag: run each block's threads in reverse order (a missing barrier shows in one order only). */
    static final int REVERSE = 1;
    /**
     * Launch flag: strict mode: a barrier reached by part of a block (others exited), a shuffle that
     * names a lane outside its mask or an exited lane, and a deadlock are errors naming the kernel
     * and the thread (else a barrier counts only the threads still running, as the hardware does).
     */
    static final int STRICT = 2;

    /** "CUDA kernels on the CPU (<n> kernels in <m> modules, <w> worker threads)". */
    static native String describe();

    /** 256-byte-aligned memory of at least {@code bytes} (> 0); never 0. */
    static native long malloc(long bytes);

    static native void free(long address);

    /** Copies {@code count} floats of {@code src} from {@code srcOffset} to address {@code dst}. */
    static native void copyHtoD(long dst, float[] src, int srcOffset, int count);

    /** Copies {@code count} floats at address {@code src} into {@code dst} from {@code dstOffset}. */
    static native void copyDtoH(float[] dst, int dstOffset, long src, int count);

    /** Copies {@code count} 16-bit patterns of {@code src} from {@code srcOffset} to address {@code dst}. */
    static native void copyHtoDBits(long dst, short[] src, int srcOffset, int count);

    /** Copies {@code count} 16-bit patterns at address {@code src} into {@code dst} from {@code dstOffset}. */
    static native void copyDtoHBits(short[] dst, int dstOffset, long src, int count);

    static native void copyDtoD(long dst, long src, long bytes);

    /** The kernel {@code kernel} of module {@code module} (the .cu file's base name): a handle, never 0. */
    static native long function(String module, String kernel);

    /**
     * The kernel's parameter kinds, one character each: {@code p} pointer, {@code i} int,
     * {@code f} float, {@code m} a tensor map by value (e.g. linear_v2_none: "pppppiii").
     */
    static native String signature(long function);

    /**
     * Runs the kernel on grid x block threads with {@code sharedBytes} of dynamic shared memory and
     * returns when every block has finished. {@code kinds} gives each argument's kind as in
     * {@link #signature}; {@code values} its bits (an address, an int, or a float's raw int bits).
     * A count or kind that differs from the kernel's compiled parameter list is an error naming the
     * kernel, what it takes and what was passed. {@code maps}: the 128 bytes of each {@code m} (tensor map)
     * argument, in argument order (null or empty for none; their {@code values} are ignored), each checked:
     * made by {@link #encodeTensorMap} and its tensor inside one live allocation. {@code flags}:
     * {@link #REVERSE}, {@link #STRICT}.
     */
    static native void launch(long function, int gridX, int gridY, int gridZ, int blockX, int blockY, int blockZ,
            int sharedBytes, String kinds, long[] values, byte[] maps, int flags);

    /**
     * The 128-byte map kernels/cuda/tma.cuh's fallback copies from ({@code tma::CpuTensorMap}, written by
     * {@code encode_cpu_tensor_map}) for cuTensorMapEncodeTiled's arguments, cuda.h's enum codes; the
     * tensor (its first element to the end of its last) must lie inside one live allocation. An error
     * names the argument.
     */
    static native byte[] encodeTensorMap(int dtype, long address, long[] dims, long[] strideBytes, int[] box,
            int[] elementStrides, int interleave, int swizzle, int l2Promotion, int oobFill);
}
