package org.vit4j.backend.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The tile sizes and thread counts of kernels/cuda, read from the kernel sources themselves (packed in
 * the jar under {@code /org/vit4j/kernels/cuda/src/}), so the launch plans never hold a hand copy that
 * can drift from what nvcc compiled: each {@code constexpr int NAME = expression;} at file scope is
 * evaluated (integer literals, earlier names of the same file or common.cuh, + - * / and parentheses).
 * Object-like {@code #define NAME expression} lines count too, where the expression evaluates (the
 * defaults of tuning values such as {@code #ifndef VIT4J_TC_BM / #define VIT4J_TC_BM 128}, which a
 * {@code constexpr int TC_BM = VIT4J_TC_BM;} then names); others (code macros) are skipped.
 */
final class KernelConstants {
    private KernelConstants() {}

    static final String ROOT = "/org/vit4j/kernels/cuda/src/";
    private static final Pattern CONSTEXPR = Pattern.compile(
            "(?m)^(?:constexpr int ([A-Z][A-Z0-9_]*) = ([^;]+);|[ \\t]*#[ \\t]*define[ \\t]+([A-Z][A-Z0-9_]*)[ \\t]+([^\\n\\\\]+)$)");
    private static final Map<String, Map<String, Integer>> FILES = new HashMap<>();

    /** The value of {@code constexpr int name} in kernels/cuda/{@code file}; a clear error where it is missing. */
    static synchronized int get(String file, String name) {
        Map<String, Integer> values = load(file);
        Integer v = values.get(name);
        if (v == null) {
            throw new IllegalStateException("kernels/cuda/" + file + " declares no 'constexpr int " + name
                    + "' (the launch plans read their tile sizes from the kernel sources); it has " + values.keySet());
        }
        return v;
    }

    private static Map<String, Integer> load(String file) {
        Map<String, Integer> values = FILES.get(file);
        if (values == null) {
            values = read(file);
            FILES.put(file, values);
        }
        return values;
    }

    private static Map<String, Integer> read(String file) {
        Map<String, Integer> values = new HashMap<>();
        if (!file.equals("common.cuh")) values.putAll(load("common.cuh"));
        Matcher m = CONSTEXPR.matcher(source(file));
        while (m.find()) {
            if (m.group(1) != null) {
                String expr = m.group(2).replaceAll("//.*", "").trim();
                values.put(m.group(1), new Expr(expr, values, file).parse());
            } else {
                String expr = m.group(4).replaceAll("//.*", "").trim();
                try {
                    values.put(m.group(3), new Expr(expr, values, file).parse());
                } catch (IllegalStateException | NumberFormatException notAnInteger) {
                    // a macro that is not an integer constant: not a tuning value
                }
            }
        }
        return values;
    }

    static String source(String file) {
        try (InputStream in = KernelConstants.class.getResourceAsStream(ROOT + file)) {
            if (in == null) {
                throw new IllegalStateException("kernels/cuda/" + file + " is not in the jar (" + ROOT + file
                        + "): the build packs the CUDA sources beside the fatbins");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + ROOT + file + ": " + e.getMessage(), e);
        }
    }

    /** A recursive-descent evaluator of the constant expressions the kernels use. */
    private static final class Expr {
        private final String s;
        private final Map<String, Integer> names;
        private final String file;
        private int at;

        Expr(String s, Map<String, Integer> names, String file) {
            this.s = s;
            this.names = names;
            this.file = file;
        }

        int parse() {
            int v = sum();
            skip();
            if (at != s.length()) throw bad();
            return v;
        }

        private int sum() {
            int v = product();
            for (skip(); at < s.length() && (s.charAt(at) == '+' || s.charAt(at) == '-'); skip()) {
                char op = s.charAt(at++);
                int r = product();
                v = op == '+' ? v + r : v - r;
            }
            return v;
        }

        private int product() {
            int v = atom();
            for (skip(); at < s.length() && (s.charAt(at) == '*' || s.charAt(at) == '/'); skip()) {
                char op = s.charAt(at++);
                int r = atom();
                v = op == '*' ? v * r : v / r;
            }
            return v;
        }

        private int atom() {
            skip();
            if (at < s.length() && s.charAt(at) == '(') {
                at++;
                int v = sum();
                skip();
                if (at >= s.length() || s.charAt(at++) != ')') throw bad();
                return v;
            }
            int start = at;
            while (at < s.length() && (Character.isLetterOrDigit(s.charAt(at)) || s.charAt(at) == '_')) at++;
            String tok = s.substring(start, at);
            if (tok.isEmpty()) throw bad();
            if (Character.isDigit(tok.charAt(0))) return Integer.parseInt(tok.replaceAll("[uUlL]+$", ""));
            Integer v = names.get(tok);
            if (v == null) throw bad();
            return v;
        }

        private void skip() {
            while (at < s.length() && Character.isWhitespace(s.charAt(at))) at++;
        }

        private IllegalStateException bad() {
            return new IllegalStateException("kernels/cuda/" + file + ": cannot evaluate constant expression '" + s + "'");
        }
    }
}
