package org.vit4j.backend.cuda;

import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Every kernel of every module (kernels/cuda/{@code <module>}.cu), read from the CUDA sources packed in
 * the jar, so that the backend's list of what to load is never a hand copy of the sources. An
 * {@code extern "C" __global__} entry point is either plain (one kernel, fp32) or written
 * {@code name##S} inside a macro of {@code (T, S)} that the file instantiates with
 * {@code VIT4J_FOR_EACH_DTYPE} (name, name_bf16, name_f16) or {@code VIT4J_FOR_EACH_HALF_DTYPE}
 * (name_bf16, name_f16); the suffixes are read from those two definitions in common.cuh. The
 * cuda-cpu registry (native/cudacpu/cudacpu.cmake) reads the same shapes.
 */
final class KernelNames {
    private KernelNames() {}

    private static final Pattern ENTRY = Pattern.compile(
            "extern\\s+\"C\"\\s+__global__\\s+void\\s+(?:__launch_bounds__\\s*\\([^)]*\\)\\s*)?(\\w+?)(##\\w+)?\\s*\\(");
    private static final Pattern MACRO = Pattern.compile("(?m)^#define\\s+(\\w+)\\s*\\(\\s*\\w+\\s*,\\s*\\w+\\s*\\)");
    private static final Pattern USE = Pattern.compile("(?m)^(VIT4J_FOR_EACH_(?:HALF_)?DTYPE)\\((\\w+)\\)");

    /** Module (file name without .cu) to its kernels, in source order; modules sorted by name. */
    static Map<String, List<String>> all() {
        Map<String, List<String>> suffixes = suffixes(KernelConstants.source("common.cuh"));
        Map<String, List<String>> all = new TreeMap<>();
        for (String module : modules()) all.put(module, List.copyOf(of(KernelConstants.source(module + ".cu"), suffixes)));
        if (all.isEmpty()) throw new IllegalStateException("no kernels/cuda/*.cu in the jar under " + KernelConstants.ROOT);
        return all;
    }

    /** The suffixes each FOR_EACH macro of common.cuh gives, e.g. VIT4J_FOR_EACH_DTYPE -> ["", _bf16, _f16]. */
    static Map<String, List<String>> suffixes(String common) {
        Map<String, List<String>> out = new LinkedHashMap<>();
        Matcher d = Pattern.compile("(?m)^#define\\s+(VIT4J_FOR_EACH_(?:HALF_)?DTYPE)\\(X\\)\\s+(.*)$").matcher(common);
        while (d.find()) {
            List<String> s = new ArrayList<>();
            Matcher x = Pattern.compile("X\\(\\s*[\\w:]+\\s*,\\s*(\\w*)\\s*\\)").matcher(d.group(2));
            while (x.find()) s.add(x.group(1));
            out.put(d.group(1), s);
        }
        if (!out.containsKey("VIT4J_FOR_EACH_DTYPE")) {
            throw new IllegalStateException("kernels/cuda/common.cuh defines no VIT4J_FOR_EACH_DTYPE(X)");
        }
        return out;
    }

    /** The kernels one source defines, each instantiated name. */
    static List<String> of(String text, Map<String, List<String>> suffixes) {
        String source = text.replace("\\\n", " "); // line splices, as the preprocessor joins them
        // Which FOR_EACH instantiates each macro, and where each macro's body starts.
        Map<String, String> instantiatedBy = new LinkedHashMap<>();
        Matcher u = USE.matcher(source);
        while (u.find()) instantiatedBy.put(u.group(2), u.group(1));
        TreeMap<Integer, String> macroAt = new TreeMap<>();
        Matcher m = MACRO.matcher(source);
        while (m.find()) macroAt.put(m.start(), m.group(1));

        List<String> names = new ArrayList<>();
        Matcher e = ENTRY.matcher(source);
        while (e.find()) {
            String base = e.group(1);
            if (e.group(2) == null) {
                names.add(base);
                continue;
            }
            Map.Entry<Integer, String> macro = macroAt.floorEntry(e.start());
            String each = macro == null ? null : instantiatedBy.get(macro.getValue());
            List<String> s = each == null ? null : suffixes.get(each);
            if (s == null) {
                throw new IllegalStateException("kernel " + base + e.group(2) + " is in no macro instantiated by "
                        + "VIT4J_FOR_EACH_DTYPE or VIT4J_FOR_EACH_HALF_DTYPE");
            }
            for (String suffix : s) names.add(base + suffix);
        }
        return names;
    }

    /** The modules in the jar (or classes directory): each kernels/cuda/*.cu packed under ROOT. */
    private static List<String> modules() {
        URL common = KernelNames.class.getResource(KernelConstants.ROOT + "common.cuh");
        if (common == null) {
            throw new IllegalStateException("the CUDA sources are not in the jar (" + KernelConstants.ROOT
                    + "): the build packs them beside the fatbins");
        }
        try {
            if (common.getProtocol().equals("jar")) {
                String jar = common.toString().substring("jar:".length(), common.toString().indexOf("!/"));
                try (FileSystem fs = FileSystems.newFileSystem(Path.of(new java.net.URI(jar)))) {
                    return list(fs.getPath(KernelConstants.ROOT));
                }
            }
            return list(Path.of(common.toURI()).getParent());
        } catch (IOException | URISyntaxException e) {
            throw new IllegalStateException("cannot list the CUDA sources under " + KernelConstants.ROOT + ": " + e, e);
        }
    }

    private static List<String> list(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".cu"))
                    .map(n -> n.substring(0, n.length() - 3)).sorted().toList();
        }
    }
}
