#!/usr/bin/env bash
# Builds the CUDA kernels (kernels/cuda/*.cu) into build/kernels/*.fatbin with CMake, when nvcc is
# on this machine; the Maven build runs this and packs the fatbins into the jar. Without nvcc it
# says so and succeeds: the CUDA backend then reports "kernels not built".
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."
nvcc_bin=$(command -v nvcc || true)
[ -n "$nvcc_bin" ] || { [ -x /usr/local/cuda/bin/nvcc ] && nvcc_bin=/usr/local/cuda/bin/nvcc; }
if [ -z "$nvcc_bin" ]; then
  echo "build-cuda-kernels: nvcc not found: the CUDA kernels are not built (the CUDA backend will say so)"
  exit 0
fi
if ! compgen -G "kernels/cuda/*.cu" >/dev/null; then
  echo "build-cuda-kernels: no kernels/cuda/*.cu"
  exit 0
fi
mkdir -p build
# One build at a time: parallel Maven builds of one checkout share build/.
exec 9>build/.lock
flock 9
# A failed kernel build fails the Maven build where VIT4J_CUDA_STRICT=1 (scripts/test-all.sh, so
# CI); elsewhere it is reported and the jar is built without the CUDA kernels.
# The per-kernel register/spill table goes to build/cuda-kernels.log (shown in full on failure).
if ! { cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DNVCC="$nvcc_bin" && cmake --build build -j "$(nproc)"; } \
    > build/cuda-kernels.log 2>&1; then
  tail -40 build/cuda-kernels.log >&2
  echo "build-cuda-kernels: FAILED to build the CUDA kernels (build/cuda-kernels.log)" >&2
  [ "${VIT4J_CUDA_STRICT:-0}" = 1 ] && exit 1
  rm -f build/kernels/*.fatbin
else
  if [ "${VIT4J_CUDA_STRICT:-0}" = 1 ]; then grep -- "-- ptxas:" build/cuda-kernels.log || true; fi  # CI shows the table
  echo "build-cuda-kernels: $(ls build/kernels/*.fatbin | wc -l) fatbins, no spills (nvcc $("$nvcc_bin" --version | sed -n "s/.*release \([0-9.]*\).*/\1/p"); table in build/cuda-kernels.log)"
fi
