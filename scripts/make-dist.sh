#!/usr/bin/env bash
# Builds the self-contained distribution: a jlink Java runtime, the vit4j CLI jar (with the CUDA
# fatbins and OpenCL sources inside), the test jar with its golden files, the JUnit console
# launcher and scripts, for a host with no JDK, no Maven and no network (a GPU box):
#   target/dist/vit4j/{runtime,lib,bin,bench}   and   target/vit4j-dist.tar.gz
#   target/dist/vit4j/bin/vit4j devices          the CLI on the bundled runtime
#   target/dist/vit4j/bin/vit4j-test             every JUnit test on the bundled runtime
#   scripts/make-dist.sh --golden-from-tree      the same without the golden files (8.5 MB) in the test jar:
#       vit4j-test then reads them from vit4j-core/src/test/resources of the checkout it is run in
#       ($VIT4J_GOLDEN_ROOT overrides). For the GPU machine (bench/gpu-check.sh), which is sent the checkout
#       beside the carried tarball, both within 64 MiB: the golden files would travel twice.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."
golden=jar
case "${1:-}" in
  --golden-from-tree) golden=tree ;;
  "") ;;
  *) echo "make-dist: unknown argument '$1' (expected nothing or --golden-from-tree)" >&2; exit 2 ;;
esac
out=target/dist/vit4j
rm -rf target/dist && mkdir -p "$out/lib" "$out/bin" "$out/bench"
mvn -q -B -DskipTests package
mvn -q -B dependency:copy -Dartifact=org.junit.platform:junit-platform-console-standalone:1.14.1 \
    -DoutputDirectory="$out/lib"
cp vit4j-cli/target/vit4j.jar "$out/lib/vit4j.jar"
# The integration suite, and vit4j-core's own tests with the golden files they share.
cp vit4j-tests/target/vit4j-tests-*-tests.jar "$out/lib/vit4j-tests.jar"
cp vit4j-core/target/vit4j-core-*-tests.jar "$out/lib/vit4j-core-tests.jar"
if [ "$golden" = tree ]; then
  unpacked=$(mktemp -d)
  (cd "$unpacked" && jar xf "$OLDPWD/$out/lib/vit4j-core-tests.jar" && rm -r golden)
  rm "$out/lib/vit4j-core-tests.jar"
  jar --create --no-manifest --file "$out/lib/vit4j-core-tests.jar" -C "$unpacked" .
  rm -rf "$unpacked"
  echo "golden files: not in lib/vit4j-core-tests.jar; vit4j-test reads them from the checkout (make-dist.sh --golden-from-tree)" \
    > "$out/lib/golden-from-tree"
fi
# The modules the jars use, as jdeps reads them now (a list written down once went stale: it lacked
# jdk.management, whose com.sun.management.OperatingSystemMXBean vit4j bench's pass accounting and the
# autotuner's busy-machine check use, so `vit4j bench --profile-passes` died with NoClassDefFoundError in
# the distribution), plus what is only loaded by name, which jdeps cannot see (java.logging, jdk.unsupported,
# jdk.zipfs); trimmed of debug data. java.desktop is ImageIO's. No compiler: ReadmeApiTest is aborted here.
modules=$(jdeps --multi-release 17 --ignore-missing-deps --print-module-deps "$out"/lib/*.jar)
echo "make-dist: runtime modules $modules + java.logging, jdk.unsupported, jdk.zipfs"
jlink --add-modules "$modules,java.logging,jdk.unsupported,jdk.zipfs" \
      --strip-debug --strip-native-debug-symbols=objcopy=/usr/bin/objcopy --no-man-pages --no-header-files \
      --compress=2 --output "$out/runtime"
# The system libraries the runtime's image and font code is linked against (Debian builds its JDK on the
# system's libjpeg, freetype, harfbuzz, lcms2 and what they need), copied beside it into runtime/lib, where
# the runtime's $ORIGIN rpath finds them first: the first GPU host (2026-12-04, H200) lacked libjpeg.so.62 and
# libharfbuzz.so.0, so ImageIO's JPEG reader and the fonts failed there. C and C++ runtimes are everywhere;
# X11's and ALSA's are left out: the runtime runs headless and plays nothing.
for lib in "$out"/runtime/lib/*.so; do ldd "$lib"; done | awk '$3 ~ /^\// {print $3}' | grep -v "^$PWD/" | sort -u \
  | grep -v -E '/(libc|libm|libdl|libpthread|librt|libstdc\+\+|libgcc_s|ld-linux-x86-64)\.so|/lib(X|xcb|asound|bsd|md)' \
  | while read -r f; do cp -L "$f" "$out/runtime/lib/"; echo "make-dist: bundled $(basename "$f")"; done
cat > "$out/bin/vit4j" <<'SH'
#!/bin/sh
here=$(cd "$(dirname "$0")/.." && pwd)
# libjsig: signal chaining, so that PoCL's LLVM cannot take the JVM's SIGSEGV handler (README).
export LD_PRELOAD="$here/runtime/lib/libjsig.so${LD_PRELOAD:+:$LD_PRELOAD}"
exec "$here/runtime/bin/java" ${VIT4J_JAVA_OPTS:-} -jar "$here/lib/vit4j.jar" "$@"
SH
cat > "$out/bin/vit4j-test" <<'SH'
#!/bin/sh
# Every vit4j test on the bundled runtime; extra arguments go to the JUnit console launcher.
here=$(cd "$(dirname "$0")/.." && pwd)
export LD_PRELOAD="$here/runtime/lib/libjsig.so${LD_PRELOAD:+:$LD_PRELOAD}"
cp="$here/lib/vit4j.jar:$here/lib/vit4j-tests.jar:$here/lib/vit4j-core-tests.jar"
if [ -f "$here/lib/golden-from-tree" ]; then
  # built by make-dist.sh --golden-from-tree: the golden files come from a checkout's test resources
  root=${VIT4J_GOLDEN_ROOT:-$PWD/vit4j-core/src/test/resources}
  if [ ! -d "$root/golden" ]; then
    echo "vit4j-test: this distribution has no golden files (make-dist.sh --golden-from-tree) and $root/golden" \
         "does not exist: run it from the root of a vit4j checkout or set VIT4J_GOLDEN_ROOT" >&2
    exit 2
  fi
  cp="$cp:$root"
fi
# The jars on the JVM's own class path (not the launcher's --class-path): tests that start a child JVM
# hand it java.class.path, which under -jar held the launcher alone (CliTest, TwoPoclDevicesTest failed so).
exec "$here/runtime/bin/java" -Xmx8g -cp "$here/lib/junit-platform-console-standalone-1.14.1.jar:$cp" \
    org.junit.platform.console.ConsoleLauncher execute \
    --scan-class-path "$here/lib/vit4j-tests.jar:$here/lib/vit4j-core-tests.jar" \
    --details=summary --disable-banner --fail-if-no-tests "$@"
SH
chmod +x "$out/bin/"*
cp bench/gpu-check.sh "$out/bench/" 2>/dev/null || true
cp -r bench/peers "$out/bench/" && cp -r scripts/python "$out/bench/python"
tar -C target/dist -czf target/vit4j-dist.tar.gz vit4j
echo "make-dist: $(du -sh "$out" | cut -f1) in $out, $(du -h target/vit4j-dist.tar.gz | cut -f1) as target/vit4j-dist.tar.gz"
# What the GPU machine is sent (device README: tracked and untracked-not-ignored files + carried paths,
# 64 MiB together): the tarball and the checkout.
tree=$(git ls-files -z --cached --others --exclude-standard | xargs -0 stat -c %s 2>/dev/null | awk '{s += $1} END {print s + 0}')
tarball=$(stat -c %s target/vit4j-dist.tar.gz)
mib() { awk -v b="$1" 'BEGIN {printf "%.2f MiB", b / 1048576}'; }
echo "for the GPU machine: tarball $(mib "$tarball") + checkout $(mib "$tree") = $(mib $((tarball + tree))) of 64 MiB"
if [ $((tarball + tree)) -gt $((64 * 1048576)) ]; then
  echo "make-dist: over the 64 MiB the GPU machine is sent$([ "$golden" = jar ] && echo '; --golden-from-tree takes the golden files out of the tarball')" >&2
fi
