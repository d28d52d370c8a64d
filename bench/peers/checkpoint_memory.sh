#!/usr/bin/env bash
# Peak RSS of loading a ViT-B/16 checkpoint stored in bf16 and in fp32, and of uploading it to opencl;
# the figures of the README's precision section. Needs vit4j-cli/target/vit4j.jar (./vit4j builds it) and PoCL.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.."
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
java_home=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")
export LD_PRELOAD="$java_home/lib/libjsig.so"
run() { java -Xmx2g -cp vit4j-cli/target/vit4j.jar bench/peers/CheckpointMemory.java "$@" 2>&1 | { grep -v WARN || true; }; }
run write "$dir" bf16
run write "$dir" fp32
echo "# $(date -u +%F) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); java -Xmx2g; each line a fresh JVM"
run load "$dir/model-bf16.safetensors"
run load "$dir/model-fp32.safetensors"
run load "$dir/model-bf16.safetensors" opencl bf16
run load "$dir/model-fp32.safetensors" opencl fp32
