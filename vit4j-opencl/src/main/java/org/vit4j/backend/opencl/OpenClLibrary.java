package org.vit4j.backend.opencl;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads the OpenCL ICD loader ({@code libOpenCL.so.1}) before JOCL touches it. Where JOCL cannot
 * load it, its native code prints "Could not load libOpenCL..." to the process's stdout, once per
 * name it tries, which corrupts the output of any program that parses stdout (issue 12). So on
 * Linux the library is looked for as the dynamic linker looks for it ({@code LD_LIBRARY_PATH},
 * {@code /etc/ld.so.cache}, the system directories) and loaded with {@link System#load}; JOCL's own
 * {@code dlopen("libOpenCL.so.1")} then finds it already loaded (by its soname). Where no candidate
 * loads, JOCL is never touched: the reason is one log line, and the OpenCL backend is unavailable
 * with that reason. Elsewhere than Linux JOCL is left to its own loading.
 */
final class OpenClLibrary {
    private static final Logger LOG = LoggerFactory.getLogger(OpenClLibrary.class);

    /** The names JOCL 2.0 passes to dlopen on Linux, in its order. */
    static final List<String> NAMES = List.of("libOpenCL.so.1", "libOpenCL.so");

    private static boolean checked;
    private static String reason;

    private OpenClLibrary() {}

    /**
     * Null where the ICD loader is loaded (or this is not Linux), else why it cannot be, in one line.
     * The first call searches and loads, and logs a failure once; later calls return the same answer.
     */
    static synchronized String unavailableReason() {
        if (!checked) {
            checked = true;
            if (System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("linux")) {
                reason = load(candidates(System.getenv("LD_LIBRARY_PATH"), ldCacheEntries(Path.of("/etc/ld.so.cache")),
                        systemDirectories(System.getProperty("os.arch", ""))));
                if (reason != null) LOG.info("OpenCL backend unavailable: {}", reason);
            }
        }
        return reason;
    }

    /**
     * Loads the library as dlopen would: for each name in turn, the first candidate file of that name
     * decides (a file for another architecture is skipped, as the dynamic linker skips it; any other
     * failure ends that name's search). Null on success, else the reason in one line.
     */
    static String load(List<Path> candidates) {
        List<String> failures = new ArrayList<>();
        for (String name : NAMES) {
            for (Path p : candidates) {
                if (p.getFileName() == null || !p.getFileName().toString().equals(name)) continue;
                if (!Files.isRegularFile(p)) continue; // a symbolic link is followed; a dangling one is skipped
                String m;
                try {
                    System.load(p.toAbsolutePath().toString());
                    return null;
                } catch (UnsatisfiedLinkError e) {
                    m = String.valueOf(e.getMessage());
                    // Another class loader (an application server's second deployment) loaded it already: it is there.
                    if (m.contains("already loaded in another classloader")) return null;
                } catch (SecurityException e) {
                    m = String.valueOf(e.getMessage());
                }
                String first = m.lines().findFirst().orElse(m);
                String abs = p.toAbsolutePath().toString();
                failures.add(abs + ": " + (first.startsWith(abs + ": ") ? first.substring(abs.length() + 2) : first));
                if (!m.contains("wrong ELF class")) break;
            }
        }
        if (failures.isEmpty()) {
            return "no OpenCL ICD loader: " + NAMES.get(0) + " not found (looked in LD_LIBRARY_PATH, /etc/ld.so.cache and "
                    + "the system library directories); on Debian: apt-get install ocl-icd-libopencl1 pocl-opencl-icd";
        }
        return "the OpenCL ICD loader could not be loaded: " + String.join("; ", failures);
    }

    /**
     * Where dlopen would look, in its order: each name in each {@code LD_LIBRARY_PATH} directory, the
     * ld.so.cache entries for the name, then the system directories.
     */
    static List<Path> candidates(String ldLibraryPath, List<Path> cacheEntries, List<Path> systemDirs) {
        Set<Path> out = new LinkedHashSet<>();
        for (String name : NAMES) {
            if (ldLibraryPath != null) {
                for (String dir : ldLibraryPath.split("[:;]")) {
                    if (!dir.isEmpty()) out.add(Path.of(dir, name));
                }
            }
            for (Path p : cacheEntries) {
                if (p.getFileName() != null && p.getFileName().toString().equals(name)) out.add(p);
            }
            for (Path dir : systemDirs) out.add(dir.resolve(name));
        }
        return new ArrayList<>(out);
    }

    /**
     * The absolute paths of libOpenCL named in the dynamic linker's cache: the cache (either format)
     * holds each library's path as a NUL-terminated string. Empty where there is no readable cache.
     */
    static List<Path> ldCacheEntries(Path cache) {
        List<Path> out = new ArrayList<>();
        byte[] bytes;
        try {
            if (!Files.isRegularFile(cache) || Files.size(cache) > (64L << 20)) return out;
            bytes = Files.readAllBytes(cache);
        } catch (IOException | SecurityException e) {
            return out;
        }
        int start = 0;
        for (int i = 0; i <= bytes.length; i++) {
            if (i == bytes.length || bytes[i] == 0) {
                if (i - start > 1 && bytes[start] == '/') {
                    String s = new String(bytes, start, i - start, StandardCharsets.ISO_8859_1);
                    for (String name : NAMES) {
                        if (s.endsWith("/" + name)) {
                            out.add(Path.of(s));
                            break;
                        }
                    }
                }
                start = i + 1;
            }
        }
        return out;
    }

    /** The directories the dynamic linker searches without a cache (glibc, Debian multiarch, musl). */
    static List<Path> systemDirectories(String osArch) {
        List<Path> out = new ArrayList<>();
        String triplet = switch (osArch) {
            case "amd64", "x86_64" -> "x86_64-linux-gnu";
            case "aarch64", "arm64" -> "aarch64-linux-gnu";
            case "ppc64le" -> "powerpc64le-linux-gnu";
            case "riscv64" -> "riscv64-linux-gnu";
            case "s390x" -> "s390x-linux-gnu";
            default -> null;
        };
        if (triplet != null) {
            out.add(Path.of("/lib", triplet));
            out.add(Path.of("/usr/lib", triplet));
        }
        for (String d : new String[] {"/lib64", "/usr/lib64", "/lib", "/usr/lib", "/usr/local/lib"}) out.add(Path.of(d));
        return out;
    }
}
