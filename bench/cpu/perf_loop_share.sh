#!/usr/bin/env bash
# Where each linear kernel build spends its time inside a real pass: perf's cpu-clock samples of a
# `vit4j bench` run, per PoCL kernel build (.so), split into the build's innermost hot loop (a GEMM's
# K loop) and the rest (set-up, epilogue). No hardware counters are needed (this VM has none), and
# both sides of the comparison come from the same run, so the host's drift does not enter.
#   bench/cpu/perf_loop_share.sh [JAR] [vit4j bench arguments...]
#   e.g. bench/cpu/perf_loop_share.sh vit4j-cli/target/vit4j.jar --opencl-tuning GEMM_V5_MR=6,GEMM_V5_NR=64
# Defaults: the CLI's jar, ViT-S/16 b8 (env MODEL, BATCH), 12 passes (ITERATIONS); env KERNEL (linear_v5)
# picks the kernel, TOP (0) how many of each build's hottest instructions outside the loop to print.
# Needs linux-perf.
# Builds are told apart by their share of all samples: at ViT-S b8 fc1 and fc2 are the largest
# (~1.3x QKV), then QKV, then the projection (~1/3 of QKV). The projection and fc2 share one build
# (the same EPILOGUE) unless something gives them different options.
# Used for bench/results/2026-12-04-residual-prefetchw-zen5.txt.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
jar=${1:-$here/vit4j-cli/target/vit4j.jar}
shift || true
java_home=${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")}
export LD_PRELOAD=$java_home/lib/libjsig.so
data=$(mktemp /tmp/perf-loop-share.XXXXXX)
trap 'rm -f "$data"' EXIT
perf record -q -e cpu-clock -F 4000 -o "$data" -- java -jar "$jar" bench --backend opencl --model "${MODEL:-vit-s16}" \
    --batch "${BATCH:-8}" --warmup 2 --warmup-seconds 0 --iterations "${ITERATIONS:-12}" --profile-passes 0 "$@" 2>&1 | grep -E "^encoder|^kernels" || true
perf report -i "$data" --sort dso --stdio -v 2>/dev/null | grep -E "/${KERNEL:-linear_v5}/" | while read -r pct path; do
  echo "$pct of all samples: ${path#"$HOME"/.cache/pocl/kcache/}"
  perf annotate -i "$data" --dsos "$path" --stdio 2>/dev/null | python3 "$here/bench/cpu/loop_share.py" "${TOP:-0}" | sed 's/^/  /'
done
