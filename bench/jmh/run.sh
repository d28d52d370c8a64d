#!/usr/bin/env bash
# Builds and runs vit4j's JMH benchmarks: installs the library into the local Maven repository,
# builds bench/jmh/target/benchmarks.jar, then runs it with the arguments given (JMH's own), e.g.
#   bench/jmh/run.sh -f 1 -wi 1 -i 3                     everything, quickly
#   bench/jmh/run.sh KernelBenchmark -p backend=opencl   one class
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
(cd "$here/../.." && mvn -q -B -DskipTests install)
(cd "$here" && mvn -q -B package)
exec java -jar "$here/target/benchmarks.jar" "$@"
