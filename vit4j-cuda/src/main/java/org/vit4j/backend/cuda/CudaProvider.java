package org.vit4j.backend.cuda;

import java.util.ArrayList;
import java.util.List;
import jcuda.driver.CUdevice;
import org.vit4j.Vit4jException;
import org.vit4j.backend.Backend;
import org.vit4j.backend.BackendOptions;
import org.vit4j.backend.BackendProvider;

/**
 * Finds NVIDIA GPUs through JCuda's driver API. JCuda's native library links against the driver's
 * {@code libcuda.so.1}; where that is missing, loading it fails and the probe says so, as it does
 * when the jar was built without nvcc and so holds no kernels.
 */
public final class CudaProvider implements BackendProvider {
    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public int preference() {
        return 10;
    }

    @Override
    public Probe probe() {
        List<String> devices = new ArrayList<>();
        try {
            jcuda.driver.JCudaDriver.setExceptionsEnabled(true);
            jcuda.driver.JCudaDriver.cuInit(0);
            int[] count = new int[1];
            jcuda.driver.JCudaDriver.cuDeviceGetCount(count);
            for (int i = 0; i < count[0]; i++) {
                CUdevice dev = new CUdevice();
                jcuda.driver.JCudaDriver.cuDeviceGet(dev, i);
                byte[] name = new byte[256];
                jcuda.driver.JCudaDriver.cuDeviceGetName(name, name.length, dev);
                int n = 0;
                while (n < name.length && name[n] != 0) n++;
                devices.add(new String(name, 0, n, java.nio.charset.StandardCharsets.UTF_8));
            }
        } catch (LinkageError e) {
            return Probe.unavailable(List.of(), "no NVIDIA driver: JCuda could not load its native library "
                    + "(it needs libcuda.so.1 from the driver)");
        } catch (RuntimeException e) {
            return Probe.unavailable(List.of(), "the NVIDIA driver did not initialise: " + e.getMessage());
        }
        if (devices.isEmpty()) return Probe.unavailable(devices, "the NVIDIA driver reports no CUDA device");
        if (!JCudaDriver.kernelsBuilt()) {
            return Probe.unavailable(devices, "kernels not built: this jar has no CUDA fatbins (build it where nvcc is)");
        }
        return Probe.available(devices);
    }

    @Override
    public Backend open(int device) {
        return open(device, BackendOptions.DEFAULT);
    }

    @Override
    public Backend open(int device, BackendOptions options) {
        Probe probe = probe();
        if (!probe.available()) throw new Vit4jException("backend 'cuda': " + probe.reason());
        return new CudaBackend(new JCudaDriver(device), options);
    }
}
