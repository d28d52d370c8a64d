#!/usr/bin/env bash
# An A/B of two vit4j builds inside the ViT-S b8 pass, where an op's time depends on what the ops
# around it left in the caches (a kernel alone can mislead: bench/results/2026-12-04-residual-prefetch-ab-zen5.txt).
#   cp vit4j-cli/target/vit4j.jar /tmp/vit4j-A.jar     # build A, then the change, then:
#   cp vit4j-cli/target/vit4j.jar /tmp/vit4j-B.jar
#   ROUNDS=6 bench/cpu/jar_ab.sh > ab.log; python3 bench/cpu/ab_vs_qkv.py ab.log
# Runs A and B alternately, ROUNDS rounds (6), each a vit4j bench of MODEL (vit-s16) at BATCH (8)
# with PASSES (20) recorded passes (the device's timestamps), and keeps the lines of the linear ops. ab_vs_qkv.py divides each op's median call by the
# QKV GEMM's in the same run: this host's speed drifts by 5-10% between runs, and an op's share of a
# kernel that the change leaves alone moves far less (single rounds still spread by up to 3-6%; for
# identical kernels the medians of 6 rounds agreed to 0.5-0.8% for fc1 and the projection, 2.7% for fc2).
# The divisor must be a kernel the change leaves alone: one that moves code shared with QKV's build
# (as the hoisted row[] of the last variant in the results file above did) moves every ratio a little.
set -euo pipefail
java_home=${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")}
export LD_PRELOAD=$java_home/lib/libjsig.so
for r in $(seq "${ROUNDS:-6}"); do
  for j in ${JARS:-A B}; do
    echo "== $j round $r"
    java -jar "${JAR_DIR:-/tmp}/vit4j-$j.jar" bench --backend opencl --model "${MODEL:-vit-s16}" --batch "${BATCH:-8}" --warmup 2 --warmup-seconds 0 \
        --iterations 3 --profile-passes 0 --timeline-passes "${PASSES:-20}" --paired-peak 2>&1 \
      | grep -E "^encoder|paired FMA|  linear|  attention  |  layernorm  |fp32 FMA peak" || true
  done
done
