package org.vit4j.bench.jmh;

import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.vit4j.ElementType;
import org.vit4j.backend.Backend;
import org.vit4j.backend.Backends;
import org.vit4j.backend.DeviceBuffer;
import org.vit4j.backend.Epilogue;
import org.vit4j.backend.PatchEmbedShape;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One op of the ViT encoder at the shapes of a real model, on one backend. Each invocation runs
 * the op and waits for the device, so the time is the op's. Inputs are random (never zeros) and
 * rotated among {@link #ROTATE} copies, so a cache holding the last call's data does not flatter
 * the next.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 5, time = 2)
public class KernelBenchmark {
    static final int ROTATE = 4;

    @Param({"opencl"})
    public String backend;

    /** Device index within the backend, as {@code vit4j devices} lists them. */
    @Param({"0"})
    public int device;

    /** The storage type of every buffer of the op: fp32, bf16 or fp16. */
    @Param({"fp32"})
    public String precision;

    /**
     * The op and its shape, at batch 8 and 224 px (M = 8 * 197 = 1576 tokens): "qkv:B:T:D:H",
     * "linear_gelu|linear_residual:M:K:N" (fc1, proj and fc2), "attention:B:T:H:hd" (T = 577 is 384 px,
     * hd = 80 is ViT-H), "layernorm|add_layernorm:rows:D", "patch_embed:B:D", "gelu:n".
     */
    @Param({
        "patch_embed:8:384", "patch_embed:8:768",
        "layernorm:1576:384", "layernorm:1576:768", "add_layernorm:1576:384", "add_layernorm:1576:768",
        // ViT-S/16
        "qkv:8:197:384:6", "linear_residual:1576:384:384", "linear_gelu:1576:384:1536", "linear_residual:1576:1536:384",
        // ViT-B/16
        "qkv:8:197:768:12", "linear_residual:1576:768:768", "linear_gelu:1576:768:3072", "linear_residual:1576:3072:768",
        // ViT-L/16
        "qkv:8:197:1024:16", "linear_residual:1576:1024:1024", "linear_gelu:1576:1024:4096",
        "linear_residual:1576:4096:1024",
        "attention:8:197:6:64", "attention:8:577:6:64", "attention:8:197:16:80", "attention:8:577:16:80",
        "gelu:4841472"})
    public String op;

    private Backend be;
    private DeviceBuffer[] in;
    private DeviceBuffer w;
    private DeviceBuffer bias;
    private DeviceBuffer gamma;
    private DeviceBuffer out;
    private DeviceBuffer residual;
    private DeviceBuffer sum;
    private PatchEmbedShape shape;
    private int next;
    private int[] dims;
    private String kind;

    @Setup(Level.Trial)
    public void setUp() {
        be = Backends.open(backend, device);
        ElementType type = ElementType.parse(precision);
        String[] parts = op.split(":");
        kind = parts[0];
        dims = new int[parts.length - 1];
        for (int i = 1; i < parts.length; i++) dims[i - 1] = Integer.parseInt(parts[i]);
        Random r = new Random(7);
        long inSize, outSize;
        switch (kind) {
            case "linear_gelu", "linear_residual" -> {
                inSize = (long) dims[0] * dims[1];
                outSize = (long) dims[0] * dims[2];
                w = be.upload(randn(r, dims[2] * dims[1], 1 / Math.sqrt(dims[1])), type);
                bias = be.upload(randn(r, dims[2], 0.1), type);
            }
            case "qkv" -> {
                inSize = (long) dims[0] * dims[1] * dims[2];
                outSize = 3 * inSize;
                w = be.upload(randn(r, 3 * dims[2] * dims[2], 1 / Math.sqrt(dims[2])), type);
                bias = be.upload(randn(r, 3 * dims[2], 0.1), type);
            }
            case "attention" -> {
                outSize = (long) dims[0] * dims[1] * dims[2] * dims[3];
                inSize = 3 * outSize;
            }
            case "layernorm", "add_layernorm" -> {
                inSize = outSize = (long) dims[0] * dims[1];
                gamma = be.upload(randn(r, dims[1], 1), type);
                bias = be.upload(randn(r, dims[1], 0.1), type);
                residual = be.upload(randn(r, (int) inSize, 1), type);
                sum = be.upload(randn(r, (int) inSize, 1), type);
            }
            case "patch_embed" -> {
                shape = new PatchEmbedShape(dims[0], 3, 224, 16, dims[1]);
                inSize = shape.imageFloats();
                outSize = shape.outputFloats();
                w = be.upload(randn(r, dims[1] * shape.patchDim(), 1 / Math.sqrt(shape.patchDim())), type);
                bias = be.upload(randn(r, dims[1], 0.1), type);
                gamma = be.upload(randn(r, dims[1], 1), type); // the class token
                residual = be.upload(randn(r, shape.tokens() * dims[1], 0.1), type); // the position embedding
            }
            case "gelu" -> inSize = outSize = dims[0];
            default -> throw new IllegalArgumentException("unknown op " + op);
        }
        in = new DeviceBuffer[ROTATE];
        for (int i = 0; i < ROTATE; i++) in[i] = be.upload(randn(r, (int) inSize, 1), type);
        out = be.upload(randn(r, (int) outSize, 1), type);
        be.synchronize();
    }

    static float[] randn(Random r, int n, double std) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (r.nextGaussian() * std);
        return x;
    }

    @Benchmark
    public void run() {
        DeviceBuffer x = in[next++ % ROTATE];
        switch (kind) {
            case "linear_gelu" -> be.linear(x, w, bias, out, dims[0], dims[1], dims[2], Epilogue.BIAS_GELU, null);
            case "linear_residual" -> be.linear(x, w, bias, out, dims[0], dims[1], dims[2], Epilogue.BIAS_RESIDUAL, out);
            case "qkv" -> be.linearQkv(x, w, bias, out, dims[0], dims[1], dims[2], dims[3]);
            case "attention" -> be.attention(x, out, dims[0], dims[1], dims[2], dims[3], (float) (1 / Math.sqrt(dims[3])));
            case "layernorm" -> be.layerNorm(x, gamma, bias, out, dims[0], dims[1], 1e-6f);
            case "add_layernorm" -> be.addLayerNorm(x, residual, sum, out, gamma, bias, dims[0], dims[1], 1e-6f);
            case "patch_embed" -> be.patchEmbed(shape, x, w, bias, gamma, residual, out);
            case "gelu" -> be.gelu(x, out, dims[0]);
            default -> throw new IllegalStateException(kind);
        }
        be.synchronize();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        be.close();
    }
}
