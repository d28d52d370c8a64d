package org.vit4j.backend.opencl;

import static org.jocl.CL.CL_DEVICE_GLOBAL_MEM_SIZE;
import static org.jocl.CL.CL_DEVICE_LOCAL_MEM_SIZE;
import static org.jocl.CL.CL_DEVICE_MAX_COMPUTE_UNITS;
import static org.jocl.CL.CL_DEVICE_MAX_WORK_GROUP_SIZE;
import static org.jocl.CL.CL_DEVICE_NAME;
import static org.jocl.CL.CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT;
import static org.jocl.CL.CL_DEVICE_TYPE;
import static org.jocl.CL.CL_DEVICE_TYPE_ALL;
import static org.jocl.CL.CL_DEVICE_TYPE_CPU;
import static org.jocl.CL.CL_DEVICE_TYPE_GPU;
import static org.jocl.CL.CL_DEVICE_VENDOR;
import static org.jocl.CL.CL_DEVICE_VERSION;
import static org.jocl.CL.CL_PLATFORM_NAME;
import static org.jocl.CL.clGetDeviceIDs;
import static org.jocl.CL.clGetDeviceInfo;
import static org.jocl.CL.clGetPlatformIDs;
import static org.jocl.CL.clGetPlatformInfo;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.jocl.CL;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_device_id;
import org.jocl.cl_platform_id;

/**
 * An OpenCL device and what vit4j needs to know of it to choose kernel variants and sizes.
 * {@code nativeFloatWidth} is CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT: the floats of one SIMD register
 * (PoCL: 16 on AVX-512, 8 on AVX2), what the CPU GEMM's micro-kernel is sized from; on PoCL, no more
 * than its kernel library's code holds ({@link #poclKernelLibraryFloatWidth}).
 */
public record ClDevice(cl_platform_id platform, cl_device_id id, String platformName, String name, String vendor,
        String version, Kind kind, int computeUnits, long maxWorkGroupSize, long localMemBytes, long globalMemBytes,
        int nativeFloatWidth) {

    /** What shape of kernel suits the device: GPUs want local-memory tiles, CPUs register blocks. */
    public enum Kind { GPU, CPU, OTHER }

    /** Every device of every platform, in platform order. Throws where no ICD loader can be used. */
    public static List<ClDevice> all() {
        // JOCL prints to stdout where it cannot load libOpenCL: look for it first, and leave JOCL alone without it.
        String missing = OpenClLibrary.unavailableReason();
        if (missing != null) throw new org.vit4j.Vit4jException(missing);
        CL.setExceptionsEnabled(true);
        // JOCL's native logger writes to stdout (e.g. about event callbacks); its errors reach us as exceptions.
        CL.setLogLevel(CL.LogLevel.LOG_QUIET);
        int[] count = new int[1];
        try {
            clGetPlatformIDs(0, null, count);
        } catch (CLException e) {
            if (e.getStatus() == -1001) return List.of(); // CL_PLATFORM_NOT_FOUND_KHR: a loader, no ICD
            throw e;
        }
        cl_platform_id[] platforms = new cl_platform_id[count[0]];
        clGetPlatformIDs(platforms.length, platforms, null);
        List<ClDevice> out = new ArrayList<>();
        for (cl_platform_id p : platforms) {
            int[] n = new int[1];
            try {
                clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 0, null, n);
            } catch (CLException e) {
                continue; // CL_DEVICE_NOT_FOUND: a platform without devices
            }
            cl_device_id[] ds = new cl_device_id[n[0]];
            clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, ds.length, ds, null);
            String platformName = platformString(p, CL_PLATFORM_NAME);
            for (cl_device_id d : ds) out.add(describe(p, platformName, d));
        }
        return out;
    }

    private static ClDevice describe(cl_platform_id p, String platformName, cl_device_id d) {
        long type = deviceLong(d, CL_DEVICE_TYPE);
        Kind kind = (type & CL_DEVICE_TYPE_GPU) != 0 ? Kind.GPU : (type & CL_DEVICE_TYPE_CPU) != 0 ? Kind.CPU : Kind.OTHER;
        int width = deviceInt(d, CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT);
        int library = kind == Kind.CPU && SignalChaining.isPoclPlatform(platformName)
                ? poclKernelLibraryFloatWidth(System.getenv("POCL_KERNELLIB_NAME")) : 0;
        if (library > 0 && library < width) width = library;
        return new ClDevice(p, d, platformName, deviceString(d, CL_DEVICE_NAME), deviceString(d, CL_DEVICE_VENDOR),
                deviceString(d, CL_DEVICE_VERSION), kind, deviceInt(d, CL_DEVICE_MAX_COMPUTE_UNITS),
                deviceSizeT(d, CL_DEVICE_MAX_WORK_GROUP_SIZE), deviceLong(d, CL_DEVICE_LOCAL_MEM_SIZE),
                deviceLong(d, CL_DEVICE_GLOBAL_MEM_SIZE), width);
    }

    /**
     * The floats of one register in the code of PoCL's kernel library {@code name} (its distro builds' variants:
     * sse2, ssse3, sse41: 4; avx, avx_f16c, avx_fma4, avx2: 8; avx512: 16), 0 for none or another name. PoCL
     * compiles for the library POCL_KERNELLIB_NAME names but reports the host CPU's vector width (16 on an
     * AVX-512 host told to use avx2, PoCL 3.1): vit4j sizes its kernels by the code they become, so the
     * narrower one wins. On an AVX-512 machine POCL_KERNELLIB_NAME=avx2 so gives exactly what an AVX2-only
     * CPU runs (CI and bench/cpu-check.sh use it that way).
     */
    static int poclKernelLibraryFloatWidth(String name) {
        if (name == null) return 0;
        return switch (name.strip()) {
            case "sse2", "ssse3", "sse41" -> 4;
            case "avx", "avx_f16c", "avx_fma4", "avx2" -> 8;
            case "avx512" -> 16;
            default -> 0;
        };
    }

    /** "Portable Computing Language: pthread-skylake-avx512 (CPU, 2 compute units)". */
    public String describe() {
        return platformName + ": " + name + " (" + kind.name().toLowerCase(Locale.ROOT) + ", " + computeUnits
                + " compute units, " + version + ")";
    }

    private static String platformString(cl_platform_id p, int param) {
        long[] size = new long[1];
        clGetPlatformInfo(p, param, 0, null, size);
        byte[] buf = new byte[(int) size[0]];
        clGetPlatformInfo(p, param, buf.length, Pointer.to(buf), null);
        return cString(buf);
    }

    private static String deviceString(cl_device_id d, int param) {
        long[] size = new long[1];
        clGetDeviceInfo(d, param, 0, null, size);
        byte[] buf = new byte[(int) size[0]];
        clGetDeviceInfo(d, param, buf.length, Pointer.to(buf), null);
        return cString(buf);
    }

    private static long deviceLong(cl_device_id d, int param) {
        long[] v = new long[1];
        clGetDeviceInfo(d, param, Sizeof.cl_ulong, Pointer.to(v), null);
        return v[0];
    }

    private static int deviceInt(cl_device_id d, int param) {
        int[] v = new int[1];
        clGetDeviceInfo(d, param, Sizeof.cl_uint, Pointer.to(v), null);
        return v[0];
    }

    private static long deviceSizeT(cl_device_id d, int param) {
        long[] v = new long[1];
        clGetDeviceInfo(d, param, Sizeof.size_t, Pointer.to(v), null);
        return v[0];
    }

    private static String cString(byte[] b) {
        int n = 0;
        while (n < b.length && b[n] != 0) n++;
        return new String(b, 0, n, StandardCharsets.UTF_8).trim();
    }
}
