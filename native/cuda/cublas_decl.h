// The few cuBLAS declarations libvit4j_cuda.so uses, written here because the build machine has no
// cuBLAS headers (and must not need them: the library is dlopen'ed at run time, whichever of
// libcublas.so.13 / .12 the host has). Everything below is from NVIDIA's documented API, the cuBLAS
// Library User Guide (docs.nvidia.com/cuda/cublas): section 2.2 "cuBLAS Datatypes Reference"
// (cublasStatus_t, cublasOperation_t, cublasComputeType_t, cublasGemmAlgo_t, cublasHandle_t), the
// cudaDataType_t table of section 2.3 (library_types.h of the toolkit), and the prototypes of
// cublasCreate / cublasDestroy / cublasSetStream / cublasSetWorkspace (2.4, "Helper Function
// Reference"; exported with the _v2 suffix since cuBLAS 4) and cublasGemmEx (2.8, "BLAS-like
// Extension"). The numeric values are ABI and stable across cuBLAS 11, 12 and 13. The opaque handle
// is declared as a pointer to an incomplete struct, as cublas_api.h does.
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

#ifdef __cplusplus
}
#endif

#endif
