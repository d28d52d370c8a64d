package org.vit4j.model;

import java.util.Arrays;
import java.util.List;
import org.vit4j.ElementType;
import org.vit4j.Golden;
import org.vit4j.HostTensor;
import org.vit4j.backend.Backend;
import org.vit4j.backend.Backends;
import org.vit4j.io.checkpoint.CheckpointLoader;
import org.vit4j.io.checkpoint.LoadedModel;

/**
 * Run by {@link MultiDeviceModelTest} in a child JVM with {@code POCL_DEVICES="pthread pthread"}:
 * opens every OpenCL device, checks there are two, runs the vit-tiny golden model on both through
 * {@link MultiDeviceModel} and on each device alone, and requires the logits and pre-logits to be
 * equal bit for bit, each device to have run chunks, and no more device memory in use after close than
 * after one model alone on that device (the backend keeps a few scratch buffers of its own).
 * Prints "OK" and exits 0, else prints why and exits 1.
 */
public final class TwoPoclDevicesMain {
    private TwoPoclDevicesMain() {}

    public static void main(String[] args) {
        LoadedModel m = CheckpointLoader.load(Golden.file("vit-tiny", "model.safetensors"));
        List<Backend> all = Backends.openAll("opencl");
        System.out.println("opencl devices: " + all.size());
        int failures = 0;
        try {
            if (all.size() != 2) failures += fail("expected 2 devices with POCL_DEVICES=\"pthread pthread\", got " + all.size());
            HostTensor in = MultiDeviceModelTest.images(13, 5);
            for (ElementType precision : new ElementType[] {ElementType.F32, ElementType.BF16}) {
                // One model on each device alone first: the reference, and what the backend itself keeps
                // allocated (its own scratch buffers) once a model of this precision has run and closed.
                VitOutput ref = null;
                long[] baseline = new long[all.size()];
                for (int d = 0; d < all.size(); d++) {
                    try (VisionTransformer vit = new VisionTransformer(m.weights(), all.get(d), precision)) {
                        VitOutput o = vit.forward(in);
                        if (ref == null) ref = o;
                        else if (!Arrays.equals(ref.logits().data(), o.logits().data())) {
                            failures += fail(precision + ": device " + d + " alone differs from device 0");
                        }
                    }
                    baseline[d] = all.get(d).memoryStats().bytesInUse();
                }
                try (MultiDeviceModel multi = new MultiDeviceModel(m.weights(), all, precision)) {
                    for (int chunk : new int[] {0, 1, 4}) {
                        for (int round = 0; round < 3; round++) {
                            VitOutput out = multi.withChunkSize(chunk).forward(in);
                            if (!Arrays.equals(ref.logits().data(), out.logits().data())
                                    || !Arrays.equals(ref.preLogits().data(), out.preLogits().data())) {
                                failures += fail(precision + ", chunk " + chunk + ": two devices differ from one");
                            }
                        }
                    }
                    for (MultiDeviceModel.DeviceStats s : multi.stats()) {
                        System.out.println(precision + " " + s);
                        if (s.images() == 0) failures += fail(s.device() + " ran no image");
                    }
                }
                for (int d = 0; d < all.size(); d++) {
                    long inUse = all.get(d).memoryStats().bytesInUse();
                    if (inUse != baseline[d]) {
                        failures += fail("device " + d + ": " + inUse + " bytes in use after close, " + baseline[d]
                                + " after one model alone");
                    }
                }
            }
        } catch (RuntimeException e) {
            e.printStackTrace(System.out);
            failures++;
        } finally {
            for (Backend b : all) b.close();
        }
        if (failures == 0) System.out.println("OK");
        System.exit(failures == 0 ? 0 : 1);
    }

    private static int fail(String why) {
        System.out.println("FAIL: " + why);
        return 1;
    }
}
