#!/usr/bin/env bash
# vit4j against its peers on this CPU, side by side in one run: the same ViT (random weights made by torch
# with a fixed seed, exported to safetensors for vit4j and to ONNX for onnxruntime), the same input batch,
# the same thread count, in
#   torch    PyTorch eager on the CPU (bench/peers/torch_vit_cpu.py; Debian's python3-torch)
#   ort      ONNX Runtime's Java API on the CPU (bench/peers/OrtVit.java, onnxruntime 1.20.0 from Maven
#            Central: the figure a JVM user gets today)
#   vit4j    ./vit4j bench --backend BACKEND (default opencl)
# They run alternately (torch ort vit4j, torch ort vit4j: $ROUNDS rounds) so machine drift hits all; each
# run is --warmup W --iterations 10 in its own process, W the same for every peer: enough passes for about
# 2 s at 150 GFLOP/s, at least 2 and at most 50 (50 for ViT-Ti b1, 33 ViT-S b1, 9 ViT-B b1, 5 ViT-S b8,
# 3 ViT-L b1, 2 ViT-B b8; WARMUP=n sets it). Two passes were the rule until 2026-12-03: for a small model
# at batch 1 that measured the JVM's JIT warming up (ViT-Ti b1: vit4j 26.2 ms after 2 passes, 18.4 after 30),
# not the steady state a service runs in. Then one table: median ms per batch (best of the
# rounds), img/s, vit4j's speed relative to each peer, and each peer's logits against vit4j's (relative L2
# difference, top-1 agreement).
# PAIRS=n then also runs vit4j and ORT in one JVM, n pairs of short blocks in random order
# (bench/peers/OrtPaired.java): the median of the pairs' time ratios, which the host's drift between one
# process and the next does not move; printed under the table and kept in the JSON (paired_vs_ort).
#   bench/compare.sh [MODEL] [BATCH] [BACKEND]     (defaults: vit-s16 8 opencl; THREADS=2, ROUNDS=2, PAIRS=0)
# Writes everything it prints to bench/results/<date>-compare-<model>-b<batch>[-<TAG>].txt and a JSON beside it.
# Needs Debian's python3-torch, python3-torchvision, libopenblas0-openmp (installed if missing), a JDK 17
# and Maven (for vit4j's jar and onnxruntime's). The `onnx` Python package is not needed.
set -euo pipefail
# Signal chaining: PoCL's LLVM installs its own SIGSEGV handler while it compiles a kernel, and a
# JVM safepoint poll (a deliberate SIGSEGV) landing meanwhile would kill the JVM. libjsig keeps the
# JVM's handler first.
java_home=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")
[ -f "$java_home/lib/libjsig.so" ] && export LD_PRELOAD="$java_home/lib/libjsig.so${LD_PRELOAD:+:$LD_PRELOAD}"
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."
model=${1:-vit-s16}; batch=${2:-8}; backend=${3:-opencl}; threads=${THREADS:-2}; rounds=${ROUNDS:-2}
iterations=${ITERATIONS:-10}
# GFLOP per image of the ViT/16 sizes torch_vit_cpu.py builds (2 x MACs at 224 px)
case "$model" in vit-ti16) gflop=2.51 ;; vit-s16) gflop=9.20 ;; vit-b16) gflop=35.13 ;; vit-l16) gflop=123.1 ;; *) gflop=0 ;; esac
warmup=${WARMUP:-$(awk -v g="$gflop" -v b="$batch" 'BEGIN { n = g > 0 ? int(2 / (g * b / 150) + 0.999) : 2;
  print (n < 2 ? 2 : (n > 50 ? 50 : n)) }')}
py=/usr/bin/python3
# OpenBLAS's OpenMP build shares torch's thread pool; Debian's default pthread build fights it (6x slower here).
export LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
if ! $py -c "import torch, torchvision" 2>/dev/null; then
  apt-get install -y -qq python3-torch python3-torchvision libopenblas0-openmp >/dev/null
fi
ort_version=1.20.0
ort_jar=${ORT_JAR:-$HOME/.m2/repository/com/microsoft/onnxruntime/onnxruntime/$ort_version/onnxruntime-$ort_version.jar}
if [ ! -f "$ort_jar" ]; then
  mvn -q -B dependency:get -Dartifact=com.microsoft.onnxruntime:onnxruntime:$ort_version >&2
fi
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
out=bench/results/$(date -u +%Y-%m-%d)-compare-$model-b$batch
[ "$backend" = opencl ] || out=$out-$backend
[ -z "${TAG:-}" ] || out=$out-$TAG # TAG=quiet etc.: a second run of the day keeps the first one's file
mkdir -p bench/results
# vit4j's jar: built now if the sources changed (outside the timed part), then copied so that every round
# runs the same jar even if someone edits the sources meanwhile.
./vit4j devices >/dev/null 2>"$work/build.log" || { cat "$work/build.log" >&2; exit 1; }
cp vit4j-cli/target/vit4j.jar "$work/vit4j.jar"
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
# idle share and the processes above 5% over half a second (others' work on this shared machine)
cpu_now() {
  top -b -n2 -d0.5 -w 200 | awk '/^top -/{n++} n==2 && /^%Cpu/{sub(/ id,.*/, ""); sub(/.*,/, ""); printf "%s%% idle", $0}
      n==2 && $1 ~ /^[0-9]+$/ && $9+0 >= 5 {printf "; %s %s%%", $12, $9}'
}
{
  echo "# vit4j vs peers on CPU: $model, batch $batch, $threads threads, vit4j backend $backend; $rounds rounds of" \
       "torch, ort, vit4j (each: $warmup warm-up + $iterations timed passes, own process)"
  echo "# host: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(date -u +%FT%TZ)"
  echo "# vit4j: $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- src 2>/dev/null || echo ' + uncommitted changes in src/'); java $(java -version 2>&1 | head -1 | cut -d'"' -f2); onnxruntime $ort_version (Java)"
  echo "# load average at start: $(loadavg) (1/5/15 min; the machine is shared, other work may be running)"
  echo "# CPU at start (top over 0.5 s): $(cpu_now)"
  t0=$(date +%s)
  $py bench/peers/torch_vit_cpu.py --model "$model" --batch "$batch" --threads "$threads" --export "$work" \
      --iterations 1 --warmup 0 >/dev/null
  $py bench/peers/export_onnx.py --model "$model" --batch "$batch" --out "$work/model.onnx"
  echo "# setup (export safetensors + ONNX): $(( $(date +%s) - t0 )) s"
  for round in $(seq 1 "$rounds"); do
    echo "## round $round (load average $(loadavg))"
    $py bench/peers/torch_vit_cpu.py --model "$model" --batch "$batch" --threads "$threads" \
        --warmup "$warmup" --iterations "$iterations" \
        --logits "$work/torch-logits.safetensors" --json "$work/torch-$round.json"
    java -cp "$ort_jar" bench/peers/OrtVit.java --model "$work/model.onnx" --input "$work/input.safetensors" \
        --threads "$threads" --warmup "$warmup" --iterations "$iterations" \
        --logits "$work/ort-logits.safetensors" --json "$work/ort-$round.json"
    java ${VIT4J_JAVA_OPTS:-} -jar "$work/vit4j.jar" bench --backend "$backend" --weights "$work/model.safetensors" \
        --input "$work/input.safetensors" --warmup "$warmup" --warmup-seconds 0 --iterations "$iterations" --profile-passes 0 \
        --logits "$work/vit4j-logits.safetensors" --json "$work/vit4j-$round.json"
  done
  if [ "${PAIRS:-0}" -gt 0 ]; then
    # the same two runtimes in one JVM, block by block (bench/peers/OrtPaired.java): a ratio the host's drift
    # from one minute to the next does not move
    echo "## paired: vit4j and ORT in one JVM, $PAIRS pairs of blocks (load average $(loadavg))"
    java -cp "$work/vit4j.jar:$ort_jar" bench/peers/OrtPaired.java --label "$model" --backend "$backend" --weights "$work/model.safetensors" \
        --model "$work/model.onnx" --input "$work/input.safetensors" --threads "$threads" --pairs "$PAIRS" \
        --warmup "$warmup" --json "$work/paired.json" 2>&1 | grep -v ' INFO '
  fi
  echo "## summary (load average at end $(loadavg); CPU now: $(cpu_now); $(( $(date +%s) - t0 )) s in all)"
  $py - "$work" "$rounds" "$out.json" "$model" "$threads" "$(loadavg)" <<'PY'
import json, os, sys, time
import numpy as np
sys.path.insert(0, "scripts/python")
import st_io
w, rounds, out_json, model, threads, load = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6]
def runs(name):
    return [json.load(open(os.path.join(w, f"{name}-{r}.json"))) for r in range(1, rounds + 1)]
def logits(name):
    return st_io.load(os.path.join(w, f"{name}-logits.safetensors"))["logits"].astype(np.float64)
ref = logits("vit4j")
vit = runs("vit4j")
vit_ms = min(r["encoder_ms"]["median"] for r in vit)
peers = [("torch", runs("torch")), ("ort", runs("ort"))]
rows = []
for key, rs in peers + [("vit4j", vit)]:
    med = [r["encoder_ms"]["median"] if key == "vit4j" else r["median_ms"] for r in rs]
    best = min(med)
    label = f"vit4j {rs[0]['backend']}" if key == "vit4j" else rs[0]["peer"]
    y = logits(key)
    rel = float(np.linalg.norm(y - ref) / np.linalg.norm(ref))
    top1 = int((y.argmax(1) == ref.argmax(1)).sum())
    rows.append({"peer": key, "label": label, "median_ms_per_round": med, "best_median_ms": best,
                 "images_per_second": rs[0]["batch"] / best * 1e3, "vit4j_speedup": best / vit_ms,
                 "rel_l2_vs_vit4j": rel, "top1_agree_vs_vit4j": top1, "images": len(ref)})
print(f"| peer | median ms per batch (best of {rounds}; each round) | img/s | vit4j speed vs peer (>1: vit4j faster) "
      "| logits rel. L2 vs vit4j | same top-1 as vit4j |")
print("|---|---|---|---|---|---|")
for r in rows:
    each = ", ".join(f"{m:.1f}" for m in r["median_ms_per_round"])
    if r["peer"] == "vit4j":
        print(f"| {r['label']} | {r['best_median_ms']:.1f} ({each}) | {r['images_per_second']:.2f} | 1 (itself) | - | - |")
    else:
        print(f"| {r['label']} ({threads} threads) | {r['best_median_ms']:.1f} ({each}) | {r['images_per_second']:.2f} "
              f"| {r['vit4j_speedup']:.2f}x | {r['rel_l2_vs_vit4j']:.2e} | {r['top1_agree_vs_vit4j']}/{r['images']} |")
t, o = logits("torch"), logits("ort")
print(f"(torch vs ort logits: relative L2 {np.linalg.norm(o - t) / np.linalg.norm(t):.2e}, "
      f"same top-1 {int((t.argmax(1) == o.argmax(1)).sum())}/{len(t)})")
bad = [r["peer"] for r in rows if r["peer"] != "vit4j" and (r["rel_l2_vs_vit4j"] > 1e-4 or r["top1_agree_vs_vit4j"] < r["images"])]
print("agreement: " + ("all peers agree with vit4j (relative L2 <= 1e-4, same top-1 for every image)" if not bad
                       else "DISAGREE: " + ", ".join(bad)))
paired_path = os.path.join(w, "paired.json")
paired = json.load(open(paired_path)) if os.path.exists(paired_path) else None
if paired:
    print(f"paired in one JVM (bench/peers/OrtPaired.java, {paired['pairs']} pairs of blocks): vit4j "
          f"{paired['vit4j_median_ms']:.1f} ms, ORT {paired['ort_median_ms']:.1f} ms; vit4j speed vs ORT "
          f"{paired['speedup_median']:.2f}x (quartiles {paired['speedup_q1']:.2f} .. {paired['speedup_q3']:.2f}), "
          f"vit4j faster in {paired['vit4j_faster_pairs']} of {paired['pairs']} pairs")
with open(out_json, "w") as f:
    json.dump({"model": model, "batch": len(ref), "threads": threads, "rounds": rounds,
               "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "load_average_end": load,
               "summary": rows, "paired_vs_ort": paired, "runs": {k: rs for k, rs in peers + [("vit4j", vit)]}}, f, indent=1)
if bad:
    sys.exit(1)
PY
} 2>&1 | tee "$out.txt"
echo "written: $out.txt, $out.json" >&2
