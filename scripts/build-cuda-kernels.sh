#!/usr/bin/env bash
# Builds vit4j's native parts with CMake (the Maven build runs this before packing resources):
#  * the CUDA kernels (kernels/cuda/*.cu) into build/kernels/*.fatbin, where nvcc is on this machine;
#  * the CUDA-on-CPU runtime and build/native/libvit4j_cudacpu.so (the cuda-cpu backend: every kernel
#    compiled for the CPU), where a C++ compiler and Boost.Context are, with each kernel file's
#    standalone checks; with VIT4J_CTEST=1 (scripts/test-all.sh, so CI) those run under CTest in three
#    variants (forward order, reverse order, AddressSanitizer + UBSan) with the runtime's own tests
#    and the mutation tests;
#  * build/native/libvit4j_cuda.so (native/cuda: cuTensorMapEncodeTiled, cuLaunchKernelEx, cuBLAS, all
#    dlopen'ed at run time), where cuda.h is, and the fakes of libcuda/libcublas its tests load;
#  * build/native/libvit4j_poclidle.so (native/opencl: PoCL's idle CPU workers spin before they sleep),
#    where jni.h is, and the fake PoCL library its CTest test patches.
# Without a tool it says what it skipped and succeeds, except with VIT4J_CUDA_STRICT=1 (CI), where a
# failed build or test fails the Maven build.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."
strict=${VIT4J_CUDA_STRICT:-0}
nvcc_bin=$(command -v nvcc || true)
[ -n "$nvcc_bin" ] || { [ -x /usr/local/cuda/bin/nvcc ] && nvcc_bin=/usr/local/cuda/bin/nvcc; }
[ -n "$nvcc_bin" ] || echo "build-cuda-kernels: nvcc not found: the CUDA fatbins are not built (the cuda backend will say so)"
if ! command -v cmake >/dev/null || ! command -v c++ >/dev/null; then
  echo "build-cuda-kernels: cmake or a C++ compiler is missing: nothing native is built" >&2
  [ "$strict" = 1 ] && exit 1
  exit 0
fi
mkdir -p build
# One build at a time: parallel Maven builds of one checkout share build/.
exec 9>build/.lock
flock 9
cmake_args=(-S . -B build -DCMAKE_BUILD_TYPE=Release)
[ -n "$nvcc_bin" ] && cmake_args+=(-DNVCC="$nvcc_bin")
# The per-kernel register/spill table and the native build's output go to build/native-build.log
# (shown in part on failure).
if ! { cmake "${cmake_args[@]}" && cmake --build build -j "$(nproc)"; } > build/native-build.log 2>&1; then
  tail -40 build/native-build.log >&2
  echo "build-cuda-kernels: FAILED to build (build/native-build.log)" >&2
  [ "$strict" = 1 ] && exit 1
  rm -f build/kernels/*.fatbin build/native/*.so
  exit 0
fi
grep -E "^CMake Warning|vit4j:" -A2 build/native-build.log | grep -v "^--$" || true
if [ -n "$nvcc_bin" ]; then
  # CI shows the table: the one each fatbin's last nvcc run kept (a build that found every fatbin up to
  # date ran no nvcc, so its log has none)
  [ "$strict" = 1 ] && { sed 's/^/-- ptxas: /' build/kernels/*.ptxas.txt 2>/dev/null || true; }
  echo "build-cuda-kernels: $(ls build/kernels/*.fatbin 2>/dev/null | wc -l) fatbins, no spills (nvcc $("$nvcc_bin" --version | sed -n "s/.*release \([0-9.]*\).*/\1/p"))"
fi
if [ -f build/native/libvit4j_cudacpu.so ]; then
  echo "build-cuda-kernels: build/native/libvit4j_cudacpu.so (cuda-cpu backend)"
elif [ "$strict" = 1 ]; then
  echo "build-cuda-kernels: libvit4j_cudacpu.so was not built (Boost.Context or jni.h missing? see above)" >&2
  exit 1
fi
if [ -f build/native/libvit4j_cuda.so ]; then
  echo "build-cuda-kernels: build/native/libvit4j_cuda.so (tensor maps, cluster launches, cuBLAS; dlopen'ed at run time)"
elif [ "$strict" = 1 ]; then
  echo "build-cuda-kernels: libvit4j_cuda.so was not built (cuda.h or jni.h missing? see above)" >&2
  exit 1
fi
if [ -f build/native/libvit4j_poclidle.so ]; then
  echo "build-cuda-kernels: build/native/libvit4j_poclidle.so (PoCL's idle workers spin before they sleep)"
elif [ "$strict" = 1 ]; then
  echo "build-cuda-kernels: libvit4j_poclidle.so was not built (jni.h missing? see above)" >&2
  exit 1
fi
if [ "${VIT4J_CTEST:-0}" = 1 ]; then
  start=$(date +%s)
  if ! ctest --test-dir build -j "$(nproc)" --output-on-failure > build/ctest.log 2>&1; then
    cat build/ctest.log >&2
    echo "build-cuda-kernels: the CUDA kernels' standalone checks on the CPU FAILED (build/ctest.log)" >&2
    exit 1
  fi
  grep -E "^ *[0-9]+/[0-9]+ Test|tests passed" build/ctest.log || true
  echo "build-cuda-kernels: CTest took $(( $(date +%s) - start )) s"
fi
