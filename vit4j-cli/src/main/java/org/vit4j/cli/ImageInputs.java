package org.vit4j.cli;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * The images {@code classify} is given: files as named (in the order given, whatever their
 * extension), and directories searched recursively for {@link #EXTENSIONS} (any case), their files
 * sorted by relative path, name by name in {@link String#compareTo} order, so that a directory is
 * always read in the same order. Only regular files (or links to them) are picked up from a
 * directory; links to directories are not followed. A directory that cannot be read becomes an
 * input with an error, so that the rest still runs.
 */
final class ImageInputs {
    /** File name extensions picked up from directories. */
    static final List<String> EXTENSIONS = List.of("png", "jpg", "jpeg");

    /**
     * One image to classify.
     *
     * @param display how records name it: the path as given, or the directory as given joined with the
     *                file's path within it
     * @param error   why it cannot be read at all (an unreadable directory), else null
     */
    record Input(Path path, String display, String error) {}

    private ImageInputs() {}

    static List<Input> expand(List<Path> given) {
        List<Input> out = new ArrayList<>();
        for (Path p : given) {
            if (Files.isDirectory(p)) {
                walk(p, out);
            } else {
                out.add(new Input(p, p.toString(), null));
            }
        }
        return out;
    }

    static boolean isImageName(Path file) {
        String n = file.getFileName().toString().toLowerCase(Locale.ROOT);
        int dot = n.lastIndexOf('.');
        return dot >= 0 && EXTENSIONS.contains(n.substring(dot + 1));
    }

    private static void walk(Path dir, List<Input> out) {
        List<Path> found = new ArrayList<>();
        List<Input> failed = new ArrayList<>();
        try {
            Files.walkFileTree(dir, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                    if (isImageName(file) && (attrs.isRegularFile() || attrs.isSymbolicLink() && Files.isRegularFile(file))) {
                        found.add(dir.relativize(file));
                    }
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path file, IOException e) {
                    failed.add(new Input(file, file.toString(), file + ": cannot read (" + e.getClass().getSimpleName()
                            + (e.getMessage() == null || e.getMessage().equals(file.toString()) ? "" : ": " + e.getMessage())
                            + ")"));
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            failed.add(new Input(dir, dir.toString(), dir + ": cannot read directory (" + e + ")"));
        }
        found.sort(BY_NAMES);
        for (Path rel : found) {
            Path file = dir.resolve(rel);
            out.add(new Input(file, file.toString(), null));
        }
        out.addAll(failed);
    }

    /** Relative paths compared name by name, so that "a/z.png" comes before "a-b/x.png" and "a.png". */
    static final Comparator<Path> BY_NAMES = (a, b) -> {
        int n = Math.min(a.getNameCount(), b.getNameCount());
        for (int i = 0; i < n; i++) {
            int c = a.getName(i).toString().compareTo(b.getName(i).toString());
            if (c != 0) return c;
        }
        return Integer.compare(a.getNameCount(), b.getNameCount());
    };
}
