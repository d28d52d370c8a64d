package org.vit4j.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.vit4j.ElementType;
import org.vit4j.Golden;
import org.vit4j.HostTensor;
import org.vit4j.Vit4jException;
import org.vit4j.backend.cpu.CpuBackend;
import org.vit4j.bench.RandomWeights;
import org.vit4j.io.checkpoint.CheckpointLoader;
import org.vit4j.io.checkpoint.LoadedModel;
import org.vit4j.model.VisionTransformer;
import org.vit4j.model.VitConfig;

/**
 * {@link VisionTransformer#forward(DeviceBuffer, int)}: images already on the model's device give the
 * logits the host form gives for the same images, bit for bit, pass after pass with other images in
 * the same buffer shape (the copy into the pass's input happens every pass, also where the pass is
 * replayed from a recorded graph), and leave the caller's buffer as it was; a buffer the model cannot
 * take is refused by name.
 */
class DeviceInputTest {

    static Stream<Arguments> devicesAndTypes() {
        List<Arguments> out = new ArrayList<>();
        List<Named<Supplier<Backend>>> devices = new ArrayList<>(DevicesUnderTest.all());
        devices.add(Named.of("cpu", CpuBackend::new));
        for (Named<Supplier<Backend>> d : devices) {
            for (ElementType t : new ElementType[] {ElementType.F32, ElementType.BF16}) {
                if (HalfKernelParityTest.supports(d, t)) out.add(Arguments.of(d, t));
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("devicesAndTypes")
    void imagesOnTheDeviceGiveTheHostFormsLogitsPassAfterPass(Supplier<Backend> device, ElementType type) {
        Backend be = device.get();
        LoadedModel m = CheckpointLoader.load(Golden.file("vit-odd", "model.safetensors"));
        VitConfig c = m.weights().config();
        int batch = 3;
        try (VisionTransformer vit = new VisionTransformer(m.weights(), be, type)) {
            // The host passes first, all of them: the device passes then start where the pass's own input
            // buffer holds the last host batch, not theirs.
            HostTensor[] images = new HostTensor[3];
            float[][] want = new float[images.length][];
            for (int i = 0; i < images.length; i++) {
                images[i] = RandomWeights.images(c, batch, i + 1); // new images each pass, in the same shape
                want[i] = vit.forward(images[i]).logits().toFloats();
            }
            for (int i = 0; i < images.length; i++) {
                try (DeviceBuffer in = be.upload(images[i], type)) {
                    float[] before = download(be, in);
                    float[] got = vit.forward(in, batch).logits().toFloats();
                    assertArrayEquals(want[i], got, be.name() + " " + type.label() + " batch " + i + ": logits");
                    assertArrayEquals(before, download(be, in), "the caller's buffer is left as it was");
                }
            }
        }
    }

    @Test
    void aBufferTheModelCannotTakeIsRefusedByName() {
        LoadedModel m = CheckpointLoader.load(Golden.file("vit-odd", "model.safetensors"));
        VitConfig c = m.weights().config();
        HostTensor images = RandomWeights.images(c, 2, 5);
        try (Backend be = new CpuBackend(); Backend other = new CpuBackend();
                VisionTransformer vit = new VisionTransformer(m.weights(), be, ElementType.F32)) {
            String shape = "[2, " + c.channels() + ", " + c.imageHeight() + ", " + c.imageWidth() + "] fp32";
            assertRefused(() -> vit.forward(null, 2), "device buffer is null", shape);
            try (DeviceBuffer in = be.upload(images, ElementType.F32)) {
                assertRefused(() -> vit.forward(in, 0), "batch must be >= 1");
                assertRefused(() -> vit.forward(in, 3), "holds " + in.length() + " elements", "[3, ");
            }
            try (DeviceBuffer half = be.upload(images, ElementType.BF16)) {
                assertRefused(() -> vit.forward(half, 2), "device buffer is bf16", shape, "upload with");
            }
            try (DeviceBuffer foreign = other.upload(images, ElementType.F32)) {
                assertRefused(() -> vit.forward(foreign, 2), "belongs to backend", shape);
            }
            DeviceBuffer closed = be.upload(images, ElementType.F32);
            closed.close();
            assertRefused(() -> vit.forward(closed, 2), "device buffer is closed", shape);
        }
    }

    private static void assertRefused(Runnable call, String... parts) {
        Vit4jException e = assertThrows(Vit4jException.class, call::run);
        assertTrue(e.getMessage().startsWith("input: "), e.getMessage());
        for (String p : parts) assertTrue(e.getMessage().contains(p), "'" + p + "' not in: " + e.getMessage());
        assertFalse(e.getMessage().isBlank());
    }

    private static float[] download(Backend be, DeviceBuffer b) {
        float[] host = new float[Math.toIntExact(b.length())];
        be.download(b, host);
        return host;
    }
}
