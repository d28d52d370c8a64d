#!/usr/bin/env bash
# The Spark job's throughput (issue 15): `vit4j spark-bench` under local[1] and local[2] in one JVM, on the
# embedded digits model and on ViT-S/16 with random weights, OpenCL (PoCL) backend; one model per JVM,
# shared by the task slots. The one-vs-two PoCL devices figures are bench/devices.sh's.
#
#   bench/spark.sh                     output to bench/results/DATE-spark.txt
#   bench/spark.sh /tmp/spark.txt
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
out="${1:-$here/bench/results/$(date -u +%F)-spark.txt}"
mkdir -p "$(dirname "$out")"
{
  echo "# bench/spark.sh: vit4j spark-bench, local[1] against local[2], one JVM, opencl (PoCL) backend"
  echo "# $(date -u '+%F %T UTC'), commit $(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo '?'),"\
       "$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) cores,"\
       "load average $(cut -d' ' -f1-3 /proc/loadavg) at the start (a machine shared with other jobs)"
  echo
  echo "## ./vit4j spark-bench --model digits --backend opencl"
  "$here/vit4j" spark-bench --model digits --backend opencl 2>&1 | grep -v ' WARN Utils: '
  echo
  echo "## ./vit4j spark-bench --model vit-s16 --backend opencl"
  "$here/vit4j" spark-bench --model vit-s16 --backend opencl 2>&1 | grep -v ' WARN Utils: '
  echo
  echo "# load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
} | tee "$out"
