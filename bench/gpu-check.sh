#!/usr/bin/env bash
# vit4j on an NVIDIA GPU host with no JDK, no Maven and no network, in one run under 9 minutes:
#   1. parity: each CUDA kernel file alone against its CPU reference (kernels/cuda/*.cu built standalone by
#      nvcc for sm_90a; linear: versions 3, 4 and 4 with TMA loads, linear_v4_tma_*, maps from the driver's
#      cuTensorMapEncodeTiled), mma.cuh's and tma.cuh's wrappers as the instructions and as their fallbacks, then every JUnit
#      test on the bundled runtime with CUDA required (fp32, bf16 and fp16 kernel parity on odd shapes,
#      golden encoder, graphs; on an H100/H200 the bf16/fp16 linears run linear_v4_tma there);
#   2. half precision (issue 13): ViT-B/16 bf16 at batch 256 and 1, vit4j (own GEMM, then --gemm cublas)
#      against PyTorch bf16 eager and torch.compile on the same weights and input; cuBLAS (through torch) at
#      the shapes of the four linears and the device's bf16 matmul peak; vit4j's per-op table;
#   3. fp32 (issue 4): ViT-S/16 and ViT-B/16 at batch 1, 64, 256 against PyTorch fp32 (TF32 off), and the
#      attention probabilities' cost (issue 14);
# then the tables. Each step is skipped, saying so, when less time is left than it needs (GPU_CHECK_BUDGET_S,
# default 500 s), so that the logs always come back. Run from the repository root with the distribution
# carried as target/vit4j-dist.tar.gz (`scripts/make-dist.sh --golden-from-tree` builds it: the test jar without
# the golden files, which the machine already has in the checkout it is sent; the script prints what
# the two come to against the 64 MiB limit):
#   bash bench/gpu-check.sh          (work in $WORK, default /tmp/vit4j-gpu-check; results to $OUT)
#   bash bench/gpu-check.sh --prebuild   (here, no GPU needed: step 1a's standalone binaries as
#       target/gpu-prebuilt.tar.xz, 2.6 MB, to be carried with the distribution: the device then runs them
#       instead of spending ~35 s compiling; a prebuilt binary that fails is rebuilt there and run again,
#       so a build from another machine cannot fail a kernel)
# GPU_CHECK_STEPS picks steps by name (default all: parity bf16 fp32 attentions), so that a lease can be
# split into calls: the parity and bf16 steps first, the rest in a second call after what the first found.
# $OUT receives at most 8 files, as the device tool returns no more: gpu-check.log (everything printed),
# summary.txt, tables.md and gpu-check.tar.gz (every log, JSON and per-kernel output of the run).
set -uo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."
prebuilt_tar=target/gpu-prebuilt.tar.xz
standalone=(linear patch_embed layernorm attention elementwise epilogue)
# standalone_build NAME OUTDIR: one kernel file's (kernels/cuda/NAME.cu) or one wrapper test's
# (mma_ptx, mma_fallback, tma_ptx, tma_fallback: kernels/cuda/tests/{mma,tma}_test.cu as the PTX
# instructions or as their fallbacks) standalone check, built for sm_90a; the build's output to NAME.build.txt.
standalone_build() {
  local name=$1 dir=$2 src="kernels/cuda/$1.cu" d=()
  case $name in
    *_ptx) src="kernels/cuda/tests/${name%_ptx}_test.cu" ;;
    *_fallback) src="kernels/cuda/tests/${name%_fallback}_test.cu"; d=(-DVIT4J_MMA_FALLBACK) ;;
  esac
  nvcc -DVIT4J_STANDALONE "${d[@]}" -std=c++17 -O3 -arch=sm_90a -Ikernels/cuda "$src" -o "$dir/$name" \
      > "$dir/$name.build.txt" 2>&1
}
checks=(mma_ptx mma_fallback tma_ptx tma_fallback "${standalone[@]}")
if [ "${1:-}" = --prebuild ]; then
  pre=$(mktemp -d)/gpu-prebuilt && mkdir -p "$pre"
  for f in "${checks[@]}"; do standalone_build "$f" "$pre" & done
  wait
  for f in "${checks[@]}"; do
    [ -x "$pre/$f" ] || { echo "prebuild: $f failed:"; cat "$pre/$f.build.txt"; exit 1; }
  done
  mkdir -p target && tar -C "$(dirname "$pre")" -cJf "$prebuilt_tar" gpu-prebuilt && rm -r "$(dirname "$pre")"
  ls -la "$prebuilt_tar"; exit
fi
steps=" ${GPU_CHECK_STEPS:-parity bf16 fp32 attentions} "
work=${WORK:-/tmp/vit4j-gpu-check}
results=${OUT:-$work/out}
rm -rf "$work" && mkdir -p "$work" "$results"
log="$results/gpu-check.log"
exec > >(tee "$log") 2>&1
start=$(date +%s)
deadline=$(( start + ${GPU_CHECK_BUDGET_S:-500} ))
stamp() { echo "== $(( $(date +%s) - start ))s: $*"; }
summary=()
# budget SECONDS WHAT STEP: true if STEP is one of GPU_CHECK_STEPS and SECONDS are left before the deadline;
# else records WHAT as skipped (or only says so where the step was not asked for).
budget() {
  case "$steps" in *" $3 "*) ;; *) echo "not asked: $2 (GPU_CHECK_STEPS=${steps# })"; return 1 ;; esac
  local left=$(( deadline - $(date +%s) ))
  if [ "$left" -ge "$1" ]; then return 0; fi
  summary+=("$2: SKIPPED (${left}s left of the budget, needs $1 s)"); echo "skipped: $2 (${left}s left)"; return 1
}
finish() {
  stamp "done"
  # Which GEMM the bf16/fp16 linears ran (issue 13: linear_v4_tma, wgmma with TMA loads, where the driver
  # has tensor maps; linear_v4 with cp.async loads says why not): vit4j bench's "kernels:" lines.
  # (VIT4J_CUDA_TMA=0 runs version 4 with cp.async loads instead, for a comparison or where TMA fails.)
  local gemm; gemm=$(grep -h '^kernels:' "$work"/vit4j-bench.txt 2>/dev/null | sort -u | tr '\n' ';')
  summary+=("GEMM path: ${gemm:-no vit4j bench ran}")
  printf '%s\n' "${summary[@]}" | tee "$work/summary.txt"
  cp "$work/summary.txt" "$results/" 2>/dev/null
  [ -f "$work/tables.md" ] && cp "$work/tables.md" "$results/"
  local binaries=(); for f in "${checks[@]}"; do binaries+=(--exclude="./$f"); done
  tar -C "$work" --exclude='*.safetensors' --exclude=dist --exclude=gpu-prebuilt "${binaries[@]}" \
      -czf "$results/gpu-check.tar.gz" . 2>/dev/null
}
trap finish EXIT

stamp "host"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader || echo "no nvidia-smi"
command -v nvcc >/dev/null && nvcc --version | tail -1
python3 -c "import torch; print('torch', torch.__version__, torch.version.cuda)" 2>/dev/null || echo "no torch"

stamp "distribution"
dist=$work/dist
mkdir -p "$dist"
if [ -f target/vit4j-dist.tar.gz ]; then
  tar -C "$dist" -xzf target/vit4j-dist.tar.gz
elif [ -d target/dist/vit4j ]; then
  cp -r target/dist/vit4j "$dist/"
else
  echo "no distribution: run scripts/make-dist.sh --golden-from-tree and carry target/vit4j-dist.tar.gz"; exit 2
fi
v4j=$dist/vit4j/bin/vit4j
# cuBLAS for --gemm cublas: the host's CUDA libraries, else the ones PyTorch's wheels carry.
cublas_dir=$(python3 -c "import nvidia.cublas, os; print(os.path.join(list(nvidia.cublas.__path__)[0], 'lib'))" 2>/dev/null)
[ -n "$cublas_dir" ] && export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$cublas_dir" && echo "cuBLAS from $cublas_dir"
"$v4j" devices | tee "$work/devices.txt"

stamp "1a. parity: standalone CUDA kernel checks"
# mma.cuh's, wgmma.cuh's and tma.cuh's wrappers first, as the real instructions and as the fallback on
# the GPU: the tensor-core kernels (linear_v4_*: wgmma, sm_90a) rest on their fragment and shared-memory
# layouts, a TMA loader on the copy's swizzle and the mbarrier's phases (tma_test: TMA feeding wgmma)
prebuilt=$work/gpu-prebuilt
[ -f "$prebuilt_tar" ] && tar -C "$work" -xJf "$prebuilt_tar"
if { command -v nvcc >/dev/null || [ -d "$prebuilt" ]; } && budget 60 "standalone kernels" parity; then
  pids=()
  for f in "${checks[@]}"; do
    if [ -x "$prebuilt/$f" ]; then cp "$prebuilt/$f" "$work/$f"; echo "prebuilt $f" > "$work/$f.build.txt"
    else standalone_build "$f" "$work" & pids+=($!); fi
  done
  [ ${#pids[@]} -gt 0 ] && wait "${pids[@]}"  # (a bare wait would also wait for the log's tee)
  for f in "${checks[@]}"; do
    rc=127; [ -x "$work/$f" ] && { timeout 120 "$work/$f" > "$work/$f.txt" 2>&1; rc=$?; }
    if [ $rc != 0 ] && [ -x "$prebuilt/$f" ] && command -v nvcc >/dev/null; then
      echo "$f: the prebuilt binary failed (exit $rc); rebuilt here and run again"
      mv "$work/$f.txt" "$work/$f.prebuilt.txt"; rm -f "$work/$f"
      standalone_build "$f" "$work"
      rc=127; [ -x "$work/$f" ] && { timeout 120 "$work/$f" > "$work/$f.txt" 2>&1; rc=$?; }
    fi
    if [ $rc = 0 ]; then
      summary+=("kernel $f: PASS ($(grep -c -i 'ok\|pass' "$work/$f.txt") checks)"); tail -3 "$work/$f.txt"
    else
      summary+=("kernel $f: FAIL, exit $rc (see $f.txt / $f.build.txt)"); tail -20 "$work/$f.txt" "$work/$f.build.txt" 2>/dev/null
      # tma_test takes a case number: each case in a process of its own, as a fault ends every later launch
      if [ "${f#tma_}" != "$f" ] && [ -x "$work/$f" ]; then
        cases=""
        for n in $(seq 0 40); do
          timeout 60 "$work/$f" "$n" > "$work/$f.case$n.txt" 2>&1; crc=$?
          grep -q "expected 0\.\." "$work/$f.case$n.txt" && { rm "$work/$f.case$n.txt"; break; }
          cases+=" $n:$([ $crc = 0 ] && echo ok || echo FAIL)"
        done
        summary+=("kernel $f, case by case:$cases"); echo "$f case by case:$cases"
      fi
    fi
  done
elif ! command -v nvcc >/dev/null; then
  summary+=("standalone kernels: not run (no nvcc, no $prebuilt_tar)")
fi

stamp "1b. parity: JUnit suite on the bundled runtime (CUDA required)"
if budget 200 "junit" parity; then
  # The device tests on the GPU only (GPU_CHECK_TEST_BACKENDS, default cuda): CI has run the CPU ones (opencl
  # on PoCL, cuda-cpu), which here would take longer than the step's 240 s (the whole suite through the
  # distribution took 2.5 min on a 2-core CI machine without cuda-cpu; cuda-cpu's parity tests are most of CI's time).
  if VIT4J_REQUIRE_CUDA=1 VIT4J_TEST_BACKENDS=${GPU_CHECK_TEST_BACKENDS:-cuda} timeout 240 "$dist/vit4j/bin/vit4j-test" --reports-dir="$work/junit" > "$work/junit.txt" 2>&1; then
    summary+=("junit: PASS $(grep -E 'tests successful' "$work/junit.txt" | tr -s ' []' ' ')")
  else
    summary+=("junit: FAIL $(grep -E 'tests (successful|failed)' "$work/junit.txt" | tr -s ' []' ' ' | tr '\n' ';')")
  fi
  tail -15 "$work/junit.txt"
fi

have_torch=0; python3 -c "import torch; assert torch.cuda.is_available()" 2>/dev/null && have_torch=1
[ $have_torch = 1 ] || summary+=("PyTorch with CUDA: not found; no peers, no bf16 runs, vit4j fp32 on its presets only")
# torch_peer DIR ARGS...: PyTorch on the GPU, appending to torch.txt
torch_peer() { timeout 150 python3 bench/peers/torch_vit_cpu.py --device cuda --iterations 20 --warmup 3 "$@" | tee -a "$work/torch.txt"; }
# vit4j_bench ARGS...: vit4j bench on CUDA (ITERATIONS timed passes, default 20), appending to vit4j-bench.txt
vit4j_bench() { timeout 150 "$v4j" bench --backend cuda --iterations "${ITERATIONS:-20}" --warmup 3 --warmup-seconds 0 "$@" | tee -a "$work/vit4j-bench.txt"; }

stamp "2. half precision: ViT-B/16 bf16 (issue 13)"
h=$work/bf16; mkdir -p "$h"
if [ $have_torch = 1 ] && budget 120 "bf16 b256" bf16; then
  # One export (fp32 weights and input; each side rounds them to bf16 itself) for every bf16 run at b256.
  torch_peer --model vit-b16 --batch 256 --dtype bf16 --export "$h/b256" --logits "$h/b256/torch-bf16-logits.safetensors" \
      --json "$h/b256/torch-bf16.json"
  torch_peer --model vit-b16 --batch 256 --dtype fp32 --logits "$h/b256/torch-fp32-logits.safetensors" \
      --json "$h/b256/torch-fp32.json"
  torch_peer --model vit-b16 --batch 256 --dtype bf16 --compile --json "$h/b256/torch-compile-bf16.json"
  timeout 90 python3 bench/peers/torch_gemm.py --model vit-b16 --batch 256 --dtype bf16 --json "$h/b256/cublas-gemm.json" \
      | tee -a "$work/torch.txt"
  w=(--weights "$h/b256/model.safetensors" --input "$h/b256/input.safetensors")
  vit4j_bench "${w[@]}" --precision bf16 --batch 256 --profile-passes 1 --json "$h/b256/vit4j-bf16.json" \
      --logits "$h/b256/vit4j-bf16-logits.safetensors"
  vit4j_bench "${w[@]}" --precision bf16 --batch 256 --profile-passes 0 --gemm cublas --json "$h/b256/vit4j-bf16-cublas.json"
  # timed as torch's figures are: the input uploaded once, before timing
  vit4j_bench "${w[@]}" --precision bf16 --batch 256 --profile-passes 0 --input-on-device --json "$h/b256/vit4j-bf16-device-input.json"
fi
# The wide TMA tile (VIT4J_CUDA_TILE=wide: 128x128, 4 stages) against the large one on the same b256 pass:
# whether it should become the model's choice for large problems (issue 13's b256 target).
if [ -f "$h/b256/model.safetensors" ] && budget 40 "bf16 b256 on the wide tile (VIT4J_CUDA_TILE=wide)" bf16; then
  VIT4J_CUDA_TILE=wide vit4j_bench --weights "$h/b256/model.safetensors" --input "$h/b256/input.safetensors" \
      --precision bf16 --batch 256 --profile-passes 1 --json "$h/b256/vit4j-bf16-wide-tile.json"
fi
if [ $have_torch = 1 ] && budget 45 "bf16 b1" bf16; then
  torch_peer --model vit-b16 --batch 1 --dtype bf16 --export "$h/b1" --json "$h/b1/torch-bf16.json"
  torch_peer --model vit-b16 --batch 1 --dtype bf16 --compile --json "$h/b1/torch-compile-bf16.json"
  ITERATIONS=200 vit4j_bench --weights "$h/b1/model.safetensors" --input "$h/b1/input.safetensors" --precision bf16 --batch 1 \
      --profile-passes 1 --json "$h/b1/vit4j-bf16.json"
  ITERATIONS=200 vit4j_bench --weights "$h/b1/model.safetensors" --input "$h/b1/input.safetensors" --precision bf16 --batch 1 \
      --profile-passes 0 --input-on-device --json "$h/b1/vit4j-bf16-device-input.json"
  # The tile model's check: the same pass with the large tile forced (at b1 the model picks the small one
  # for the projection and fc2: CudaKernels.GemmTile.pick), per-op times side by side with the run above.
  ITERATIONS=200 VIT4J_CUDA_TILE=large vit4j_bench --weights "$h/b1/model.safetensors" --input "$h/b1/input.safetensors" \
      --precision bf16 --batch 1 --profile-passes 1 --json "$h/b1/vit4j-bf16-large-tile.json"
fi

stamp "3. fp32 encoder benchmark, and PyTorch on the same weights (issue 4)"
for model in vit-b16 vit-s16; do
  wdir=$work/$model; mkdir -p "$wdir"
  for batch in 1 64 256; do
    budget 40 "fp32 $model b$batch" fp32 || continue
    if [ $have_torch = 1 ]; then
      torch_peer --model $model --batch $batch --export "$wdir/b$batch" \
          --logits "$wdir/b$batch/torch-logits.safetensors" --json "$wdir/b$batch/torch.json"
      weights=(--weights "$wdir/b$batch/model.safetensors" --input "$wdir/b$batch/input.safetensors")
    else
      weights=(--model $model)
    fi
    if [ $have_torch = 1 ] && [ $batch = 64 ]; then  # torch.compile too, where it counts most
      torch_peer --compile --model $model --batch $batch --json "$wdir/b$batch/torch-compile.json"
    fi
    vit4j_bench "${weights[@]}" --batch $batch --profile-passes $([ $batch = 64 ] && echo 1 || echo 0) \
        --json "$wdir/b$batch/vit4j.json" --logits "$wdir/b$batch/vit4j-logits.safetensors"
  done
done
# Issue 14: what a pass that returns every block's attention probabilities costs (attention_probs per op,
# with against without, alternating).
if budget 30 "attentions" attentions; then
  timeout 60 "$v4j" bench --backend cuda --model vit-b16 --batch 8 --iterations 10 --warmup 2 --warmup-seconds 0 --attentions \
      --profile-passes 1 --json "$work/vit4j-attentions.json" | tee "$work/vit4j-attentions.txt"
fi

# Last, with what budget is left: the Hopper GEMM with cp.async loads instead of TMA (VIT4J_CUDA_TMA=0,
# linear_v4_* against linear_v4_tma_*) on the same b256 bf16 pass, for the per-op table side by side.
if [ -f "$h/b256/model.safetensors" ] && budget 40 "bf16 b256 with cp.async loads (VIT4J_CUDA_TMA=0)" bf16; then
  VIT4J_CUDA_TMA=0 vit4j_bench --weights "$h/b256/model.safetensors" --input "$h/b256/input.safetensors" \
      --precision bf16 --batch 256 --profile-passes 1 --json "$h/b256/vit4j-bf16-cp-async.json"
fi

if [ $have_torch = 1 ]; then
  python3 bench/gpu_check_tables.py "$work" | tee "$work/tables.md"
fi
