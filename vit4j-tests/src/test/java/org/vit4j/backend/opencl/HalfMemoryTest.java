package org.vit4j.backend.opencl;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.EnumMap;
import java.util.Map;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.vit4j.ElementType;
import org.vit4j.HostTensor;
import org.vit4j.backend.Backend;
import org.vit4j.backend.DevicesUnderTest;
import org.vit4j.bench.RandomWeights;
import org.vit4j.model.VisionTransformer;
import org.vit4j.model.VitConfig;
import org.vit4j.model.VitWeights;

/**
 * A bf16 or fp16 model takes half the device memory of fp32 on OpenCL: its weights and activations
 * are 2 bytes per element (the pool's statistics, as {@code vit4j bench} prints them). ViT-Ti/16 at
 * batch 2; the pool's size classes scale with the request, so only its 256-byte floor (a few small
 * vectors) could keep the ratio above one half. (Attention's K^T scratch, which the backend keeps
 * between models, is allocated in the op's type too.)
 */
class HalfMemoryTest {
    static Stream<Arguments> openCl() {
        return DevicesUnderTest.openCl().stream().map(Arguments::of);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("openCl")
    void halfPrecisionHalvesTheDeviceMemoryOfAModel(Supplier<Backend> device) {
        Backend be = device.get();
        VitConfig config = VitConfig.preset("vit-ti16");
        VitWeights weights = RandomWeights.of(config, 7);
        HostTensor images = RandomWeights.images(config, 2, 8);
        Map<ElementType, Long> bytes = new EnumMap<>(ElementType.class);
        for (ElementType t : ElementType.values()) {
            // Attention's K^T scratch stays with the backend between models: let it reach its size
            // first, so that what is counted is the model's own buffers.
            try (VisionTransformer warm = new VisionTransformer(weights, be, t)) {
                warm.forward(images);
            }
            long before = be.memoryStats().bytesInUse();
            try (VisionTransformer vit = new VisionTransformer(weights, be, t)) {
                vit.forward(images);
                bytes.put(t, be.memoryStats().bytesInUse() - before);
            }
        }
        long fp32 = bytes.get(ElementType.F32);
        for (ElementType t : new ElementType[] {ElementType.BF16, ElementType.F16}) {
            double ratio = (double) bytes.get(t) / fp32;
            assertTrue(ratio >= 0.5 && ratio <= 0.505, be.name() + " " + t.label() + ": " + bytes.get(t)
                    + " bytes in use against fp32's " + fp32 + " (ratio " + ratio + ", want one half)");
        }
    }
}
