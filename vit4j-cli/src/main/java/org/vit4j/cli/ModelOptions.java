package org.vit4j.cli;

import java.nio.file.Path;
import java.util.Map;
import org.vit4j.Vit4jException;
import org.vit4j.backend.Backend;
import org.vit4j.backend.BackendOptions;
import org.vit4j.backend.Backends;
import org.vit4j.io.checkpoint.CheckpointLoader;
import org.vit4j.io.checkpoint.ConfigOverrides;
import org.vit4j.io.checkpoint.LoadedModel;
import picocli.CommandLine.Option;

/** The options that choose a model and a backend, shared by the commands that run one. */
final class ModelOptions {
    @Option(names = "--weights", paramLabel = "W", description = "safetensors checkpoint (timm, Hugging Face or "
            + "torchvision names): a file, a sharded model.safetensors.index.json, or a Hugging Face hub directory "
            + "(config.json with model.safetensors or a sharded index); default: the embedded digits model")
    Path weights;

    @Option(names = "--config", paramLabel = "C", description = "config.json (default: the one beside the weights, if any)")
    Path config;

    @Option(names = "--backend", paramLabel = "B", defaultValue = "auto",
            description = "auto, cpu, opencl, cuda, or cuda-cpu (the CUDA kernels on the CPU, for testing; never "
                    + "chosen by auto) (default: ${DEFAULT-VALUE})")
    String backend;

    @Option(names = "--device", paramLabel = "N", defaultValue = "0",
            description = "device index within the backend, as 'vit4j devices' lists them (default: ${DEFAULT-VALUE})")
    int device;

    @Option(names = "--no-graph", description = "CUDA: run each pass op by op instead of recording it once as a "
            + "CUDA graph and replaying it (slower; an op's failure shows where it is queued)")
    boolean noGraph;

    @Option(names = "--precision", paramLabel = "P", defaultValue = "fp32",
            description = "how weights and activations are stored: fp32, bf16 or fp16; every op accumulates in fp32 "
                    + "(default: ${DEFAULT-VALUE})")
    String precision;

    @Option(names = "--memory-cap", paramLabel = "BYTES", description = "the most device memory the backend's pool "
            + "may hold, e.g. 2g (default: what the device reports, for OpenCL); a batch past it is an error")
    String memoryCap;

    @Option(names = "--allow-non-finite-weights", description = "load a checkpoint that holds NaN or infinite "
            + "weights (by default an error naming the tensor)")
    boolean allowNonFiniteWeights;

    @Option(names = "--heads", paramLabel = "H", description = "attention heads, where no config states them")
    Integer heads;

    @Option(names = "--image-size", paramLabel = "H[xW]",
            description = "run at this image size: S for S x S, or HxW (height x width, e.g. 192x320) for a "
                    + "non-square patch grid; the position embedding is resized (bicubic, as timm or Hugging Face "
                    + "does for the checkpoint's naming)")
    String imageSize;

    @Option(names = "--layer-norm-eps", paramLabel = "E", description = "LayerNorm epsilon (default: config or 1e-6)")
    Double layerNormEps;

    @Option(names = "--gemm", paramLabel = "G", defaultValue = "${env:VIT4J_CUDA_GEMM:-vit4j}",
            description = "linear layers on CUDA: vit4j (its own kernels) or cublas (where libcublas.so.12 loads; else "
                    + "a one-line note and vit4j's) (default: ${DEFAULT-VALUE}, from VIT4J_CUDA_GEMM where set)")
    String gemm;

    @Option(names = "--opencl-tuning", paramLabel = "NAME=V[,NAME=V...]", defaultValue = "${env:VIT4J_OPENCL_TUNING}",
            description = "OpenCL tuning values over the device's defaults, e.g. GEMM_VARIANT=3,GEMM_V3_TM=32 (the "
                    + "TuningParam names of backend/opencl; an unknown one is an error) (default: VIT4J_OPENCL_TUNING "
                    + "where set, else none)")
    String openClTuning;

    /** The element type --precision names (an error naming the option otherwise). */
    org.vit4j.ElementType precision() {
        try {
            return org.vit4j.ElementType.parse(precision);
        } catch (org.vit4j.Vit4jException e) {
            throw new org.vit4j.Vit4jException("--precision: " + e.getMessage());
        }
    }

    /** Every backend setting the options name, for {@link Backends#open(String, int, BackendOptions)}. */
    BackendOptions backendOptions() {
        BackendOptions.Gemm g;
        try {
            g = BackendOptions.Gemm.parse(gemm);
        } catch (Vit4jException e) {
            throw new Vit4jException("--gemm: " + e.getMessage());
        }
        Map<String, Integer> tuning;
        try {
            tuning = BackendOptions.parseOpenClTuning(openClTuning);
        } catch (Vit4jException e) {
            throw new Vit4jException("--opencl-tuning: " + e.getMessage());
        }
        long cap;
        try {
            cap = memoryCap == null ? 0 : BackendOptions.parseBytes(memoryCap);
        } catch (Vit4jException e) {
            throw new Vit4jException("--memory-cap: " + e.getMessage());
        }
        return new BackendOptions(noGraph, g, tuning, cap);
    }

    /** The backend that --backend and --device name, opened with {@link #backendOptions()}. */
    Backend openBackend() {
        return Backends.open(backend, device, backendOptions());
    }

    /** --image-size as {height, width}, or null where not given; a one-line error naming it otherwise. */
    int[] imageSize() {
        return parseImageSize(imageSize);
    }

    static int[] parseImageSize(String text) {
        if (text == null) return null;
        String[] parts = text.trim().toLowerCase(java.util.Locale.ROOT).split("x", -1);
        int[] hw = new int[2];
        try {
            if (parts.length > 2) throw new NumberFormatException();
            hw[0] = Integer.parseInt(parts[0].trim());
            hw[1] = parts.length == 2 ? Integer.parseInt(parts[1].trim()) : hw[0];
        } catch (NumberFormatException e) {
            throw new Vit4jException("--image-size: '" + text + "' is not a size, expected S (S x S pixels) or HxW "
                    + "(height x width), e.g. 224 or 192x320");
        }
        if (hw[0] <= 0 || hw[1] <= 0) {
            throw new Vit4jException("--image-size: '" + text + "' has a side <= 0, expected positive pixels");
        }
        return hw;
    }

    LoadedModel load() {
        int[] hw = imageSize();
        ConfigOverrides over = new ConfigOverrides(heads, hw == null ? null : hw[0], hw == null ? null : hw[1],
                layerNormEps);
        try {
            return CheckpointLoader.load(weights, config, allowNonFiniteWeights ? over.withNonFiniteWeightsAllowed() : over);
        } catch (Vit4jException e) {
            // The loader names the checkpoint; say which option asked for the size it rejects.
            String m = String.valueOf(e.getMessage());
            if (hw != null && m.contains("image size asked for")) throw new Vit4jException("--image-size " + imageSize + ": " + m);
            throw e;
        }
    }
}
