// JNI side of the cuda-cpu driver (org.vit4j.backend.cuda.CudaCpuNative): device memory is host
// memory, kernels are the registered CPU builds of kernels/cuda, a launch runs the grid on the
// fiber runtime and returns when it is done. Everything the Java side hands over is checked here
// (kernel handles, argument kinds against the compiled parameter list, every pointer argument and
// copy range against the live allocations), and a failure is a Vit4jException naming the kernel
// or the argument, never a crash of the JVM from an argument we could check.
#include <jni.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "registry.h"
#include "tma.cuh" // tma::CpuTensorMap, encode_cpu_tensor_map: the 'm' arguments' layout

namespace vit4j_cpu {

namespace {

std::vector<std::unique_ptr<KernelEntry>>& registry() {
    static std::vector<std::unique_ptr<KernelEntry>> r; // function-local: safe from static init order
    return r;
}

/** Live allocations: base address -> bytes. */
struct Allocations {
    std::mutex mu;
    std::map<uintptr_t, size_t> live;

    /** Whether [p, p + bytes) lies inside one live allocation (a pointer may sit at its end when bytes is 0). */
    bool contains(uintptr_t p, size_t bytes) {
        std::lock_guard<std::mutex> g(mu);
        auto it = live.upper_bound(p);
        if (it == live.begin()) return false;
        --it;
        return p >= it->first && p - it->first <= it->second && bytes <= it->second - (p - it->first);
    }
};

Allocations& allocations() {
    static Allocations* a = new Allocations();
    return *a;
}

struct JavaError {
    std::string message;
};

void throw_java(JNIEnv* env, const std::string& message) {
    jclass c = env->FindClass("org/vit4j/Vit4jException");
    if (c == nullptr) return; // NoClassDefFoundError is pending
    env->ThrowNew(c, ("cuda-cpu: " + message).c_str());
}

std::string hex(uintptr_t p) {
    std::ostringstream o;
    o << "0x" << std::hex << p;
    return o.str();
}

void check_range(uintptr_t p, size_t bytes, const char* what) {
    if (!allocations().contains(p, bytes))
        throw JavaError{std::string(what) + ": " + std::to_string(bytes) + " bytes at " + hex(p)
                        + " are not inside one device allocation"};
}

/** The checks of a host transfer of count elements of elem bytes, the same for each element type. */
void host_copy(const char* op, const char* side, jlong address, jint offset, jint count, size_t elem) {
    if (count < 0 || offset < 0) throw JavaError{std::string(op) + ": negative offset or count"};
    check_range((uintptr_t) address, (size_t) count * elem, (std::string(op) + " " + side).c_str());
}

const KernelEntry* entry_of(jlong handle) {
    for (const auto& e : registry())
        if (reinterpret_cast<jlong>(e.get()) == handle) return e.get();
    throw JavaError{"no kernel with handle " + std::to_string(handle)};
}

/** Bytes from a tensor's first element to the end of its last: where its copies may read. */
uint64_t tensor_extent(uint32_t rank, const uint64_t* dims, const uint64_t* strides, uint32_t element_bytes) {
    uint64_t end = dims[0] * element_bytes;
    for (uint32_t i = 1; i < rank; i++) end += (dims[i] - 1) * strides[i - 1];
    return end;
}

/**
 * Checks a tensor map passed by value (argument i of kernel `name`): made by encode_cpu_tensor_map (its
 * magic and fields), and its whole tensor inside one live allocation, so that the fallback's copies never
 * read freed or foreign memory (a graph replayed after its buffers went back is then an error).
 */
void check_map(const std::string& name, jsize i, const unsigned char* bytes) {
    vit4j::tma::CpuTensorMap m;
    std::memcpy(&m, bytes, sizeof m);
    const std::string what = "kernel " + name + ": argument " + std::to_string(i) + " (tensor map)";
    if (m.magic != vit4j::tma::CPU_MAP_MAGIC)
        throw JavaError{what + " was not made by this driver's encodeTensorMap (bad magic word)"};
    if (m.rank < 1 || m.rank > 5 || m.element_bytes != vit4j::tma::element_bytes(m.dtype))
        throw JavaError{what + " is corrupt (rank " + std::to_string(m.rank) + ", dtype " + std::to_string(m.dtype) + ")"};
    for (uint32_t d = 0; d < m.rank; d++)
        if (m.dims[d] < 1 || m.dims[d] > (1ull << 32))
            throw JavaError{what + " is corrupt (dims[" + std::to_string(d) + "] " + std::to_string(m.dims[d]) + ")"};
    const uint64_t extent = tensor_extent(m.rank, m.dims, m.strides, m.element_bytes);
    if (!allocations().contains((uintptr_t) m.address, extent))
        throw JavaError{what + ": its tensor, " + std::to_string(extent) + " bytes at " + hex((uintptr_t) m.address)
                        + ", is not inside one device allocation (freed since it was encoded?)"};
}

template <class F>
auto guarded(JNIEnv* env, F f) -> decltype(f()) {
    try {
        return f();
    } catch (const JavaError& e) {
        throw_java(env, e.message);
    } catch (const std::bad_alloc&) {
        throw_java(env, "out of host memory");
    } catch (const std::exception& e) {
        throw_java(env, e.what());
    }
    return decltype(f())();
}

} // namespace

bool register_kernel(KernelEntry entry) {
    registry().push_back(std::make_unique<KernelEntry>(std::move(entry)));
    return true;
}

} // namespace vit4j_cpu

using namespace vit4j_cpu;

extern "C" {

JNIEXPORT jstring JNICALL Java_org_vit4j_backend_cuda_CudaCpuNative_describe(JNIEnv* env, jclass) {
    std::set<std::string> modules;
    for (const auto& e : registry()) modules.insert(e->module);
    std::ostringstream o;
    o << "CUDA kernels on the CPU (" << registry().size() << " kernels in " << modules.size() << " modules, "
      << worker_count() << " worker threads)";
    return env->NewStringUTF(o.str().c_str());
}

JNIEXPORT jlong JNICALL Java_org_vit4j_backend_cuda_CudaCpuNative_malloc(JNIEnv* env, jclass, jlong bytes) {
    return guarded(env, [&]() -> jlong {
        if (bytes <= 0) throw JavaError{"malloc of " + std::to_string(bytes) + " bytes: expected > 0"};
        void* p = nullptr;
        if (posix_memalign(&p, 256, (size_t) bytes) != 0)
            throw JavaError{"malloc of " + std::to_string(bytes) + " bytes failed: out of host memory"};
        std::memset(p, 0xFF, (size_t) bytes); // like fresh device memory, not zero: a read before a write shows as NaN
        std::lock_guard<std::mutex> g(allocations().mu);
        allocations().live[reinterpret_cast<uintptr_t>(p)] = (size_t) bytes;
        return reinterpret_cast<jlong>(p);
    });
}

JNIEXPORT void JNICALL Java_org_vit4j_backend_cuda_CudaCpuNative_free(JNIEnv* env, jclass, jlong address) {
    guarded(env, [&] {
        {
            std::lock_guard<std::mutex> g(allocations().mu);
            auto it = allocations().live.find((uintptr_t) address);
            if (it == allocations().live.end())
                throw JavaError{"free of " + hex((uintptr_t) address) + ", which is not a live allocation"};
            allocations().live.erase(it);
        }
        std::free(reinterpret_cast<void*>(address));
    });
}

JNIEXPORT void JNICALL Java_org_vit4j_backend_cuda_CudaCpuNative_copyHtoD(JNIEnv* env, jclass, jlong dst, jfloatArray src,
                                                                          jint offset, jint count) {
    guarded(env, [&] {
        host_copy("copyHtoD", "destination", dst, offset, count, 4);
        env->GetFloatArrayRegion(src, offset, count, reinterpret_cast<jfloat*>(dst)); // bounds-checked by the JVM
    });
}

JNIEXPORT void JNICALL Java_org_vit4j_backend_cuda_CudaCpuNative_copyDtoH(JNIEnv* env, jclass, jfloatArray dst,
                                                                          jint offset, jlong src, jint count) {
    guarded(env, [&] {
        host_copy("copyDtoH", "source", src, offset, count, 4);
        env->SetFloatArrayRegion(dst, offset, count, reinterpret_cast<const jfloat*>(src));
    });
}

JNIEXPORT void JNICALL Java_org_vit4j_backend_cuda_CudaCpuNative_copyHtoDBits(JNIEnv* env, jclass, jlong dst,
                                                                              jshortArray src, jint offset, jint count) {
    guarded(env, [&] {
        host_copy("copyHtoDBits", "destination", dst, offset, count, 2);
        env->GetShortArrayRegion(src, offset, count, reinterpret_cast<jshort*>(dst));
    });
}

JNIEXPORT void JNICALL Java_org_vit4j_backend_cuda_CudaCpuNative_copyDtoHBits(JNIEnv* env, jclass, jshortArray dst,
                                                                              jint offset, jlong src, jint count) {
    guarded(env, [&] {
        host_copy("copyDtoHBits", "source", src, offset, count, 2);
        env->SetShortArrayRegion(dst, offset, count, reinterpret_cast<const jshort*>(src));
    });
}

JNIEXPORT void JNICALL Java_org_vit4j_backend_cuda_CudaCpuNative_copyDtoD(JNIEnv* env, jclass, jlong dst, jlong src,
                                                                          jlong bytes) {
    guarded(env, [&] {
        if (bytes < 0) throw JavaError{"copyDtoD: negative byte count"};
        check_range((uintptr_t) src, (size_t) bytes, "copyDtoD source");
        check_range((uintptr_t) dst, (size_t) bytes, "copyDtoD destination");
        if (bytes) std::memmove(reinterpret_cast<void*>(dst), reinterpret_cast<const void*>(src), (size_t) bytes);
    });
}

JNIEXPORT jlong JNICALL Java_org_vit4j_backend_cuda_CudaCpuNative_function(JNIEnv* env, jclass, jstring module,
                                                                           jstring kernel) {
    const char* m = env->GetStringUTFChars(module, nullptr);
    const char* k = env->GetStringUTFChars(kernel, nullptr);
    std::string ms(m), ks(k);
    env->ReleaseStringUTFChars(module, m);
    env->ReleaseStringUTFChars(kernel, k);
    return guarded(env, [&]() -> jlong {
        std::string known;
        for (const auto& e : registry()) {
            if (ms == e->module && ks == e->name) return reinterpret_cast<jlong>(e.get());
            if (ms == e->module) known += (known.empty() ? "" : ", ") + std::string(e->name);
        }
        throw JavaError{"no kernel " + ms + "/" + ks + " in this build"
                        + (known.empty() ? " (no module " + ms + ")" : "; module " + ms + " has " + known)};
    });
}

JNIEXPORT jstring JNICALL Java_org_vit4j_backend_cuda_CudaCpuNative_signature(JNIEnv* env, jclass, jlong function) {
    std::string sig = guarded(env, [&] { return entry_of(function)->signature; });
    if (env->ExceptionCheck()) return nullptr;
    return env->NewStringUTF(sig.c_str());
}

JNIEXPORT void JNICALL Java_org_vit4j_backend_cuda_CudaCpuNative_launch(JNIEnv* env, jclass, jlong function, jint gx,
                                                                        jint gy, jint gz, jint bx, jint by, jint bz,
                                                                        jint shared, jstring kinds, jlongArray values,
                                                                        jbyteArray maps, jint flags) {
    const char* kc = env->GetStringUTFChars(kinds, nullptr);
    std::string ks(kc);
    env->ReleaseStringUTFChars(kinds, kc);
    const jsize n = env->GetArrayLength(values);
    std::vector<jlong> bits((size_t) n);
    if (n > 0) env->GetLongArrayRegion(values, 0, n, bits.data());
    // The 'm' arguments' bytes, 128 each in argument order; 64-byte aligned, as a CUtensorMap is.
    struct alignas(64) MapBytes {
        unsigned char b[128];
    };
    const jsize map_bytes = maps == nullptr ? 0 : env->GetArrayLength(maps);
    std::vector<MapBytes> blobs((size_t) map_bytes / 128);
    if (map_bytes > 0 && map_bytes % 128 == 0)
        env->GetByteArrayRegion(maps, 0, map_bytes, reinterpret_cast<jbyte*>(blobs.data()));
    guarded(env, [&] {
        if (map_bytes % 128 != 0)
            throw JavaError{"launch: the tensor maps' bytes (" + std::to_string(map_bytes) + ") are not 128 a map"};
        const KernelEntry* e = entry_of(function);
        const std::string name = std::string(e->module) + "/" + e->name;
        if (ks != e->signature || (size_t) n != ks.size())
            throw JavaError{"kernel " + name + " takes " + std::to_string(e->signature.size()) + " parameters ("
                            + e->signature + ") but the launch passed " + std::to_string(n) + " (" + ks + ")"};
        if (gx <= 0 || gy <= 0 || gz <= 0 || bx <= 0 || by <= 0 || bz <= 0 || shared < 0)
            throw JavaError{"kernel " + name + ": grid and block dimensions must be > 0 and shared bytes >= 0"};
        std::vector<uint64_t> slots((size_t) n);
        std::vector<void*> args((size_t) n);
        size_t next_map = 0;
        for (jsize i = 0; i < n; i++) {
            if (ks[i] == 'm') {
                if (next_map >= blobs.size())
                    throw JavaError{"kernel " + name + ": argument " + std::to_string(i)
                                    + " is a tensor map, but the launch passed the bytes of " + std::to_string(blobs.size())};
                check_map(name, i, blobs[next_map].b);
                args[i] = blobs[next_map++].b;
                continue;
            }
            if (ks[i] == 'p') {
                const uintptr_t p = (uintptr_t) bits[i];
                if (p != 0 && !allocations().contains(p, 0))
                    throw JavaError{"kernel " + name + ": argument " + std::to_string(i) + " (pointer " + hex(p)
                                    + ") is not inside any device allocation"};
                slots[i] = p;
            } else {
                const uint32_t v = (uint32_t) bits[i]; // an int, or a float's raw bits
                std::memcpy(&slots[i], &v, 4);
            }
            args[i] = &slots[i];
        }
        if (next_map != blobs.size())
            throw JavaError{"kernel " + name + " takes " + std::to_string(next_map) + " tensor maps but the launch passed "
                            + std::to_string(blobs.size())};
        const std::string err = run_grid(e->name, dim3(gx, gy, gz), dim3(bx, by, bz), (size_t) shared, flags,
                                         [&] { e->invoke(args.data()); });
        if (!err.empty()) throw JavaError{err};
    });
}

JNIEXPORT jbyteArray JNICALL Java_org_vit4j_backend_cuda_CudaCpuNative_encodeTensorMap(
    JNIEnv* env, jclass, jint dtype, jlong address, jlongArray dims, jlongArray strides, jintArray box,
    jintArray estrides, jint interleave, jint swizzle, jint l2, jint oob) {
    const jsize rank = dims == nullptr ? 0 : env->GetArrayLength(dims);
    std::vector<jlong> d((size_t) rank), st(rank > 0 ? (size_t) rank - 1 : 0);
    std::vector<jint> bx((size_t) rank), es((size_t) rank);
    bool shapes = rank >= 1 && rank <= 5 && strides != nullptr && box != nullptr && estrides != nullptr
                  && env->GetArrayLength(strides) == rank - 1 && env->GetArrayLength(box) == rank
                  && env->GetArrayLength(estrides) == rank;
    if (shapes) {
        env->GetLongArrayRegion(dims, 0, rank, d.data());
        if (rank > 1) env->GetLongArrayRegion(strides, 0, rank - 1, st.data());
        env->GetIntArrayRegion(box, 0, rank, bx.data());
        env->GetIntArrayRegion(estrides, 0, rank, es.data());
    }
    vit4j::tma::TensorMap map;
    const bool ok = guarded(env, [&] {
        if (!shapes)
            throw JavaError{"encodeTensorMap: rank " + std::to_string(rank)
                            + " must be 1..5 with rank - 1 strides, rank box sizes and rank element strides"};
        uint64_t ud[5] = {0}, us[4] = {0};
        uint32_t ub[5] = {0}, ue[5] = {0};
        for (jsize i = 0; i < rank; i++) {
            if (d[i] < 1) throw JavaError{"encodeTensorMap: dims[" + std::to_string(i) + "] must be >= 1, got " + std::to_string(d[i])};
            if (bx[i] < 1) throw JavaError{"encodeTensorMap: box[" + std::to_string(i) + "] must be >= 1, got " + std::to_string(bx[i])};
            if (es[i] < 1) throw JavaError{"encodeTensorMap: elementStrides[" + std::to_string(i) + "] must be >= 1, got " + std::to_string(es[i])};
            ud[i] = (uint64_t) d[i];
            ub[i] = (uint32_t) bx[i];
            ue[i] = (uint32_t) es[i];
        }
        for (jsize i = 0; i + 1 < rank; i++) {
            if (st[i] < 1) throw JavaError{"encodeTensorMap: strideBytes[" + std::to_string(i) + "] must be > 0, got " + std::to_string(st[i])};
            us[i] = (uint64_t) st[i];
        }
        if (dtype < 0 || interleave < 0 || swizzle < 0 || l2 < 0 || oob < 0)
            throw JavaError{"encodeTensorMap: negative enum code"};
        const char* why = vit4j::tma::encode_cpu_tensor_map(&map, (uint32_t) dtype, (uint32_t) rank, reinterpret_cast<const void*>(address),
                                                            ud, us, ub, ue, (uint32_t) interleave, (uint32_t) swizzle, (uint32_t) l2, (uint32_t) oob);
        if (why != nullptr) throw JavaError{std::string("encodeTensorMap: ") + why};
        const uint64_t extent = tensor_extent((uint32_t) rank, ud, us, vit4j::tma::element_bytes((uint32_t) dtype));
        if (!allocations().contains((uintptr_t) address, extent))
            throw JavaError{"encodeTensorMap: address: the tensor, " + std::to_string(extent) + " bytes at "
                            + hex((uintptr_t) address) + ", is not inside one device allocation"};
        return true;
    });
    if (!ok || env->ExceptionCheck()) return nullptr;
    jbyteArray out = env->NewByteArray(128);
    if (out != nullptr) env->SetByteArrayRegion(out, 0, 128, reinterpret_cast<const jbyte*>(&map));
    return out;
}

} // extern "C"
