package org.vit4j.backend.cuda;

/**
 * One argument of a kernel launch, typed as the kernel's parameter is: a device pointer, an int or
 * a float. A launch plan is a list of these in parameter order; each driver turns it into what its
 * launch call takes (JCuda: a kernelParams pointer array; cuda-cpu: a kind string and raw bits).
 * Values, never references to mutable state, so a recorded graph can keep them.
 */
public sealed interface KernelArg permits KernelArg.Ptr, KernelArg.I32, KernelArg.F32, KernelArg.TensorMap {

    /** The kind character of {@link CudaCpuNative#signature}: 'p', 'i' or 'f'; 'm' for a {@link TensorMap}. */
    char kind();

    /** The raw bits: an address, an int (sign-extended) or a float's int bits; 0 for a {@link TensorMap}. */
    long bits();

    /** A device address; 0 is the null pointer (an absent optional buffer). */
    record Ptr(long address) implements KernelArg {
        @Override
        public char kind() {
            return 'p';
        }

        @Override
        public long bits() {
            return address;
        }

        @Override
        public String toString() {
            return "0x" + Long.toHexString(address);
        }
    }

    record I32(int value) implements KernelArg {
        @Override
        public char kind() {
            return 'i';
        }

        @Override
        public long bits() {
            return value;
        }

        @Override
        public String toString() {
            return Integer.toString(value);
        }
    }

    record F32(float value) implements KernelArg {
        @Override
        public char kind() {
            return 'f';
        }

        @Override
        public long bits() {
            return Float.floatToRawIntBits(value);
        }

        @Override
        public String toString() {
            return value + "f";
        }
    }

    /**
     * A 128-byte CUtensorMap from {@link CudaDriver#encodeTensorMap}, passed by value: the kernel's
     * parameter is {@code const __grid_constant__ CUtensorMap}. Its bytes are the driver's (on a GPU,
     * NVIDIA's opaque encoding; on cuda-cpu, whatever layout CpuCudaDriver's encoding chose), so a map
     * goes only to kernels launched through the driver that encoded it. Launched through
     * {@link CudaDriver#launch(CudaDriver.Function, int[], int[], int[], int, java.util.List)}.
     */
    record TensorMap(byte[] bytes) implements KernelArg {
        public static final int BYTES = 128;

        public TensorMap {
            if (bytes == null || bytes.length != BYTES) {
                throw new IllegalArgumentException("a tensor map is " + BYTES + " bytes, got "
                        + (bytes == null ? "null" : bytes.length));
            }
            bytes = bytes.clone();
        }

        @Override
        public byte[] bytes() {
            return bytes.clone();
        }

        @Override
        public char kind() {
            return 'm';
        }

        @Override
        public long bits() {
            return 0;
        }

        @Override
        public String toString() {
            return "tensor map";
        }
    }

    static KernelArg ptr(long address) {
        return new Ptr(address);
    }

    static KernelArg i32(int value) {
        return new I32(value);
    }

    static KernelArg f32(float value) {
        return new F32(value);
    }

    /** The kinds of {@code args}, one character each, e.g. "pppppiii". */
    static String kinds(java.util.List<KernelArg> args) {
        StringBuilder s = new StringBuilder(args.size());
        for (KernelArg a : args) s.append(a.kind());
        return s.toString();
    }
}
