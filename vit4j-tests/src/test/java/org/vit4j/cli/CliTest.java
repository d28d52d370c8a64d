package org.vit4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vit4j.Numerics.assertClose;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vit4j.Golden;
import org.vit4j.HostTensor;
import org.vit4j.io.checkpoint.SafetensorsFile;
import org.vit4j.io.checkpoint.SafetensorsWriter;

/** The CLI as a user meets it: exit status, one-line errors, and `run` as the parity entry point. */
class CliTest {
    @TempDir
    Path dir;

    record Result(int status, String out, String err) {}

    static Result cli(String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int status = Main.execute(args);
            return new Result(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    /** The issue's "done when": a timm-named checkpoint with an HF config.json reproduces PyTorch's logits. */
    @Test
    void runReproducesPyTorchLogits() {
        Path output = dir.resolve("out.safetensors");
        Result r = cli("run", "--weights", Golden.file("vit-odd", "model.safetensors").toString(),
                "--config", Golden.file("vit-odd", "config.json").toString(),
                "--input", Golden.file("vit-odd", "io.safetensors").toString(),
                "--output", output.toString(), "--backend", "cpu");
        assertEquals(0, r.status(), r.err());
        try (SafetensorsFile got = SafetensorsFile.open(output);
                SafetensorsFile want = SafetensorsFile.open(Golden.file("vit-odd", "io.safetensors"))) {
            for (String name : new String[] {"logits", "pre_logits"}) {
                HostTensor g = got.read(name), w = want.read(name);
                assertArrayEquals(w.shape(), g.shape(), name);
                assertClose(g.data(), w.data(), Golden.FP32_TOLERANCE, "vit4j run " + name);
            }
            assertEquals(2, got.names().size(), "exactly logits and pre_logits");
        }
    }

    /** The README's first command: the embedded model on its samples, and its held-out accuracy. */
    @Test
    void classifyWithTheEmbeddedDefaultModel() throws IOException {
        Result r = cli("classify", "--backend", "cpu");
        assertEquals(0, r.status(), r.err());
        for (int digit = 0; digit <= 9; digit++) {
            assertTrue(r.out().contains("digit-" + digit + ".png: " + digit + " ("), "sample " + digit + ": " + r.out());
        }
        // The accuracy PyTorch measured when training (scripts/python/train_digits.py) on the same 360 digits.
        var config = new com.fasterxml.jackson.databind.ObjectMapper().readTree(
                getClass().getResourceAsStream("/org/vit4j/default-model/config.json"));
        int total = config.get("vit4j_heldout_count").asInt();
        long correct = Math.round(config.get("vit4j_heldout_accuracy_pytorch").asDouble() * total);
        assertTrue(r.out().contains("(" + correct + " of " + total + " test digits)"), r.out());
    }

    @Test
    void runWithoutAnInputTensorIsAOneLineError() {
        Path input = dir.resolve("in.safetensors");
        SafetensorsWriter.write(input, Map.of("images", new HostTensor(new float[] {1}, new int[] {1})), Map.of());
        Result r = cli("run", "--weights", Golden.file("vit-odd", "model.safetensors").toString(),
                "--input", input.toString(), "--output", dir.resolve("o.safetensors").toString(), "--backend", "cpu");
        assertEquals(2, r.status());
        assertOneLineError(r, "in.safetensors", "no tensor named 'input'");
    }

    @Test
    void runWithAnInputOfTheWrongSize() {
        Path input = dir.resolve("in.safetensors");
        SafetensorsWriter.write(input, Map.of("input", new HostTensor(new float[3 * 3 * 29 * 29], new int[] {3, 3, 29, 29})),
                Map.of());
        Result r = cli("run", "--weights", Golden.file("vit-odd", "model.safetensors").toString(),
                "--input", input.toString(), "--output", dir.resolve("o.safetensors").toString(), "--backend", "cpu");
        assertEquals(2, r.status());
        assertOneLineError(r, "input", "[B, 3, 30, 30]", "[3, 3, 29, 29]");
    }

    @Test
    void truncatedWeightsAreAOneLineError() throws IOException {
        byte[] all = Files.readAllBytes(Golden.file("vit-odd", "model.safetensors"));
        Path cut = Files.write(dir.resolve("cut.safetensors"), java.util.Arrays.copyOf(all, all.length / 2));
        Result r = cli("run", "--weights", cut.toString(), "--heads", "3",
                "--input", Golden.file("vit-odd", "io.safetensors").toString(),
                "--output", dir.resolve("o.safetensors").toString(), "--backend", "cpu");
        assertEquals(2, r.status());
        assertOneLineError(r, "cut.safetensors");
    }

    /** A safetensors file with this header (unpadded) and {@code dataBytes} bytes of data. */
    private Path rawCheckpoint(String header, long declaredHeaderLength, int dataBytes) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(8 + h.length + dataBytes).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.putLong(declaredHeaderLength < 0 ? h.length : declaredHeaderLength).put(h);
        return Files.write(dir.resolve("bad.safetensors"), b.array());
    }

    private static String entry(String name, String dtype, String shape, int begin, int end) {
        return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" + begin
                + "," + end + "]}";
    }

    /** Each malformed checkpoint of the issue's list, through the CLI: exit 2 and one line naming the file. */
    @org.junit.jupiter.params.ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.CsvSource(delimiter = '|', value = {
        "header length beyond the file | 4096 | 8 | a | F32 | [2] | 0 | 8 | b | F32 | [2] | 0 | 0",
        "overlapping offsets           | -1   | 12 | a | F32 | [2] | 0 | 8 | b | F32 | [1] | 4 | 8",
        "a gap between tensors         | -1   | 16 | a | F32 | [2] | 0 | 8 | b | F32 | [1] | 12 | 16",
        "offsets past the end          | -1   | 8 | a | F32 | [2] | 0 | 8 | b | F32 | [2] | 8 | 16",
        "shape disagrees with bytes    | -1   | 16 | a | F32 | [3] | 0 | 8 | b | F32 | [2] | 8 | 16",
        "unknown dtype                 | -1   | 16 | a | Q7 | [2] | 0 | 8 | b | F32 | [2] | 8 | 16",
    })
    void malformedCheckpointIsAOneLineError(String what, long headerLength, int data, String n1, String t1, String s1,
            int b1, int e1, String n2, String t2, String s2, int b2, int e2) throws IOException {
        String header = "{" + entry(n1, t1, s1, b1, e1) + "," + entry(n2, t2, s2, b2, e2) + "}";
        Path bad = rawCheckpoint(header, headerLength, data);
        Result r = cli("run", "--weights", bad.toString(), "--heads", "3",
                "--input", Golden.file("vit-odd", "io.safetensors").toString(),
                "--output", dir.resolve("o.safetensors").toString(), "--backend", "cpu");
        assertEquals(2, r.status(), what);
        assertOneLineError(r, "bad.safetensors");
    }

    @Test
    void corruptImageIsAOneLineError() throws IOException {
        Path bad = Files.writeString(dir.resolve("photo.png"), "this is not a png");
        Result r = cli("classify", bad.toString(), "--backend", "cpu",
                "--weights", Golden.file("vit-odd", "model.safetensors").toString());
        assertEquals(2, r.status());
        assertOneLineError(r, "photo.png");
    }

    @Test
    void unknownBackendAndBadOptions() {
        Result r = cli("classify", "--backend", "tpu");
        assertEquals(2, r.status());
        assertOneLineError(r, "unknown backend 'tpu'");
        r = cli("classify", "--backend", "cpu", "--device", "5");
        assertEquals(2, r.status());
        assertOneLineError(r, "backend 'cpu' has no device 5");
        r = cli("classify", "--top", "zero");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("--top"), r.err());
        // A misspelled option: picocli's nearest match (issue 12).
        r = cli("classify", "--precison", "bf16");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("did you mean: --precision"), r.err());
    }

    /** Issue 12: "--device 3" (auto backend) said "unknown backend 'auto'"; it names the device and each backend's reason. */
    @Test
    void autoOnADeviceNoBackendHasSaysSo() {
        Result r = cli("classify", "--device", "99");
        assertEquals(2, r.status());
        assertOneLineError(r, "no backend for auto on device 99", "cpu: no device 99");
        assertTrue(!r.err().contains("unknown backend"), r.err());
    }

    /** Issue 12: --weights naming a directory said "weights file not found". */
    @Test
    void weightsThatAreADirectorySaySo() throws IOException {
        Path weights = Files.createDirectories(dir.resolve("weights-dir"));
        Result r = cli("run", "--weights", weights.toString(), "--input", "in.safetensors", "--output",
                dir.resolve("o.safetensors").toString(), "--backend", "cpu");
        assertEquals(2, r.status());
        assertOneLineError(r, "weights-dir", "directory");
        assertTrue(!r.err().contains("not found"), r.err());
    }

    /**
     * Issue 12: the launcher's first-run build wrote colour escape codes to stderr (Debian's Maven 3.8
     * prints ESC[0m even with -q -B). A fake mvn first on PATH prints such codes and "builds" an empty jar.
     */
    @Test
    void launcherBuildWritesNoEscapeCodes() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isExecutable(Path.of("/bin/bash")), "bash");
        Path launcher = null; // the repository's launcher, from the module's directory or one above it
        for (Path d = Path.of("").toAbsolutePath(); d != null && launcher == null; d = d.getParent()) {
            if (Files.isRegularFile(d.resolve("vit4j")) && Files.isRegularFile(d.resolve("pom.xml"))) launcher = d.resolve("vit4j");
        }
        org.junit.jupiter.api.Assumptions.assumeTrue(launcher != null, "run from a checkout (not the distribution's test jar)");
        Path root = Files.createDirectories(dir.resolve("checkout"));
        Files.copy(launcher, root.resolve("vit4j"));
        root.resolve("vit4j").toFile().setExecutable(true);
        for (String d : new String[] {"vit4j-cli/src/main", "kernels", "native"}) Files.createDirectories(root.resolve(d));
        Files.writeString(root.resolve("pom.xml"), "<project/>");
        Path bin = Files.createDirectories(dir.resolve("bin"));
        Files.writeString(bin.resolve("mvn"), "#!/bin/sh\nprintf '\\033[0m\\033[0m'\nprintf '\\033[1mbuilding\\033[m\\n' >&2\n"
                + "mkdir -p vit4j-cli/target && : > vit4j-cli/target/vit4j.jar\n");
        bin.resolve("mvn").toFile().setExecutable(true);
        ProcessBuilder pb = new ProcessBuilder(root.resolve("vit4j").toString());
        pb.environment().put("PATH", bin + ":" + System.getenv("PATH"));
        // The launcher then runs the empty jar, which java refuses: only the build's output matters here.
        Path out = dir.resolve("l.out"), err = dir.resolve("l.err");
        pb.redirectOutput(out.toFile()).redirectError(err.toFile());
        Process p = pb.start();
        assertTrue(p.waitFor(120, java.util.concurrent.TimeUnit.SECONDS), "launcher finished");
        String e = Files.readString(err), o = Files.readString(out);
        assertTrue(e.contains("building"), "the build's own output still reaches stderr: " + e);
        assertTrue(e.contains("vit4j: building"), e);
        assertTrue(!e.contains("\u001b") && !o.contains("\u001b"), "escape codes: " + e.replace("\u001b", "ESC") + o);
    }

    /** A config that is not JSON says where, without Jackson's "Source: REDACTED" noise (issue 12). */
    @Test
    void aBrokenConfigSaysWhereInOneLine(@org.junit.jupiter.api.io.TempDir Path dir) throws IOException {
        Path cfg = java.nio.file.Files.writeString(dir.resolve("config.json"), "{\n  \"num_attention_heads\": 4,,\n}");
        Result r = cli("run", "--weights", org.vit4j.Golden.file("vit-tiny", "model.safetensors").toString(), "--config",
                cfg.toString(), "--input", "x.safetensors", "--output", dir.resolve("o.safetensors").toString());
        assertEquals(2, r.status());
        assertOneLineError(r, "config.json: cannot read config: not valid JSON at line 2, column");
        assertTrue(!r.err().contains("REDACTED") && !r.err().contains("Source:"), r.err());
    }

    @Test
    void devicesListsEveryBackendWithAReason() {
        Result r = cli("devices");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().matches("(?s)(.*\n)?cpu\\s+available\n.*"), r.out());
        assertTrue(r.out().matches("(?s)(.*\n)?opencl\\s+(available|unavailable: .+).*"), r.out());
        // On a GPU host (bench/gpu-check.sh) cuda is available; elsewhere it says why not.
        boolean gpu = new org.vit4j.backend.cuda.CudaProvider().probe().available();
        assertTrue(r.out().matches("(?s)(.*\n)?cuda\\s+" + (gpu ? "available.*" : "unavailable: .+")), r.out());
        // The CUDA kernels on the CPU: listed as a testing device, available or with the reason it is not.
        assertTrue(r.out().matches("(?s)(.*\n)?cuda-cpu\\s+(available|unavailable: .+) \\(testing only: CUDA kernels "
                + "executed on the CPU, for testing; never chosen by auto\\)\n.*"), r.out());
    }

    @Test
    void noGraphIsAnOptionOfEveryCommandThatRunsAModel() {
        Result r = cli("classify", "--backend", "cpu", "--no-graph");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("digit-3.png: 3 ("), r.out());
        for (String command : new String[] {"classify", "run", "bench"}) {
            Result help = cli(command, "--help");
            assertTrue(help.out().contains("--no-graph"), command + ": " + help.out());
            assertTrue(help.out().contains("cuda-cpu"), command + " --backend lists cuda-cpu: " + help.out());
        }
    }

    /** --gemm and --opencl-tuning travel in the options the backend is opened with, on every command that runs one. */
    @Test
    void backendSettingsAreFlagsPassedToTheBackend() {
        for (String command : new String[] {"classify", "run", "bench"}) {
            Result help = cli(command, "--help");
            assertTrue(help.out().contains("--gemm") && help.out().contains("--opencl-tuning"), command + ": " + help.out());
        }
        Result r = cli("classify", "--backend", "cpu", "--gemm", "mkl");
        assertEquals(2, r.status());
        assertOneLineError(r, "--gemm: unknown GEMM provider 'mkl'; expected vit4j or cublas");
        r = cli("classify", "--backend", "cpu", "--opencl-tuning", "GEMM_VARIANT=three");
        assertEquals(2, r.status());
        assertOneLineError(r, "--opencl-tuning: OpenCL tuning 'GEMM_VARIANT=three' is not NAME=integer");
        // A backend ignores the settings that are not its own.
        r = cli("classify", "--backend", "cpu", "--gemm", "cublas", "--opencl-tuning", "GEMM_VARIANT=1");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("digit-3.png: 3 ("), r.out());
        if (new org.vit4j.backend.opencl.OpenClProvider().probe().available()) {
            // Only the OpenCL backend knows its parameter names: the error shows the value reached it.
            r = cli("classify", "--backend", "opencl", "--opencl-tuning", "GEMM_VARIANT=1,NO_SUCH_TILE=8");
            assertEquals(2, r.status());
            assertOneLineError(r, "unknown parameter 'NO_SUCH_TILE'");
            r = cli("classify", "--backend", "opencl", "--opencl-tuning", "gemm_variant=2");
            assertEquals(0, r.status(), r.err());
            assertTrue(r.out().contains("digit-3.png: 3 ("), r.out());
        }
        if (new org.vit4j.backend.cuda.CudaCpuProvider().probe().available()) {
            // cuda-cpu has no cuBLAS: that it says so shows --gemm reached the CUDA backend.
            r = cli("classify", "--backend", "cuda-cpu", "--gemm", "cublas");
            assertEquals(0, r.status(), r.err());
            assertTrue(r.err().contains("--gemm cublas: cuBLAS needs an NVIDIA GPU"), r.err());
        }
    }

    /**
     * Issue 12: without a loadable libOpenCL, JOCL printed "Could not load libOpenCL.so.1, error ..." and
     * the same for libOpenCL.so to stdout, in the CLI and through {@code Backends.open("auto")}. Now
     * stdout carries only the program's output and stderr one line about OpenCL. A child JVM sees a
     * broken libOpenCL first on LD_LIBRARY_PATH (a copy of libjsig.so whose libc dependency is renamed,
     * so dlopen finds the file and fails on it, for both names JOCL tries, as it would fail with no
     * library at all), since the real one cannot be hidden from a test.
     */
    @Test
    void withoutLibOpenClStdoutIsCleanAndStderrHasOneLine() throws Exception {
        Path libs = brokenLibraries("nocl", "libOpenCL.so.1", "libOpenCL.so");

        Result cli = child(libs, Main.class.getName(), "classify", "--backend", "auto");
        assertEquals(0, cli.status(), cli.err());
        assertTrue(cli.out().lines().allMatch(l -> l.startsWith("digit-") || l.startsWith("model: ")
                || l.startsWith("held-out accuracy: ")), "stdout: " + cli.out());
        assertTrue(cli.out().contains("held-out accuracy: "), cli.out());
        assertEquals(1, cli.err().lines().filter(l -> l.contains("OpenCL")).count(), "stderr: " + cli.err());
        assertTrue(cli.err().contains("libq.so.6"), "the reason dlopen gave: " + cli.err());

        Result api = child(libs, OpenAutoMain.class.getName());
        assertEquals(0, api.status(), api.err());
        assertTrue(api.out().matches("opened [a-z-]+\n"), "stdout: " + api.out());
        assertEquals(1, api.err().lines().filter(l -> l.contains("OpenCL")).count(), "stderr: " + api.err());
    }

    /**
     * Issue 12, signal chaining: a library user's JVM has no launcher to preload libjsig. Opening OpenCL
     * on PoCL there logs one line saying what it risks and what to do; with libjsig, nothing.
     */
    @Test
    void openClOnPoclWithoutLibjsigSaysWhatToDoInOneLine() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(System.getProperty("os.name").startsWith("Linux"), "Linux");
        var probe = new org.vit4j.backend.opencl.OpenClProvider().probe();
        org.junit.jupiter.api.Assumptions.assumeTrue(probe.available()
                && probe.devices().get(0).startsWith("Portable Computing Language"), "PoCL is OpenCL device 0");
        String jsig = Path.of(System.getProperty("java.home"), "lib", "libjsig.so").toString();
        Result plain = child(Map.of("LD_PRELOAD", ""), Main.class.getName(), "classify", "--backend", "opencl");
        assertEquals(0, plain.status(), plain.err());
        assertTrue(plain.out().contains("computed now on opencl"), plain.out());
        java.util.List<String> warnings = plain.err().lines().filter(l -> l.contains("signal chaining")).toList();
        assertEquals(1, warnings.size(), "stderr: " + plain.err());
        assertTrue(warnings.get(0).contains("LD_PRELOAD=" + jsig), warnings.get(0));
        Result chained = child(Map.of("LD_PRELOAD", jsig), Main.class.getName(), "classify", "--backend", "opencl");
        assertEquals(0, chained.status(), chained.err());
        assertTrue(!chained.err().contains("signal chaining"), "stderr: " + chained.err());
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) if (hay[i + j] != needle[j]) continue outer;
            return i;
        }
        return -1;
    }

    /** {@code mainClass args} in a child JVM on this class path, with {@code libs} first on LD_LIBRARY_PATH. */
    /**
     * A folder for LD_LIBRARY_PATH where each of {@code names} is a library that dlopen finds and fails
     * to load, as it would fail with no such library: a copy of the JDK's libjsig.so whose libc
     * dependency is renamed (the real library cannot be hidden from a test). Linux only.
     */
    private Path brokenLibraries(String folder, String... names) throws IOException {
        org.junit.jupiter.api.Assumptions.assumeTrue(System.getProperty("os.name").startsWith("Linux"), "dlopen: Linux");
        byte[] jsig = Files.readAllBytes(Path.of(System.getProperty("java.home"), "lib", "libjsig.so"));
        byte[] from = "libc.so.6\0".getBytes(StandardCharsets.ISO_8859_1);
        byte[] to = "libq.so.6\0".getBytes(StandardCharsets.ISO_8859_1);
        int at = indexOf(jsig, from);
        assertTrue(at >= 0, "libjsig.so names libc.so.6");
        System.arraycopy(to, 0, jsig, at, to.length);
        Path libs = Files.createDirectories(dir.resolve(folder));
        for (String name : names) Files.write(libs.resolve(name), jsig);
        return libs;
    }

    /**
     * Without fontconfig (the first GPU host's image), drawing a picture's labels threw Java's InternalError
     * with a stack trace after the model had run; now the picture commands stop first, with one line that
     * says what to install, and write nothing.
     */
    @Test
    void withoutFontsThePictureCommandsSayWhatToInstall() throws Exception {
        Path libs = brokenLibraries("nofont", "libfontconfig.so.1", "libfontconfig.so");
        Path png = dir.resolve("nofont.png");
        Result pos = child(libs, Main.class.getName(), "posembed", "--out", png.toString());
        assertEquals(2, pos.status(), pos.err());
        assertOneLineError(pos, "posembed: drawing text needs a font", "apt-get install fontconfig");
        Path pictures = dir.resolve("nofont-pictures");
        Result att = child(libs, Main.class.getName(), "attention", "--out", pictures.toString());
        assertEquals(2, att.status(), att.err());
        assertOneLineError(att, "attention: drawing text needs a font");
        assertFalse(Files.exists(png), "nothing written");
        assertFalse(Files.exists(pictures), "nothing written");
    }

    private Result child(Path libs, String mainClass, String... args) throws Exception {
        String old = System.getenv("LD_LIBRARY_PATH");
        // No GPU for the child: where CUDA works (a GPU host), "auto" would take it and never load OpenCL
        // (the first GPU run, 2026-12-04: no OpenCL line on stderr)
        return child(Map.of("LD_LIBRARY_PATH", libs + (old == null || old.isEmpty() ? "" : ":" + old),
                "CUDA_VISIBLE_DEVICES", "-1"), mainClass, args);
    }

    /** {@code mainClass args} in a child JVM on this class path, with {@code env} set (an empty value: unset). */
    private Result child(Map<String, String> env, String mainClass, String... args) throws Exception {
        java.util.List<String> cmd = new java.util.ArrayList<>(java.util.List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx512m",
                "-cp", System.getProperty("java.class.path"), mainClass));
        cmd.addAll(java.util.List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        env.forEach((k, v) -> {
            if (v.isEmpty()) pb.environment().remove(k);
            else pb.environment().put(k, v);
        });
        Path out = dir.resolve("child.out"), err = dir.resolve("child.err");
        pb.redirectOutput(out.toFile()).redirectError(err.toFile());
        Process p = pb.start();
        if (!p.waitFor(120, java.util.concurrent.TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("child JVM did not finish in 120 s: " + cmd);
        }
        return new Result(p.exitValue(), Files.readString(out), Files.readString(err));
    }

    private static void assertOneLineError(Result r, String... parts) {
        String err = r.err().strip();
        assertTrue(err.startsWith("vit4j: error: "), err);
        assertEquals(1, err.lines().count(), "one line: " + err);
        for (String p : parts) assertTrue(err.contains(p), "'" + p + "' not in: " + err);
    }

    /** Issue 12: classify ran every image as one batch; --batch-size runs N at a time, with the same output. */
    @Test
    void batchSizeChangesNothingButHowManyRunAtOnce() {
        Result whole = cli("classify", "--backend", "cpu", "--batch-size", "64");
        Result threes = cli("classify", "--backend", "cpu", "--batch-size", "3");
        assertEquals(0, whole.status(), whole.err());
        assertEquals(0, threes.status(), threes.err());
        assertEquals(10, whole.out().lines().filter(l -> l.startsWith("digit-")).count(), whole.out());
        assertEquals(whole.out(), threes.out());
        Result bad = cli("classify", "--backend", "cpu", "--batch-size", "0");
        assertEquals(2, bad.status());
        assertOneLineError(bad, "--batch-size must be >= 1, got 0");
    }
}
