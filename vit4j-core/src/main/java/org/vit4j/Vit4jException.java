package org.vit4j;

/**
 * Base of every error vit4j reports about its input: a checkpoint, a config, an image, a tensor
 * shape or an argument. The message names the thing at fault and what was expected, so that the
 * CLI can print it as one line. It is one line whatever it quotes: line breaks and other control
 * characters (a tensor name read from a file may hold any) are written as escapes, {@code \n},
 * {@code \r}, {@code \t}, or a backslash, u and four hex digits.
 */
public class Vit4jException extends RuntimeException {
    public Vit4jException(String message) {
        super(oneLine(message));
    }

    public Vit4jException(String message, Throwable cause) {
        super(oneLine(message), cause);
    }

    /** {@code s} with control characters and Unicode line or paragraph separators escaped. */
    static String oneLine(String s) {
        if (s == null) return null;
        StringBuilder out = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            int type = Character.getType(c);
            boolean escape = Character.isISOControl(c) || type == Character.LINE_SEPARATOR
                    || type == Character.PARAGRAPH_SEPARATOR;
            if (escape && out == null) out = new StringBuilder(s.length() + 16).append(s, 0, i);
            if (out == null) continue;
            if (!escape) {
                out.append(c);
            } else if (c == '\n') {
                out.append("\\n");
            } else if (c == '\r') {
                out.append("\\r");
            } else if (c == '\t') {
                out.append("\\t");
            } else {
                out.append(String.format("\\u%04x", (int) c));
            }
        }
        return out == null ? s : out.toString();
    }
}
