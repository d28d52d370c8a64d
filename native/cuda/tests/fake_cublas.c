// A fake libcublas.so.13 / .12 for CudaNativeTest (see fake_common.h): the five entry points
// libvit4j_cuda.so resolves, logging every argument. Built with -DFAKE_NO_GEMMEX it lacks
// cublasGemmEx (a library whose symbol is missing). No cublasGetStatusName: the binding's own table
// names the status. Prototypes as ../cublas_decl.h declares them from NVIDIA's documentation.
#include "fake_common.h"

#include <stddef.h>
#include <stdint.h>

#define EXPORT __attribute__((visibility("default")))

static int handle_storage;

EXPORT int cublasCreate_v2(void** handle) {
    fake_log("cublasCreate_v2");
    *handle = &handle_storage;
    return fake_result("cublasCreate_v2");
}

EXPORT int cublasDestroy_v2(void* handle) {
    fake_log("cublasDestroy_v2 own=%d", handle == &handle_storage);
    return fake_result("cublasDestroy_v2");
}

EXPORT int cublasSetStream_v2(void* handle, void* stream) {
    fake_log("cublasSetStream_v2 own=%d stream=0x%llx", handle == &handle_storage, (unsigned long long) (uintptr_t) stream);
    return fake_result("cublasSetStream_v2");
}

EXPORT int cublasSetWorkspace_v2(void* handle, void* workspace, size_t bytes) {
    fake_log("cublasSetWorkspace_v2 own=%d workspace=0x%llx bytes=%zu", handle == &handle_storage,
             (unsigned long long) (uintptr_t) workspace, bytes);
    return fake_result("cublasSetWorkspace_v2");
}

#ifndef FAKE_NO_GEMMEX
EXPORT int cublasGemmEx(void* handle, int transa, int transb, int m, int n, int k, const void* alpha, const void* A,
                        int Atype, int lda, const void* B, int Btype, int ldb, const void* beta, void* C, int Ctype,
                        int ldc, int computeType, int algo) {
    fake_log("cublasGemmEx own=%d transa=%d transb=%d m=%d n=%d k=%d alpha=%g A=0x%llx Atype=%d lda=%d B=0x%llx "
             "Btype=%d ldb=%d beta=%g C=0x%llx Ctype=%d ldc=%d computeType=%d algo=%d",
             handle == &handle_storage, transa, transb, m, n, k, (double) *(const float*) alpha,
             (unsigned long long) (uintptr_t) A, Atype, lda, (unsigned long long) (uintptr_t) B, Btype, ldb,
             (double) *(const float*) beta, (unsigned long long) (uintptr_t) C, Ctype, ldc, computeType, algo);
    return fake_result("cublasGemmEx");
}
#endif
