package org.vit4j.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.vit4j.model.Predictions;

/**
 * How {@code classify} writes one record per image: {@code text}, {@code jsonl} or {@code csv}.
 *
 * <ul>
 *   <li>text: {@code PATH: LABEL (P), LABEL (P), ...} on stdout, P to three decimals; an image that
 *       failed is a line {@code vit4j: error: MESSAGE} on stderr.
 *   <li>jsonl: one JSON object per line on stdout, {@code {"path": ..., "top": [{"label": ...,
 *       "index": ..., "probability": ...}, ...]}} or {@code {"path": ..., "error": ...}}.
 *   <li>csv: a header {@code path,label_1,probability_1,...,label_K,probability_K,error}, then one
 *       row per image (an error row leaves the label and probability fields empty); fields holding a
 *       comma, a quote, CR or LF are quoted, quotes doubled (RFC 4180); lines end with LF.
 * </ul>
 * Probabilities in jsonl and csv are written in full (the shortest decimal that reads back as the
 * same double).
 */
abstract class Records {
    enum Format {
        TEXT, JSONL, CSV;

        static Format parse(String s) {
            for (Format f : values()) if (f.name().equalsIgnoreCase(s)) return f;
            throw new org.vit4j.Vit4jException("--format: unknown format '" + s + "'; expected text, jsonl or csv");
        }
    }

    protected final PrintStream out;

    Records(PrintStream out) {
        this.out = out;
    }

    static Records of(Format f, PrintStream out, PrintStream err, int k) {
        return switch (f) {
            case TEXT -> new Text(out, err);
            case JSONL -> new Jsonl(out);
            case CSV -> new Csv(out, k);
        };
    }

    abstract void image(String path, Predictions p);

    /** An image that could not be classified; {@code message} names it, as errors do. */
    abstract void error(String path, String message);

    void finish() {
        out.flush();
    }

    /** The message without its leading "PATH: ", which the record already names. */
    static String withoutPath(String path, String message) {
        return message.startsWith(path + ": ") ? message.substring(path.length() + 2) : message;
    }

    static final class Text extends Records {
        private final PrintStream err;

        Text(PrintStream out, PrintStream err) {
            super(out);
            this.err = err;
        }

        @Override
        void image(String path, Predictions p) {
            StringBuilder s = new StringBuilder(path).append(": ");
            for (int i = 0; i < p.top().size(); i++) {
                Predictions.Prediction c = p.top().get(i);
                if (i > 0) s.append(", ");
                s.append(String.format(Locale.ROOT, "%s (%.3f)", c.label(), c.probability()));
            }
            out.println(s);
        }

        @Override
        void error(String path, String message) {
            out.flush();
            err.println("vit4j: error: " + (message.startsWith(path) ? message : path + ": " + message)
                    .replace('\n', ' '));
        }
    }

    static final class Jsonl extends Records {
        private static final ObjectMapper JSON = new ObjectMapper();

        Jsonl(PrintStream out) {
            super(out);
        }

        @Override
        void image(String path, Predictions p) {
            List<Map<String, Object>> top = new ArrayList<>();
            for (Predictions.Prediction c : p.top()) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("label", c.label());
                m.put("index", c.index());
                m.put("probability", c.probability());
                top.add(m);
            }
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("path", path);
            r.put("top", top);
            write(r);
        }

        @Override
        void error(String path, String message) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("path", path);
            r.put("error", withoutPath(path, message));
            write(r);
        }

        private void write(Map<String, Object> r) {
            try {
                out.println(JSON.writeValueAsString(r)); // escapes newlines: one record, one line
            } catch (JsonProcessingException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    static final class Csv extends Records {
        private final int k;

        Csv(PrintStream out, int k) {
            super(out);
            this.k = k;
            List<String> header = new ArrayList<>();
            header.add("path");
            for (int i = 1; i <= k; i++) {
                header.add("label_" + i);
                header.add("probability_" + i);
            }
            header.add("error");
            row(header);
        }

        @Override
        void image(String path, Predictions p) {
            List<String> f = new ArrayList<>();
            f.add(path);
            for (int i = 0; i < k; i++) {
                boolean has = i < p.top().size();
                f.add(has ? p.top().get(i).label() : "");
                f.add(has ? Double.toString(p.top().get(i).probability()) : "");
            }
            f.add("");
            row(f);
        }

        @Override
        void error(String path, String message) {
            List<String> f = new ArrayList<>();
            f.add(path);
            for (int i = 0; i < 2 * k; i++) f.add("");
            f.add(withoutPath(path, message));
            row(f);
        }

        private void row(List<String> fields) {
            StringBuilder s = new StringBuilder();
            for (int i = 0; i < fields.size(); i++) {
                if (i > 0) s.append(',');
                s.append(quote(fields.get(i)));
            }
            out.print(s.append('\n'));
        }

        /** RFC 4180: a field with a comma, a quote, CR or LF in quotes, each quote doubled. */
        static String quote(String field) {
            boolean needs = field.indexOf(',') >= 0 || field.indexOf('"') >= 0 || field.indexOf('\n') >= 0
                    || field.indexOf('\r') >= 0;
            return needs ? '"' + field.replace("\"", "\"\"") + '"' : field;
        }
    }
}
