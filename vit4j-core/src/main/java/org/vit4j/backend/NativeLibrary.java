package org.vit4j.backend;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

/**
 * One of our JNI libraries ({@code libvit4j_cudacpu.so}, {@code libvit4j_cuda.so}, {@code
 * libvit4j_poclidle.so}), loaded once: the copy in the jar (extracted to a temporary file, since a shared
 * library must be a file to be loaded), else the one CMake built under build/native (a checkout's
 * tests). The jars hold them at {@code /org/vit4j/native/linux-x86_64/} (the backends' poms pack
 * build/native/ there).
 */
public final class NativeLibrary {
    private final String name;
    private final String notBuiltHint;
    private boolean attempted;
    private String loadError;

    /** {@code name} as "libvit4j_cuda.so"; {@code notBuiltHint} says where it comes from, for the error. */
    public NativeLibrary(String name, String notBuiltHint) {
        this.name = name;
        this.notBuiltHint = notBuiltHint;
    }

    public String resource() {
        return "/org/vit4j/native/linux-x86_64/" + name;
    }

    /** Where CMake builds it, relative to the working directory (the project root in a checkout). */
    public Path built() {
        return Path.of("build", "native", name);
    }

    /** Loads it once; null when it is loaded, else why not, in one line. Never throws. */
    public synchronized String load() {
        if (attempted) return loadError;
        attempted = true;
        loadError = tryLoad();
        return loadError;
    }

    private String tryLoad() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "");
        if (!os.contains("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
            return name + " is built for linux-x86_64 only; this is " + os + "-" + arch;
        }
        Path file;
        try (InputStream in = NativeLibrary.class.getResourceAsStream(resource())) {
            if (in != null) {
                file = Files.createTempFile(name.replace(".so", ""), ".so");
                file.toFile().deleteOnExit();
                Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
            } else if (Files.isRegularFile(built())) {
                file = built().toAbsolutePath();
            } else {
                return name + " not built: it is neither in the jar (" + resource() + ") nor at "
                        + built().toAbsolutePath() + " (" + notBuiltHint + ")";
            }
        } catch (IOException e) {
            return "cannot extract " + resource() + " to a temporary file: " + e.getMessage();
        }
        try {
            System.load(file.toString());
        } catch (UnsatisfiedLinkError | SecurityException e) {
            return "cannot load " + file + ": " + e.getMessage();
        }
        return null;
    }
}
