package org.vit4j.spark;

import java.util.Map;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;
import org.vit4j.Vit4jException;

/**
 * Which backend and device a task runs on. Where Spark's resource scheduler assigned the task a GPU
 * ({@code spark.task.resource.gpu.amount}, {@code spark.executor.resource.gpu.*}: the RAPIDS model),
 * the task's first {@code gpu} address is the device index: backend "auto" and "cuda" run CUDA on it,
 * "opencl" and "cuda-cpu" run on that device of their own list. "cpu" ignores any GPU. Without a GPU the
 * configured backend runs on its first device.
 *
 * @param backend the backend name to open
 * @param device  the index into that backend's devices
 */
public record DeviceChoice(String backend, int device) {
    public static final String GPU = "gpu";

    /** The choice for the task running on this thread (outside a task: the configured backend). */
    static DeviceChoice forCurrentTask(String configured) {
        TaskContext task = TaskContext.get();
        return choose(configured, task == null ? Map.of() : task.resourcesJMap());
    }

    /** The choice for a task with {@code resources} (Spark's name -> addresses) and backend {@code configured}. */
    public static DeviceChoice choose(String configured, Map<String, ResourceInformation> resources) {
        ResourceInformation gpu = resources == null ? null : resources.get(GPU);
        if (gpu == null || gpu.addresses().length == 0 || configured.equals("cpu")) {
            return new DeviceChoice(configured, 0);
        }
        String address = gpu.addresses()[0];
        int index;
        try {
            index = Integer.parseInt(address.trim());
        } catch (NumberFormatException e) {
            throw new Vit4jException("Spark assigned this task GPU address '" + address
                    + "', expected a device index (0, 1, ...) as a GPU discovery script reports it");
        }
        if (index < 0) {
            throw new Vit4jException("Spark assigned this task GPU address " + index + ", expected a device index >= 0");
        }
        return new DeviceChoice(configured.equals("auto") ? "cuda" : configured, index);
    }
}
