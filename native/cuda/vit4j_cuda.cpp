// libvit4j_cuda.so: the JNI side of org.vit4j.backend.cuda.CudaNative. It binds exactly the CUDA
// entry points JCuda 12.6 lacks:
//   * from the driver (libcuda.so.1): cuTensorMapEncodeTiled (TMA descriptors, CUDA 12.0) and
//     cuLaunchKernelEx (launch attributes such as thread-block cluster dimensions, CUDA 11.8),
//     found through cuGetProcAddress as NVIDIA recommends for entry points newer than the toolkit an
//     application was built with;
//   * cuBLAS (libcublas.so.13, else .12): cublasGemmEx, from whichever CUDA runtime the host has
//     (JCublas 12.6 is linked against libcublas.so.12, which CUDA 13 hosts lack).
// It links nothing of CUDA at build time: every library is dlopen'ed when Java asks, so the library
// builds on a machine with only the toolkit's headers (cuda.h for the driver's types; cuBLAS is
// declared in cublas_decl.h) and loads on a machine without any driver. A missing library or entry
// point is a one-line reason returned to Java (which file, which symbol); a failing call is a
// Vit4jException naming the call and the error; nothing here aborts the JVM on an error it can see.
#include <cuda.h>
#include <dlfcn.h>
#include <jni.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "cublas_decl.h"

// cudaDataType_t from the toolkit's own library_types.h (it sits next to cuda.h in every toolkit), so
// that cublas_decl.h's copies of these numbers cannot be wrong without the build failing.
#if __has_include(<library_types.h>)
#include <library_types.h>
static_assert((int) VIT4J_CUDA_R_32F == (int) CUDA_R_32F, "cudaDataType_t CUDA_R_32F");
static_assert((int) VIT4J_CUDA_R_16F == (int) CUDA_R_16F, "cudaDataType_t CUDA_R_16F");
static_assert((int) VIT4J_CUDA_R_16BF == (int) CUDA_R_16BF, "cudaDataType_t CUDA_R_16BF");
#endif
// cublasLtMatmulHeuristicResult_t as cublasLt.h lays it out (12.6 and 13.x): cuBLASLt writes whole
// results into our array, so a size or offset off by one field would corrupt the stack.
static_assert(sizeof(vit4j_cublasLtMatmulAlgo_t) == 64, "cublasLtMatmulAlgo_t is uint64_t data[8]");
static_assert(offsetof(vit4j_cublasLtMatmulHeuristicResult_t, workspaceSize) == 64, "heuristic result: workspaceSize");
static_assert(offsetof(vit4j_cublasLtMatmulHeuristicResult_t, state) == 72, "heuristic result: state");
static_assert(offsetof(vit4j_cublasLtMatmulHeuristicResult_t, wavesCount) == 76, "heuristic result: wavesCount");
static_assert(sizeof(vit4j_cublasLtMatmulHeuristicResult_t) == 96, "cublasLtMatmulHeuristicResult_t is 96 bytes");

namespace {

// The driver's entry points we call, as cudaTypedefs.h spells their types (PFN_..._v12000 etc.),
// declared from cuda.h's prototypes so that the two cannot drift.
using EncodeTiled = decltype(&cuTensorMapEncodeTiled);
using LaunchEx = CUresult (*)(const CUlaunchConfig*, CUfunction, void**, void**);
using GetErrorName = decltype(&cuGetErrorName);
// cuGetProcAddress: the CUDA 12 form (_v2, with the query result) and the CUDA 11.3 one.
using GetProcAddressV2 = CUresult (*)(const char*, void**, int, cuuint64_t, CUdriverProcAddressQueryResult*);
using GetProcAddressV1 = CUresult (*)(const char*, void**, int, cuuint64_t);

// The ABI version asked of cuGetProcAddress: the entry points as of CUDA 12.0 (the newest version of
// each no later than 12.0: cuTensorMapEncodeTiled v12000, cuLaunchKernelEx v11060), which every
// driver that has them keeps.
constexpr int kAbiVersion = 12000;

struct Driver {
    void* lib = nullptr;
    std::string file;
    EncodeTiled encodeTiled = nullptr;
    LaunchEx launchEx = nullptr;
    GetErrorName errorName = nullptr;
};

struct Cublas {
    void* lib = nullptr;
    std::string file;
    vit4j_cublasCreate_t create = nullptr;
    vit4j_cublasDestroy_t destroy = nullptr;
    vit4j_cublasSetStream_t setStream = nullptr;
    vit4j_cublasSetWorkspace_t setWorkspace = nullptr;
    vit4j_cublasGemmEx_t gemmEx = nullptr;
    vit4j_cublasGetStatusName_t statusName = nullptr; // optional
};

struct CublasLt {
    void* lib = nullptr;
    std::string file;
    vit4j_cublasLtCreate_t create = nullptr;
    vit4j_cublasLtDestroy_t destroy = nullptr;
    vit4j_cublasLtMatmulDescCreate_t descCreate = nullptr;
    vit4j_cublasLtMatmulDescDestroy_t descDestroy = nullptr;
    vit4j_cublasLtMatmulDescSetAttribute_t descSet = nullptr;
    vit4j_cublasLtMatrixLayoutCreate_t layoutCreate = nullptr;
    vit4j_cublasLtMatrixLayoutDestroy_t layoutDestroy = nullptr;
    vit4j_cublasLtMatmulPreferenceCreate_t prefCreate = nullptr;
    vit4j_cublasLtMatmulPreferenceDestroy_t prefDestroy = nullptr;
    vit4j_cublasLtMatmulPreferenceSetAttribute_t prefSet = nullptr;
    vit4j_cublasLtMatmulAlgoGetHeuristic_t heuristic = nullptr;
    vit4j_cublasLtMatmul_t matmul = nullptr;
};

void throwJava(JNIEnv* env, const std::string& message) {
    jclass c = env->FindClass("org/vit4j/Vit4jException");
    if (c == nullptr) return; // NoClassDefFoundError is pending
    env->ThrowNew(c, message.c_str());
}

std::string utf(JNIEnv* env, jstring s) {
    if (s == nullptr) return {};
    const char* c = env->GetStringUTFChars(s, nullptr);
    std::string out = c != nullptr ? c : "";
    if (c != nullptr) env->ReleaseStringUTFChars(s, c);
    return out;
}

/** The first line of dlerror(), or "unknown reason". */
std::string dlReason() {
    const char* e = dlerror();
    std::string s = e != nullptr ? e : "unknown reason";
    size_t nl = s.find('\n');
    return nl == std::string::npos ? s : s.substr(0, nl);
}

std::string driverError(const Driver& d, CUresult r) {
    const char* name = nullptr;
    if (d.errorName == nullptr || d.errorName(r, &name) != CUDA_SUCCESS || name == nullptr) {
        return "CUDA error " + std::to_string((int) r);
    }
    return std::string(name) + " (" + std::to_string((int) r) + ")";
}

const char* cublasStatusName(int s) {
    switch (s) {
    case VIT4J_CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case VIT4J_CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case VIT4J_CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case VIT4J_CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case VIT4J_CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case VIT4J_CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case VIT4J_CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case VIT4J_CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case VIT4J_CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case VIT4J_CUBLAS_STATUS_LICENSE_ERROR: return "CUBLAS_STATUS_LICENSE_ERROR";
    default: return nullptr;
    }
}

std::string cublasError(const Cublas& b, int s) {
    // Our own table first: it does not depend on the library's string for a code we know.
    const char* name = cublasStatusName(s);
    if (name == nullptr && b.statusName != nullptr) name = b.statusName(s);
    return std::string(name != nullptr ? name : "cuBLAS status") + " (" + std::to_string(s) + ")";
}

/** Opens the first of {@code files} that loads; on failure, why (the files tried and the first dlerror). */
void* openFirst(JNIEnv* env, jobjectArray files, std::string& file, std::string& why) {
    const jsize n = env->GetArrayLength(files);
    std::string tried, firstError;
    for (jsize i = 0; i < n; i++) {
        jstring f = (jstring) env->GetObjectArrayElement(files, i);
        file = utf(env, f);
        env->DeleteLocalRef(f);
        dlerror();
        void* lib = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (lib != nullptr) return lib;
        tried += (tried.empty() ? "" : ", ") + file;
        if (firstError.empty()) firstError = dlReason();
    }
    why = "no " + tried + " (" + firstError + ")";
    return nullptr;
}

struct Need {
    const char* symbol;
    void** fn;
};

/** dlsym of each; the first missing one's name, or empty. */
template <size_t N>
std::string resolve(void* lib, const Need (&need)[N]) {
    for (const Need& s : need) {
        *s.fn = dlsym(lib, s.symbol);
        if (*s.fn == nullptr) return s.symbol;
    }
    return {};
}

/** Sets out[0] to a handle and returns null, or returns the reason (one line). */
jstring bound(JNIEnv* env, jlongArray out, void* handle) {
    jlong h = (jlong) (uintptr_t) handle;
    env->SetLongArrayRegion(out, 0, 1, &h);
    return nullptr;
}

jstring reason(JNIEnv* env, const std::string& why) {
    return env->NewStringUTF(why.c_str());
}

/**
 * What cublasLtMatmul needs for one problem, made once and reused for every call with the same
 * problem (CublasGemm keeps them per shape, types, epilogue and stream for the life of its handle):
 * the matmul descriptor, the four matrix layouts and the heuristic's algorithm. Only the bias pointer
 * changes between calls; it is set on the descriptor at each call (a host-side attribute write).
 */
struct LtPlan {
    vit4j_cublasLtMatmulDesc_t desc = nullptr;
    vit4j_cublasLtMatrixLayout_t la = nullptr, lb = nullptr, lc = nullptr, ld = nullptr;
    vit4j_cublasLtMatmulAlgo_t algo;
    bool bias = false;
};

/** Destroys what {@code p} holds (statuses ignored: nothing useful can be done with them) and p itself. */
void destroyPlan(const CublasLt& b, LtPlan* p) {
    for (vit4j_cublasLtMatrixLayout_t l : {p->la, p->lb, p->lc, p->ld}) {
        if (l != nullptr) b.layoutDestroy(l);
    }
    if (p->desc != nullptr) b.descDestroy(p->desc);
    delete p;
}

} // namespace

extern "C" {

// ---- driver ------------------------------------------------------------------------------------------

/**
 * Opens {@code file} (a path, or "libcuda.so.1" for the loader's search) and resolves the driver's
 * entry points. Returns null with out[0] = the binding, or the reason nothing was bound.
 */
JNIEXPORT jstring JNICALL Java_org_vit4j_backend_cuda_CudaNative_bindDriver(JNIEnv* env, jclass, jstring jfile,
                                                                           jlongArray out) {
    std::string file = utf(env, jfile);
    dlerror();
    void* lib = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) return reason(env, "no " + file + " (" + dlReason() + ")");
    // cuGetProcAddress by dlsym (it is its own bootstrap): the CUDA 12 form first, then CUDA 11.3's.
    auto v2 = (GetProcAddressV2) dlsym(lib, "cuGetProcAddress_v2");
    auto v1 = v2 == nullptr ? (GetProcAddressV1) dlsym(lib, "cuGetProcAddress") : nullptr;
    if (v2 == nullptr && v1 == nullptr) {
        dlclose(lib);
        return reason(env, file + " has no cuGetProcAddress (a driver older than CUDA 11.3)");
    }
    auto find = [&](const char* symbol, void** fn) -> std::string {
        *fn = nullptr;
        CUresult r;
        CUdriverProcAddressQueryResult status = CU_GET_PROC_ADDRESS_SUCCESS;
        if (v2 != nullptr) r = v2(symbol, fn, kAbiVersion, CU_GET_PROC_ADDRESS_DEFAULT, &status);
        else r = v1(symbol, fn, kAbiVersion, CU_GET_PROC_ADDRESS_DEFAULT);
        if (r == CUDA_SUCCESS && status == CU_GET_PROC_ADDRESS_SUCCESS && *fn != nullptr) return {};
        *fn = nullptr;
        std::string why = status == CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT
                                  ? "the driver's version is below " + std::to_string(kAbiVersion)
                                  : "cuGetProcAddress returned " + std::to_string((int) r) + ", status "
                                            + std::to_string((int) status);
        return file + " has no " + symbol + " (" + why + ")";
    };
    Driver* d = new Driver();
    d->lib = lib;
    d->file = file;
    std::string why = find("cuTensorMapEncodeTiled", (void**) &d->encodeTiled);
    if (why.empty()) why = find("cuLaunchKernelEx", (void**) &d->launchEx);
    if (!why.empty()) {
        dlclose(lib);
        delete d;
        return reason(env, why);
    }
    // Only for messages: a driver without it still works, its errors then read "CUDA error <n>".
    if (!find("cuGetErrorName", (void**) &d->errorName).empty()) d->errorName = nullptr;
    return bound(env, out, d);
}

JNIEXPORT void JNICALL Java_org_vit4j_backend_cuda_CudaNative_releaseDriver(JNIEnv*, jclass, jlong handle) {
    Driver* d = (Driver*) (uintptr_t) handle;
    if (d == nullptr) return;
    dlclose(d->lib);
    delete d;
}

/**
 * cuTensorMapEncodeTiled for the tensor at {@code address}: dims[rank], strides[rank - 1] (bytes, of
 * dimensions 1..rank-1), box[rank], elementStrides[rank]; the enums as cuda.h numbers them. Returns
 * the 128-byte CUtensorMap. The Java side has checked the array lengths.
 */
JNIEXPORT jbyteArray JNICALL Java_org_vit4j_backend_cuda_CudaNative_encodeTiled(
        JNIEnv* env, jclass, jlong handle, jint dtype, jlong address, jlongArray jdims, jlongArray jstrides,
        jintArray jbox, jintArray jelementStrides, jint interleave, jint swizzle, jint l2, jint oob) {
    const Driver& d = *(Driver*) (uintptr_t) handle;
    const jsize rank = env->GetArrayLength(jdims);
    std::vector<jlong> dims(rank), strides(rank > 1 ? rank - 1 : 1);
    std::vector<jint> box(rank), es(rank);
    env->GetLongArrayRegion(jdims, 0, rank, dims.data());
    if (rank > 1) env->GetLongArrayRegion(jstrides, 0, rank - 1, strides.data());
    env->GetIntArrayRegion(jbox, 0, rank, box.data());
    env->GetIntArrayRegion(jelementStrides, 0, rank, es.data());
    std::vector<cuuint64_t> gdim(rank), gstride(rank > 1 ? rank - 1 : 1);
    std::vector<cuuint32_t> bdim(rank), estride(rank);
    for (jsize i = 0; i < rank; i++) {
        gdim[i] = (cuuint64_t) dims[i];
        bdim[i] = (cuuint32_t) box[i];
        estride[i] = (cuuint32_t) es[i];
        if (i + 1 < rank) gstride[i] = (cuuint64_t) strides[i];
    }
    CUtensorMap map;
    std::memset(&map, 0, sizeof map);
    CUresult r = d.encodeTiled(&map, (CUtensorMapDataType) dtype, (cuuint32_t) rank, (void*) (uintptr_t) address,
                               gdim.data(), gstride.data(), bdim.data(), estride.data(),
                               (CUtensorMapInterleave) interleave, (CUtensorMapSwizzle) swizzle,
                               (CUtensorMapL2promotion) l2, (CUtensorMapFloatOOBfill) oob);
    if (r != CUDA_SUCCESS) {
        throwJava(env, "cuda: cuTensorMapEncodeTiled failed: " + driverError(d, r));
        return nullptr;
    }
    static_assert(sizeof(CUtensorMap) == 128, "CUtensorMap is 128 bytes");
    jbyteArray out = env->NewByteArray(sizeof map);
    if (out != nullptr) env->SetByteArrayRegion(out, 0, sizeof map, (const jbyte*) &map);
    return out;
}

/**
 * cuLaunchKernelEx of {@code function} on {@code stream} (raw handles), with a cluster-dimension
 * attribute where {@code cluster} is not 1x1x1. kinds[i] is the kind of parameter i: 'p' pointer,
 * 'i' int, 'f' float (bits[i] holds its bits), 'm' a 128-byte CUtensorMap (blobs[bits[i]]), passed by
 * value as a __grid_constant__ parameter.
 */
JNIEXPORT void JNICALL Java_org_vit4j_backend_cuda_CudaNative_launchEx(
        JNIEnv* env, jclass, jlong handle, jlong function, jintArray jgrid, jintArray jblock, jintArray jcluster,
        jint sharedBytes, jlong stream, jstring jkinds, jlongArray jbits, jobjectArray blobs) {
    const Driver& d = *(Driver*) (uintptr_t) handle;
    jint grid[3], block[3], cluster[3];
    env->GetIntArrayRegion(jgrid, 0, 3, grid);
    env->GetIntArrayRegion(jblock, 0, 3, block);
    env->GetIntArrayRegion(jcluster, 0, 3, cluster);
    std::string kinds = utf(env, jkinds);
    const size_t n = kinds.size();
    std::vector<jlong> bits(n);
    if (n > 0) env->GetLongArrayRegion(jbits, 0, (jsize) n, bits.data());
    // Each parameter's value in its own slot: 8 bytes for a scalar (an int or float in the first 4),
    // 128 bytes 64-byte aligned for a tensor map (the alignment CUtensorMap declares).
    struct alignas(64) Slot {
        unsigned char bytes[128];
    };
    std::vector<Slot> slots(n);
    std::vector<void*> params(n);
    for (size_t i = 0; i < n; i++) {
        std::memset(slots[i].bytes, 0, sizeof slots[i].bytes);
        switch (kinds[i]) {
        case 'p': {
            uint64_t v = (uint64_t) bits[i];
            std::memcpy(slots[i].bytes, &v, 8);
            break;
        }
        case 'i':
        case 'f': {
            uint32_t v = (uint32_t) bits[i];
            std::memcpy(slots[i].bytes, &v, 4);
            break;
        }
        case 'm': {
            jbyteArray blob = (jbyteArray) env->GetObjectArrayElement(blobs, (jsize) bits[i]);
            if (blob == nullptr || env->GetArrayLength(blob) != 128) {
                throwJava(env, "cuda: launch argument " + std::to_string(i) + " is not a 128-byte tensor map");
                return;
            }
            env->GetByteArrayRegion(blob, 0, 128, (jbyte*) slots[i].bytes);
            env->DeleteLocalRef(blob);
            break;
        }
        default:
            throwJava(env, "cuda: launch argument " + std::to_string(i) + " has unknown kind '"
                                   + std::string(1, kinds[i]) + "'");
            return;
        }
        params[i] = slots[i].bytes;
    }
    CUlaunchAttribute attrs[1];
    std::memset(attrs, 0, sizeof attrs);
    unsigned numAttrs = 0;
    if (cluster[0] != 1 || cluster[1] != 1 || cluster[2] != 1) {
        attrs[0].id = CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION;
        attrs[0].value.clusterDim.x = (unsigned) cluster[0];
        attrs[0].value.clusterDim.y = (unsigned) cluster[1];
        attrs[0].value.clusterDim.z = (unsigned) cluster[2];
        numAttrs = 1;
    }
    CUlaunchConfig config;
    std::memset(&config, 0, sizeof config);
    config.gridDimX = (unsigned) grid[0];
    config.gridDimY = (unsigned) grid[1];
    config.gridDimZ = (unsigned) grid[2];
    config.blockDimX = (unsigned) block[0];
    config.blockDimY = (unsigned) block[1];
    config.blockDimZ = (unsigned) block[2];
    config.sharedMemBytes = (unsigned) sharedBytes;
    config.hStream = (CUstream) (uintptr_t) stream;
    config.attrs = numAttrs > 0 ? attrs : nullptr;
    config.numAttrs = numAttrs;
    CUresult r = d.launchEx(&config, (CUfunction) (uintptr_t) function, n > 0 ? params.data() : nullptr, nullptr);
    if (r != CUDA_SUCCESS) throwJava(env, "cuda: cuLaunchKernelEx failed: " + driverError(d, r));
}

// ---- cuBLAS ------------------------------------------------------------------------------------------

/**
 * Opens the first of {@code files} that loads (e.g. libcublas.so.13, libcublas.so.12) and resolves
 * the cuBLAS entry points. Returns null with out[0] = the binding, or the reason.
 */
JNIEXPORT jstring JNICALL Java_org_vit4j_backend_cuda_CudaNative_bindCublas(JNIEnv* env, jclass, jobjectArray files,
                                                                           jlongArray out) {
    std::string file, why;
    void* lib = openFirst(env, files, file, why);
    if (lib == nullptr) return reason(env, why);
    Cublas* b = new Cublas();
    b->lib = lib;
    b->file = file;
    const Need need[] = {{"cublasCreate_v2", (void**) &b->create},
                         {"cublasDestroy_v2", (void**) &b->destroy},
                         {"cublasSetStream_v2", (void**) &b->setStream},
                         {"cublasSetWorkspace_v2", (void**) &b->setWorkspace},
                         {"cublasGemmEx", (void**) &b->gemmEx}};
    std::string missing = resolve(lib, need);
    if (!missing.empty()) {
        dlclose(lib);
        delete b;
        return reason(env, file + " has no " + missing);
    }
    b->statusName = (vit4j_cublasGetStatusName_t) dlsym(lib, "cublasGetStatusName");
    return bound(env, out, b);
}

JNIEXPORT jstring JNICALL Java_org_vit4j_backend_cuda_CudaNative_cublasFile(JNIEnv* env, jclass, jlong lib) {
    return env->NewStringUTF(((Cublas*) (uintptr_t) lib)->file.c_str());
}

JNIEXPORT void JNICALL Java_org_vit4j_backend_cuda_CudaNative_releaseCublas(JNIEnv*, jclass, jlong lib) {
    Cublas* b = (Cublas*) (uintptr_t) lib;
    if (b == nullptr) return;
    dlclose(b->lib);
    delete b;
}

/**
 * A cuBLAS handle whose work goes to {@code stream} and which uses the given workspace (so that it
 * never allocates, which a CUDA graph being recorded would not allow). Returns the handle.
 */
JNIEXPORT jlong JNICALL Java_org_vit4j_backend_cuda_CudaNative_cublasCreate(JNIEnv* env, jclass, jlong lib,
                                                                           jlong stream, jlong workspace,
                                                                           jlong workspaceBytes) {
    const Cublas& b = *(Cublas*) (uintptr_t) lib;
    vit4j_cublasHandle_t h = nullptr;
    int s = b.create(&h);
    if (s != VIT4J_CUBLAS_STATUS_SUCCESS) {
        throwJava(env, "cuda: cublasCreate failed: " + cublasError(b, s));
        return 0;
    }
    s = b.setStream(h, (vit4j_cudaStream_t) (uintptr_t) stream);
    const char* what = "cublasSetStream";
    if (s == VIT4J_CUBLAS_STATUS_SUCCESS) {
        s = b.setWorkspace(h, (void*) (uintptr_t) workspace, (size_t) workspaceBytes);
        what = "cublasSetWorkspace";
    }
    if (s != VIT4J_CUBLAS_STATUS_SUCCESS) {
        b.destroy(h);
        throwJava(env, std::string("cuda: ") + what + " failed: " + cublasError(b, s));
        return 0;
    }
    return (jlong) (uintptr_t) h;
}

JNIEXPORT void JNICALL Java_org_vit4j_backend_cuda_CudaNative_cublasDestroy(JNIEnv* env, jclass, jlong lib,
                                                                           jlong handle) {
    const Cublas& b = *(Cublas*) (uintptr_t) lib;
    int s = b.destroy((vit4j_cublasHandle_t) (uintptr_t) handle);
    if (s != VIT4J_CUBLAS_STATUS_SUCCESS) throwJava(env, "cuda: cublasDestroy failed: " + cublasError(b, s));
}

/** cublasGemmEx, column-major as cuBLAS sees it, alpha and beta as host floats (compute type 32F). */
JNIEXPORT void JNICALL Java_org_vit4j_backend_cuda_CudaNative_gemmEx(JNIEnv* env, jclass, jlong lib, jlong handle,
                                                                    jint transa, jint transb, jint m, jint n, jint k,
                                                                    jfloat alpha, jlong a, jint atype, jint lda,
                                                                    jlong bm, jint btype, jint ldb, jfloat beta,
                                                                    jlong c, jint ctype, jint ldc, jint compute) {
    const Cublas& b = *(Cublas*) (uintptr_t) lib;
    float al = alpha, be = beta;
    int s = b.gemmEx((vit4j_cublasHandle_t) (uintptr_t) handle, transa, transb, m, n, k, &al,
                     (const void*) (uintptr_t) a, atype, lda, (const void*) (uintptr_t) bm, btype, ldb, &be,
                     (void*) (uintptr_t) c, ctype, ldc, compute, VIT4J_CUBLAS_GEMM_DEFAULT);
    if (s != VIT4J_CUBLAS_STATUS_SUCCESS) throwJava(env, "cuda: cublasGemmEx failed: " + cublasError(b, s));
}

// ---- cuBLASLt ----------------------------------------------------------------------------------------

/** Like bindCublas, for cuBLASLt (libcublasLt.so.13, else .12). */
JNIEXPORT jstring JNICALL Java_org_vit4j_backend_cuda_CudaNative_bindCublasLt(JNIEnv* env, jclass, jobjectArray files,
                                                                             jlongArray out) {
    std::string file, why;
    void* lib = openFirst(env, files, file, why);
    if (lib == nullptr) return reason(env, why);
    CublasLt* b = new CublasLt();
    b->lib = lib;
    b->file = file;
    const Need need[] = {{"cublasLtCreate", (void**) &b->create},
                         {"cublasLtDestroy", (void**) &b->destroy},
                         {"cublasLtMatmulDescCreate", (void**) &b->descCreate},
                         {"cublasLtMatmulDescDestroy", (void**) &b->descDestroy},
                         {"cublasLtMatmulDescSetAttribute", (void**) &b->descSet},
                         {"cublasLtMatrixLayoutCreate", (void**) &b->layoutCreate},
                         {"cublasLtMatrixLayoutDestroy", (void**) &b->layoutDestroy},
                         {"cublasLtMatmulPreferenceCreate", (void**) &b->prefCreate},
                         {"cublasLtMatmulPreferenceDestroy", (void**) &b->prefDestroy},
                         {"cublasLtMatmulPreferenceSetAttribute", (void**) &b->prefSet},
                         {"cublasLtMatmulAlgoGetHeuristic", (void**) &b->heuristic},
                         {"cublasLtMatmul", (void**) &b->matmul}};
    std::string missing = resolve(lib, need);
    if (!missing.empty()) {
        dlclose(lib);
        delete b;
        return reason(env, file + " has no " + missing);
    }
    return bound(env, out, b);
}

JNIEXPORT jstring JNICALL Java_org_vit4j_backend_cuda_CudaNative_cublasLtFile(JNIEnv* env, jclass, jlong lib) {
    return env->NewStringUTF(((CublasLt*) (uintptr_t) lib)->file.c_str());
}

JNIEXPORT void JNICALL Java_org_vit4j_backend_cuda_CudaNative_releaseCublasLt(JNIEnv*, jclass, jlong lib) {
    CublasLt* b = (CublasLt*) (uintptr_t) lib;
    if (b == nullptr) return;
    dlclose(b->lib);
    delete b;
}

JNIEXPORT jlong JNICALL Java_org_vit4j_backend_cuda_CudaNative_cublasLtCreate(JNIEnv* env, jclass, jlong lib) {
    const CublasLt& b = *(CublasLt*) (uintptr_t) lib;
    vit4j_cublasLtHandle_t h = nullptr;
    int s = b.create(&h);
    if (s != VIT4J_CUBLAS_STATUS_SUCCESS) {
        throwJava(env, "cuda: cublasLtCreate failed: " + cublasError(Cublas(), s));
        return 0;
    }
    return (jlong) (uintptr_t) h;
}

JNIEXPORT void JNICALL Java_org_vit4j_backend_cuda_CudaNative_cublasLtDestroy(JNIEnv* env, jclass, jlong lib,
                                                                             jlong handle) {
    const CublasLt& b = *(CublasLt*) (uintptr_t) lib;
    int s = b.destroy((vit4j_cublasLtHandle_t) (uintptr_t) handle);
    if (s != VIT4J_CUBLAS_STATUS_SUCCESS) throwJava(env, "cuda: cublasLtDestroy failed: " + cublasError(Cublas(), s));
}

/**
 * The plan of cublasLtMatmul D = alpha op(A) op(B) + beta C (+ bias[row], broadcast over the columns,
 * where {@code bias} is not 0: CUBLASLT_EPILOGUE_BIAS), column-major as cuBLAS sees it; C and D of type
 * ctype (and the bias too), alpha and beta host floats (scale type fp32). The algorithm is cuBLASLt's
 * first heuristic pick within {@code workspaceBytes} (so it never allocates). {@code bias} is the
 * first call's bias pointer: the heuristic reads its value for the alignment it may assume (cublasLt.h,
 * CUBLASLT_MATMUL_DESC_BIAS_POINTER), so the plan is good for biases at least as aligned. Returns the
 * plan, or throws naming the step that failed, with nothing left allocated.
 */
JNIEXPORT jlong JNICALL Java_org_vit4j_backend_cuda_CudaNative_ltPlanCreate(
        JNIEnv* env, jclass, jlong lib, jlong handle, jint transa, jint transb, jint m, jint n, jint k, jint atype, jint lda,
        jint btype, jint ldb, jint ctype, jint ldc, jint ldd, jint compute, jlong bias, jlong workspaceBytes) {
    const CublasLt& b = *(CublasLt*) (uintptr_t) lib;
    LtPlan* p = new LtPlan();
    p->bias = bias != 0;
    std::memset(&p->algo, 0, sizeof p->algo);
    vit4j_cublasLtMatmulPreference_t pref = nullptr;
    std::string failed;
    int s = VIT4J_CUBLAS_STATUS_SUCCESS;
    auto step = [&](const char* what, int status) {
        if (s == VIT4J_CUBLAS_STATUS_SUCCESS && status != VIT4J_CUBLAS_STATUS_SUCCESS) {
            s = status;
            failed = what;
        }
        return s == VIT4J_CUBLAS_STATUS_SUCCESS;
    };
    const int32_t ta = transa, tb = transb, biasType = ctype;
    const uint32_t epilogue = bias != 0 ? VIT4J_CUBLASLT_EPILOGUE_BIAS : VIT4J_CUBLASLT_EPILOGUE_DEFAULT;
    const void* biasPtr = (const void*) (uintptr_t) bias;
    const uint64_t wsBytes = (uint64_t) workspaceBytes;
    vit4j_cublasLtMatmulHeuristicResult_t result;
    std::memset(&result, 0, sizeof result);
    int found = 0;
    // op(A) is m x k and op(B) k x n: A is stored m x k (N) or k x m (T), B k x n (N) or n x k (T).
    if (step("cublasLtMatmulDescCreate", b.descCreate(&p->desc, compute, VIT4J_CUDA_R_32F))
        && step("cublasLtMatmulDescSetAttribute(TRANSA)", b.descSet(p->desc, VIT4J_CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta))
        && step("cublasLtMatmulDescSetAttribute(TRANSB)", b.descSet(p->desc, VIT4J_CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb))
        && step("cublasLtMatmulDescSetAttribute(EPILOGUE)",
                b.descSet(p->desc, VIT4J_CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue, sizeof epilogue))
        && (bias == 0
            || (step("cublasLtMatmulDescSetAttribute(BIAS_POINTER)",
                     b.descSet(p->desc, VIT4J_CUBLASLT_MATMUL_DESC_BIAS_POINTER, &biasPtr, sizeof biasPtr))
                && step("cublasLtMatmulDescSetAttribute(BIAS_DATA_TYPE)",
                        b.descSet(p->desc, VIT4J_CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &biasType, sizeof biasType))))
        && step("cublasLtMatrixLayoutCreate(A)",
                b.layoutCreate(&p->la, atype, transa == VIT4J_CUBLAS_OP_N ? m : k, transa == VIT4J_CUBLAS_OP_N ? k : m, lda))
        && step("cublasLtMatrixLayoutCreate(B)",
                b.layoutCreate(&p->lb, btype, transb == VIT4J_CUBLAS_OP_N ? k : n, transb == VIT4J_CUBLAS_OP_N ? n : k, ldb))
        && step("cublasLtMatrixLayoutCreate(C)", b.layoutCreate(&p->lc, ctype, m, n, ldc))
        && step("cublasLtMatrixLayoutCreate(D)", b.layoutCreate(&p->ld, ctype, m, n, ldd))
        && step("cublasLtMatmulPreferenceCreate", b.prefCreate(&pref))
        && step("cublasLtMatmulPreferenceSetAttribute(MAX_WORKSPACE_BYTES)",
                b.prefSet(pref, VIT4J_CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &wsBytes, sizeof wsBytes))
        && step("cublasLtMatmulAlgoGetHeuristic",
                b.heuristic((vit4j_cublasLtHandle_t) (uintptr_t) handle, p->desc, p->la, p->lb, p->lc, p->ld, pref, 1, &result,
                            &found))
        && found < 1) {
        s = VIT4J_CUBLAS_STATUS_NOT_SUPPORTED;
        failed = "cublasLtMatmulAlgoGetHeuristic (no algorithm)";
    }
    // The preference only feeds the heuristic: it is not kept.
    if (pref != nullptr) b.prefDestroy(pref);
    if (s != VIT4J_CUBLAS_STATUS_SUCCESS) {
        destroyPlan(b, p);
        throwJava(env, "cuda: " + failed + " failed: " + cublasError(Cublas(), s));
        return 0;
    }
    p->algo = result.algo;
    return (jlong) (uintptr_t) p;
}

/**
 * cublasLtMatmul with a plan from ltPlanCreate: the problem it was made for, on these pointers (a bias
 * exactly where the plan has one), with the given workspace, on the raw CUstream {@code stream}.
 */
JNIEXPORT void JNICALL Java_org_vit4j_backend_cuda_CudaNative_ltPlanMatmul(
        JNIEnv* env, jclass, jlong lib, jlong handle, jlong plan, jfloat alpha, jlong a, jlong bm, jfloat beta, jlong c,
        jlong d, jlong bias, jlong workspace, jlong workspaceBytes, jlong stream) {
    const CublasLt& b = *(CublasLt*) (uintptr_t) lib;
    const LtPlan& p = *(LtPlan*) (uintptr_t) plan;
    if (p.bias != (bias != 0)) {
        throwJava(env, std::string("cuda: cublasLtMatmul: the plan was made ") + (p.bias ? "with" : "without")
                               + " a bias epilogue, the call has " + (bias != 0 ? "a bias" : "none"));
        return;
    }
    int s = VIT4J_CUBLAS_STATUS_SUCCESS;
    if (bias != 0) {
        const void* biasPtr = (const void*) (uintptr_t) bias;
        s = b.descSet(p.desc, VIT4J_CUBLASLT_MATMUL_DESC_BIAS_POINTER, &biasPtr, sizeof biasPtr);
        if (s != VIT4J_CUBLAS_STATUS_SUCCESS) {
            throwJava(env, "cuda: cublasLtMatmulDescSetAttribute(BIAS_POINTER) failed: " + cublasError(Cublas(), s));
            return;
        }
    }
    float al = alpha, be = beta;
    s = b.matmul((vit4j_cublasLtHandle_t) (uintptr_t) handle, p.desc, &al, (const void*) (uintptr_t) a, p.la,
                 (const void*) (uintptr_t) bm, p.lb, &be, (const void*) (uintptr_t) c, p.lc, (void*) (uintptr_t) d, p.ld,
                 &p.algo, (void*) (uintptr_t) workspace, (size_t) workspaceBytes, (vit4j_cudaStream_t) (uintptr_t) stream);
    if (s != VIT4J_CUBLAS_STATUS_SUCCESS) throwJava(env, "cuda: cublasLtMatmul failed: " + cublasError(Cublas(), s));
}

/** Destroys a plan's descriptor and layouts. */
JNIEXPORT void JNICALL Java_org_vit4j_backend_cuda_CudaNative_ltPlanDestroy(JNIEnv*, jclass, jlong lib, jlong plan) {
    LtPlan* p = (LtPlan*) (uintptr_t) plan;
    if (p != nullptr) destroyPlan(*(CublasLt*) (uintptr_t) lib, p);
}

} // extern "C"
