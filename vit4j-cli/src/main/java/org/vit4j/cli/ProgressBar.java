package org.vit4j.cli;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * A one-line progress bar on stderr, redrawn in place with a carriage return:
 * {@code [#######.............]  350/1000 images, 2 failed, 41.3 img/s, ETA 0:15}. It draws only
 * where enabled (by default, where stderr is a terminal) and only for a long run: not before a
 * second has passed, and at most five times a second.
 */
final class ProgressBar implements AutoCloseable {
    private static final long FIRST_DRAW_NANOS = 1_000_000_000L;
    private static final long REDRAW_NANOS = 200_000_000L;

    private final PrintStream err;
    private final long total;
    private final boolean enabled;
    private final long start = System.nanoTime();
    private long lastDraw;
    private boolean drawn;
    private int width;

    ProgressBar(PrintStream err, long total, boolean enabled) {
        this.err = err;
        this.total = total;
        this.enabled = enabled && total > 0;
    }

    /**
     * Whether stderr (file descriptor 2) is a terminal. Java has no isatty, and System.console()
     * tells about stdin and stdout only (both redirected with '> out.jsonl', where the bar is most
     * wanted), so on Linux the link /proc/self/fd/2 is read: a terminal is a /dev/pts/N or /dev/ttyN.
     * Elsewhere, or where TERM is dumb, no bar.
     */
    static boolean stderrIsTerminal() {
        if ("dumb".equals(System.getenv("TERM"))) return false;
        try {
            String target = Files.readSymbolicLink(Path.of("/proc/self/fd/2")).toString();
            return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty") || target.equals("/dev/console");
        } catch (Exception e) { // no /proc (not Linux), no permission: no bar
            return false;
        }
    }

    void update(long done, long failed) {
        if (!enabled) return;
        long now = System.nanoTime();
        if (now - start < FIRST_DRAW_NANOS || (drawn && now - lastDraw < REDRAW_NANOS && done < total)) return;
        lastDraw = now;
        double seconds = (now - start) / 1e9;
        double rate = done / seconds;
        long eta = rate > 0 ? Math.round((total - done) / rate) : -1;
        int cells = 30;
        int full = (int) (cells * done / total);
        String line = String.format(Locale.ROOT, "[%s%s] %d/%d images%s, %.1f img/s, %s", "#".repeat(full),
                ".".repeat(cells - full), done, total, failed > 0 ? ", " + failed + " failed" : "", rate,
                done == total ? String.format(Locale.ROOT, "%.1f s", seconds)
                        : eta < 0 ? "ETA ?" : String.format(Locale.ROOT, "ETA %d:%02d", eta / 60, eta % 60));
        // Pad over the previous line's tail.
        String padded = line.length() < width ? line + " ".repeat(width - line.length()) : line;
        width = line.length();
        err.print("\r" + padded);
        err.flush();
        drawn = true;
    }

    /** Erases the bar (before other lines go to stderr); the next update draws it again. */
    void clear() {
        if (drawn) {
            err.print("\r" + " ".repeat(width) + "\r");
            err.flush();
            drawn = false;
            width = 0;
        }
    }

    /** Ends the bar's line, where one was drawn. */
    @Override
    public void close() {
        if (drawn) {
            err.println();
            err.flush();
        }
    }
}
