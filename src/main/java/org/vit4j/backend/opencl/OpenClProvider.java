package org.vit4j.backend.opencl;

import static org.jocl.CL.CL_DEVICE_NAME;
import static org.jocl.CL.CL_DEVICE_TYPE_ALL;
import static org.jocl.CL.CL_PLATFORM_NAME;
import static org.jocl.CL.clGetDeviceIDs;
import static org.jocl.CL.clGetDeviceInfo;
import static org.jocl.CL.clGetPlatformIDs;
import static org.jocl.CL.clGetPlatformInfo;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.jocl.CL;
import org.jocl.Pointer;
import org.jocl.cl_device_id;
import org.jocl.cl_platform_id;
import org.vit4j.Vit4jException;
import org.vit4j.backend.Backend;
import org.vit4j.backend.BackendProvider;

/**
 * Finds OpenCL platforms and devices through JOCL. The OpenCL kernels themselves arrive with the
 * OpenCL backend; until then this provider reports the devices it sees and that it cannot run.
 */
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
        List<String> devices;
        try {
            devices = listDevices();
        } catch (LinkageError | RuntimeException e) {
            return Probe.unavailable(List.of(), "no OpenCL ICD loader (libOpenCL.so.1) could be used: "
                    + firstLine(e) + "; on Debian: apt-get install ocl-icd-libopencl1 pocl-opencl-icd");
        }
        if (devices.isEmpty()) {
            return Probe.unavailable(devices, "the OpenCL loader found no platform: no ICD installed "
                    + "(/etc/OpenCL/vendors is empty); on Debian: apt-get install pocl-opencl-icd, or a GPU vendor's ICD");
        }
        return Probe.unavailable(devices, "the OpenCL kernels are not in this build yet");
    }

    @Override
    public Backend open(int device) {
        throw new Vit4jException("backend 'opencl': " + probe().reason());
    }

    private static List<String> listDevices() {
        CL.setExceptionsEnabled(true);
        int[] count = new int[1];
        try {
            clGetPlatformIDs(0, null, count);
        } catch (org.jocl.CLException e) {
            if (e.getStatus() == -1001) return List.of(); // CL_PLATFORM_NOT_FOUND_KHR: loader, but no ICD
            throw e;
        }
        cl_platform_id[] platforms = new cl_platform_id[count[0]];
        clGetPlatformIDs(platforms.length, platforms, null);
        List<String> out = new ArrayList<>();
        for (cl_platform_id p : platforms) {
            String platform = platformInfo(p, CL_PLATFORM_NAME);
            int[] n = new int[1];
            try {
                clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 0, null, n);
            } catch (org.jocl.CLException e) {
                continue; // CL_DEVICE_NOT_FOUND: a platform without devices
            }
            cl_device_id[] ds = new cl_device_id[n[0]];
            clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, ds.length, ds, null);
            for (cl_device_id d : ds) out.add(platform + ": " + deviceInfo(d, CL_DEVICE_NAME));
        }
        return out;
    }

    private static String platformInfo(cl_platform_id p, int param) {
        long[] size = new long[1];
        clGetPlatformInfo(p, param, 0, null, size);
        byte[] buf = new byte[(int) size[0]];
        clGetPlatformInfo(p, param, buf.length, Pointer.to(buf), null);
        return cString(buf);
    }

    private static String deviceInfo(cl_device_id d, int param) {
        long[] size = new long[1];
        clGetDeviceInfo(d, param, 0, null, size);
        byte[] buf = new byte[(int) size[0]];
        clGetDeviceInfo(d, param, buf.length, Pointer.to(buf), null);
        return cString(buf);
    }

    private static String cString(byte[] b) {
        int n = 0;
        while (n < b.length && b[n] != 0) n++;
        return new String(b, 0, n, StandardCharsets.UTF_8).trim();
    }

    static String firstLine(Throwable e) {
        String m = String.valueOf(e.getMessage());
        int nl = m.indexOf('\n');
        return e.getClass().getSimpleName() + ": " + (nl < 0 ? m : m.substring(0, nl));
    }
}
