package org.vit4j.backend.cuda;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.vit4j.ElementType;
import org.vit4j.Vit4jException;
import org.vit4j.backend.cuda.KernelArg.F32;
import org.vit4j.backend.cuda.KernelArg.I32;
import org.vit4j.backend.cuda.KernelArg.Ptr;
import org.vit4j.backend.Epilogue;
import org.vit4j.backend.PatchEmbedShape;

/**
 * Launch plans for the CUDA kernels in {@code kernels/cuda/*.cu}: for each op, which kernel of which
 * module runs, on what grid and block, and its argument list in the exact order of the kernel's
 * parameters. No CUDA call happens here, so the arithmetic is testable without a GPU; the backend
 * asks its {@link CudaDriver} for {@code function(module, kernelName)} once and launches it with
 * the plan's grid, block, shared memory and typed arguments ({@link KernelArg}: pointer, int, float,
 * in the kernel's parameter order, which {@code CudaKernelsTest} checks against the .cu sources).
 *
 * <p>Device pointers are addresses; an absent optional buffer (a null bias) is address 0, and the
 * kernel receives a null pointer. Kernels decide float4 versus scalar access themselves (a uniform
 * alignment test on the pointers), so any sub-buffer view is safe to pass.
 *
 * <p>Storage types: every kernel but the cuBLAS epilogues exists once per {@link ElementType}, named
 * with {@link #suffix} (linear_v2_bias, linear_v2_bias_bf16, linear_v2_bias_f16), each computing in float and
 * rounding once per output (ElementType's rounding points); every plan takes the op's type first and
 * picks the kernel by it. The plans without a type are the fp32 ones. Tile sizes, grids and argument
 * lists are the same for every type (shared memory holds float for every type), except that bf16 and
 * fp16 linear layers run on the tensor cores where {@link TensorCoreGemm#applies} (linear.cu version 3,
 * kernels linear_v3_*_bf16/_f16, which exist in those types only): the same arguments on their own
 * tiles, grid and block.
 *
 * <p>Tile sizes are the nested classes' constants, read at class load from the {@code constexpr}
 * block of one .cu file (named in its javadoc; {@link KernelConstants}), the single place they are set. Every
 * kernel but the Hopper GEMM uses static shared memory only, so {@link Launch#sharedBytes()} (dynamic shared
 * memory) is 0; {@link Launch#staticSharedBytes()} states what the kernel declares, for checks. The Hopper
 * GEMM (linear.cu version 4, {@link HopperGemm}) takes {@link HopperGemm#SHARED_BYTES} of dynamic shared
 * memory (at most 48 KiB by default: no opt-in attribute needed) and runs only where the driver reports compute
 * capability 9.0 ({@link #linear(int, ElementType, long, long, long, long, int, int, int, Epilogue, long)}); with
 * TMA loads (linear_v4_tma_*, where the backend has {@link TensorMaps}) {@link HopperGemm#TMA_SHARED_BYTES},
 * the slabs and their mbarriers, above 48 KiB (the drivers opt in at launch), and x and weight as tensor maps.
 */
public final class CudaKernels {
    private CudaKernels() {}

    /**
     * One kernel launch.
     *
     * @param module            base name of the .cu file, i.e. {@code kernels/<module>.fatbin}
     * @param kernelName        the {@code extern "C" __global__} function
     * @param grid              grid dimensions x, y, z
     * @param block             block dimensions x, y, z
     * @param sharedBytes       dynamic shared memory for cuLaunchKernel (0: all kernels use static)
     * @param args              one value per kernel parameter, in order
     * @param staticSharedBytes the static shared memory the kernel declares (informational)
     */
    public record Launch(String module, String kernelName, int[] grid, int[] block, int sharedBytes,
            List<KernelArg> args, int staticSharedBytes) {

        public Launch {
            args = List.copyOf(args);
        }

        public int argCount() {
            return args.size();
        }

        /** The argument kinds, as {@code CudaCpuNative.signature} gives a kernel's: e.g. "pppppiii". */
        public String kinds() {
            return KernelArg.kinds(args);
        }

        public long threads() {
            return (long) grid[0] * grid[1] * grid[2] * block[0] * block[1] * block[2];
        }

        @Override
        public String toString() {
            return module + "/" + kernelName + " grid " + Arrays.toString(grid) + " block " + Arrays.toString(block)
                    + " args " + kinds() + " static smem " + staticSharedBytes;
        }
    }

    /** Tiled SGEMM of linear.cu and patch_embed.cu: {@code GEMM_*} of kernels/cuda/common.cuh, read from it. */
    public static final class Gemm {
        private Gemm() {}

        /** Rows of C per block (M). */
        public static final int BM = KernelConstants.get("common.cuh", "GEMM_BM");
        /** Columns of C per block (N). */
        public static final int BN = KernelConstants.get("common.cuh", "GEMM_BN");
        /** Depth of one shared-memory slab (K). */
        public static final int BK = KernelConstants.get("common.cuh", "GEMM_BK");
        /** Rows of C per thread (register block). */
        public static final int TM = KernelConstants.get("common.cuh", "GEMM_TM");
        /** Columns of C per thread (register block). */
        public static final int TN = KernelConstants.get("common.cuh", "GEMM_TN");
        public static final int THREADS = KernelConstants.get("common.cuh", "GEMM_THREADS");
        /** Padded row length of the staged slabs. */
        public static final int LDS = KernelConstants.get("common.cuh", "GEMM_LDS");
        public static final int STATIC_SHARED_BYTES = 2 * BK * LDS * Float.BYTES;
    }

    /**
     * The tensor-core GEMM of linear.cu's version 3 (bf16 and fp16 only): {@code TC_*} of
     * kernels/cuda/gemm_tc.cuh, read from it (their defaults are {@code #define VIT4J_TC_*} tuning values).
     */
    public static final class TensorCoreGemm {
        private TensorCoreGemm() {}

        /** Rows of C per block (M). */
        public static final int BM = KernelConstants.get("gemm_tc.cuh", "TC_BM");
        /** Columns of C per block (N). */
        public static final int BN = KernelConstants.get("gemm_tc.cuh", "TC_BN");
        /** Depth of one shared-memory slab (K). */
        public static final int BK = KernelConstants.get("gemm_tc.cuh", "TC_BK");
        /** Shared-memory stages of the cp.async pipeline. */
        public static final int STAGES = KernelConstants.get("gemm_tc.cuh", "TC_STAGES");
        public static final int THREADS = KernelConstants.get("gemm_tc.cuh", "TC_THREADS");
        /** The static shared memory the kernels declare: the stages of A and W slabs, 16-bit elements. */
        public static final int STATIC_SHARED_BYTES = KernelConstants.get("gemm_tc.cuh", "TC_SMEM_BYTES");
        /** K must be a multiple of this (one 16-byte copy per 8 elements), and A and W 16-byte aligned. */
        public static final int K_MULTIPLE = KernelConstants.get("gemm_tc.cuh", "TC_K_MULTIPLE");
        /** The large tile, {@code TC_*} (the constants above): linear_v3_*. */
        public static final GemmTile LARGE = new GemmTile("", BM, BN, BK, STAGES, THREADS, 0, STATIC_SHARED_BYTES, 0);
        /** The small tile, {@code TC_SMALL_*}: linear_v3_small_*, where {@link #tile} picks it. */
        public static final GemmTile SMALL = new GemmTile("small_", KernelConstants.get("gemm_tc.cuh", "TC_SMALL_BM"),
                KernelConstants.get("gemm_tc.cuh", "TC_SMALL_BN"), KernelConstants.get("gemm_tc.cuh", "TC_SMALL_BK"),
                KernelConstants.get("gemm_tc.cuh", "TC_SMALL_STAGES"), KernelConstants.get("gemm_tc.cuh", "TC_SMALL_THREADS"),
                0, KernelConstants.get("gemm_tc.cuh", "TC_SMALL_SMEM_BYTES"), 0);

        /** The tile version 3 runs for an m x n output on {@code gpu} ({@link GemmTile#pick}). */
        public static GemmTile tile(GpuTarget gpu, int m, int n) {
            return GemmTile.pick(gpu, LARGE, SMALL, m, n);
        }

        /**
         * True where a linear layer of {@code type} runs on the tensor cores: a 16-bit type, {@code inFeatures}
         * a multiple of {@link #K_MULTIPLE} and both operands 16-byte aligned; else version 2 (SIMT) runs.
         */
        public static boolean applies(ElementType type, int inFeatures, long x, long weight) {
            return type != ElementType.F32 && inFeatures % K_MULTIPLE == 0 && ((x | weight) & 15) == 0;
        }
    }

    /**
     * The Hopper GEMM of linear.cu's version 4 (bf16 and fp16, sm_90a: wgmma from 128-byte-swizzled shared
     * memory): {@code WG_*} of kernels/cuda/gemm_wg.cuh, read from it (defaults {@code #define VIT4J_WG_*}).
     * Its kernels take their shared memory as dynamic shared memory ({@link Launch#sharedBytes()}).
     */
    public static final class HopperGemm {
        private HopperGemm() {}

        /** Rows of C per block (M): 64 per warpgroup. */
        public static final int BM = KernelConstants.get("gemm_wg.cuh", "WG_BM");
        /** Columns of C per block (N), the N of the wgmma. */
        public static final int BN = KernelConstants.get("gemm_wg.cuh", "WG_BN");
        /** Depth of one shared-memory slab (K). */
        public static final int BK = KernelConstants.get("gemm_wg.cuh", "WG_BK");
        /** Shared-memory stages of the cp.async pipeline. */
        public static final int STAGES = KernelConstants.get("gemm_wg.cuh", "WG_STAGES");
        public static final int THREADS = KernelConstants.get("gemm_wg.cuh", "WG_THREADS");
        /** The dynamic shared memory a launch gives: the stages of A and W slabs, 16-bit elements. */
        public static final int SHARED_BYTES = KernelConstants.get("gemm_wg.cuh", "WG_SMEM_BYTES");
        /** The compute capability (major * 10 + minor) the kernels run on: their SASS is sm_90a. */
        public static final int COMPUTE_CAPABILITY = 90;
        /**
         * The dynamic shared memory of the TMA kernels (linear_v4_tma_*): the slabs and one mbarrier per stage,
         * above 48 KiB, so the launch opts in (CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES).
         */
        public static final int TMA_SHARED_BYTES = KernelConstants.get("gemm_wg.cuh", "WG_TMA_SMEM_BYTES");
        /** The large tile, {@code WG_*} (the constants above): linear_v4_* and linear_v4_tma_*. */
        public static final GemmTile LARGE = new GemmTile("", BM, BN, BK, STAGES, THREADS, SHARED_BYTES, 0,
                TMA_SHARED_BYTES);
        /** The small tile (one warpgroup), {@code WG_SMALL_*}: linear_v4_small_*, linear_v4_tma_small_*. */
        public static final GemmTile SMALL = new GemmTile("small_", KernelConstants.get("gemm_wg.cuh", "WG_SMALL_BM"),
                KernelConstants.get("gemm_wg.cuh", "WG_SMALL_BN"), KernelConstants.get("gemm_wg.cuh", "WG_SMALL_BK"),
                KernelConstants.get("gemm_wg.cuh", "WG_SMALL_STAGES"), KernelConstants.get("gemm_wg.cuh", "WG_SMALL_THREADS"),
                KernelConstants.get("gemm_wg.cuh", "WG_SMALL_SMEM_BYTES"), 0,
                KernelConstants.get("gemm_wg.cuh", "WG_SMALL_TMA_SMEM_BYTES"));

        /**
         * The wide tile (128 x 128, 4 stages), {@code WG_WIDE_*}: TMA loads only (linear_v4_tma_wide_*), its
         * shared memory above what a cp.async launch gets; run only where {@code VIT4J_CUDA_TILE=wide} asks.
         */
        public static final GemmTile WIDE = new GemmTile("wide_", KernelConstants.get("gemm_wg.cuh", "WG_WIDE_BM"),
                KernelConstants.get("gemm_wg.cuh", "WG_WIDE_BN"), KernelConstants.get("gemm_wg.cuh", "WG_WIDE_BK"),
                KernelConstants.get("gemm_wg.cuh", "WG_WIDE_STAGES"), KernelConstants.get("gemm_wg.cuh", "WG_WIDE_THREADS"),
                0, 0, KernelConstants.get("gemm_wg.cuh", "WG_WIDE_TMA_SMEM_BYTES"));

        /** The tile version 4 runs for an m x n output on {@code gpu} ({@link GemmTile#pick}). */
        public static GemmTile tile(GpuTarget gpu, int m, int n) {
            return GemmTile.pick(gpu, LARGE, SMALL, m, n);
        }

        /** The same for the TMA kernels: {@link #WIDE} where the policy asks for it. */
        public static GemmTile tmaTile(GpuTarget gpu, int m, int n) {
            return gpu.tiles() == GemmTile.Policy.WIDE ? WIDE : tile(gpu, m, n);
        }

        /**
         * The tensor map a TMA kernel (linear_v4_tma_*) reads a row-major [rows, k] operand of {@code type}
         * through, for a tile of slab depth {@code bk}: boxes of bk x {@code boxRows} elements (the tile's BM for
         * A, BN for W), the slabs' swizzle (128 bytes at bk = 64), elements past the tensor read as zero (the tails).
         */
        public static TensorMapSpec operandMap(ElementType type, long address, int rows, int k, int bk, int boxRows) {
            TensorMapSpec.DataType dtype = switch (type) {
                case BF16 -> TensorMapSpec.DataType.BFLOAT16;
                case F16 -> TensorMapSpec.DataType.FLOAT16;
                case F32 -> throw new Vit4jException("linear_v4_tma: 16-bit types only, got " + type.label());
            };
            return TensorMapSpec.matrix(dtype, address, rows, k, (long) k * 2, boxRows, bk,
                    bk * 2 == 128 ? TensorMapSpec.Swizzle.B128 : TensorMapSpec.Swizzle.B64);
        }

        /**
         * True where a linear layer runs version 4: on a compute capability 9.0 device (sm_90a code runs there
         * alone; other GPUs, Blackwell included, run version 3) and where {@link TensorCoreGemm#applies} (the
         * same requirements: 16-bit type, K % 8 == 0, 16-byte aligned operands).
         */
        public static boolean applies(int computeCapability, ElementType type, int inFeatures, long x, long weight) {
            return computeCapability == COMPUTE_CAPABILITY && TensorCoreGemm.applies(type, inFeatures, x, weight);
        }
    }

    /**
     * What the tensor-core plans need to know of the GPU: its compute capability (major * 10 + minor; 90 runs
     * the Hopper kernels), its multiprocessors (0 where unknown: then the large tile always) and the tile
     * policy ({@code VIT4J_CUDA_TILE}: auto, large, small or wide).
     */
    public record GpuTarget(int computeCapability, int multiprocessors, GemmTile.Policy tiles) {
        public GpuTarget {
            if (computeCapability < 0) throw new Vit4jException("compute capability " + computeCapability + " < 0");
            if (multiprocessors < 0) throw new Vit4jException("multiprocessors " + multiprocessors + " < 0");
            if (tiles == null) throw new Vit4jException("tile policy: null");
        }

        /** A device of {@code computeCapability} whose multiprocessors are unknown: the large tiles. */
        public static GpuTarget of(int computeCapability) {
            return new GpuTarget(computeCapability, 0, GemmTile.Policy.AUTO);
        }
    }

    /**
     * One tile configuration of a tensor-core GEMM main loop (gemm_tc.cuh's TcTile, gemm_wg.cuh's WgTile):
     * rows and columns of C per block, slab depth, pipeline stages, threads, and shared memory: {@code sharedBytes}
     * the dynamic shared memory of its Hopper cp.async kernels, {@code staticSharedBytes} what its version 3
     * kernels declare, {@code tmaSharedBytes} the dynamic shared memory of its Hopper TMA kernels (0 where the
     * tile has no such kernels). Its kernels' names carry {@code infix} after the version ("" for the large
     * tile, "small_", "wide_": linear_v4_small_bias_bf16).
     */
    public record GemmTile(String infix, int bm, int bn, int bk, int stages, int threads, int sharedBytes,
            int staticSharedBytes, int tmaSharedBytes) {

        /**
         * Which tile the plans pick: by {@link #pick}'s model, always the large or the small one, or the wide one
         * where it exists (version 4 with TMA loads; the large one elsewhere).
         */
        public enum Policy {
            AUTO, LARGE, SMALL, WIDE;

            /** The policy {@code VIT4J_CUDA_TILE} names (auto where unset or empty); a clear error otherwise. */
            public static Policy parse(String value) {
                if (value == null || value.isBlank()) return AUTO;
                for (Policy p : values()) if (p.name().equalsIgnoreCase(value.trim())) return p;
                throw new Vit4jException("VIT4J_CUDA_TILE: expected auto, large, small or wide, got '" + value + "'");
            }
        }

        /** Blocks of this tile over an m x n output. */
        public long blocks(int m, int n) {
            return (long) ceilDiv(m, bm) * ceilDiv(n, bn);
        }

        /** "128x64x64, 2 stages". */
        public String label() {
            return bm + "x" + bn + "x" + bk + ", " + stages + " stages";
        }

        /**
         * The tile for an m x n output on {@code gpu}: with policy AUTO and a known number of
         * multiprocessors, the one of the fewer modelled cycles, waves x (BM + BN): a wave is up to one block
         * per multiprocessor (ceil(blocks / multiprocessors) of them), and a block's time per k step is taken
         * as proportional to the operand bytes it loads, 2 (BM + BN), for its 2 BM BN FLOPs (the larger tile
         * does more work per byte, the smaller fills more multiprocessors). Ties, and unknown multiprocessors,
         * go to the large tile. ViT-B/16 at batch 1 (M = 197) on 132 SMs: the small tile for the projection
         * and fc2 (N = 768: 24 large blocks, one wave, or 48 small), the large one for QKV and fc1 (72 or 96
         * large blocks, one wave, against two waves of small ones); at batch 256 the large one everywhere.
         */
        public static GemmTile pick(GpuTarget gpu, GemmTile large, GemmTile small, int m, int n) {
            switch (gpu.tiles()) {
                case LARGE, WIDE: return large; // WIDE: HopperGemm.tmaTile where there is a wide kernel
                case SMALL: return small;
                default: break;
            }
            int sms = gpu.multiprocessors();
            if (sms <= 0) return large;
            long costLarge = ceilDiv(large.blocks(m, n), sms) * (long) (large.bm() + large.bn());
            long costSmall = ceilDiv(small.blocks(m, n), sms) * (long) (small.bm() + small.bn());
            return costSmall < costLarge ? small : large;
        }
    }

    /** {@code LN_*} of kernels/cuda/layernorm.cu, read from it. */
    public static final class LayerNorm {
        private LayerNorm() {}

        /** Rows per block, one warp each. */
        public static final int WARPS = KernelConstants.get("layernorm.cu", "LN_WARPS");
        public static final int THREADS = KernelConstants.get("layernorm.cu", "LN_THREADS");
        /** Quads per lane in the register-cached path: rows up to 32 * 4 * VEC = 1024 elements. */
        public static final int VEC = KernelConstants.get("layernorm.cu", "LN_VEC");
    }

    /** {@code ATTN_*} of kernels/cuda/attention.cu, read from it. */
    public static final class Attention {
        private Attention() {}

        /** Query rows per block. */
        public static final int BQ = KernelConstants.get("attention.cu", "ATTN_BQ");
        /** Threads per query row (the head dim is split between them). */
        public static final int TPR = KernelConstants.get("attention.cu", "ATTN_TPR");
        /** Keys per shared-memory tile. */
        public static final int BK = KernelConstants.get("attention.cu", "ATTN_BK");
        public static final int THREADS = KernelConstants.get("attention.cu", "ATTN_THREADS");
        /** Largest head dim of attention_v2_generic. */
        public static final int HD_MAX = KernelConstants.get("attention.cu", "ATTN_HD_MAX");
        /** Head dims with their own kernel, attention_v2_hd{hd}. */
        public static final List<Integer> TEMPLATED = List.of(32, 64, 80, 128);

        /** Query rows (a warp each) per block of attention_probs. */
        public static final int PROBS_WARPS = KernelConstants.get("attention.cu", "ATTN_PROBS_WARPS");
        public static final int PROBS_THREADS = KernelConstants.get("attention.cu", "ATTN_PROBS_THREADS");

        /** Static shared memory of the kernel that runs for {@code headDim}: K and V tiles. */
        public static int staticSharedBytes(int headDim) {
            int hd = TEMPLATED.contains(headDim) ? headDim : HD_MAX;
            return 2 * BK * hd * Float.BYTES;
        }
    }

    /** {@code ATTN_TC_*} of kernels/cuda/attention.cu (attention_v3_hd64/80, bf16 and fp16 only), read from it. */
    public static final class TensorCoreAttention {
        private TensorCoreAttention() {}

        /** Query rows per block (16 per warp). */
        public static final int BQ = KernelConstants.get("attention.cu", "ATTN_TC_BQ");
        /** Keys per shared-memory tile (two stages). */
        public static final int BKV = KernelConstants.get("attention.cu", "ATTN_TC_BKV");
        public static final int THREADS = KernelConstants.get("attention.cu", "ATTN_TC_THREADS");
        /** Padding of each shared-memory row, in elements. */
        public static final int PAD = KernelConstants.get("attention.cu", "ATTN_TC_PAD");
        /** Head dims with a tensor-core kernel, attention_v3_hd{hd}. */
        public static final List<Integer> HEAD_DIMS = List.of(64, 80);

        /** Q tile and two stages of K and V tiles, rows of headDim + PAD 16-bit elements. */
        public static int staticSharedBytes(int headDim) {
            return (BQ + 4 * BKV) * (headDim + PAD) * 2;
        }

        /** True where attention in {@code type} runs on the tensor cores: a 16-bit type, head dim 64 or 80, qkv 16-byte aligned. */
        public static boolean applies(ElementType type, int headDim, long qkv) {
            return type != ElementType.F32 && HEAD_DIMS.contains(headDim) && (qkv & 15) == 0;
        }
    }

    /** {@code EW_THREADS} of kernels/cuda/elementwise.cu, read from it. */
    public static final class Elementwise {
        private Elementwise() {}

        public static final int THREADS = KernelConstants.get("elementwise.cu", "EW_THREADS");
        /** Elements per thread (one quad: a float4 of fp32, 8 bytes of bf16/fp16). */
        public static final int PER_THREAD = 4;
    }

    /**
     * The suffix of a kernel's name in storage type {@code type}: "" (fp32, the names of old), "_bf16",
     * "_f16"; the S of {@code VIT4J_FOR_EACH_DTYPE} in kernels/cuda/common.cuh, which CudaKernelsTest
     * compares with this.
     */
    public static String suffix(ElementType type) {
        return switch (type) {
            case F32 -> "";
            case BF16 -> "_bf16";
            case F16 -> "_f16";
        };
    }

    /**
     * Every kernel of every module (each storage type's), read from the kernel sources in the jar
     * ({@link KernelNames}), for loading them up front.
     */
    public static final Map<String, List<String>> KERNELS = KernelNames.all();

    /** The kernel {@code base} (its fp32 name) of {@code module} in storage type {@code type}. */
    private static String kernel(String module, String base, ElementType type) {
        if (type == null) throw new Vit4jException(module + ": element type is null");
        String name = base + suffix(type);
        List<String> known = KERNELS.get(module);
        if (known == null || !known.contains(name)) {
            throw new Vit4jException("kernels/cuda/" + module + ".cu has no kernel " + name + " (" + base + " in "
                    + type.label() + ")");
        }
        return name;
    }

    // ---- linear.cu ----

    /**
     * Where the TMA kernels may run: the tensor map of each operand (a driver's
     * {@link CudaDriver#encodeTensorMap}, cached by the backend per buffer address and shape). A plan given
     * none (null) runs version 4 with cp.async loads.
     */
    @FunctionalInterface
    public interface TensorMaps {
        KernelArg.TensorMap of(TensorMapSpec spec);
    }

    /** {@link #linear(ElementType, long, long, long, long, int, int, int, Epilogue, long)} in fp32. */
    public static Launch linear(long x, long weight, long bias, long out, int rows,
            int inFeatures, int outFeatures, Epilogue epilogue, long residual) {
        return linear(ElementType.F32, x, weight, bias, out, rows, inFeatures, outFeatures, epilogue, residual);
    }

    /**
     * out[rows, outFeatures] = epilogue(x . weight^T), every buffer of {@code type}. As in the CPU reference, a
     * bias (address != 0) with {@link Epilogue#NONE} is added (the plan then runs linear_v2_bias). {@code residual}
     * may equal {@code out}. bf16 and fp16 run on the tensor cores (version 3, linear_v3_*) where
     * {@link TensorCoreGemm#applies} says so, else, and in fp32, the tiled SIMT GEMM (version 2).
     */
    public static Launch linear(ElementType type, long x, long weight, long bias, long out, int rows,
            int inFeatures, int outFeatures, Epilogue epilogue, long residual) {
        return linear(0, type, x, weight, bias, out, rows, inFeatures, outFeatures, epilogue, residual);
    }

    /**
     * {@link #linear(ElementType, long, long, long, long, int, int, int, Epilogue, long)} on a device of
     * {@code computeCapability} (major * 10 + minor, {@link CudaDriver#computeCapability()}): where
     * {@link HopperGemm#applies} (compute capability 9.0), version 4 (linear_v4_*, wgmma) in place of version 3.
     */
    public static Launch linear(int computeCapability, ElementType type, long x, long weight, long bias, long out,
            int rows, int inFeatures, int outFeatures, Epilogue epilogue, long residual) {
        return linear(computeCapability, null, type, x, weight, bias, out, rows, inFeatures, outFeatures, epilogue,
                residual);
    }

    /**
     * {@link #linear(int, ElementType, long, long, long, long, int, int, int, Epilogue, long)} with TMA loads
     * where version 4 runs and {@code maps} is not null: linear_v4_tma_* (x and weight passed as their
     * {@link HopperGemm#operandMap tensor maps}, {@link HopperGemm#TMA_SHARED_BYTES} of dynamic shared memory).
     */
    public static Launch linear(int computeCapability, TensorMaps maps, ElementType type, long x, long weight, long bias,
            long out, int rows, int inFeatures, int outFeatures, Epilogue epilogue, long residual) {
        return linear(GpuTarget.of(computeCapability), maps, type, x, weight, bias, out, rows, inFeatures, outFeatures,
                epilogue, residual);
    }

    /**
     * {@link #linear(int, TensorMaps, ElementType, long, long, long, long, int, int, int, Epilogue, long)} on
     * {@code gpu}, whose multiprocessors and tile policy pick the tile of versions 3 and 4 per shape
     * ({@link TensorCoreGemm#tile}, {@link HopperGemm#tile}): the small tile's kernels are *_small_*.
     */
    public static Launch linear(GpuTarget gpu, TensorMaps maps, ElementType type, long x, long weight, long bias,
            long out, int rows, int inFeatures, int outFeatures, Epilogue epilogue, long residual) {
        Launch simt = linearV2(type, x, weight, bias, out, rows, inFeatures, outFeatures, epilogue, residual);
        if (!TensorCoreGemm.applies(type, inFeatures, x, weight)) return simt;
        String epi = simt.kernelName().substring("linear_v2_".length(), simt.kernelName().length() - suffix(type).length());
        return tensorCoreLaunch(gpu, maps, type, epi, x, weight, rows, inFeatures, outFeatures, simt.args());
    }

    /**
     * The tensor-core launch of linear.cu for an m x n = [rows, outFeatures] output with K = inFeatures: version
     * 4 with TMA loads (x and weight in args replaced by their tensor maps), version 4, or version 3, on the
     * tile {@code gpu} gets for the shape; the kernel is "linear_v" + version + "_" + tile infix + {@code epi}.
     */
    private static Launch tensorCoreLaunch(GpuTarget gpu, TensorMaps maps, ElementType type, String epi,
            long x, long weight, int rows, int inFeatures, int outFeatures, List<KernelArg> simtArgs) {
        if (HopperGemm.applies(gpu.computeCapability(), type, inFeatures, x, weight)) {
            GemmTile t = maps != null ? HopperGemm.tmaTile(gpu, rows, outFeatures) : HopperGemm.tile(gpu, rows, outFeatures);
            int[] grid = grid(t, rows, outFeatures);
            if (maps != null) {
                List<KernelArg> args = new ArrayList<>(simtArgs); // x, weight, then the rest
                args.set(0, maps.of(HopperGemm.operandMap(type, x, rows, inFeatures, t.bk(), t.bm())));
                args.set(1, maps.of(HopperGemm.operandMap(type, weight, outFeatures, inFeatures, t.bk(), t.bn())));
                return new Launch("linear", kernel("linear", "linear_v4_tma_" + t.infix() + epi, type), grid,
                        block(t.threads()), t.tmaSharedBytes(), args, 0);
            }
            return new Launch("linear", kernel("linear", "linear_v4_" + t.infix() + epi, type), grid,
                    block(t.threads()), t.sharedBytes(), simtArgs, 0);
        }
        GemmTile t = TensorCoreGemm.tile(gpu, rows, outFeatures);
        return new Launch("linear", kernel("linear", "linear_v3_" + t.infix() + epi, type), grid(t, rows, outFeatures),
                block(t.threads()), 0, simtArgs, t.staticSharedBytes());
    }

    /** Version 2, the tiled SIMT GEMM (shared-memory slabs, 4x4 register blocks), in any type: what {@link #linear} runs in fp32. */
    public static Launch linearV2(ElementType type, long x, long weight, long bias, long out, int rows,
            int inFeatures, int outFeatures, Epilogue epilogue, long residual) {
        positive("linear", "rows", rows);
        positive("linear", "inFeatures", inFeatures);
        positive("linear", "outFeatures", outFeatures);
        String kernel = switch (epilogue) {
            case NONE -> bias == 0 ? "linear_v2_none" : "linear_v2_bias";
            case BIAS -> "linear_v2_bias";
            case BIAS_GELU -> "linear_v2_bias_gelu";
            case BIAS_RESIDUAL -> "linear_v2_bias_residual";
        };
        if (epilogue != Epilogue.NONE && bias == 0) {
            throw new Vit4jException("linear: epilogue " + epilogue + " needs a bias");
        }
        if (epilogue == Epilogue.BIAS_RESIDUAL && residual == 0) {
            throw new Vit4jException("linear: epilogue BIAS_RESIDUAL needs a residual");
        }
        return new Launch("linear", kernel("linear", kernel, type), gemmGrid(rows, outFeatures), block(Gemm.THREADS),
                0, args(ptr(x), ptr(weight), ptr(bias), ptr(residual), ptr(out), i(rows), i(outFeatures),
                        i(inFeatures)),
                Gemm.STATIC_SHARED_BYTES);
    }

    /** {@link #linearV1(ElementType, long, long, long, long, int, int, int, Epilogue, long)} in fp32. */
    public static Launch linearV1(long x, long weight, long bias, long out, int rows,
            int inFeatures, int outFeatures, Epilogue epilogue, long residual) {
        return linearV1(ElementType.F32, x, weight, bias, out, rows, inFeatures, outFeatures, epilogue, residual);
    }

    /** The naive baseline linear_v1 (runtime epilogue, 16x16 blocks), kept for comparisons. */
    public static Launch linearV1(ElementType type, long x, long weight, long bias, long out, int rows,
            int inFeatures, int outFeatures, Epilogue epilogue, long residual) {
        int epi = epilogue == Epilogue.NONE && bias != 0 ? Epilogue.BIAS.code() : epilogue.code();
        return new Launch("linear", kernel("linear", "linear_v1", type),
                new int[] {ceilDiv(outFeatures, 16), checkY(ceilDiv(rows, 16)), 1},
                new int[] {16, 16, 1}, 0, args(ptr(x), ptr(weight), ptr(bias), ptr(residual), ptr(out), i(rows),
                        i(outFeatures), i(inFeatures), i(epi)),
                0);
    }

    /** {@link #linearQkv(ElementType, long, long, long, long, int, int, int, int)} in fp32. */
    public static Launch linearQkv(long x, long weight, long bias, long qkv, int batch,
            int tokens, int dim, int heads) {
        return linearQkv(ElementType.F32, x, weight, bias, qkv, batch, tokens, dim, heads);
    }

    /**
     * x [batch * tokens, dim] . weight[3 * dim, dim]^T (+ bias, or 0 for none) into qkv [3, batch, heads, tokens, dim / heads];
     * on the tensor cores (linear_v3_qkv) where {@link TensorCoreGemm#applies}, else version 2.
     */
    public static Launch linearQkv(ElementType type, long x, long weight, long bias, long qkv, int batch,
            int tokens, int dim, int heads) {
        return linearQkv(0, type, x, weight, bias, qkv, batch, tokens, dim, heads);
    }

    /** {@link #linearQkv(ElementType, long, long, long, long, int, int, int, int)} on a device of {@code computeCapability}: version 4 (linear_v4_qkv) where {@link HopperGemm#applies}. */
    public static Launch linearQkv(int computeCapability, ElementType type, long x, long weight, long bias, long qkv,
            int batch, int tokens, int dim, int heads) {
        return linearQkv(computeCapability, null, type, x, weight, bias, qkv, batch, tokens, dim, heads);
    }

    /** The same with TMA loads (linear_v4_tma_qkv) where version 4 runs and {@code maps} is not null. */
    public static Launch linearQkv(int computeCapability, TensorMaps maps, ElementType type, long x, long weight,
            long bias, long qkv, int batch, int tokens, int dim, int heads) {
        return linearQkv(GpuTarget.of(computeCapability), maps, type, x, weight, bias, qkv, batch, tokens, dim, heads);
    }

    /** The same on {@code gpu}, whose multiprocessors and tile policy pick the tile (linear_v*_small_qkv). */
    public static Launch linearQkv(GpuTarget gpu, TensorMaps maps, ElementType type, long x, long weight,
            long bias, long qkv, int batch, int tokens, int dim, int heads) {
        Launch simt = linearQkvV2(type, x, weight, bias, qkv, batch, tokens, dim, heads);
        if (!TensorCoreGemm.applies(type, dim, x, weight)) return simt;
        return tensorCoreLaunch(gpu, maps, type, "qkv", x, weight, Math.multiplyExact(batch, tokens), dim, 3 * dim,
                simt.args());
    }

    /** Version 2 of the QKV projection (the tiled SIMT GEMM), in any type: what {@link #linearQkv} runs in fp32. */
    public static Launch linearQkvV2(ElementType type, long x, long weight, long bias, long qkv, int batch,
            int tokens, int dim, int heads) {
        positive("linearQkv", "batch", batch);
        positive("linearQkv", "tokens", tokens);
        positive("linearQkv", "dim", dim);
        positive("linearQkv", "heads", heads);
        if (dim % heads != 0) throw new Vit4jException("linearQkv: dim " + dim + " is not a multiple of heads " + heads);
        int rows = Math.multiplyExact(batch, tokens);
        return new Launch("linear", kernel("linear", "linear_v2_qkv", type), gemmGrid(rows, Math.multiplyExact(3, dim)),
                block(Gemm.THREADS), 0,
                args(ptr(x), ptr(weight), ptr(bias), ptr(qkv), i(batch), i(tokens), i(dim), i(heads)),
                Gemm.STATIC_SHARED_BYTES);
    }

    // ---- patch_embed.cu ----

    /** {@link #patchEmbed(ElementType, PatchEmbedShape, long, long, long, long, long, long)} in fp32. */
    public static Launch patchEmbed(PatchEmbedShape s, long images, long weight, long bias,
            long clsToken, long posEmbed, long out) {
        return patchEmbed(ElementType.F32, s, images, weight, bias, clsToken, posEmbed, out);
    }

    /**
     * The patch-embedding GEMM (M = B * Np, N = D, K = C * P * P); its first grid row also writes the class rows.
     * In bf16 and fp16 on the tensor cores (patch_embed_v3) where P and the image width are multiples of 8 and the image and
     * weight 16-byte aligned; else {@link #patchEmbedV2}.
     */
    public static Launch patchEmbed(ElementType type, PatchEmbedShape s, long images, long weight, long bias,
            long clsToken, long posEmbed, long out) {
        return patchEmbed(GpuTarget.of(0), type, s, images, weight, bias, clsToken, posEmbed, out);
    }

    /**
     * {@link #patchEmbed(ElementType, PatchEmbedShape, long, long, long, long, long, long)} on {@code gpu}: the
     * tensor-core kernel on the tile {@link TensorCoreGemm#tile} picks for the B * Np x D output
     * (patch_embed_v3_small on the small one).
     */
    public static Launch patchEmbed(GpuTarget gpu, ElementType type, PatchEmbedShape s, long images, long weight,
            long bias, long clsToken, long posEmbed, long out) {
        Launch simt = patchEmbedV2(type, s, images, weight, bias, clsToken, posEmbed, out);
        if (type == ElementType.F32 || s.patch() % 8 != 0 || s.width() % 8 != 0 || ((images | weight) & 15) != 0) {
            return simt;
        }
        int patches = Math.multiplyExact(s.batch(), s.patches());
        GemmTile t = TensorCoreGemm.tile(gpu, patches, s.dim());
        String name = t == TensorCoreGemm.LARGE ? "patch_embed_v3" : "patch_embed_v3_small";
        return new Launch("patch_embed", kernel("patch_embed", name, type), grid(t, patches, s.dim()),
                block(t.threads()), 0, simt.args(), t.staticSharedBytes());
    }

    /** Version 2, the tiled SIMT GEMM, in any type: what {@link #patchEmbed} runs in fp32. */
    public static Launch patchEmbedV2(ElementType type, PatchEmbedShape s, long images, long weight, long bias,
            long clsToken, long posEmbed, long out) {
        int patches = Math.multiplyExact(s.batch(), s.patches());
        return new Launch("patch_embed", kernel("patch_embed", "patch_embed_v2", type), gemmGrid(patches, s.dim()),
                block(Gemm.THREADS), 0, patchArgs(s, images, weight, bias, clsToken, posEmbed, out),
                Gemm.STATIC_SHARED_BYTES);
    }

    /** {@link #patchEmbedV1(ElementType, PatchEmbedShape, long, long, long, long, long, long)} in fp32. */
    public static Launch patchEmbedV1(PatchEmbedShape s, long images, long weight, long bias,
            long clsToken, long posEmbed, long out) {
        return patchEmbedV1(ElementType.F32, s, images, weight, bias, clsToken, posEmbed, out);
    }

    /** The naive baseline patch_embed_v1 (one output per thread, 16x16 blocks). */
    public static Launch patchEmbedV1(ElementType type, PatchEmbedShape s, long images, long weight, long bias,
            long clsToken, long posEmbed, long out) {
        int rows = Math.multiplyExact(s.batch(), s.tokens());
        return new Launch("patch_embed", kernel("patch_embed", "patch_embed_v1", type),
                new int[] {ceilDiv(s.dim(), 16), checkY(ceilDiv(rows, 16)), 1}, new int[] {16, 16, 1}, 0,
                patchArgs(s, images, weight, bias, clsToken, posEmbed, out), 0);
    }

    private static List<KernelArg> patchArgs(PatchEmbedShape s, long images, long weight, long bias,
            long clsToken, long posEmbed, long out) {
        return args(ptr(images), ptr(weight), ptr(bias), ptr(clsToken), ptr(posEmbed), ptr(out), i(s.batch()),
                i(s.channels()), i(s.height()), i(s.width()), i(s.patch()), i(s.dim()));
    }

    // ---- layernorm.cu ----

    /** {@link #layerNorm(ElementType, long, long, long, long, int, int, float)} in fp32. */
    public static Launch layerNorm(long x, long gamma, long beta, long out, int rows,
            int dim, float eps) {
        return layerNorm(ElementType.F32, x, gamma, beta, out, rows, dim, eps);
    }

    public static Launch layerNorm(ElementType type, long x, long gamma, long beta, long out, int rows,
            int dim, float eps) {
        positive("layerNorm", "rows", rows);
        positive("layerNorm", "dim", dim);
        return new Launch("layernorm", kernel("layernorm", "layernorm_v2", type),
                new int[] {ceilDiv(rows, LayerNorm.WARPS), 1, 1}, block(LayerNorm.THREADS), 0,
                args(ptr(x), ptr(gamma), ptr(beta), ptr(out), i(rows), i(dim), f(eps)), 0);
    }

    /** {@link #addLayerNorm(ElementType, long, long, long, long, long, long, int, int, float)} in fp32. */
    public static Launch addLayerNorm(long x, long residual, long sum, long normed,
            long gamma, long beta, int rows, int dim, float eps) {
        return addLayerNorm(ElementType.F32, x, residual, sum, normed, gamma, beta, rows, dim, eps);
    }

    /**
     * sum = x + residual, normed = layerNorm(sum); sum may alias x or residual. In a half type the sum is
     * rounded as it is stored and the rounded sum is normalised.
     */
    public static Launch addLayerNorm(ElementType type, long x, long residual, long sum, long normed,
            long gamma, long beta, int rows, int dim, float eps) {
        positive("addLayerNorm", "rows", rows);
        positive("addLayerNorm", "dim", dim);
        return new Launch("layernorm", kernel("layernorm", "add_layernorm_v2", type),
                new int[] {ceilDiv(rows, LayerNorm.WARPS), 1, 1}, block(LayerNorm.THREADS), 0,
                args(ptr(x), ptr(residual), ptr(sum), ptr(normed), ptr(gamma), ptr(beta), i(rows), i(dim), f(eps)),
                0);
    }

    /** {@link #layerNormV1(ElementType, long, long, long, long, int, int, float)} in fp32. */
    public static Launch layerNormV1(long x, long gamma, long beta, long out, int rows,
            int dim, float eps) {
        return layerNormV1(ElementType.F32, x, gamma, beta, out, rows, dim, eps);
    }

    /** The naive baseline layernorm_v1 (one thread per row). */
    public static Launch layerNormV1(ElementType type, long x, long gamma, long beta, long out, int rows,
            int dim, float eps) {
        return new Launch("layernorm", kernel("layernorm", "layernorm_v1", type), new int[] {ceilDiv(rows, 128), 1, 1},
                block(128), 0, args(ptr(x), ptr(gamma), ptr(beta), ptr(out), i(rows), i(dim), f(eps)), 0);
    }

    // ---- attention.cu ----

    /** {@link #attention(ElementType, long, long, int, int, int, int, float)} in fp32. */
    public static Launch attention(long qkv, long out, int batch, int tokens, int heads, int headDim,
            float scale) {
        return attention(ElementType.F32, qkv, out, batch, tokens, heads, headDim, scale);
    }

    /**
     * Flash attention over qkv [3, batch, heads, tokens, headDim] into out [batch, tokens, heads * headDim]:
     * in bf16 and fp16 on the tensor cores (attention_v3_hd64/80) where {@link TensorCoreAttention#applies},
     * else {@link #attentionSimt}.
     */
    public static Launch attention(ElementType type, long qkv, long out, int batch, int tokens, int heads,
            int headDim, float scale) {
        Launch simt = attentionSimt(type, qkv, out, batch, tokens, heads, headDim, scale);
        if (!TensorCoreAttention.applies(type, headDim, qkv)) return simt;
        return new Launch("attention", kernel("attention", "attention_v3_hd" + headDim, type),
                new int[] {ceilDiv(tokens, TensorCoreAttention.BQ), checkY(Math.multiplyExact(batch, heads)), 1},
                block(TensorCoreAttention.THREADS), 0, simt.args(), TensorCoreAttention.staticSharedBytes(headDim));
    }

    /**
     * The SIMT flash attention in any type: attention_v2_hd{32,64,80,128} for those head dims, attention_v2_generic
     * for any other up to {@link Attention#HD_MAX}; what {@link #attention} runs in fp32.
     */
    public static Launch attentionSimt(ElementType type, long qkv, long out, int batch, int tokens, int heads,
            int headDim, float scale) {
        positive("attention", "batch", batch);
        positive("attention", "tokens", tokens);
        positive("attention", "heads", heads);
        positive("attention", "headDim", headDim);
        if (headDim > Attention.HD_MAX) {
            throw new Vit4jException("attention: head dim " + headDim + " exceeds the CUDA kernels' maximum "
                    + Attention.HD_MAX);
        }
        int[] grid = {ceilDiv(tokens, Attention.BQ), checkY(Math.multiplyExact(batch, heads)), 1};
        int smem = Attention.staticSharedBytes(headDim);
        if (Attention.TEMPLATED.contains(headDim)) {
            return new Launch("attention", kernel("attention", "attention_v2_hd" + headDim, type), grid,
                    block(Attention.THREADS), 0, args(ptr(qkv), ptr(out), i(batch), i(tokens), i(heads), f(scale)),
                    smem);
        }
        return new Launch("attention", kernel("attention", "attention_v2_generic", type), grid, block(Attention.THREADS),
                0, args(ptr(qkv), ptr(out), i(batch), i(tokens), i(heads), i(headDim), f(scale)), smem);
    }

    /**
     * The attention probabilities, float32 probs [batch, heads, tokens, tokens] = softmax(q k^T * scale),
     * from qkv [3, batch, heads, tokens, headDim] of {@code type} (attention_probs: a warp per query row,
     * any head dim; for analysis only).
     */
    public static Launch attentionProbs(ElementType type, long qkv, long probs, int batch, int tokens, int heads,
            int headDim, float scale) {
        positive("attentionProbs", "batch", batch);
        positive("attentionProbs", "tokens", tokens);
        positive("attentionProbs", "heads", heads);
        positive("attentionProbs", "headDim", headDim);
        long rows = (long) batch * heads * tokens;
        return new Launch("attention", kernel("attention", "attention_probs", type),
                new int[] {ceilDiv(rows, Attention.PROBS_WARPS), 1, 1}, block(Attention.PROBS_THREADS), 0,
                args(ptr(qkv), ptr(probs), i(batch), i(tokens), i(heads), i(headDim), f(scale)), 0);
    }

    // ---- elementwise.cu ----

    /** {@link #gelu(ElementType, long, long, long)} in fp32. */
    public static Launch gelu(long x, long out, long n) {
        return gelu(ElementType.F32, x, out, n);
    }

    /** out = GELU(x); out may be x. */
    public static Launch gelu(ElementType type, long x, long out, long n) {
        int len = intLength("gelu", n);
        return new Launch("elementwise", kernel("elementwise", "gelu", type), elementwiseGrid(len),
                block(Elementwise.THREADS), 0, args(ptr(x), ptr(out), i(len)), 0);
    }

    /** {@link #add(ElementType, long, long, long, long)} in fp32. */
    public static Launch add(long a, long b, long out, long n) {
        return add(ElementType.F32, a, b, out, n);
    }

    /** out = a + b; out may be a or b. */
    public static Launch add(ElementType type, long a, long b, long out, long n) {
        int len = intLength("add", n);
        return new Launch("elementwise", kernel("elementwise", "add", type), elementwiseGrid(len),
                block(Elementwise.THREADS), 0, args(ptr(a), ptr(b), ptr(out), i(len)), 0);
    }

    /** {@link #selectToken(ElementType, long, long, int, int, int, int)} in fp32. */
    public static Launch selectToken(long x, long out, int batch, int tokens, int dim, int token) {
        return selectToken(ElementType.F32, x, out, batch, tokens, dim, token);
    }

    /** out[b, :] = x[b, token, :] (a copy: no rounding in any type). */
    public static Launch selectToken(ElementType type, long x, long out, int batch, int tokens, int dim, int token) {
        positive("selectToken", "batch", batch);
        positive("selectToken", "tokens", tokens);
        positive("selectToken", "dim", dim);
        if (token < 0 || token >= tokens) {
            throw new Vit4jException("selectToken: token " + token + " is outside 0.." + (tokens - 1));
        }
        int len = intLength("selectToken", (long) batch * dim);
        return new Launch("elementwise", kernel("elementwise", "select_token", type), elementwiseGrid(len),
                block(Elementwise.THREADS), 0, args(ptr(x), ptr(out), i(batch), i(tokens), i(dim), i(token)), 0);
    }

    // ---- epilogue.cu: what the cuBLAS path applies after cublasGemmEx ----

    /** Threads per block of epilogue.cu: its EP_THREADS, read from it. */
    public static final int EPILOGUE_THREADS = KernelConstants.get("epilogue.cu", "EP_THREADS");

    /** out[rows, cols] = act(out + bias[col]), act = exact GELU when {@code gelu}. */
    public static Launch biasRows(long out, long bias, int rows, int cols, boolean gelu) {
        positive("biasRows", "rows", rows);
        positive("biasRows", "cols", cols);
        return new Launch("epilogue", "bias_rows", new int[] {ceilDiv((long) rows * cols, EPILOGUE_THREADS), 1, 1},
                block(EPILOGUE_THREADS), 0, args(ptr(out), ptr(bias), i(rows), i(cols), i(gelu ? 1 : 0)), 0);
    }

    /** flat [batch * tokens, 3 * dim] (+ bias [3 * dim], or 0 for none) into qkv [3, batch, heads, tokens, dim / heads]. */
    public static Launch qkvScatter(long flat, long bias, long qkv, int batch, int tokens, int dim,
            int heads) {
        positive("qkvScatter", "batch", batch);
        positive("qkvScatter", "tokens", tokens);
        positive("qkvScatter", "dim", dim);
        positive("qkvScatter", "heads", heads);
        long n = 3L * batch * tokens * dim;
        return new Launch("epilogue", "qkv_scatter", new int[] {ceilDiv(n, EPILOGUE_THREADS), 1, 1},
                block(EPILOGUE_THREADS), 0, args(ptr(flat), ptr(bias), ptr(qkv), i(batch), i(tokens), i(dim), i(heads)),
                0);
    }

    /**
     * The half-precision cuBLAS epilogue: out[rows, cols] of {@code type} (bf16/fp16) =
     * act(acc + bias[col]) + residual, rounded once; acc is cuBLAS's fp32 result; bias and residual
     * (0 for none) of {@code type}; residual may be out itself.
     */
    public static Launch biasRowsAcc(ElementType type, long acc, long bias, long residual, long out, int rows, int cols,
            boolean gelu) {
        positive("biasRowsAcc", "rows", rows);
        positive("biasRowsAcc", "cols", cols);
        if (type == ElementType.F32) throw new Vit4jException("biasRowsAcc: fp32 needs no accumulator epilogue (bias_rows)");
        return new Launch("epilogue", kernel("epilogue", "bias_rows_acc", type),
                new int[] {ceilDiv((long) rows * cols, EPILOGUE_THREADS), 1, 1}, block(EPILOGUE_THREADS), 0,
                args(ptr(acc), ptr(bias), ptr(residual), ptr(out), i(rows), i(cols), i(gelu ? 1 : 0)), 0);
    }

    /** {@link #qkvScatter} from cuBLAS's fp32 result into a bf16/fp16 qkv, bias of {@code type}, rounded once. */
    public static Launch qkvScatterAcc(ElementType type, long flat, long bias, long qkv, int batch, int tokens, int dim,
            int heads) {
        positive("qkvScatterAcc", "batch", batch);
        positive("qkvScatterAcc", "tokens", tokens);
        positive("qkvScatterAcc", "dim", dim);
        positive("qkvScatterAcc", "heads", heads);
        if (type == ElementType.F32) throw new Vit4jException("qkvScatterAcc: fp32 uses qkv_scatter");
        long n = 3L * batch * tokens * dim;
        return new Launch("epilogue", kernel("epilogue", "qkv_scatter_acc", type), new int[] {ceilDiv(n, EPILOGUE_THREADS), 1, 1},
                block(EPILOGUE_THREADS), 0, args(ptr(flat), ptr(bias), ptr(qkv), i(batch), i(tokens), i(dim), i(heads)),
                0);
    }

    // ---- arithmetic ----

    /** ceil(a / b) for a >= 0, b > 0. */
    public static int ceilDiv(long a, int b) {
        return Math.toIntExact((a + b - 1) / b);
    }

    static int[] gemmGrid(int m, int n) {
        return new int[] {ceilDiv(n, Gemm.BN), checkY(ceilDiv(m, Gemm.BM)), 1};
    }

    /** One block per tile of {@code t} over an m x n output. */
    private static int[] grid(GemmTile t, int m, int n) {
        return new int[] {ceilDiv(n, t.bn()), checkY(ceilDiv(m, t.bm())), 1};
    }

    static int[] elementwiseGrid(int n) {
        return new int[] {Math.max(1, ceilDiv(n, Elementwise.THREADS * Elementwise.PER_THREAD)), 1, 1};
    }

    private static int checkY(int y) {
        if (y > 65535) throw new Vit4jException("CUDA grid dimension y " + y + " exceeds 65535");
        return y;
    }

    private static int[] block(int x) {
        return new int[] {x, 1, 1};
    }

    private static int intLength(String op, long n) {
        if (n <= 0 || n > Integer.MAX_VALUE) {
            throw new Vit4jException(op + ": length " + n + " must be in 1.." + Integer.MAX_VALUE);
        }
        return (int) n;
    }

    private static void positive(String op, String arg, long v) {
        if (v <= 0) throw new Vit4jException(op + ": " + arg + " must be > 0, got " + v);
    }

    // ---- kernel arguments ----

    private static KernelArg ptr(long address) {
        return new Ptr(address);
    }

    private static KernelArg i(int v) {
        return new I32(v);
    }

    private static KernelArg f(float v) {
        return new F32(v);
    }

    private static List<KernelArg> args(KernelArg... each) {
        return List.of(each);
    }
}
