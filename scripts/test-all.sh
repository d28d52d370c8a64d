#!/usr/bin/env bash
# Runs every test of vit4j on a fresh Debian machine with a JDK 17 and Maven: installs what is
# missing (the OpenCL ICD loader and PoCL, so the OpenCL tests run on the CPU), builds the CUDA
# kernels where nvcc is present, then runs the whole Maven test suite. This is what CI runs.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

need=()
[ -e /usr/lib/x86_64-linux-gnu/libOpenCL.so.1 ] || ldconfig -p 2>/dev/null | grep -q 'libOpenCL.so.1' || need+=(ocl-icd-libopencl1)
ls /etc/OpenCL/vendors/*.icd >/dev/null 2>&1 || need+=(pocl-opencl-icd)
if [ ${#need[@]} -gt 0 ]; then
  echo "test-all: installing ${need[*]}" >&2
  sudo_=""
  [ "$(id -u)" -eq 0 ] || sudo_="sudo"
  $sudo_ apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq "${need[@]}" >/dev/null
fi

if command -v nvcc >/dev/null 2>&1 && compgen -G "kernels/cuda/*.cu" >/dev/null; then
  echo "test-all: building the CUDA kernels with $(nvcc --version | tail -1)" >&2
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build -j "$(nproc)"
fi

# The OpenCL tests must run here, not skip: a missing ICD fails them.
VIT4J_REQUIRE_OPENCL=1 mvn -B -ntp verify
