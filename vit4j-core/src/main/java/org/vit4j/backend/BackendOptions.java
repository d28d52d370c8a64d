package org.vit4j.backend;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.vit4j.Vit4jException;

/**
 * How a backend is opened, beyond which backend and device ({@link Backends#open(String, int, BackendOptions)}):
 * every setting a backend takes arrives here, at open time; no backend reads a system property or
 * the environment for its behaviour. A backend ignores an option that means nothing to it.
 *
 * @param noGraph      run every pass op by op instead of recording it as a graph and replaying it (CUDA):
 *                     slower, but each op runs, and fails, where it is queued
 * @param gemm         which GEMM runs the linear layers on CUDA (default {@link Gemm#VIT4J})
 * @param openClTuning OpenCL tuning values by name (e.g. {@code GEMM_VARIANT -> 3}), over the device
 *                     kind's defaults; a name no OpenCL op declares is an error when the backend opens
 * @param memoryCap    the most bytes the backend's memory pool may hold; 0: the device's own (OpenCL:
 *                     the memory the device reports), unbounded where the backend knows none
 */
public record BackendOptions(boolean noGraph, Gemm gemm, Map<String, Integer> openClTuning, long memoryCap) {
    public static final BackendOptions DEFAULT = new BackendOptions(false, Gemm.VIT4J, Map.of(), 0);

    public BackendOptions {
        gemm = gemm == null ? Gemm.VIT4J : gemm;
        openClTuning = openClTuning == null ? Map.of() : Map.copyOf(openClTuning);
        if (memoryCap < 0) throw new Vit4jException("memory cap " + memoryCap + " bytes: expected >= 0 (0: the device's)");
    }

    public BackendOptions(boolean noGraph, Gemm gemm, Map<String, Integer> openClTuning) {
        this(noGraph, gemm, openClTuning, 0);
    }

    public BackendOptions withNoGraph(boolean noGraph) {
        return new BackendOptions(noGraph, gemm, openClTuning, memoryCap);
    }

    public BackendOptions withGemm(Gemm gemm) {
        return new BackendOptions(noGraph, gemm, openClTuning, memoryCap);
    }

    public BackendOptions withOpenClTuning(Map<String, Integer> openClTuning) {
        return new BackendOptions(noGraph, gemm, openClTuning, memoryCap);
    }

    public BackendOptions withMemoryCap(long bytes) {
        return new BackendOptions(noGraph, gemm, openClTuning, bytes);
    }

    /** A size written {@code 8g}, {@code 512m}, {@code 64k} or in bytes; an error naming it otherwise. */
    public static long parseBytes(String s) {
        String v = s == null ? "" : s.trim().toLowerCase(Locale.ROOT);
        long unit = 1;
        if (v.endsWith("b")) v = v.substring(0, v.length() - 1);
        if (v.endsWith("k")) unit = 1L << 10;
        else if (v.endsWith("m")) unit = 1L << 20;
        else if (v.endsWith("g")) unit = 1L << 30;
        if (unit != 1) v = v.substring(0, v.length() - 1);
        try {
            double n = Double.parseDouble(v);
            if (!(n >= 0) || n * unit > Long.MAX_VALUE) throw new NumberFormatException();
            return (long) (n * unit);
        } catch (NumberFormatException e) {
            throw new Vit4jException("size '" + s + "' is not a byte count like 8g, 512m or 1048576");
        }
    }

    /** The provider of the CUDA backend's linear-layer GEMMs. */
    public enum Gemm {
        /** vit4j's own kernels (kernels/cuda/linear.cu), with the epilogues fused. */
        VIT4J("vit4j"),
        /**
         * cuBLAS (cublasGemmEx through vit4j's libvit4j_cuda.so, from libcublas.so.13 or .12) with vit4j's
         * epilogue kernels, on an NVIDIA GPU where cuBLAS loads; elsewhere the backend says so in one line
         * and uses {@link #VIT4J}.
         */
        CUBLAS("cublas");

        private final String id;

        Gemm(String id) {
            this.id = id;
        }

        /** The name the CLI and {@link #parse} use: "vit4j" or "cublas". */
        public String id() {
            return id;
        }

        /** "vit4j" or "cublas", in any case; anything else is an error naming both. */
        public static Gemm parse(String id) {
            for (Gemm g : values()) if (g.id.equalsIgnoreCase(id == null ? "" : id.trim())) return g;
            throw new Vit4jException("unknown GEMM provider '" + id + "'; expected vit4j or cublas");
        }
    }

    /**
     * OpenCL tuning overrides written {@code NAME=value,NAME=value} (e.g. {@code GEMM_VARIANT=3,GEMM_V3_TM=32};
     * names in any case); null or blank is none. A malformed item is an error naming it.
     */
    public static Map<String, Integer> parseOpenClTuning(String spec) {
        Map<String, Integer> out = new LinkedHashMap<>();
        if (spec == null || spec.isBlank()) return out;
        for (String item : spec.split(",")) {
            String[] kv = item.trim().split("=");
            try {
                if (kv.length != 2 || kv[0].isBlank()) throw new NumberFormatException();
                out.put(kv[0].trim().toUpperCase(Locale.ROOT), Integer.parseInt(kv[1].trim()));
            } catch (NumberFormatException e) {
                throw new Vit4jException("OpenCL tuning '" + item.trim() + "' is not NAME=integer (in '" + spec + "')");
            }
        }
        return out;
    }
}
