package org.vit4j.cli;

import java.nio.file.Path;
import org.vit4j.backend.Backend;
import org.vit4j.backend.BackendOptions;
import org.vit4j.backend.Backends;
import org.vit4j.io.CheckpointLoader;
import org.vit4j.io.ConfigOverrides;
import org.vit4j.io.LoadedModel;
import picocli.CommandLine.Option;

/** The options that choose a model and a backend, shared by the commands that run one. */
final class ModelOptions {
    @Option(names = "--weights", paramLabel = "W", description = "safetensors checkpoint (timm, Hugging Face or "
            + "torchvision names); default: the embedded digits model")
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

    @Option(names = "--heads", paramLabel = "H", description = "attention heads, where no config states them")
    Integer heads;

    @Option(names = "--image-size", paramLabel = "S",
            description = "run at this image size; the position embedding is resized (bicubic, as timm does)")
    Integer imageSize;

    @Option(names = "--layer-norm-eps", paramLabel = "E", description = "LayerNorm epsilon (default: config or 1e-6)")
    Double layerNormEps;

    @Option(names = "--gemm", paramLabel = "G", description = "linear layers on CUDA: vit4j (its own kernels, the "
            + "default) or cublas (where libcublas.so.12 loads; else a one-line note and vit4j's)")
    void gemm(String provider) {
        System.setProperty(org.vit4j.backend.cuda.CudaBackend.GEMM_PROPERTY, provider);
    }

    BackendOptions backendOptions() {
        return new BackendOptions(noGraph);
    }

    /** The backend that --backend, --device and --no-graph name. */
    Backend openBackend() {
        return Backends.open(backend, device, backendOptions());
    }

    LoadedModel load() {
        return CheckpointLoader.load(weights, config, new ConfigOverrides(heads, imageSize, layerNormEps));
    }
}
