#!/usr/bin/env bash
# Does PoCL's LLVM break a plain JVM (no LD_PRELOAD of libjsig)? README, "OpenCL on PoCL"; issue 12.
# Each try is a fresh JVM running bench/peers/SignalStress.java for SECONDS: 2 threads building and
# running never-seen kernels on PoCL, 2 Java threads allocating (young GCs every few ms on a 64 MB
# heap) and one thread taking a safepoint per millisecond. Tries alternate between a plain JVM and
# one started with LD_PRELOAD=$JAVA_HOME/lib/libjsig.so, so both see the same machine load.
# Counts per setting: JVMs that died (exit status, signal, hs_err file), kernels built and builds
# that failed. Then, where vit4j-cli/target/vit4j.jar is built, vit4j itself in a busy JVM
# (bench/peers/BusyJvmOpenCl.java: 2 allocating threads while the main thread opens the OpenCL
# backend 5 times and classifies the digit samples): JVMs that died, rounds that failed, and the
# builds vit4j retried because LLVM's handler had deleted the compiler's temporary file.
# Needs a JDK 17, PoCL (pocl-opencl-icd) and JOCL (vit4j-cli/target/vit4j.jar, or Maven's copy).
#   bench/peers/pocl_signal_stress.sh [TRIES_PER_SETTING=200] [SECONDS=2] [VIT4J_TRIES_PER_SETTING=40]
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.."
tries=${1:-200}
seconds=${2:-2}
vit4j_tries=${3:-40}
jocl=vit4j-cli/target/vit4j.jar
[ -f "$jocl" ] || jocl=$(ls ~/.m2/repository/org/jocl/jocl/*/jocl-*.jar | grep -v sources | tail -1)
java_home=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")
jsig="$java_home/lib/libjsig.so"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
javac -nowarn -d "$dir/classes" -cp "$jocl" bench/peers/SignalStress.java
export POCL_CACHE_DIR="$dir/pocl-cache" # a private kernel cache; every source is new anyway
declare -A runs crashes builds failed signals hserr firstfail
start=$(date +%s)
for ((i = 1; i <= tries; i++)); do
  for setting in plain libjsig; do
    preload=""
    [ "$setting" = libjsig ] && preload="$jsig"
    set +e
    out=$(LD_PRELOAD="$preload" timeout 120 java -Xmx64m -XX:ErrorFile="$dir/hs_err_%p.log" \
      -cp "$dir/classes:$jocl" SignalStress "$seconds" 2 2 2>"$dir/stderr")
    rc=$?
    set -e
    runs[$setting]=$((${runs[$setting]:-0} + 1))
    line=$(grep '^ok ' <<<"$out" || true)
    if [ "$rc" -ne 0 ] || [ -z "$line" ]; then
      crashes[$setting]=$((${crashes[$setting]:-0} + 1))
      what="exit $rc"
      [ "$rc" -gt 128 ] && what="$what (signal $((rc - 128)))"
      if ls "$dir"/hs_err_*.log >/dev/null 2>&1; then
        hserr[$setting]=$((${hserr[$setting]:-0} + 1))
        what="$what, hs_err: $(grep -m1 -E '^# +(SIG|Internal|Problematic)' "$dir"/hs_err_*.log | tr -s ' ' | head -c 120)"
        mkdir -p "$dir/kept"; mv "$dir"/hs_err_*.log "$dir/kept/" || true
      fi
      echo "try $i $setting: JVM died: $what; stderr: $(grep -v -e '^1 error generated' -e '^$' "$dir/stderr" | head -2 | tr '\n' ' ' | head -c 200)"
      signals[$setting]="${signals[$setting]:-}${signals[$setting]:+, }$what"
    else
      b=$(sed -E 's/.*builds=([0-9]+) failed-builds=([0-9]+).*/\1/' <<<"$line")
      f=$(sed -E 's/.*builds=([0-9]+) failed-builds=([0-9]+).*/\2/' <<<"$line")
      builds[$setting]=$((${builds[$setting]:-0} + b))
      failed[$setting]=$((${failed[$setting]:-0} + f))
      if [ "$f" -gt 0 ] && [ -z "${firstfail[$setting]:-}" ]; then
        firstfail[$setting]=$(sed -E 's/.*first-failure: //' <<<"$line" | head -c 200)
      fi
    fi
  done
done
end=$(date +%s)
[ "$tries" -gt 0 ] && echo "# $(date -u +%F) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores;" \
  "$(java -version 2>&1 | head -1); $(dpkg-query -W -f '${Package} ${Version}' libpocl2 2>/dev/null || echo PoCL);" \
  "load average $(cut -d' ' -f1-3 /proc/loadavg); each try a fresh JVM, ${seconds} s, 2 build threads + 2 allocating threads + a safepoint per ms; $((end - start)) s in all"
for setting in plain libjsig; do
  [ "$tries" -gt 0 ] || break
  b=${builds[$setting]:-0}; f=${failed[$setting]:-0}
  echo "$setting: ${runs[$setting]:-0} tries, ${crashes[$setting]:-0} JVMs died (${hserr[$setting]:-0} with an hs_err file)," \
    "kernel builds: $b succeeded, $f failed ($(awk -v b="$b" -v f="$f" 'BEGIN { if (b + f) printf "%.1f%%", 100 * f / (b + f); else print "-" }'))"
  if [ -n "${firstfail[$setting]:-}" ]; then echo "  first failed build: ${firstfail[$setting]}"; fi
  if [ -n "${signals[$setting]:-}" ]; then echo "  deaths: ${signals[$setting]}"; fi
done

[ -f vit4j-cli/target/vit4j.jar ] && [ "$vit4j_tries" -gt 0 ] || exit 0
javac -nowarn -d "$dir/vit4j-classes" -cp vit4j-cli/target/vit4j.jar bench/peers/BusyJvmOpenCl.java
declare -A vruns vdeaths vrounds vfailed vretries vwhat
start=$(date +%s)
for ((i = 1; i <= vit4j_tries; i++)); do
  for setting in plain libjsig; do
    preload=""
    [ "$setting" = libjsig ] && preload="$jsig"
    set +e
    out=$(LD_PRELOAD="$preload" timeout 300 java -Xmx128m -XX:ErrorFile="$dir/hs_err_%p.log" \
      -Dorg.slf4j.simpleLogger.log.org.vit4j.backend.opencl.ClRuntime=debug \
      -cp "$dir/vit4j-classes:vit4j-cli/target/vit4j.jar" BusyJvmOpenCl 5 2>"$dir/stderr")
    rc=$?
    set -e
    vruns[$setting]=$((${vruns[$setting]:-0} + 1))
    vretries[$setting]=$((${vretries[$setting]:-0} + $(grep -c 'temporary file deleted by LLVM' "$dir/stderr" || true)))
    line=$(grep '^ok ' <<<"$out" || true)
    if [ "$rc" -ne 0 ] || [ -z "$line" ]; then
      vdeaths[$setting]=$((${vdeaths[$setting]:-0} + 1))
      what="exit $rc"
      [ "$rc" -gt 128 ] && what="$what (signal $((rc - 128)))"
      ls "$dir"/hs_err_*.log >/dev/null 2>&1 && { what="$what, hs_err"; rm -f "$dir"/hs_err_*.log; }
      vwhat[$setting]="${vwhat[$setting]:-}${vwhat[$setting]:+, }$what"
    else
      vrounds[$setting]=$((${vrounds[$setting]:-0} + 5))
      vfailed[$setting]=$((${vfailed[$setting]:-0} + $(sed -E 's/.*failed=([0-9]+).*/\1/' <<<"$line")))
    fi
  done
done
end=$(date +%s)
echo "# $(date -u +%F) vit4j in a busy JVM, load average $(cut -d' ' -f1-3 /proc/loadavg): each try a fresh JVM, 5 rounds of open OpenCL + classify 10 digits, 2 allocating threads; $((end - start)) s in all"
for setting in plain libjsig; do
  echo "$setting: ${vruns[$setting]:-0} tries, ${vdeaths[$setting]:-0} JVMs died, rounds: ${vrounds[$setting]:-0} run," \
    "${vfailed[$setting]:-0} failed; builds retried after LLVM deleted their temporary file: ${vretries[$setting]:-0}"
  if [ -n "${vwhat[$setting]:-}" ]; then echo "  deaths: ${vwhat[$setting]}"; fi
done
