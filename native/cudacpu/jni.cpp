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
                                                                        jint flags) {
    const char* kc = env->GetStringUTFChars(kinds, nullptr);
    std::string ks(kc);
    env->ReleaseStringUTFChars(kinds, kc);
    const jsize n = env->GetArrayLength(values);
    std::vector<jlong> bits((size_t) n);
    if (n > 0) env->GetLongArrayRegion(values, 0, n, bits.data());
    guarded(env, [&] {
        const KernelEntry* e = entry_of(function);
        const std::string name = std::string(e->module) + "/" + e->name;
        if (ks != e->signature || (size_t) n != ks.size())
            throw JavaError{"kernel " + name + " takes " + std::to_string(e->signature.size()) + " parameters ("
                            + e->signature + ") but the launch passed " + std::to_string(n) + " (" + ks + ")"};
        if (gx <= 0 || gy <= 0 || gz <= 0 || bx <= 0 || by <= 0 || bz <= 0 || shared < 0)
            throw JavaError{"kernel " + name + ": grid and block dimensions must be > 0 and shared bytes >= 0"};
        std::vector<uint64_t> slots((size_t) n);
        std::vector<void*> args((size_t) n);
        for (jsize i = 0; i < n; i++) {
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
        const std::string err = run_grid(e->name, dim3(gx, gy, gz), dim3(bx, by, bz), (size_t) shared, flags,
                                         [&] { e->invoke(args.data()); });
        if (!err.empty()) throw JavaError{err};
    });
}

} // extern "C"
