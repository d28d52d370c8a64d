#!/usr/bin/env bash
# Soak (issue 12, "done when"): 10,000 forward passes per backend that CI can run (cpu, opencl on PoCL,
# cuda-cpu) on the embedded digits model, batch sizes 1 and 2 cycled, sampling the process's RSS, the
# backend's pool, file descriptors and threads 21 times; each backend's run ends with its verdict.
#
# Flat, over the samples after the first 10% of passes: the pool's device and in-use bytes the same in
# every sample, file descriptors and threads not grown, and RSS's least-squares slope projected over
# those passes under 16 MiB (about 1.8 KiB per pass over 9,000); and every pass's logits equal the
# first pass's at its batch size. The JVM runs with a fixed, pre-touched heap (-Xms = -Xmx, AlwaysPreTouch)
# so that heap growth cannot pass for a leak, nor hide one outside the heap.
#
#   bench/soak.sh                         all three backends, output to bench/results/DATE-soak.txt
#   SOAK_BACKENDS="cpu" SOAK_FORWARDS=2000 bench/soak.sh /tmp/soak.txt
#
# Exit status: 0 when every backend that could run was flat, 3 when one was not. A backend that is
# unavailable here ('vit4j devices' says why) is reported and skipped.
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
out="${1:-$here/bench/results/$(date -u +%F)-soak.txt}"
backends="${SOAK_BACKENDS:-cpu opencl cuda-cpu}"
forwards="${SOAK_FORWARDS:-10000}"
export VIT4J_JAVA_OPTS="${SOAK_JAVA_OPTS:--Xms256m -Xmx256m -XX:+AlwaysPreTouch}"

mkdir -p "$(dirname "$out")"
devices="$("$here/vit4j" devices 2>&1)"
{
  echo "# bench/soak.sh: $forwards forwards per backend, batch sizes 1,2 cycled, 21 samples"
  echo "# $(date -u '+%F %T UTC'), commit $(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo '?'),"\
       "$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) cores,"\
       "$(java -version 2>&1 | head -1), JVM options: $VIT4J_JAVA_OPTS"
} | tee "$out"
status=0
for b in $backends; do
  echo | tee -a "$out"
  if ! grep -Eq "^$b[[:space:]]+available" <<<"$devices"; then
    echo "$b: skipped, $(grep -E "^$b[[:space:]]" <<<"$devices" | sed -E "s/^$b[[:space:]]+//")" | tee -a "$out"
    continue
  fi
  echo "\$ vit4j soak --backend $b --forwards $forwards --samples 21 --batches 1,2" | tee -a "$out"
  start=$(date +%s)
  set +e
  "$here/vit4j" soak --backend "$b" --forwards "$forwards" --samples 21 --batches 1,2 2>&1 \
    | grep -v 'signal chaining was deprecated' | tee -a "$out"
  rc=${PIPESTATUS[0]}
  set -e
  echo "($b: $(( $(date +%s) - start )) s wall, exit status $rc)" | tee -a "$out"
  [ "$rc" -eq 0 ] || status=3
done
exit "$status"
