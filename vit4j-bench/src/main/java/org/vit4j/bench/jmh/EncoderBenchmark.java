package org.vit4j.bench.jmh;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.vit4j.ElementType;
import org.vit4j.HostTensor;
import org.vit4j.backend.Backend;
import org.vit4j.backend.Backends;
import org.vit4j.bench.RandomWeights;
import org.vit4j.model.VisionTransformer;
import org.vit4j.model.VitConfig;
import org.vit4j.model.VitOutput;

/** The whole encoder: images in, logits back on the host, with random weights at a preset's shapes. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1, time = 2)
@Measurement(iterations = 3, time = 2)
public class EncoderBenchmark {
    @Param({"opencl"})
    public String backend;

    /** Device index within the backend, as {@code vit4j devices} lists them. */
    @Param({"0"})
    public int device;

    @Param({"vit-ti16", "vit-s16", "vit-b16"})
    public String model;

    @Param({"1", "8", "64"})
    public int batch;

    /** How weights and activations are stored: fp32, bf16 or fp16 (accumulation is fp32 in all). */
    @Param({"fp32"})
    public String precision;

    private Backend be;
    private VisionTransformer vit;
    private HostTensor[] images;
    private int next;

    @Setup(Level.Trial)
    public void setUp() {
        VitConfig c = VitConfig.preset(model);
        be = Backends.open(backend, device);
        vit = new VisionTransformer(RandomWeights.of(c, 1), be, ElementType.parse(precision));
        images = new HostTensor[] {RandomWeights.images(c, batch, 2), RandomWeights.images(c, batch, 3)};
    }

    @Benchmark
    public VitOutput forward() {
        return vit.forward(images[next++ % images.length]);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        vit.close();
        be.close();
    }
}
