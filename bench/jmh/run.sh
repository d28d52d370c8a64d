#!/usr/bin/env bash
# Builds and runs vit4j's JMH benchmarks (module vit4j-bench, package org.vit4j.bench.jmh): builds
# vit4j-bench/target/benchmarks.jar with the backends it measures, then runs it with the arguments given (JMH's own), e.g.
#   bench/jmh/run.sh -f 1 -wi 1 -i 3                     everything, quickly
#   bench/jmh/run.sh KernelBenchmark -p backend=opencl   one class
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
(cd "$here/../.." && mvn -q -B -DskipTests -Pjmh -pl vit4j-bench -am package)
# Signal chaining: PoCL's LLVM installs its own SIGSEGV handler while it compiles a kernel, and a
# JVM safepoint poll (a deliberate SIGSEGV) landing meanwhile would kill the JVM. libjsig keeps the
# JVM's handler first.
java_home=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")
[ -f "$java_home/lib/libjsig.so" ] && export LD_PRELOAD="$java_home/lib/libjsig.so${LD_PRELOAD:+:$LD_PRELOAD}"
exec java -jar "$here/../../vit4j-bench/target/benchmarks.jar" "$@"
