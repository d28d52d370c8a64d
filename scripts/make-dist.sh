#!/usr/bin/env bash
# Builds the self-contained distribution: a jlink Java runtime, the vit4j CLI jar (with the CUDA
# fatbins and OpenCL sources inside), the test jar with its golden files, the JUnit console
# launcher and scripts, for a host with no JDK, no Maven and no network (a GPU box):
#   target/dist/vit4j/{runtime,lib,bin,bench}   and   target/vit4j-dist.tar.gz
#   target/dist/vit4j/bin/vit4j devices          the CLI on the bundled runtime
#   target/dist/vit4j/bin/vit4j-test             every JUnit test on the bundled runtime
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."
out=target/dist/vit4j
rm -rf target/dist && mkdir -p "$out/lib" "$out/bin" "$out/bench"
mvn -q -B -DskipTests package
mvn -q -B dependency:copy -Dartifact=org.junit.platform:junit-platform-console-standalone:1.14.1 \
    -DoutputDirectory="$out/lib"
cp vit4j-cli/target/vit4j.jar "$out/lib/vit4j.jar"
# The integration suite, and vit4j-core's own tests with the golden files they share.
cp vit4j-tests/target/vit4j-tests-*-tests.jar "$out/lib/vit4j-tests.jar"
cp vit4j-core/target/vit4j-core-*-tests.jar "$out/lib/vit4j-core-tests.jar"
# The modules the jars use (jdeps), trimmed of debug data. java.desktop is ImageIO's.
jlink --add-modules java.base,java.desktop,java.logging,java.management,java.sql,jdk.unsupported,jdk.zipfs \
      --strip-debug --strip-native-debug-symbols=objcopy=/usr/bin/objcopy --no-man-pages --no-header-files \
      --compress=2 --output "$out/runtime"
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
exec "$here/runtime/bin/java" -Xmx8g -jar "$here/lib/junit-platform-console-standalone-1.14.1.jar" execute \
    --class-path "$here/lib/vit4j.jar:$here/lib/vit4j-tests.jar:$here/lib/vit4j-core-tests.jar" \
    --scan-class-path "$here/lib/vit4j-tests.jar:$here/lib/vit4j-core-tests.jar" \
    --details=summary --disable-banner --fail-if-no-tests "$@"
SH
chmod +x "$out/bin/"*
cp bench/gpu-check.sh "$out/bench/" 2>/dev/null || true
cp -r bench/peers "$out/bench/" && cp -r scripts/python "$out/bench/python"
tar -C target/dist -czf target/vit4j-dist.tar.gz vit4j
echo "make-dist: $(du -sh "$out" | cut -f1) in $out, $(du -h target/vit4j-dist.tar.gz | cut -f1) as target/vit4j-dist.tar.gz"
