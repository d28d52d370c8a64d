package org.vit4j.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.vit4j.backend.cuda.CudaKernels;
import org.vit4j.backend.cuda.KernelArg;

/**
 * The epilogue codes Java passes are the ones the kernels test for: {@link Epilogue#code()} against
 * {@code enum Epi} of kernels/cuda/linear.cu and the {@code EPI_*} defines of kernels/opencl/linear.cl,
 * read from the sources (Maven runs the tests from the project root; elsewhere, as in the GPU
 * distribution, which has no sources, the source checks are skipped). Adding or reordering an
 * epilogue on one side only fails here, not as wrong numbers on a device.
 */
class EpilogueCodesTest {
    private static final Path ROOT = Path.of(System.getProperty("user.dir"));
    private static final Path KERNELS = ROOT.resolve("kernels");

    /** Every module's main Java sources: src/main/java of each vit4j- directory under the checkout's root. */
    static List<Path> mainSources() throws IOException {
        try (Stream<Path> modules = Files.list(ROOT)) {
            return modules.filter(m -> m.getFileName().toString().startsWith("vit4j-"))
                    .map(m -> m.resolve("src/main/java")).filter(Files::isDirectory).sorted().toList();
        }
    }

    /** The distribution's test jar runs without the sources; a checkout (CI) always has them. */
    private static void assumeSources() throws IOException {
        Assumptions.assumeTrue(Files.isDirectory(KERNELS) && Files.isRegularFile(ROOT.resolve("pom.xml")),
                "not run from the project root: no kernels/ and pom.xml");
        assertTrue(mainSources().size() >= 3, "a checkout without vit4j-*/src/main/java: " + mainSources());
    }

    /** The names (without EPI_) and codes of {@code enum Epi { EPI_X = n, ... }} in linear.cu. */
    static Map<String, Integer> cudaCodes() throws IOException {
        assumeSources();
        String src = Files.readString(KERNELS.resolve("cuda/linear.cu"));
        Matcher m = Pattern.compile("enum\\s+Epi\\s*\\{([^}]*)}").matcher(src);
        assertTrue(m.find(), "kernels/cuda/linear.cu declares no enum Epi");
        Map<String, Integer> codes = new LinkedHashMap<>();
        for (String item : m.group(1).split(",")) {
            Matcher e = Pattern.compile("\\s*EPI_(\\w+)\\s*=\\s*(\\d+)\\s*").matcher(item);
            assertTrue(e.matches(), "enum Epi entry without an explicit value: '" + item.trim() + "'");
            codes.put(e.group(1), Integer.parseInt(e.group(2)));
        }
        return codes;
    }

    /** The names (without EPI_) and codes of the {@code #define EPI_X n} lines in linear.cl. */
    static Map<String, Integer> openClCodes() throws IOException {
        assumeSources();
        String src = Files.readString(KERNELS.resolve("opencl/linear.cl"));
        Matcher m = Pattern.compile("(?m)^\\s*#define\\s+EPI_(\\w+)\\s+(\\d+)\\s*$").matcher(src);
        Map<String, Integer> codes = new LinkedHashMap<>();
        while (m.find()) codes.put(m.group(1), Integer.parseInt(m.group(2)));
        return codes;
    }

    static Map<String, Integer> javaCodes() {
        Map<String, Integer> codes = new LinkedHashMap<>();
        for (Epilogue e : Epilogue.values()) codes.put(e.name(), e.code());
        return codes;
    }

    @Test
    void javaCodesAreTheCudaKernelsCodes() throws IOException {
        assertEquals(cudaCodes(), javaCodes(), "Epilogue.code() vs enum Epi of kernels/cuda/linear.cu");
    }

    @Test
    void javaCodesAreTheOpenClKernelsCodes() throws IOException {
        assertEquals(openClCodes(), javaCodes(), "Epilogue.code() vs #define EPI_* of kernels/opencl/linear.cl");
    }

    @Test
    void codesAreDistinct() {
        assertEquals(Epilogue.values().length, javaCodes().values().stream().distinct().count(), javaCodes().toString());
    }

    /** The one launch that passes the code at run time (linear_v1's last argument; NONE without a bias). */
    @Test
    void theCudaBaselinePassesTheCode() {
        long p = 0x7f00_0000_0100L;
        for (Epilogue e : Epilogue.values()) {
            long bias = e == Epilogue.NONE ? 0 : p;
            List<KernelArg> args = CudaKernels.linearV1(p, p, bias, p, 4, 4, 4, e, p).args();
            assertEquals(new KernelArg.I32(e.code()), args.get(args.size() - 1), e.name());
        }
    }

    /** Codes are explicit, never an enum's position: no main source calls ordinal(). */
    @Test
    void noMainSourceCallsOrdinal() throws IOException {
        assumeSources();
        List<String> found = new ArrayList<>();
        int read = 0;
        for (Path src : mainSources()) {
            try (Stream<Path> files = Files.walk(src)) {
                for (Path f : (Iterable<Path>) files.filter(f -> f.toString().endsWith(".java"))::iterator) {
                    List<String> lines = Files.readAllLines(f);
                    read++;
                    for (int i = 0; i < lines.size(); i++) {
                        if (lines.get(i).contains(".ordinal()")) found.add(f.getFileName() + ":" + (i + 1));
                    }
                }
            }
        }
        assertTrue(read > 50, "read only " + read + " main sources");
        assertEquals(List.of(), found, "pass an explicit code (as Epilogue.code()) instead of ordinal()");
    }
}
