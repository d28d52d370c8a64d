// A fake libcuda.so.1 for CudaNativeTest (see fake_common.h): cuGetProcAddress_v2 hands out its own
// cuTensorMapEncodeTiled, cuLaunchKernelEx and cuGetErrorName, which log the arguments they receive.
// Built with -DFAKE_NO_PROC_ADDRESS it has no cuGetProcAddress at all (a driver older than 11.3).
// Types as cuda.h declares them, so what is logged is what a real driver would have received.
#include "fake_common.h"

#include <cuda.h>
#include <stdint.h>

__attribute__((unused)) static CUresult fake_error_name(CUresult error, const char** name) {
    switch ((int) error) {
    case 0: *name = "CUDA_SUCCESS"; return CUDA_SUCCESS;
    case 1: *name = "CUDA_ERROR_INVALID_VALUE"; return CUDA_SUCCESS;
    case 500: *name = "CUDA_ERROR_NOT_FOUND"; return CUDA_SUCCESS;
    case 700: *name = "CUDA_ERROR_ILLEGAL_ADDRESS"; return CUDA_SUCCESS;
    default: *name = NULL; return CUDA_ERROR_INVALID_VALUE;
    }
}

static void append_list64(char* out, size_t size, const cuuint64_t* v, unsigned n) {
    size_t used = strlen(out);
    for (unsigned i = 0; i < n; i++) used += snprintf(out + used, size - used, "%s%llu", i ? "," : "", (unsigned long long) v[i]);
}

static void append_list32(char* out, size_t size, const cuuint32_t* v, unsigned n) {
    size_t used = strlen(out);
    for (unsigned i = 0; i < n; i++) used += snprintf(out + used, size - used, "%s%u", i ? "," : "", v[i]);
}

__attribute__((unused)) static CUresult fake_encode_tiled(CUtensorMap* map, CUtensorMapDataType dtype, cuuint32_t rank, void* address,
                                  const cuuint64_t* dims, const cuuint64_t* strides, const cuuint32_t* box,
                                  const cuuint32_t* elementStrides, CUtensorMapInterleave interleave,
                                  CUtensorMapSwizzle swizzle, CUtensorMapL2promotion l2, CUtensorMapFloatOOBfill oob) {
    char d[512] = "", s[512] = "", b[256] = "", e[256] = "";
    if (rank > 5) return CUDA_ERROR_INVALID_VALUE;
    append_list64(d, sizeof d, dims, rank);
    append_list64(s, sizeof s, strides, rank > 0 ? rank - 1 : 0);
    append_list32(b, sizeof b, box, rank);
    append_list32(e, sizeof e, elementStrides, rank);
    fake_log("cuTensorMapEncodeTiled dtype=%d rank=%u address=0x%llx dims=%s strides=%s box=%s elementStrides=%s "
             "interleave=%d swizzle=%d l2=%d oob=%d",
             (int) dtype, rank, (unsigned long long) (uintptr_t) address, d, s, b, e, (int) interleave, (int) swizzle,
             (int) l2, (int) oob);
    int r = fake_result("cuTensorMapEncodeTiled");
    if (r != 0) return (CUresult) r;
    // Recognisable contents: word 0 = rank | dtype << 8, word 1 = the address, then byte i = i.
    unsigned char* bytes = (unsigned char*) map;
    for (int i = 16; i < 128; i++) bytes[i] = (unsigned char) i;
    map->opaque[0] = rank | ((cuuint64_t) dtype << 8);
    map->opaque[1] = (cuuint64_t) (uintptr_t) address;
    return CUDA_SUCCESS;
}

__attribute__((unused)) static CUresult fake_launch_ex(const CUlaunchConfig* c, CUfunction f, void** params, void** extra) {
    char attrs[512] = "", ps[4096] = "";
    size_t used = 0;
    for (unsigned i = 0; i < c->numAttrs; i++) {
        const CUlaunchAttribute* a = &c->attrs[i];
        if (a->id == CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION) {
            used += snprintf(attrs + used, sizeof attrs - used, "%scluster=%u,%u,%u", i ? ";" : "",
                             a->value.clusterDim.x, a->value.clusterDim.y, a->value.clusterDim.z);
        } else {
            used += snprintf(attrs + used, sizeof attrs - used, "%sid%d", i ? ";" : "", (int) a->id);
        }
    }
    // "params <sizes>": log that many parameters, each as hex bytes in memory order.
    used = 0;
    {
        char dir[4096], path[4200], l[512];
        FILE* fc;
        fake_dir(dir, sizeof dir);
        snprintf(path, sizeof path, "%s/fake.control", dir);
        fc = fopen(path, "r");
        while (fc != NULL && fgets(l, sizeof l, fc) != NULL) {
            if (strncmp(l, "params ", 7) != 0) continue;
            char* p = l + 7;
            int index = 0;
            for (;;) {
                char* end;
                long size = strtol(p, &end, 10);
                if (end == p) break;
                p = end;
                const unsigned char* v = (const unsigned char*) params[index];
                used += snprintf(ps + used, sizeof ps - used, "%s", index ? "," : "");
                for (long j = 0; j < size && used + 3 < sizeof ps; j++) used += snprintf(ps + used, sizeof ps - used, "%02x", v[j]);
                index++;
            }
            break;
        }
        if (fc != NULL) fclose(fc);
    }
    fake_log("cuLaunchKernelEx f=0x%llx grid=%u,%u,%u block=%u,%u,%u shared=%u stream=0x%llx attrs=%u[%s] params=%s extra=%s",
             (unsigned long long) (uintptr_t) f, c->gridDimX, c->gridDimY, c->gridDimZ, c->blockDimX, c->blockDimY,
             c->blockDimZ, c->sharedMemBytes, (unsigned long long) (uintptr_t) c->hStream, c->numAttrs, attrs, ps,
             extra == NULL ? "null" : "set");
    return (CUresult) fake_result("cuLaunchKernelEx");
}

#ifndef FAKE_NO_PROC_ADDRESS
__attribute__((visibility("default"))) CUresult cuGetProcAddress_v2(const char* symbol, void** pfn, int version,
                                                                    cuuint64_t flags,
                                                                    CUdriverProcAddressQueryResult* status) {
    char line[512];
    fake_log("cuGetProcAddress_v2 %s version=%d flags=%llu", symbol, version, (unsigned long long) flags);
    *pfn = NULL;
    if (status != NULL) *status = CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
    if (fake_control("hide", symbol, line, sizeof line)) return CUDA_ERROR_NOT_FOUND;
    if (strcmp(symbol, "cuTensorMapEncodeTiled") == 0) *pfn = (void*) &fake_encode_tiled;
    else if (strcmp(symbol, "cuLaunchKernelEx") == 0) *pfn = (void*) &fake_launch_ex;
    else if (strcmp(symbol, "cuGetErrorName") == 0) *pfn = (void*) &fake_error_name;
    else return CUDA_ERROR_NOT_FOUND;
    if (status != NULL) *status = CU_GET_PROC_ADDRESS_SUCCESS;
    return CUDA_SUCCESS;
}
#endif
