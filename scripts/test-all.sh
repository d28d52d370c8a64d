#!/usr/bin/env bash
# Runs every test of vit4j on a fresh Debian machine with a JDK 17 and Maven: installs what is
# missing (the OpenCL ICD loader and PoCL, so the OpenCL tests run on the CPU), then runs the whole
# Maven build and test suite (which builds the CUDA kernels where nvcc is present). CI runs this.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

need=()
[ -e /usr/lib/x86_64-linux-gnu/libOpenCL.so.1 ] || ldconfig -p 2>/dev/null | grep -q 'libOpenCL.so.1' || need+=(ocl-icd-libopencl1)
ls /etc/OpenCL/vendors/*.icd >/dev/null 2>&1 || need+=(pocl-opencl-icd)
# Boost.Context: the fibers that run the CUDA kernels on the CPU (the cuda-cpu backend, CTest).
[ -f /usr/include/boost/context/detail/fcontext.hpp ] || need+=(libboost-context-dev)
command -v cmake >/dev/null || need+=(cmake)
command -v g++ >/dev/null || need+=(g++)
if [ ${#need[@]} -gt 0 ]; then
  echo "test-all: installing ${need[*]}" >&2
  sudo_=""
  [ "$(id -u)" -eq 0 ] || sudo_="sudo"
  $sudo_ apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq "${need[@]}" >/dev/null
fi

# The OpenCL tests must run here, not skip: a missing ICD fails them; likewise the CUDA tests on the
# cuda-cpu backend (the kernels executed on the CPU). A CUDA kernel that does not build (warning,
# spill) fails the build, and so does a failed standalone check under CTest (VIT4J_CTEST=1).
VIT4J_REQUIRE_OPENCL=1 VIT4J_REQUIRE_CUDA_CPU=1 VIT4J_CUDA_STRICT=1 VIT4J_CTEST=1 mvn -B -ntp verify

# The AVX2 code path (issue 16 asks for every CPU we meet, and the machines differ: AVX-512 or AVX2 only).
# On an AVX-512 host, PoCL's AVX2 kernel library (POCL_KERNELLIB_NAME=avx2) compiles the kernels for 16 ymm
# registers, and vit4j then takes 8-wide floats (ClDevice: PoCL itself still reports the host's 16), so it
# picks the kernels and tiles an AVX2-only CPU (Zen 3, Haswell to Skylake clients) gets; the fp32 kernel
# parity tests (ClDeviceTest checks the width), the storage conversions and the
# encoder against PyTorch's golden files (fp32, bf16, fp16) run again on that path. About 3 minutes with a
# cold PoCL cache. An AVX2-only host ran them on its own path above.
# The CLI jar runs with libjsig preloaded, as the tests do (README, "OpenCL on PoCL").
java_home=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")
if grep -qw avx512f /proc/cpuinfo && grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo; then
  POCL_KERNELLIB_NAME=avx2 LD_PRELOAD="$java_home/lib/libjsig.so" java -jar vit4j-cli/target/vit4j.jar devices \
    | grep -q 'pthread-haswell' || { echo "test-all: POCL_KERNELLIB_NAME=avx2 did not give PoCL's AVX2 (haswell) device" >&2; exit 1; }
  echo "test-all: the OpenCL tests again on PoCL's AVX2 kernel library" >&2
  POCL_KERNELLIB_NAME=avx2 VIT4J_TEST_BACKENDS=opencl VIT4J_REQUIRE_OPENCL=1 mvn -B -ntp -o test -pl vit4j-tests -am \
    -Dvit4j.skipCuda=true -Dtest='KernelParityTest,StorageTypeTest,EncoderOnDeviceTest' -Dsurefire.failIfNoSpecifiedTests=false \
    -Dsurefire.reportNameSuffix=avx2
fi

# Fuzzing (issue 12): `mvn verify` above replayed each fuzz target's committed inputs (vit4j-core's
# org.vit4j.fuzz); now each target fuzzes for FUZZ_CI_DURATION (default 30 s; 2 minutes in all on a quiet
# machine, about 4 under load, with Maven's start-up). A finding fails CI: its input is written to
# vit4j-core/src/test/resources/org/vit4j/fuzz/*Inputs/fuzz (and printed in base64), the log to target/fuzz.
# FUZZ_CI_DURATION=0 skips it. The long run: scripts/fuzz.sh TARGET DURATION (README, "Fuzzing").
if [ "${FUZZ_CI_DURATION:-30s}" != 0 ]; then
  FUZZ_OFFLINE=1 scripts/fuzz.sh all "${FUZZ_CI_DURATION:-30s}" target/fuzz/ci-summary.txt
fi

# The CLI jar is shaded: its merged META-INF/services file must still name every backend, or the
# ServiceLoader finds none of the missing ones. Quiet unless one is missing.
devices=$(LD_PRELOAD="$java_home/lib/libjsig.so" java -jar vit4j-cli/target/vit4j.jar devices)
for b in cuda opencl cpu cuda-cpu; do
  echo "$devices" | grep -Eq "^$b +(available|unavailable)" || {
    echo "test-all: vit4j-cli/target/vit4j.jar devices lists no backend '$b':" >&2; echo "$devices" >&2; exit 1; }
done

# vit4j spark (issue 15): the launcher runs vit4j-spark's job jar on the Spark class path the build wrote
# (Spark is kept out of vit4j.jar); its tests ran the job class in-process, this runs it as users do.
# About 25 s, most of it Spark's start.
spark_out="$(mktemp -d)/digits"
./vit4j spark --input samples/digits --output "$spark_out" --master 'local[2]' --format jsonl --top 1 --backend cpu >/dev/null
rows=$(cat "$spark_out"/part-*.json | grep -c '"error":null' || true)
[ "$rows" = 10 ] || { echo "test-all: ./vit4j spark wrote $rows rows without error for the 10 sample digits, expected 10:" >&2
  cat "$spark_out"/part-*.json >&2; exit 1; }
rm -rf "$(dirname "$spark_out")"
