package org.vit4j.backend.cuda;

import java.util.List;
import org.vit4j.Vit4jException;
import org.vit4j.backend.NativeLibrary;

/**
 * vit4j's own JNI binding of the CUDA entry points JCuda 12.6 lacks: {@code libvit4j_cuda.so}, built by
 * CMakeLists.txt from native/cuda and packed into this jar like {@code libvit4j_cudacpu.so}. It links
 * nothing of CUDA; each library is opened by {@code dlopen} when first asked for:
 * <ul>
 *   <li>the driver, {@code libcuda.so.1}: {@code cuTensorMapEncodeTiled} (CUDA 12.0) and
 *       {@code cuLaunchKernelEx} (11.8, for thread-block clusters), found through
 *       {@code cuGetProcAddress}, for the Hopper kernels ({@link JCudaDriver#encodeTensorMap},
 *       {@link JCudaDriver#launch(CudaDriver.Function, int[], int[], int[], int, List)});
 *   <li>cuBLAS, {@code libcublas.so.13} else {@code .12}: {@code cublasGemmEx}, for
 *       {@code --gemm cublas} ({@link CublasGemm}) on whichever CUDA runtime the host has;
 *   <li>cuBLASLt, {@code libcublasLt.so.13} else {@code .12}: {@code cublasLtMatmul} with the
 *       {@code CUBLASLT_EPILOGUE_BIAS} epilogue, for the linear layers whose epilogue is a bias (and a
 *       residual, as C with beta = 1). Not {@code CUBLASLT_EPILOGUE_GELU_BIAS}: cuBLAS documents it as
 *       "GELU point-wise transform" without saying it is the exact erf form ViT needs (it is commonly
 *       taken to be the tanh approximation, which PyTorch uses it for), so fc1's exact GELU stays with
 *       epilogue.cu.
 * </ul>
 * Where the library, a CUDA library or an entry point is missing, the binding is a one-line reason
 * (which file, which symbol) and the feature is off; a failing call is a {@link Vit4jException} with
 * the error's name. Nothing here crashes the JVM on an error it can see.
 *
 * <p>Tests bind fakes of the CUDA libraries (build/native/fake, from native/cuda/tests) by passing
 * their paths to {@link #bindDriver(String)} and {@link #bindCublas(List)}; the production entry
 * points {@link #driver()} and {@link #cublas()} use the loader's search for the sonames.
 */
final class CudaNative {
    private CudaNative() {}

    /** The driver's soname, found by the dynamic loader's usual search. */
    static final String LIBCUDA = "libcuda.so.1";
    /** cuBLAS sonames, newest first: CUDA 13 hosts have only .13, CUDA 12 ones only .12. */
    static final List<String> LIBCUBLAS = List.of("libcublas.so.13", "libcublas.so.12");
    /** cuBLASLt sonames, newest first. */
    static final List<String> LIBCUBLASLT = List.of("libcublasLt.so.13", "libcublasLt.so.12");

    private static final NativeLibrary LIBRARY = new NativeLibrary("libvit4j_cuda.so",
            "CMakeLists.txt builds it where cuda.h is; the jar packs it from build/native");
    private static Bound<Driver> driver;
    private static Bound<Cublas> cublas;
    private static Bound<CublasLt> cublasLt;

    /** A binding, or why there is none (one line). */
    record Bound<T>(T value, String problem) {
        /** The value, or a {@link Vit4jException} "cuda: {@code feature} is unavailable: problem". */
        T orThrow(String feature) {
            if (value == null) throw new Vit4jException("cuda: " + feature + " is unavailable: " + problem);
            return value;
        }
    }

    /**
     * Loads libvit4j_cuda.so once: the copy in the jar (extracted to a temporary file), else the one
     * CMake built under build/native. Returns null when it is loaded, else why not; never throws.
     */
    static String load() {
        return LIBRARY.load();
    }

    // ---- the driver --------------------------------------------------------------------------------

    /** The driver's Hopper entry points, bound from one libcuda. */
    static final class Driver {
        private final long handle;
        final String file;

        private Driver(long handle, String file) {
            this.handle = handle;
            this.file = file;
        }

        /** cuTensorMapEncodeTiled: the 128-byte CUtensorMap of {@code spec}. */
        byte[] encodeTiled(TensorMapSpec spec) {
            return CudaNative.encodeTiled(handle, spec.dtype().code, spec.address(), spec.dims(), spec.strideBytes(),
                    spec.box(), spec.elementStrides(), spec.interleave().code, spec.swizzle().code,
                    spec.l2Promotion().code, spec.oobFill().code);
        }

        /**
         * cuLaunchKernelEx of the raw CUfunction {@code function} on the raw CUstream {@code stream},
         * with a cluster-dimension attribute unless {@code cluster} is {1, 1, 1}.
         */
        void launch(long function, int[] grid, int[] block, int[] cluster, int sharedBytes, long stream,
                List<KernelArg> args) {
            check3("grid", grid);
            check3("block", block);
            check3("cluster", cluster);
            for (int i = 0; i < 3; i++) {
                if (grid[i] % cluster[i] != 0) {
                    throw new Vit4jException("cuda: grid " + java.util.Arrays.toString(grid)
                            + " is not a multiple of the cluster " + java.util.Arrays.toString(cluster));
                }
            }
            if (sharedBytes < 0) throw new Vit4jException("cuda: sharedBytes must be >= 0, got " + sharedBytes);
            long[] bits = new long[args.size()];
            int maps = 0;
            for (KernelArg a : args) if (a instanceof KernelArg.TensorMap) maps++;
            byte[][] blobs = new byte[maps][];
            maps = 0;
            for (int i = 0; i < bits.length; i++) {
                KernelArg a = args.get(i);
                if (a instanceof KernelArg.TensorMap m) {
                    blobs[maps] = m.bytes();
                    bits[i] = maps++;
                } else {
                    bits[i] = a.bits();
                }
            }
            CudaNative.launchEx(handle, function, grid, block, cluster, sharedBytes, stream, KernelArg.kinds(args),
                    bits, blobs);
        }

        /** Closes this binding (tests: each binds its own fake). */
        void release() {
            releaseDriver(handle);
        }
    }

    private static void check3(String what, int[] v) {
        if (v == null || v.length != 3 || v[0] < 1 || v[1] < 1 || v[2] < 1) {
            throw new Vit4jException("cuda: " + what + " must be 3 positive sizes, got "
                    + (v == null ? "null" : java.util.Arrays.toString(v)));
        }
    }

    /** The driver's entry points from {@code libcuda.so.1}, bound once; or why not. */
    static synchronized Bound<Driver> driver() {
        if (driver == null) driver = bindDriver(LIBCUDA);
        return driver;
    }

    /** Binds the driver in {@code file} (a path, or a soname for the loader's search). */
    static Bound<Driver> bindDriver(String file) {
        String why = load();
        if (why != null) return new Bound<>(null, why);
        long[] out = new long[1];
        why = bindDriver(file, out);
        return why != null ? new Bound<>(null, why) : new Bound<>(new Driver(out[0], file), null);
    }

    // ---- cuBLAS ------------------------------------------------------------------------------------

    /** cuBLAS's entry points, bound from one libcublas. */
    static final class Cublas {
        // The numbers are cuBLAS's ABI, as native/cuda/cublas_decl.h has them (which says in which of
        // NVIDIA's headers each was read).
        /** cublasOperation_t. */
        static final int OP_N = 0, OP_T = 1;
        /** cudaDataType_t. */
        static final int R_32F = 0, R_16F = 2, R_16BF = 14;
        /** cublasComputeType_t: fp32 (no TF32), and fp32 with TF32 tensor cores where asked for. */
        static final int COMPUTE_32F = 68, COMPUTE_32F_FAST_TF32 = 77;

        private final long handle;
        /** The file that was loaded, e.g. "libcublas.so.13". */
        final String file;

        private Cublas(long handle, String file) {
            this.handle = handle;
            this.file = file;
        }

        /** A cuBLAS handle on the raw CUstream {@code stream} that uses the given workspace (never allocates). */
        long create(long stream, long workspace, long workspaceBytes) {
            return cublasCreate(handle, stream, workspace, workspaceBytes);
        }

        void destroy(long cublasHandle) {
            cublasDestroy(handle, cublasHandle);
        }

        /** cublasGemmEx (column-major, alpha/beta host floats, CUBLAS_GEMM_DEFAULT). */
        void gemmEx(long cublasHandle, int transa, int transb, int m, int n, int k, float alpha, long a, int atype,
                int lda, long b, int btype, int ldb, float beta, long c, int ctype, int ldc, int computeType) {
            CudaNative.gemmEx(handle, cublasHandle, transa, transb, m, n, k, alpha, a, atype, lda, b, btype, ldb, beta, c,
                    ctype, ldc, computeType);
        }

        void release() {
            releaseCublas(handle);
        }
    }

    /** cuBLAS from {@link #LIBCUBLAS}, bound once; or why not. */
    static synchronized Bound<Cublas> cublas() {
        if (cublas == null) cublas = bindCublas(LIBCUBLAS);
        return cublas;
    }

    /** Binds cuBLAS from the first of {@code files} that loads (paths, or sonames for the loader's search). */
    static Bound<Cublas> bindCublas(List<String> files) {
        String why = load();
        if (why != null) return new Bound<>(null, why);
        long[] out = new long[1];
        why = bindCublas(files.toArray(new String[0]), out);
        return why != null ? new Bound<>(null, why) : new Bound<>(new Cublas(out[0], cublasFile(out[0])), null);
    }

    /** cuBLASLt's entry points, bound from one libcublasLt. */
    static final class CublasLt {
        private final long handle;
        /** The file that was loaded, e.g. "libcublasLt.so.13". */
        final String file;

        private CublasLt(long handle, String file) {
            this.handle = handle;
            this.file = file;
        }

        long create() {
            return cublasLtCreate(handle);
        }

        void destroy(long ltHandle) {
            cublasLtDestroy(handle, ltHandle);
        }

        /**
         * The plan (matmul descriptor, matrix layouts, heuristic algorithm) of cublasLtMatmul,
         * column-major: D[m, n] = alpha op(A) op(B) + beta C (+ bias[row] where {@code bias} is not 0),
         * C, D and the bias of {@code ctype}; the first heuristic algorithm within {@code workspaceBytes}.
         * {@code bias} is the bias pointer of the first call (the heuristic assumes the alignment it
         * has). Free it with {@link #destroyPlan}.
         */
        long createPlan(long ltHandle, int transa, int transb, int m, int n, int k, int atype, int lda, int btype, int ldb,
                int ctype, int ldc, int ldd, int computeType, long bias, long workspaceBytes) {
            return ltPlanCreate(handle, ltHandle, transa, transb, m, n, k, atype, lda, btype, ldb, ctype, ldc, ldd,
                    computeType, bias, workspaceBytes);
        }

        /** cublasLtMatmul of {@code plan}'s problem on these pointers, on the raw CUstream {@code stream}. */
        void matmul(long ltHandle, long plan, float alpha, long a, long b, float beta, long c, long d, long bias,
                long workspace, long workspaceBytes, long stream) {
            ltPlanMatmul(handle, ltHandle, plan, alpha, a, b, beta, c, d, bias, workspace, workspaceBytes, stream);
        }

        /** Destroys a plan of {@link #createPlan} (once). */
        void destroyPlan(long plan) {
            ltPlanDestroy(handle, plan);
        }

        void release() {
            releaseCublasLt(handle);
        }
    }

    /** cuBLASLt from {@link #LIBCUBLASLT}, bound once; or why not. */
    static synchronized Bound<CublasLt> cublasLt() {
        if (cublasLt == null) cublasLt = bindCublasLt(LIBCUBLASLT);
        return cublasLt;
    }

    /** Binds cuBLASLt from the first of {@code files} that loads. */
    static Bound<CublasLt> bindCublasLt(List<String> files) {
        String why = load();
        if (why != null) return new Bound<>(null, why);
        long[] out = new long[1];
        why = bindCublasLt(files.toArray(new String[0]), out);
        return why != null ? new Bound<>(null, why) : new Bound<>(new CublasLt(out[0], cublasLtFile(out[0])), null);
    }

    // ---- native (native/cuda/vit4j_cuda.cpp) ---------------------------------------------------------

    private static native String bindCublasLt(String[] files, long[] out);

    private static native String cublasLtFile(long lt);

    private static native void releaseCublasLt(long lt);

    private static native long cublasLtCreate(long lt);

    private static native void cublasLtDestroy(long lt, long handle);

    private static native long ltPlanCreate(long lt, long handle, int transa, int transb, int m, int n, int k, int atype,
            int lda, int btype, int ldb, int ctype, int ldc, int ldd, int computeType, long bias, long workspaceBytes);

    private static native void ltPlanMatmul(long lt, long handle, long plan, float alpha, long a, long b, float beta, long c,
            long d, long bias, long workspace, long workspaceBytes, long stream);

    private static native void ltPlanDestroy(long lt, long plan);

    private static native String bindDriver(String file, long[] out);

    private static native void releaseDriver(long driver);

    private static native byte[] encodeTiled(long driver, int dtype, long address, long[] dims, long[] strideBytes,
            int[] box, int[] elementStrides, int interleave, int swizzle, int l2Promotion, int oobFill);

    private static native void launchEx(long driver, long function, int[] grid, int[] block, int[] cluster,
            int sharedBytes, long stream, String kinds, long[] bits, byte[][] blobs);

    private static native String bindCublas(String[] files, long[] out);

    private static native String cublasFile(long cublas);

    private static native void releaseCublas(long cublas);

    private static native long cublasCreate(long cublas, long stream, long workspace, long workspaceBytes);

    private static native void cublasDestroy(long cublas, long handle);

    private static native void gemmEx(long cublas, long handle, int transa, int transb, int m, int n, int k,
            float alpha, long a, int atype, int lda, long b, int btype, int ldb, float beta, long c, int ctype, int ldc,
            int computeType);
}
