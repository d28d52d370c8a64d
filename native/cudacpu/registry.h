// The kernels of libvit4j_cudacpu.so by (module, name), with their parameter kinds, so that a launch
// from Java (CudaCpuNative.launch) is checked against what the kernel was compiled with. CMake
// generates one translation unit per kernels/cuda/*.cu that includes the file inside its own
// namespace (so two modules' helpers never collide) and registers each `extern "C" __global__`
// function it finds there with VIT4J_CPU_KERNEL.
#pragma once
#include "cuda_cpu.h"

#include <cstring>
#include <string>
#include <type_traits>
#include <utility>

namespace vit4j_cpu {

struct KernelEntry {
    const char* module;
    const char* name;
    std::string signature;              // one character per parameter: p pointer, i int, f float, m tensor map, ...
    void (*invoke)(void* const* args);  // calls the kernel with args[i] pointing at parameter i's bytes
};

/** Adds a kernel; called by static initialisers of the generated translation units. */
bool register_kernel(KernelEntry entry);

// A struct by value declares its kind as `static constexpr char vit4j_kernel_arg_kind` (tma.cuh's
// TensorMap: 'm', 128 bytes); any other struct is '?', which no Java launch can match.
template <class T, class = void>
struct declared_kind {
    static constexpr char value = '?';
};
template <class T>
struct declared_kind<T, std::void_t<decltype(T::vit4j_kernel_arg_kind)>> {
    static constexpr char value = T::vit4j_kernel_arg_kind;
};

template <class T>
constexpr char kind_of() {
    if constexpr (std::is_pointer<T>::value) return 'p';
    else if constexpr (std::is_same<T, int>::value) return 'i';
    else if constexpr (std::is_same<T, float>::value) return 'f';
    else if constexpr (std::is_same<T, unsigned>::value) return 'u';
    else if constexpr (std::is_same<T, long long>::value || std::is_same<T, long>::value) return 'l';
    else if constexpr (std::is_same<T, double>::value) return 'd';
    else return declared_kind<T>::value; // a struct by value
}

template <auto F>
struct Entry;

template <class... P, void (*F)(P...)>
struct Entry<F> {
    static std::string signature() { return std::string{kind_of<P>()...}; }
    static void invoke(void* const* args) { call(args, std::index_sequence_for<P...>{}); }

  private:
    template <class T>
    static T load(const void* p) {
        T v;
        std::memcpy(&v, p, sizeof(T));
        return v;
    }
    template <size_t... I>
    static void call(void* const* args, std::index_sequence<I...>) {
        (void) args;
        F(load<P>(args[I])...);
    }
};

} // namespace vit4j_cpu

#define VIT4J_CPU_KERNEL(module, ns, kernel)                                                        \
    static const bool vit4j_registered_##kernel = ::vit4j_cpu::register_kernel(                     \
        {#module, #kernel, ::vit4j_cpu::Entry<&ns::kernel>::signature(), &::vit4j_cpu::Entry<&ns::kernel>::invoke});
