#!/usr/bin/env bash
# Coverage-guided fuzzing of vit4j's input readers with Jazzer (a Maven test dependency: nothing to
# install beyond a JDK 17 and Maven; libFuzzer and the agent come in Jazzer's jar).
#
#   scripts/fuzz.sh TARGET DURATION [RESULTS_FILE]
#
#   TARGET    safetensors | config | image | all (one after the other, DURATION each)
#   DURATION  as Jazzer reads it: 30s, 10m, 2h
#   RESULTS   where to append one summary line per target (executions, exec/s, findings);
#             default target/fuzz/summary.txt
#
# Environment: FUZZ_KEEP_GOING=N keeps fuzzing after N-1 distinct findings (default 1: stop at the
# first); FUZZ_OFFLINE=1 runs Maven offline; FUZZ_MAX_EXECS=N stops a target after N executions;
# FUZZ_MVN_ARGS adds Maven arguments.
#
# The property each target checks (org.vit4j.fuzz.FuzzProperty): only Vit4jException and its
# subclasses come out, with a one-line message naming the file; at most 2 s of CPU and a stated
# number of bytes allocated per input; a hang past 10 s is a finding too (libFuzzer's -timeout,
# from the targets' @Timeout). A finding is written to
# vit4j-core/src/test/resources/org/vit4j/fuzz/<Target>FuzzTestInputs/fuzz/crash-<sha1>, where plain
# `mvn test` then runs it as a regression test; the run fails (exit 1). The corpus the fuzzer grows is
# kept in vit4j-core/.cifuzz-corpus/ (not committed), so a second run starts where the first stopped.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

usage() { sed -n '4,11p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -ge 2 ] || usage
target=$1 duration=$2 results=${3:-target/fuzz/summary.txt}
case "$target" in
  safetensors) classes=(SafetensorsFuzzTest) ;;
  config) classes=(ConfigFuzzTest) ;;
  image) classes=(ImageFuzzTest) ;;
  all) classes=(SafetensorsFuzzTest ConfigFuzzTest ImageFuzzTest) ;;
  *) usage ;;
esac
[[ "$duration" =~ ^[0-9]+[smhd]?$ ]] || { echo "fuzz.sh: DURATION '$duration' is not like 30s, 10m, 2h" >&2; exit 2; }

module=vit4j-core # the targets test its readers; its tests run in the checkout's root (surefire's workingDirectory)
mkdir -p target/fuzz "$(dirname "$results")"
mvn_flags=(-B -ntp)
[ "${FUZZ_OFFLINE:-0}" = 1 ] && mvn_flags+=(-o)
jazzer_version=$(sed -n 's|.*<jazzer.version>\(.*\)</jazzer.version>.*|\1|p' pom.xml)
echo "# $(date -u +%Y-%m-%dT%H:%MZ) scripts/fuzz.sh $target $duration: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), Jazzer $jazzer_version, $(java -version 2>&1 | head -1)" >>"$results"
status=0
for cls in "${classes[@]}"; do
  log=target/fuzz/$cls.log
  start=$(date +%s)
  touch target/fuzz/.started
  set +e
  # JAZZER_FUZZ=1: fuzz instead of replaying the inputs (Jazzer attaches its agent to the test JVM
  # itself). JUnit's own timeout is turned off (it would end the whole fuzzing run after 10 s); Jazzer
  # passes the @Timeout to libFuzzer per input instead. Coverage is collected from our code, from
  # Jackson (which parses the safetensors header and config.json) and from the JDK's image readers
  # (com.sun.imageio: the PNG decoder and the Java side of JPEG's; libjpeg is native): with them the
  # image target reached ~3x the edges in the same minute (1010 against 360). Should a logging binding
  # be on the test classpath, its per-input warnings (ImageLoader's) are silenced: they would fill the log.
  # jazzer.internal.basedir: where Jazzer looks for src/test/resources to write findings into (it would
  # take the working directory, the checkout's root, which has none since the module split).
  JAZZER_FUZZ=1 mvn "${mvn_flags[@]}" test -pl "$module" -Dtest="org.vit4j.fuzz.$cls" \
    -Djazzer.internal.basedir="$PWD/$module" \
    -Dsurefire.failIfNoSpecifiedTests=false -Djunit.jupiter.execution.timeout.mode=disabled \
    -Djazzer.instrument='org.vit4j.**,com.fasterxml.jackson.**,com.sun.imageio.**' \
    -Djazzer.max_duration="$duration" -Djazzer.keep_going="${FUZZ_KEEP_GOING:-1}" \
    ${FUZZ_MAX_EXECS:+-Djazzer.max_executions=$FUZZ_MAX_EXECS} \
    -Djazzer.reproducer_path=target/fuzz -Dorg.slf4j.simpleLogger.defaultLogLevel=error ${FUZZ_MVN_ARGS:-} >"$log" 2>&1
  rc=$?
  set -e
  secs=$(( $(date +%s) - start ))
  # libFuzzer's last status line ("#N DONE cov: ... exec/s: R") and its closing "Done N runs in S second(s)".
  done_line=$(grep -aE '^Done [0-9]+ runs in [0-9]+ second' "$log" | tail -1 || true)
  runs=$(sed -E 's/^Done ([0-9]+) runs in ([0-9]+) second.*/\1/' <<<"$done_line")
  fuzz_secs=$(sed -E 's/^Done ([0-9]+) runs in ([0-9]+) second.*/\2/' <<<"$done_line")
  last=$(grep -aE '^#[0-9]+' "$log" | tail -1 || true)
  cov=$(grep -aoE 'cov: [0-9]+' <<<"$last" | tail -1 | cut -d' ' -f2 || true)
  corpus=$(grep -aoE 'corp: [0-9]+/[0-9]+[a-zA-Z]*' <<<"$last" | tail -1 | cut -d' ' -f2 || true)
  if [ -z "$runs" ]; then # stopped early (a finding): the last status line has the count
    runs=$(grep -aoE '^#[0-9]+' <<<"$last" | tr -d '#' || true)
  fi
  rate=""
  [ -n "$runs" ] && [ -n "$fuzz_secs" ] && [ "$fuzz_secs" -gt 0 ] && rate=$(( runs / fuzz_secs ))
  findings=$(grep -acE '^== Java Exception:|ERROR: libFuzzer: (timeout|out-of-memory|deadly signal)' "$log" || true)
  tests=$(grep -aE 'Tests run: [0-9]+, Failures' "$log" | tail -1 | sed 's/^\[[A-Z]*\] //' || true)
  line="$(date -u +%Y-%m-%dT%H:%MZ) $cls duration=$duration wall=${secs}s executions=${runs:-?} fuzz_seconds=${fuzz_secs:-?} exec/s=${rate:-?} cov=${cov:-?} corpus=${corpus:-?} findings=$findings mvn_rc=$rc"
  echo "$line" | tee -a "$results"
  if [ "$rc" -ne 0 ] || [ "$findings" -ne 0 ]; then
    status=1
    echo "fuzz.sh: $cls: ${tests:-no test summary}; log: $log" >&2
    grep -aE '^== Java Exception:|^Caused by|crash-[0-9a-f]{40}|ERROR: libFuzzer' "$log" | head -20 >&2 || true
    # The inputs, so that a finding in a throw-away checkout (CI) can be recreated: base64 -d > FILE.
    find "$module/src/test/resources/org/vit4j/fuzz/${cls}Inputs" -type f -newer target/fuzz/.started 2>/dev/null |
      while read -r f; do echo "fuzz.sh: finding input $f (base64):" >&2; base64 -w0 "$f" >&2; echo >&2; done
  fi
done
exit $status
