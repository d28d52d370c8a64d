package org.vit4j.cli;

import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import org.vit4j.Vit4jException;

/**
 * Java draws text through the system's fonts (on Linux, found through fontconfig). Where there are none,
 * the first string drawn throws an InternalError from deep inside AWT, and every later one a
 * NoClassDefFoundError: seen on the first GPU host (2026-12-04, an image with no fontconfig), where every
 * picture command died with a stack trace. The picture and chart commands ask here first, and get a
 * one-line error that says what to install.
 */
final class Fonts {
    private Fonts() {}

    private static volatile String problem; // null: not asked yet; "": fonts work

    /** Whether text can be drawn here. */
    static boolean available() {
        return problem().isEmpty();
    }

    /** Throws a one-line error naming {@code what} where text cannot be drawn here. */
    static void require(String what) {
        String p = problem();
        if (!p.isEmpty()) {
            throw new Vit4jException(what + ": drawing text needs a font, and Java found none on this system (" + p
                    + "); install fontconfig and a font (Debian, Ubuntu: apt-get install fontconfig fonts-dejavu-core)");
        }
    }

    private static String problem() {
        String p = problem;
        if (p != null) return p;
        synchronized (Fonts.class) {
            if (problem == null) problem = probe();
            return problem;
        }
    }

    private static String probe() {
        Graphics2D g = new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB).createGraphics();
        try {
            g.getFontMetrics(new Font(Font.SANS_SERIF, Font.PLAIN, 12)).stringWidth("vit4j");
            return "";
        } catch (InternalError | LinkageError e) {
            Throwable root = e;
            while (root.getCause() != null && root.getCause() != root) root = root.getCause();
            return String.valueOf(root.getMessage() != null ? root.getMessage() : root);
        } finally {
            g.dispose();
        }
    }
}
