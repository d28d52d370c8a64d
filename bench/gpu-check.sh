#!/usr/bin/env bash
# vit4j on an NVIDIA GPU host with no JDK, no Maven and no network, in one run (under 8 minutes):
#   1. each CUDA kernel alone against its CPU reference (kernels/cuda/*.cu built standalone by nvcc);
#   2. every JUnit test on the bundled runtime, CUDA required (kernel parity, golden encoder, graphs);
#   3. the encoder benchmark (vit4j bench) for ViT-S/16 and ViT-B/16 at batch 1, 64, 256, and the attention
#      probabilities' cost (issue 14: bench --attentions, ViT-B/16 at batch 8);
#   4. PyTorch on the same weights (eager fp32 with TF32 off; torch.compile at batch 64) and the logits
#      compared, where PyTorch is;
# then one table. Run from the repository root with the distribution carried as
# target/vit4j-dist.tar.gz (scripts/make-dist.sh builds it):
#   bash bench/gpu-check.sh [OUT_DIR]     (default OUT_DIR: $OUT, else /tmp/vit4j-gpu-check)
set -uo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."
out=${1:-${OUT:-/tmp/vit4j-gpu-check}}
mkdir -p "$out"
log="$out/gpu-check.log"
exec > >(tee "$log") 2>&1
start=$(date +%s)
stamp() { echo "== $(( $(date +%s) - start ))s: $*"; }
summary=()

stamp "host"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader || echo "no nvidia-smi"
command -v nvcc >/dev/null && nvcc --version | tail -1

stamp "distribution"
dist=$out/dist
if [ -f target/vit4j-dist.tar.gz ]; then
  mkdir -p "$dist" && tar -C "$dist" -xzf target/vit4j-dist.tar.gz
elif [ -d target/dist/vit4j ]; then
  mkdir -p "$dist" && cp -r target/dist/vit4j "$dist/"
else
  echo "no distribution: run scripts/make-dist.sh and carry target/vit4j-dist.tar.gz"; exit 2
fi
v4j=$dist/vit4j/bin/vit4j
"$v4j" devices | tee "$out/devices.txt"

stamp "1. standalone CUDA kernel checks"
if command -v nvcc >/dev/null; then
  pids=()
  for f in linear patch_embed layernorm attention elementwise epilogue; do
    ( nvcc -DVIT4J_STANDALONE -std=c++17 -O3 -arch=sm_90 "kernels/cuda/$f.cu" -o "$out/$f" > "$out/$f.build.txt" 2>&1 ) &
    pids+=($!)
  done
  # mma.cuh's wrappers first, as the real instructions and as the fallback on the GPU: the tensor-core
  # GEMM (linear_v3_*) rests on their fragment layouts
  for v in ptx fallback; do
    d=""; [ "$v" = fallback ] && d=-DVIT4J_MMA_FALLBACK
    ( nvcc -DVIT4J_STANDALONE $d -std=c++17 -O3 -arch=sm_90 -Ikernels/cuda kernels/cuda/tests/mma_test.cu \
        -o "$out/mma_$v" > "$out/mma_$v.build.txt" 2>&1 ) &
    pids+=($!)
  done
  wait "${pids[@]}"  # (a bare wait would also wait for the log's tee)
  for f in mma_ptx mma_fallback linear patch_embed layernorm attention elementwise epilogue; do
    if [ -x "$out/$f" ] && timeout 120 "$out/$f" > "$out/$f.txt" 2>&1; then
      summary+=("kernel $f: PASS ($(grep -c -i 'ok\|pass' "$out/$f.txt") checks)"); tail -3 "$out/$f.txt"
    else
      summary+=("kernel $f: FAIL (see $f.txt / $f.build.txt)"); tail -20 "$out/$f.txt" "$out/$f.build.txt" 2>/dev/null
    fi
  done
else
  summary+=("standalone kernels: not run (no nvcc)")
fi

stamp "2. JUnit suite on the bundled runtime (CUDA required)"
if VIT4J_REQUIRE_CUDA=1 timeout 240 "$dist/vit4j/bin/vit4j-test" --reports-dir="$out/junit" > "$out/junit.txt" 2>&1; then
  summary+=("junit: PASS $(grep -E 'tests successful' "$out/junit.txt" | tr -s ' []' ' ')")
else
  summary+=("junit: FAIL $(grep -E 'tests (successful|failed)' "$out/junit.txt" | tr -s ' []' ' ' | tr '\n' ';')")
fi
tail -15 "$out/junit.txt"

stamp "3-4. encoder benchmark, and PyTorch on the same weights"
have_torch=0; python3 -c "import torch; assert torch.cuda.is_available()" 2>/dev/null && have_torch=1
for model in vit-s16 vit-b16; do
  wdir=$out/$model; mkdir -p "$wdir"
  for batch in 1 64 256; do
    if [ $have_torch = 1 ]; then
      timeout 120 python3 bench/peers/torch_vit_cpu.py --device cuda --model $model --batch $batch --iterations 20 \
          --warmup 3 --export "$wdir/b$batch" --logits "$wdir/b$batch/torch-logits.safetensors" \
          --json "$wdir/b$batch/torch.json" | tee -a "$out/torch.txt"
      weights=(--weights "$wdir/b$batch/model.safetensors" --input "$wdir/b$batch/input.safetensors")
    else
      weights=(--model $model)
    fi
    if [ $have_torch = 1 ] && [ $batch = 64 ]; then  # torch.compile too, where it counts most
      timeout 150 python3 bench/peers/torch_vit_cpu.py --device cuda --compile --model $model --batch $batch \
          --iterations 20 --warmup 3 --json "$wdir/b$batch/torch-compile.json" | tee -a "$out/torch.txt"
    fi
    timeout 150 "$v4j" bench --backend cuda "${weights[@]}" --batch $batch --iterations 20 --warmup 3 \
        --profile-passes $([ $batch = 64 ] && echo 1 || echo 0) --json "$wdir/b$batch/vit4j.json" \
        --logits "$wdir/b$batch/vit4j-logits.safetensors" | tee -a "$out/vit4j-bench.txt"
  done
done
# Issue 14: what a pass that returns every block's attention probabilities costs (attention_probs per op,
# with against without, alternating).
timeout 150 "$v4j" bench --backend cuda --model vit-b16 --batch 8 --iterations 10 --warmup 2 --attentions \
    --profile-passes 1 --json "$out/vit4j-attentions.json" | tee "$out/vit4j-attentions.txt"
if [ $have_torch = 1 ]; then
  python3 - "$out" <<'PY' | tee "$out/table.md"
import json, os, sys
import numpy as np
sys.path.insert(0, "scripts/python")
import st_io
out = sys.argv[1]
print("| model | batch | vit4j img/s | torch eager fp32 img/s | ratio | torch.compile img/s | logits rel. L2 | top-1 agree |")
print("|---|---|---|---|---|---|---|---|")
for model in ("vit-s16", "vit-b16"):
    for b in (1, 64, 256):
        d = os.path.join(out, model, f"b{b}")
        try:
            v = json.load(open(os.path.join(d, "vit4j.json"))); t = json.load(open(os.path.join(d, "torch.json")))
            a = st_io.load(os.path.join(d, "torch-logits.safetensors"))["logits"].astype(np.float64)
            c = st_io.load(os.path.join(d, "vit4j-logits.safetensors"))["logits"].astype(np.float64)
            err = np.linalg.norm(a - c) / np.linalg.norm(a)
            agree = int((a.argmax(1) == c.argmax(1)).sum())
            cp = os.path.join(d, "torch-compile.json")
            comp = f"{json.load(open(cp))['images_per_second']:.1f}" if os.path.exists(cp) else "-"
            print(f"| {model} | {b} | {v['images_per_second']:.1f} | {t['images_per_second']:.1f} | "
                  f"{v['images_per_second'] / t['images_per_second']:.2f} | {comp} | {err:.1e} | {agree}/{b} |")
        except Exception as e:  # a missing run is a row that says so
            print(f"| {model} | {b} | - | - | - | - | - | missing: {e} |")
PY
fi

stamp "done"
printf '%s\n' "${summary[@]}" | tee "$out/summary.txt"
