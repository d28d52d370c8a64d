package org.vit4j.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.apache.spark.resource.ResourceInformation;
import org.junit.jupiter.api.Test;
import org.vit4j.Vit4jException;

/** The device a task runs on, from the resources Spark assigned it (local mode assigns none, so by hand). */
class DeviceChoiceTest {
    private static Map<String, ResourceInformation> gpus(String... addresses) {
        return Map.of("gpu", new ResourceInformation("gpu", addresses));
    }

    @Test
    void withoutAGpuTheConfiguredBackendRunsOnItsFirstDevice() {
        for (String b : new String[] {"auto", "cpu", "opencl", "cuda", "cuda-cpu"}) {
            assertEquals(new DeviceChoice(b, 0), DeviceChoice.choose(b, Map.of()));
            assertEquals(new DeviceChoice(b, 0), DeviceChoice.choose(b, null));
            assertEquals(new DeviceChoice(b, 0), DeviceChoice.choose(b, gpus()));
            assertEquals(new DeviceChoice(b, 0), DeviceChoice.choose(b,
                    Map.of("fpga", new ResourceInformation("fpga", new String[] {"3"}))));
        }
    }

    @Test
    void theTasksGpuIsTheDevice() {
        assertEquals(new DeviceChoice("cuda", 3), DeviceChoice.choose("auto", gpus("3")));
        assertEquals(new DeviceChoice("cuda", 1), DeviceChoice.choose("cuda", gpus("1", "2")));
        assertEquals(new DeviceChoice("opencl", 2), DeviceChoice.choose("opencl", gpus("2")));
        assertEquals(new DeviceChoice("cuda-cpu", 0), DeviceChoice.choose("cuda-cpu", gpus("0")));
        // the plain-Java backend has no GPU to use
        assertEquals(new DeviceChoice("cpu", 0), DeviceChoice.choose("cpu", gpus("5")));
    }

    @Test
    void anAddressThatIsNoIndexIsAOneLineError() {
        Vit4jException e = assertThrows(Vit4jException.class, () -> DeviceChoice.choose("auto", gpus("GPU-5f2a")));
        assertTrue(e.getMessage().contains("'GPU-5f2a'") && !e.getMessage().contains("\n"), e.getMessage());
        e = assertThrows(Vit4jException.class, () -> DeviceChoice.choose("cuda", gpus("-1")));
        assertTrue(e.getMessage().contains("-1"), e.getMessage());
    }

    @Test
    void outsideATaskTheConfiguredBackend() {
        assertEquals(new DeviceChoice("opencl", 0), DeviceChoice.forCurrentTask("opencl"));
    }
}
