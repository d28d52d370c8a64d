// The few cuBLAS declarations libvit4j_cuda.so uses, written here because the build machine has no
// cuBLAS headers (and must not need them: the library is dlopen'ed at run time, whichever of
// libcublas.so.13 / .12 the host has). The opaque handles are pointers to incomplete structs, as
// cublas_api.h / cublasLt.h declare them; enums are passed as int (the C ABI of an enum whose values
// fit in int).
//
// Where each number comes from. Every value below was read in NVIDIA's own header text, in two
// toolkits, and is the same in both (checked 2026-12-02):
//   [12.6] github.com/zspace/system.cuda-12.6 @ b3d92c837713 (a copy of the CUDA 12.6.3 toolkit):
//          include/cublas_api.h (CUBLAS_VER 12.6.4), include/cublasLt.h, include/library_types.h;
//   [13.x] github.com/wesleyrparsons/WesChat12 @ b3f9792235a6 (vendored cuBLAS headers):
//          cublas_api.h (CUBLAS_VER 13.4.0), cublasLt.h;
//   [lt]   library_types.h of the CUDA 13.0 toolkit this builds with (next to cuda.h): the
//          cudaDataType_t values are also static_assert'ed against it in vit4j_cuda.cpp at every build.
// Groups: cublasStatus_t, cublasOperation_t, cublasComputeType_t, cublasGemmAlgo_t and the prototypes
// of cublasCreate_v2 / cublasDestroy_v2 / cublasSetStream_v2 / cublasSetWorkspace_v2 /
// cublasGemmEx / cublasGetStatusName: cublas_api.h [12.6] [13.x]. cudaDataType_t: library_types.h
// [12.6] [lt]. cublasLtMatmulDescAttributes_t, cublasLtEpilogue_t, cublasLtMatmulPreferenceAttributes_t
// (with the attribute value types the header's comments give: int32_t, uint32_t, const void*,
// uint64_t), cublasLtMatmulAlgo_t (uint64_t data[8]), cublasLtMatmulHeuristicResult_t (algo,
// size_t workspaceSize, cublasStatus_t state, float wavesCount, int reserved[4]) and the cuBLASLt
// prototypes: cublasLt.h [12.6] [13.x]. CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE is 26 in both headers (after
// FAST_ACCUM = 25); the public binding that says 24 (Modular's max/kernels/src/_cublas/cublaslt.mojo,
// an older revision) is wrong, and a later revision of that file says 26. CUDA 11.x's cublasLt.h (as
// vendored by ggerganov/llama.cpp @ f555db44, include/cuda/cublasLt.h) has no BIAS_DATA_TYPE at all;
// we bind only .12 and .13. The cuBLAS Library User Guide (docs.nvidia.com/cuda/cublas) documents the
// same names; the numbers are the headers'. Nothing here is unconfirmed.
#ifndef VIT4J_CUBLAS_DECL_H
#define VIT4J_CUBLAS_DECL_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vit4j_cublasContext* vit4j_cublasHandle_t; // cublasHandle_t
typedef struct vit4j_CUstream_st* vit4j_cudaStream_t;      // cudaStream_t (== CUstream)

// cublasStatus_t
enum {
    VIT4J_CUBLAS_STATUS_SUCCESS = 0,
    VIT4J_CUBLAS_STATUS_NOT_INITIALIZED = 1,
    VIT4J_CUBLAS_STATUS_ALLOC_FAILED = 3,
    VIT4J_CUBLAS_STATUS_INVALID_VALUE = 7,
    VIT4J_CUBLAS_STATUS_ARCH_MISMATCH = 8,
    VIT4J_CUBLAS_STATUS_MAPPING_ERROR = 11,
    VIT4J_CUBLAS_STATUS_EXECUTION_FAILED = 13,
    VIT4J_CUBLAS_STATUS_INTERNAL_ERROR = 14,
    VIT4J_CUBLAS_STATUS_NOT_SUPPORTED = 15,
    VIT4J_CUBLAS_STATUS_LICENSE_ERROR = 16,
};
// cublasOperation_t
enum { VIT4J_CUBLAS_OP_N = 0, VIT4J_CUBLAS_OP_T = 1 };
// cudaDataType_t (library_types.h)
enum { VIT4J_CUDA_R_32F = 0, VIT4J_CUDA_R_16F = 2, VIT4J_CUDA_R_16BF = 14 };
// cublasComputeType_t
enum { VIT4J_CUBLAS_COMPUTE_32F = 68, VIT4J_CUBLAS_COMPUTE_32F_FAST_TF32 = 77 };
// cublasGemmAlgo_t
enum { VIT4J_CUBLAS_GEMM_DEFAULT = -1 };

// Enums are passed as int (the C ABI of an enum parameter whose values fit in int).
typedef int (*vit4j_cublasCreate_t)(vit4j_cublasHandle_t* handle);                       // cublasCreate_v2
typedef int (*vit4j_cublasDestroy_t)(vit4j_cublasHandle_t handle);                       // cublasDestroy_v2
typedef int (*vit4j_cublasSetStream_t)(vit4j_cublasHandle_t handle, vit4j_cudaStream_t); // cublasSetStream_v2
typedef int (*vit4j_cublasSetWorkspace_t)(vit4j_cublasHandle_t handle, void* workspace,
                                          size_t workspaceSizeInBytes);                  // cublasSetWorkspace_v2
typedef int (*vit4j_cublasGemmEx_t)(vit4j_cublasHandle_t handle, int transa, int transb, int m, int n, int k,
                                    const void* alpha, const void* A, int Atype, int lda, const void* B, int Btype,
                                    int ldb, const void* beta, void* C, int Ctype, int ldc, int computeType,
                                    int algo);                                           // cublasGemmEx
typedef const char* (*vit4j_cublasGetStatusName_t)(int status);                          // cublasGetStatusName (11.4.2+)

// ---- cuBLASLt (libcublasLt.so.13 / .12): from cublasLt.h [12.6] [13.x] (see the top of this file).
typedef struct vit4j_cublasLtContext* vit4j_cublasLtHandle_t;
typedef struct vit4j_cublasLtMatmulDescOpaque* vit4j_cublasLtMatmulDesc_t;
typedef struct vit4j_cublasLtMatrixLayoutOpaque* vit4j_cublasLtMatrixLayout_t;
typedef struct vit4j_cublasLtMatmulPreferenceOpaque* vit4j_cublasLtMatmulPreference_t;

typedef struct {
    unsigned long long data[8];
} vit4j_cublasLtMatmulAlgo_t;

typedef struct {
    vit4j_cublasLtMatmulAlgo_t algo;
    size_t workspaceSize;
    int state; // cublasStatus_t
    float wavesCount;
    int reserved[4];
} vit4j_cublasLtMatmulHeuristicResult_t;

// cublasLtMatmulDescAttributes_t
enum {
    VIT4J_CUBLASLT_MATMUL_DESC_TRANSA = 3,          // int32_t (cublasOperation_t)
    VIT4J_CUBLASLT_MATMUL_DESC_TRANSB = 4,          // int32_t
    VIT4J_CUBLASLT_MATMUL_DESC_EPILOGUE = 7,        // uint32_t (cublasLtEpilogue_t)
    VIT4J_CUBLASLT_MATMUL_DESC_BIAS_POINTER = 8,    // const void*
    VIT4J_CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE = 26, // int32_t (cudaDataType_t)
};
// cublasLtEpilogue_t (GELU_BIAS = 36 exists but is not used: see CudaNative)
enum { VIT4J_CUBLASLT_EPILOGUE_DEFAULT = 1, VIT4J_CUBLASLT_EPILOGUE_BIAS = 4 };
// cublasLtMatmulPreferenceAttributes_t
enum { VIT4J_CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES = 1 }; // uint64_t

typedef int (*vit4j_cublasLtCreate_t)(vit4j_cublasLtHandle_t* handle);
typedef int (*vit4j_cublasLtDestroy_t)(vit4j_cublasLtHandle_t handle);
typedef int (*vit4j_cublasLtMatmulDescCreate_t)(vit4j_cublasLtMatmulDesc_t* desc, int computeType, int scaleType);
typedef int (*vit4j_cublasLtMatmulDescDestroy_t)(vit4j_cublasLtMatmulDesc_t desc);
typedef int (*vit4j_cublasLtMatmulDescSetAttribute_t)(vit4j_cublasLtMatmulDesc_t desc, int attr, const void* buf,
                                                      size_t sizeInBytes);
typedef int (*vit4j_cublasLtMatrixLayoutCreate_t)(vit4j_cublasLtMatrixLayout_t* layout, int type,
                                                  unsigned long long rows, unsigned long long cols, long long ld);
typedef int (*vit4j_cublasLtMatrixLayoutDestroy_t)(vit4j_cublasLtMatrixLayout_t layout);
typedef int (*vit4j_cublasLtMatmulPreferenceCreate_t)(vit4j_cublasLtMatmulPreference_t* pref);
typedef int (*vit4j_cublasLtMatmulPreferenceDestroy_t)(vit4j_cublasLtMatmulPreference_t pref);
typedef int (*vit4j_cublasLtMatmulPreferenceSetAttribute_t)(vit4j_cublasLtMatmulPreference_t pref, int attr,
                                                            const void* buf, size_t sizeInBytes);
typedef int (*vit4j_cublasLtMatmulAlgoGetHeuristic_t)(vit4j_cublasLtHandle_t handle, vit4j_cublasLtMatmulDesc_t desc,
                                                      vit4j_cublasLtMatrixLayout_t Adesc,
                                                      vit4j_cublasLtMatrixLayout_t Bdesc,
                                                      vit4j_cublasLtMatrixLayout_t Cdesc,
                                                      vit4j_cublasLtMatrixLayout_t Ddesc,
                                                      vit4j_cublasLtMatmulPreference_t pref, int requestedAlgoCount,
                                                      vit4j_cublasLtMatmulHeuristicResult_t* results,
                                                      int* returnAlgoCount);
typedef int (*vit4j_cublasLtMatmul_t)(vit4j_cublasLtHandle_t handle, vit4j_cublasLtMatmulDesc_t desc, const void* alpha,
                                      const void* A, vit4j_cublasLtMatrixLayout_t Adesc, const void* B,
                                      vit4j_cublasLtMatrixLayout_t Bdesc, const void* beta, const void* C,
                                      vit4j_cublasLtMatrixLayout_t Cdesc, void* D, vit4j_cublasLtMatrixLayout_t Ddesc,
                                      const vit4j_cublasLtMatmulAlgo_t* algo, void* workspace,
                                      size_t workspaceSizeInBytes, vit4j_cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif
