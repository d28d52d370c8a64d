#!/usr/bin/env bash
# Several devices in one JVM (issue 15, item 1): `vit4j bench --devices all` on two PoCL CPU devices
# (POCL_DEVICES="pthread pthread": PoCL opens one device per word of the list) against device 0 alone,
# alternating in one run, on the embedded digits model and on ViT-S/16 with random weights. Each case
# runs twice: with PoCL's default threads per device (each device takes every core: the two devices
# share them) and with POCL_MAX_PTHREAD_COUNT=1 (one thread per device, so two devices have two
# cores where one device has one). Every run also checks that the two devices' logits equal one
# device's bit for bit (exit 1 otherwise).
#
#   bench/devices.sh                        output to bench/results/DATE-devices.txt
#   bench/devices.sh /tmp/devices.txt
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
out="${1:-$here/bench/results/$(date -u +%F)-devices.txt}"
digits="$here/vit4j-digits/src/main/resources/org/vit4j/default-model/model.safetensors"
mkdir -p "$(dirname "$out")"
{
  echo "# bench/devices.sh: vit4j bench --devices all on two PoCL devices against one, in one JVM"
  echo "# $(date -u '+%F %T UTC'), commit $(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo '?'),"\
       "$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) cores,"\
       "load average $(cut -d' ' -f1-3 /proc/loadavg) at the start (a machine shared with other jobs)"
  for threads in default 1; do
    for model in digits vit-s16; do
      if [ "$model" = digits ]; then args=(--weights "$digits" --batch 64 --iterations 10 --warmup 2)
      else args=(--model vit-s16 --batch 8 --iterations 4 --warmup 1); fi
      echo
      echo "## $model, PoCL threads per device: $threads"
      if [ "$threads" = default ]; then
        POCL_DEVICES="pthread pthread" "$here/vit4j" bench --backend opencl "${args[@]}" --devices all 2>&1
      else
        POCL_DEVICES="pthread pthread" POCL_MAX_PTHREAD_COUNT=1 "$here/vit4j" bench --backend opencl "${args[@]}" --devices all 2>&1
      fi
    done
  done
  echo
  echo "# load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
} | tee "$out"
