#!/usr/bin/env bash
# vit4j against PyTorch on this CPU, side by side in one run: the same ViT (random weights made by
# torch, exported to safetensors), the same input batch, the same thread count. Runs the two
# alternately (A B A B) so machine drift hits both, checks the logits agree, and prints the table.
#   bench/compare-cpu.sh [MODEL] [BATCH] [BACKEND]      (defaults: vit-s16 8 opencl)
# Needs Debian's python3-torch, python3-torchvision and libopenblas0-openmp (installed if missing).
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."
model=${1:-vit-s16}; batch=${2:-8}; backend=${3:-opencl}; threads=${THREADS:-2}
py=/usr/bin/python3
# OpenBLAS's OpenMP build shares torch's thread pool; Debian's default pthread build fights it (6x slower here).
export LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
if ! $py -c "import torch, torchvision" 2>/dev/null; then
  apt-get install -y -qq python3-torch python3-torchvision libopenblas0-openmp >/dev/null
fi
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
out=bench/results/$(date -u +%Y-%m-%d)-cpu-$model-b$batch-$backend
./vit4j devices >/dev/null  # builds the jar if needed, outside the timed part
{
  echo "# vit4j vs PyTorch on CPU: $model, batch $batch, $threads threads, backend $backend"
  echo "# host: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(date -u +%FT%TZ)"
  $py bench/peers/torch_vit_cpu.py --model "$model" --batch "$batch" --threads "$threads" --export "$work" \
      --iterations 2 --warmup 0 >/dev/null
  for round in 1 2; do
    echo "## round $round"
    $py bench/peers/torch_vit_cpu.py --model "$model" --batch "$batch" --threads "$threads" \
        --logits "$work/torch-logits.safetensors" --json "$work/torch-$round.json"
    ./vit4j bench --backend "$backend" --weights "$work/model.safetensors" --input "$work/input.safetensors" \
        --logits "$work/vit4j-logits.safetensors" --json "$work/vit4j-$round.json" \
        --profile-passes $([ "$round" = 2 ] && echo 1 || echo 0)
  done
  echo "## agreement and ratio"
  $py - "$work" <<'PY'
import json, sys, os
import numpy as np
sys.path.insert(0, "scripts/python")
import st_io
w = sys.argv[1]
a = st_io.load(os.path.join(w, "torch-logits.safetensors"))["logits"].astype(np.float64)
b = st_io.load(os.path.join(w, "vit4j-logits.safetensors"))["logits"].astype(np.float64)
err = np.linalg.norm(a - b) / np.linalg.norm(a)
print(f"logits: relative L2 difference vit4j vs torch = {err:.2e}, same top-1 for {int((a.argmax(1) == b.argmax(1)).sum())}/{len(a)} images")
t = [json.load(open(os.path.join(w, f"torch-{r}.json"))) for r in (1, 2)]
v = [json.load(open(os.path.join(w, f"vit4j-{r}.json"))) for r in (1, 2)]
tm = min(x["median_ms"] for x in t); vm = min(x["encoder_ms"]["median"] for x in v)
print("| peer | median ms per batch (best of 2 rounds) | img/s |")
print("|---|---|---|")
print(f"| {t[0]['peer']} ({t[0]['threads']} threads) | {tm:.1f} | {t[0]['batch'] / tm * 1e3:.2f} |")
print(f"| vit4j {v[0]['backend']} | {vm:.1f} | {v[0]['batch'] / vm * 1e3:.2f} |")
print(f"ratio: vit4j is {tm / vm:.2f}x PyTorch's speed (>1 is faster)")
PY
} 2>&1 | tee "$out.txt"
echo "written: $out.txt" >&2
