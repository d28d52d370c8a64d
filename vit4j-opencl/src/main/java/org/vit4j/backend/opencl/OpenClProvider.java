package org.vit4j.backend.opencl;

import java.util.List;
import org.vit4j.backend.Backend;
import org.vit4j.backend.BackendOptions;
import org.vit4j.backend.BackendProvider;

/** Finds OpenCL devices through JOCL; a missing ICD loader or platform is the reason it cannot run. */
public final class OpenClProvider implements BackendProvider {
    @Override
    public String name() {
        return "opencl";
    }

    @Override
    public int preference() {
        return 20;
    }

    @Override
    public Probe probe() {
        String missing = OpenClLibrary.unavailableReason();
        if (missing != null) return Probe.unavailable(List.of(), missing);
        List<ClDevice> devices;
        try {
            devices = ClDevice.all();
        } catch (LinkageError | RuntimeException e) {
            return Probe.unavailable(List.of(), "no OpenCL ICD loader (libOpenCL.so.1) could be used: "
                    + firstLine(e) + "; on Debian: apt-get install ocl-icd-libopencl1 pocl-opencl-icd");
        }
        List<String> names = devices.stream().map(ClDevice::describe).toList();
        if (devices.isEmpty()) {
            return Probe.unavailable(names, "the OpenCL loader found no platform: no ICD installed "
                    + "(/etc/OpenCL/vendors is empty); on Debian: apt-get install pocl-opencl-icd, or a GPU vendor's ICD");
        }
        return Probe.available(names);
    }

    @Override
    public Backend open(int device) {
        return open(device, BackendOptions.DEFAULT);
    }

    /** With {@link BackendOptions#openClTuning()}; the other options are CUDA's. */
    @Override
    public Backend open(int device, BackendOptions options) {
        return OpenClBackend.open(device, options);
    }

    static String firstLine(Throwable e) {
        String m = String.valueOf(e.getMessage());
        int nl = m.indexOf('\n');
        return e.getClass().getSimpleName() + ": " + (nl < 0 ? m : m.substring(0, nl));
    }
}
