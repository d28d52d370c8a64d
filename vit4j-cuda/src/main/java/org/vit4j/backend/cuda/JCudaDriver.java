package org.vit4j.backend.cuda;

import static jcuda.driver.JCudaDriver.cuCtxSetCurrent;
import static jcuda.driver.JCudaDriver.cuDeviceGet;
import static jcuda.driver.JCudaDriver.cuDeviceGetAttribute;
import static jcuda.driver.JCudaDriver.cuDeviceGetName;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRelease;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRetain;
import static jcuda.driver.JCudaDriver.cuFuncSetAttribute;
import static jcuda.driver.JCudaDriver.cuGraphDestroy;
import static jcuda.driver.JCudaDriver.cuGraphExecDestroy;
import static jcuda.driver.JCudaDriver.cuGraphInstantiate;
import static jcuda.driver.JCudaDriver.cuGraphLaunch;
import static jcuda.driver.JCudaDriver.cuInit;
import static jcuda.driver.JCudaDriver.cuLaunchKernel;
import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemAllocHost;
import static jcuda.driver.JCudaDriver.cuMemFree;
import static jcuda.driver.JCudaDriver.cuMemFreeHost;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoDAsync;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoHAsync;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoDAsync;
import static jcuda.driver.JCudaDriver.cuModuleGetFunction;
import static jcuda.driver.JCudaDriver.cuModuleLoadData;
import static jcuda.driver.JCudaDriver.cuModuleUnload;
import static jcuda.driver.JCudaDriver.cuStreamBeginCapture;
import static jcuda.driver.JCudaDriver.cuStreamCreate;
import static jcuda.driver.JCudaDriver.cuStreamDestroy;
import static jcuda.driver.JCudaDriver.cuStreamEndCapture;
import static jcuda.driver.JCudaDriver.cuStreamSynchronize;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUfunction_attribute;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import jcuda.driver.CUgraph;
import jcuda.driver.CUgraphExec;
import jcuda.driver.CUmodule;
import jcuda.driver.CUstream;
import jcuda.driver.CUstreamCaptureMode;
import org.vit4j.Vit4jException;
import org.vit4j.backend.HostChunks;

/**
 * {@link CudaDriver} over JCuda's driver API: the device's primary context, one stream, one pinned
 * staging buffer for host transfers, modules loaded from the fatbins in the jar
 * ({@code /org/vit4j/kernels/cuda/<module>.fatbin}, built by scripts/build-cuda-kernels.sh), and
 * graphs by stream capture in relaxed mode.
 *
 * <p>What JCuda 12.6 lacks (tensor maps, cluster launches) goes through vit4j's own
 * {@code libvit4j_cuda.so} ({@link CudaNative}), on the raw handles of this driver's functions and
 * stream; {@link #hopperProblem()} says where that is unavailable.
 */
public final class JCudaDriver implements CudaDriver {
    static final String FATBIN_ROOT = "/org/vit4j/kernels/cuda/";

    private final long totalMemory;
    private final CUdevice device = new CUdevice();
    private final CUcontext context = new CUcontext();
    private final Stream stream = new Stream();
    private final String deviceName;
    private final int computeCapability;
    private final int multiprocessors;
    private final Map<String, CUmodule> modules = new HashMap<>();
    private final Map<String, Kernel> functions = new HashMap<>();
    private Pointer staging = new Pointer();
    private long stagingBytes;
    private boolean closed;

    private record Kernel(String name, Fn handle) implements Function {}

    /** A CUfunction whose raw handle can be read (JCuda sets it in cuModuleGetFunction), for libvit4j_cuda. */
    private static final class Fn extends CUfunction {
        long raw() {
            return getNativePointer();
        }
    }

    /** A CUstream whose raw handle can be read, for libvit4j_cuda (cuLaunchKernelEx, cuBLAS). */
    private static final class Stream extends CUstream {
        long raw() {
            return getNativePointer();
        }
    }

    /** Kernels whose dynamic shared memory limit was raised, with the limit. */
    private final Map<String, Integer> sharedLimit = new HashMap<>();

    private record CapturedGraph(CUgraph graph, CUgraphExec exec) implements Graph {}

    /**
     * A CUdeviceptr at a given address. JCuda hands a pointer to the driver as its native value plus
     * its byte offset, so a null base with the address as offset is that address; and a subclass may
     * read the (protected) value back, which is how {@link #malloc} learns the address.
     */
    private static final class Address extends CUdeviceptr {
        private static final CUdeviceptr NULL = new CUdeviceptr();

        Address() {}

        Address(long address) {
            super(NULL, address);
        }

        long address() {
            return getNativePointer() + getByteOffset();
        }
    }

    /** The JCuda pointer for a device address, for JCuda calls outside this class (cuBLAS). */
    static CUdeviceptr ptr(long address) {
        return new Address(address);
    }

    /** True where every kernel module is in the jar (built with nvcc). */
    public static boolean kernelsBuilt() {
        for (String module : CudaKernels.KERNELS.keySet()) {
            if (JCudaDriver.class.getResource(FATBIN_ROOT + module + ".fatbin") == null) return false;
        }
        return true;
    }

    public JCudaDriver(int index) {
        jcuda.driver.JCudaDriver.setExceptionsEnabled(true);
        cuInit(0);
        cuDeviceGet(device, index);
        byte[] name = new byte[256];
        cuDeviceGetName(name, name.length, device);
        int n = 0;
        while (n < name.length && name[n] != 0) n++;
        deviceName = new String(name, 0, n, StandardCharsets.UTF_8);
        long[] total = new long[1];
        jcuda.driver.JCudaDriver.cuDeviceTotalMem(total, device);
        totalMemory = total[0] > 0 ? total[0] : Long.MAX_VALUE;
        int[] major = new int[1];
        int[] minor = new int[1];
        cuDeviceGetAttribute(major, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device);
        cuDeviceGetAttribute(minor, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device);
        computeCapability = major[0] * 10 + minor[0];
        int[] sms = new int[1];
        cuDeviceGetAttribute(sms, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, device);
        multiprocessors = Math.max(0, sms[0]);
        cuDevicePrimaryCtxRetain(context, device);
        try {
            cuCtxSetCurrent(context);
            cuStreamCreate(stream, 0);
        } catch (RuntimeException e) {
            cuDevicePrimaryCtxRelease(device);
            throw e;
        }
    }

    /** The stream every op is queued on, for cuBLAS. */
    CUstream stream() {
        return stream;
    }

    /** The raw CUstream handle of {@link #stream()}, for libvit4j_cuda (cuBLAS, cuLaunchKernelEx). */
    long rawStream() {
        return stream.raw();
    }

    /** The device's compute capability as major * 10 + minor (90 for an H100/H200). */
    public int computeCapability() {
        return computeCapability;
    }

    /** CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT. */
    @Override
    public int multiprocessors() {
        return multiprocessors;
    }

    /**
     * Null where {@link #encodeTensorMap} and cluster launches work here: a device of compute
     * capability 9.0 or newer, and libvit4j_cuda.so bound to this driver's cuTensorMapEncodeTiled and
     * cuLaunchKernelEx; else why not (which file or symbol is missing).
     */
    @Override
    public String hopperProblem() {
        if (computeCapability < 90) {
            return deviceName + " has compute capability " + computeCapability / 10 + "." + computeCapability % 10
                    + "; tensor maps and clusters need 9.0";
        }
        return CudaNative.driver().problem();
    }

    /** cuTensorMapEncodeTiled through libvit4j_cuda.so; see {@link CudaDriver#encodeTensorMap}. */
    @Override
    public byte[] encodeTensorMap(TensorMapSpec spec) {
        return CudaNative.driver().orThrow("cuTensorMapEncodeTiled").encodeTiled(spec);
    }

    /**
     * cuLaunchKernelEx through libvit4j_cuda.so, on this driver's stream (so it is recorded into a graph
     * being captured like any launch), with the cluster dimensions as a launch attribute where they are
     * not {1, 1, 1}. Dynamic shared memory above 48 KiB is opted into once per kernel
     * (CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES), and clusters of more than 8 blocks too
     * (CU_FUNC_ATTRIBUTE_NON_PORTABLE_CLUSTER_SIZE_ALLOWED).
     */
    @Override
    public void launch(Function function, int[] grid, int[] block, int[] cluster, int sharedBytes,
            List<KernelArg> args) {
        CudaNative.Driver driver = CudaNative.driver().orThrow("cuLaunchKernelEx");
        Kernel k = (Kernel) function;
        optInShared(k, sharedBytes);
        if (cluster != null && cluster.length == 3 && (long) cluster[0] * cluster[1] * cluster[2] > 8) {
            cuFuncSetAttribute(k.handle(), CUfunction_attribute.CU_FUNC_ATTRIBUTE_NON_PORTABLE_CLUSTER_SIZE_ALLOWED, 1);
        }
        driver.launch(k.handle().raw(), grid, block, cluster, sharedBytes, stream.raw(), args);
    }

    /** Raises the kernel's dynamic shared memory limit to {@code sharedBytes} where it is above the default 48 KiB. */
    private void optInShared(Kernel k, int sharedBytes) {
        if (sharedBytes <= 48 * 1024) return;
        Integer done = sharedLimit.get(k.name());
        if (done != null && done >= sharedBytes) return;
        cuFuncSetAttribute(k.handle(), CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, sharedBytes);
        sharedLimit.put(k.name(), sharedBytes);
    }

    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public String deviceName() {
        return deviceName;
    }

    @Override
    public long totalMemory() {
        return totalMemory;
    }

    @Override
    public void makeCurrent() {
        if (closed) throw new IllegalStateException("cuda: driver used after close");
        cuCtxSetCurrent(context);
    }

    @Override
    public long malloc(long bytes) {
        Address p = new Address();
        cuMemAlloc(p, bytes);
        return p.address();
    }

    @Override
    public void free(long address) {
        cuMemFree(new Address(address));
    }

    /** The pinned staging buffer, grown to at least {@code bytes}; waits for the stream before reuse. */
    private FloatBuffer staging(long bytes) {
        return stagingBytes(bytes).asFloatBuffer();
    }

    private java.nio.ShortBuffer stagingShorts(long bytes) {
        return stagingBytes(bytes).asShortBuffer();
    }

    private java.nio.ByteBuffer stagingBytes(long bytes) {
        cuStreamSynchronize(stream);
        if (bytes > stagingBytes) {
            if (stagingBytes > 0) cuMemFreeHost(staging);
            stagingBytes = 0;
            staging = new Pointer();
            cuMemAllocHost(staging, bytes);
            stagingBytes = bytes;
        }
        return staging.getByteBuffer(0, bytes).order(ByteOrder.nativeOrder());
    }

    @Override
    public void copyHtoD(long dst, short[] src, int srcOffset, int count) {
        if (count == 0) return;
        long bytes = (long) count * Short.BYTES;
        stagingShorts(bytes).put(src, srcOffset, count);
        cuMemcpyHtoDAsync(new Address(dst), staging, bytes, stream);
    }

    @Override
    public void copyDtoH(short[] dst, int dstOffset, long src, int count) {
        if (count == 0) return;
        long bytes = (long) count * Short.BYTES;
        java.nio.ShortBuffer host = stagingShorts(bytes);
        cuMemcpyDtoHAsync(staging, new Address(src), bytes, stream);
        cuStreamSynchronize(stream);
        host.get(dst, dstOffset, count);
    }

    @Override
    public void copyHtoD(long dst, float[] src, int srcOffset, int count) {
        if (count == 0) return;
        long bytes = (long) count * Float.BYTES;
        FloatBuffer host = staging(bytes);
        HostChunks.forEach(count, (from, to) -> host.put(from, src, srcOffset + from, to - from));
        cuMemcpyHtoDAsync(new Address(dst), staging, bytes, stream);
    }

    @Override
    public void copyHtoDRounded(long dst, float[] src, org.vit4j.ElementType type) {
        if (src.length == 0) return;
        long bytes = (long) src.length * Short.BYTES;
        java.nio.ShortBuffer host = stagingShorts(bytes);
        HostChunks.forEach(src.length, (from, to) -> {
            // rounded through a small array per chunk (16 KiB of floats read at a time, in L1): a chunk-sized one
            // made 77 MB of garbage per b256 pass
            short[] bits = new short[Math.min(1 << 12, to - from)];
            for (int at = from; at < to; at += bits.length) {
                int end = Math.min(to, at + bits.length);
                type.toBits(src, at, end, bits, 0);
                host.put(at, bits, 0, end - at);
            }
        });
        cuMemcpyHtoDAsync(new Address(dst), staging, bytes, stream);
    }

    @Override
    public void copyDtoH(float[] dst, int dstOffset, long src, int count) {
        if (count == 0) return;
        long bytes = (long) count * Float.BYTES;
        FloatBuffer host = staging(bytes);
        cuMemcpyDtoHAsync(staging, new Address(src), bytes, stream);
        cuStreamSynchronize(stream);
        host.get(dst, dstOffset, count);
    }

    @Override
    public void copyDtoD(long dst, long src, long bytes) {
        cuMemcpyDtoDAsync(new Address(dst), new Address(src), bytes, stream);
    }

    @Override
    public Function function(String module, String kernel) {
        String key = module + "/" + kernel;
        Kernel k = functions.get(key);
        if (k != null) return k;
        CUmodule m = modules.get(module);
        if (m == null) {
            m = new CUmodule();
            cuModuleLoadData(m, fatbin(module));
            modules.put(module, m);
        }
        Fn f = new Fn();
        cuModuleGetFunction(f, m, kernel);
        k = new Kernel(key, f);
        functions.put(key, k);
        return k;
    }

    private static byte[] fatbin(String module) {
        try (InputStream in = JCudaDriver.class.getResourceAsStream(FATBIN_ROOT + module + ".fatbin")) {
            if (in == null) {
                throw new Vit4jException("cuda: kernels not built: " + module + ".fatbin is not in the jar "
                        + "(build on a machine with nvcc: scripts/build-cuda-kernels.sh)");
            }
            byte[] bytes = in.readAllBytes();
            return Arrays.copyOf(bytes, bytes.length + 1); // the driver wants it NUL-terminated
        } catch (IOException e) {
            throw new Vit4jException("cuda: cannot read " + module + ".fatbin: " + e.getMessage(), e);
        }
    }

    @Override
    public void launch(Function function, int[] grid, int[] block, int sharedBytes, List<KernelArg> args) {
        if (args.stream().anyMatch(a -> a instanceof KernelArg.TensorMap)) {
            launch(function, grid, block, new int[] {1, 1, 1}, sharedBytes, args); // JCuda cannot pass 128-byte values
            return;
        }
        Pointer[] params = new Pointer[args.size()];
        for (int i = 0; i < params.length; i++) {
            KernelArg a = args.get(i);
            // Each kernel parameter is passed by the address of its value: 8 bytes for a pointer, 4 else.
            if (a instanceof KernelArg.Ptr p) params[i] = Pointer.to(new long[] {p.address()});
            else if (a instanceof KernelArg.I32 v) params[i] = Pointer.to(new int[] {v.value()});
            else params[i] = Pointer.to(new float[] {((KernelArg.F32) a).value()});
        }
        cuLaunchKernel(((Kernel) function).handle(), grid[0], grid[1], grid[2], block[0], block[1], block[2],
                sharedBytes, stream, Pointer.to(params), null);
    }

    @Override
    public void synchronize() {
        cuStreamSynchronize(stream);
    }

    @Override
    public void beginCapture() {
        // Relaxed: a first pass may still grow a scratch buffer (cuMemAlloc) while it is recorded.
        cuStreamBeginCapture(stream, CUstreamCaptureMode.CU_STREAM_CAPTURE_MODE_RELAXED);
    }

    @Override
    public Graph endCapture() {
        CUgraph graph = new CUgraph();
        cuStreamEndCapture(stream, graph);
        CUgraphExec exec = new CUgraphExec();
        try {
            cuGraphInstantiate(exec, graph, 0);
        } catch (RuntimeException e) {
            cuGraphDestroy(graph);
            throw e;
        }
        return new CapturedGraph(graph, exec);
    }

    @Override
    public void launchGraph(Graph graph) {
        cuGraphLaunch(((CapturedGraph) graph).exec(), stream);
    }

    @Override
    public void destroyGraph(Graph graph) {
        CapturedGraph g = (CapturedGraph) graph;
        try {
            cuGraphExecDestroy(g.exec());
        } finally {
            cuGraphDestroy(g.graph());
        }
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        try {
            if (stagingBytes > 0) cuMemFreeHost(staging);
            modules.values().forEach(m -> cuModuleUnload(m));
            cuStreamDestroy(stream);
        } finally {
            cuDevicePrimaryCtxRelease(device);
        }
    }
}
