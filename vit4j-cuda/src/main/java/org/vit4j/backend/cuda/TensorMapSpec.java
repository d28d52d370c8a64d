package org.vit4j.backend.cuda;

import java.util.Arrays;
import org.vit4j.Vit4jException;

/**
 * What {@link CudaDriver#encodeTensorMap} encodes: a tiled TMA descriptor (CUDA's
 * {@code cuTensorMapEncodeTiled}) for a tensor in device memory, read by a Hopper kernel through
 * {@code cp.async.bulk.tensor} with the map passed as a {@code const __grid_constant__ CUtensorMap}
 * parameter ({@link KernelArg.TensorMap}).
 *
 * <p>Dimensions are listed innermost first, as CUDA does: {@code dims[0]} is the contiguous one (a
 * row-major [rows, cols] matrix is {@code dims = {cols, rows}}). {@code strideBytes} has one entry
 * fewer: the byte stride of dimensions 1..rank-1 (for the matrix, {@code {cols * elementBytes}} or a
 * larger row pitch). {@code box} is the tile a kernel copies per request (each 1..256 elements; the
 * innermost box times the element size a multiple of 16 bytes); {@code elementStrides} 1..8 (1: every
 * element). The numbers of each enum are cuda.h's, so the driver receives exactly them.
 *
 * <p>Checked here, so that a bad map is a one-line error naming the argument before it reaches the
 * driver: rank 1..5, array lengths, dims 1..2^32, strides multiples of 16 below 2^40, the address
 * 16-byte aligned (32 with interleave 32B), box and element strides in range. The driver checks the
 * rest (swizzle against the box's inner bytes, for example) and fails with its error's name.
 */
public record TensorMapSpec(DataType dtype, long address, long[] dims, long[] strideBytes, int[] box,
        int[] elementStrides, Interleave interleave, Swizzle swizzle, L2Promotion l2Promotion, OobFill oobFill) {

    /** CUtensorMapDataType (the ones the kernels use). */
    public enum DataType {
        UINT8(0, 1), UINT16(1, 2), UINT32(2, 4), INT32(3, 4), FLOAT16(6, 2), FLOAT32(7, 4), BFLOAT16(9, 2);

        public final int code;
        public final int bytes;

        DataType(int code, int bytes) {
            this.code = code;
            this.bytes = bytes;
        }
    }

    /** CUtensorMapInterleave. */
    public enum Interleave {
        NONE(0), B16(1), B32(2);

        public final int code;

        Interleave(int code) {
            this.code = code;
        }
    }

    /** CUtensorMapSwizzle: the shared-memory swizzle of the copied box. */
    public enum Swizzle {
        NONE(0), B32(1), B64(2), B128(3);

        public final int code;

        Swizzle(int code) {
            this.code = code;
        }
    }

    /** CUtensorMapL2promotion. */
    public enum L2Promotion {
        NONE(0), B64(1), B128(2), B256(3);

        public final int code;

        L2Promotion(int code) {
            this.code = code;
        }
    }

    /** CUtensorMapFloatOOBfill: what out-of-bounds elements of a box read as (zero, or NaN). */
    public enum OobFill {
        ZERO(0), NAN_REQUEST_ZERO_FMA(1);

        public final int code;

        OobFill(int code) {
            this.code = code;
        }
    }

    public TensorMapSpec {
        String what = "tensor map";
        if (dtype == null || interleave == null || swizzle == null || l2Promotion == null || oobFill == null) {
            throw new Vit4jException(what + ": dtype, interleave, swizzle, l2Promotion and oobFill must be given");
        }
        if (dims == null || dims.length < 1 || dims.length > 5) {
            throw new Vit4jException(what + ": rank (dims.length) must be 1..5, got "
                    + (dims == null ? "null" : dims.length));
        }
        int rank = dims.length;
        dims = dims.clone();
        strideBytes = strideBytes == null ? null : strideBytes.clone();
        box = box == null ? null : box.clone();
        elementStrides = elementStrides == null ? null : elementStrides.clone();
        if (strideBytes == null || strideBytes.length != rank - 1) {
            throw new Vit4jException(what + ": strideBytes must have rank - 1 = " + (rank - 1) + " entries, got "
                    + (strideBytes == null ? "null" : Arrays.toString(strideBytes)));
        }
        if (box == null || box.length != rank) {
            throw new Vit4jException(what + ": box must have rank = " + rank + " entries, got "
                    + (box == null ? "null" : Arrays.toString(box)));
        }
        if (elementStrides == null || elementStrides.length != rank) {
            throw new Vit4jException(what + ": elementStrides must have rank = " + rank + " entries, got "
                    + (elementStrides == null ? "null" : Arrays.toString(elementStrides)));
        }
        for (int i = 0; i < rank; i++) {
            if (dims[i] < 1 || dims[i] > (1L << 32)) {
                throw new Vit4jException(what + ": dims[" + i + "] must be 1..2^32, got " + dims[i]);
            }
            if (box[i] < 1 || box[i] > 256) {
                throw new Vit4jException(what + ": box[" + i + "] must be 1..256, got " + box[i]);
            }
            if (elementStrides[i] < 1 || elementStrides[i] > 8) {
                throw new Vit4jException(what + ": elementStrides[" + i + "] must be 1..8, got " + elementStrides[i]);
            }
        }
        for (int i = 0; i < rank - 1; i++) {
            if (strideBytes[i] <= 0 || strideBytes[i] % 16 != 0 || strideBytes[i] >= (1L << 40)) {
                throw new Vit4jException(what + ": strideBytes[" + i + "] must be a positive multiple of 16 below 2^40, got "
                        + strideBytes[i]);
            }
        }
        long align = interleave == Interleave.B32 ? 32 : 16;
        if (address == 0 || address % align != 0) {
            throw new Vit4jException(what + ": address must be a non-null device address aligned to " + align
                    + " bytes, got 0x" + Long.toHexString(address));
        }
    }

    /**
     * A row-major [rows, cols] matrix of {@code dtype} at {@code address} with {@code rowPitchBytes}
     * between rows, copied in boxes of [boxRows, boxCols]; no interleave, L2 promotion 128 B,
     * out-of-bounds elements read as zero (the tail of a ViT's B*197 rows).
     */
    public static TensorMapSpec matrix(DataType dtype, long address, long rows, long cols, long rowPitchBytes,
            int boxRows, int boxCols, Swizzle swizzle) {
        return new TensorMapSpec(dtype, address, new long[] {cols, rows}, new long[] {rowPitchBytes},
                new int[] {boxCols, boxRows}, new int[] {1, 1}, Interleave.NONE, swizzle, L2Promotion.B128, OobFill.ZERO);
    }

    public int rank() {
        return dims.length;
    }

    @Override
    public long[] dims() {
        return dims.clone();
    }

    @Override
    public long[] strideBytes() {
        return strideBytes.clone();
    }

    @Override
    public int[] box() {
        return box.clone();
    }

    @Override
    public int[] elementStrides() {
        return elementStrides.clone();
    }

    @Override
    public String toString() {
        return "TensorMapSpec[" + dtype + " at 0x" + Long.toHexString(address) + ", dims " + Arrays.toString(dims)
                + ", strideBytes " + Arrays.toString(strideBytes) + ", box " + Arrays.toString(box) + ", elementStrides "
                + Arrays.toString(elementStrides) + ", " + interleave + ", swizzle " + swizzle + ", l2 " + l2Promotion
                + ", oob " + oobFill + "]";
    }
}
