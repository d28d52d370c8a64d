package org.vit4j.backend.opencl;

import static org.jocl.CL.CL_MEM_READ_WRITE;
import static org.jocl.CL.CL_PROFILING_COMMAND_END;
import static org.jocl.CL.CL_PROFILING_COMMAND_QUEUED;
import static org.jocl.CL.CL_PROFILING_COMMAND_START;
import static org.jocl.CL.CL_QUEUE_PROFILING_ENABLE;
import static org.jocl.CL.CL_PROGRAM_BUILD_LOG;
import static org.jocl.CL.CL_TRUE;
import static org.jocl.CL.clBuildProgram;
import static org.jocl.CL.clCreateBuffer;
import static org.jocl.CL.clCreateCommandQueue;
import static org.jocl.CL.clCreateContext;
import static org.jocl.CL.clCreateKernel;
import static org.jocl.CL.clCreateProgramWithSource;
import static org.jocl.CL.clEnqueueNDRangeKernel;
import static org.jocl.CL.clEnqueueReadBuffer;
import static org.jocl.CL.clEnqueueWriteBuffer;
import static org.jocl.CL.clFinish;
import static org.jocl.CL.clGetEventProfilingInfo;
import static org.jocl.CL.clGetProgramBuildInfo;
import static org.jocl.CL.clReleaseCommandQueue;
import static org.jocl.CL.clReleaseContext;
import static org.jocl.CL.clReleaseEvent;
import static org.jocl.CL.clReleaseKernel;
import static org.jocl.CL.clReleaseMemObject;
import static org.jocl.CL.clReleaseProgram;
import static org.jocl.CL.clSetKernelArg;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_command_queue;
import org.jocl.cl_context;
import org.jocl.cl_device_id;
import org.jocl.cl_event;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;
import org.jocl.cl_program;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.vit4j.ElementType;
import org.vit4j.Vit4jException;
import org.vit4j.backend.KernelTimeline;
import org.vit4j.backend.Op;

/**
 * One device's OpenCL state: the context, an in-order queue, and the programs built for it.
 * Kernel sources ship in the jar under {@code org/vit4j/kernels/opencl/}, each program prefixed with
 * {@code common.cl}; each (program, build options, storage type) is built once per device, on the
 * first kernel asked of it, and its kernels are cached. The storage type is a define of the build
 * ({@link #storageDefine}), so a bf16 model builds only bf16 programs.
 */
final class ClRuntime implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ClRuntime.class);
    static final String SOURCE_ROOT = "/org/vit4j/kernels/opencl/";

    final ClDevice device;
    final cl_context context;
    final cl_command_queue queue;
    private final Map<String, cl_program> programs = new HashMap<>();
    private final Map<String, cl_kernel> kernels = new HashMap<>();
    /**
     * What each kernel's arguments were last set to (a buffer's cl_mem, {@link #ABSENT}, or the Integer or
     * Float), so that {@link #launch} sets only those that changed. Arguments stay set on a kernel object
     * from one enqueue to the next (OpenCL 1.2, 5.9.2); twelve blocks call the same kernel with mostly the
     * same arguments (the activations, the shape), and each clSetKernelArg through JOCL costs the host
     * about a microsecond, on a core the device's own threads need.
     */
    private final Map<cl_kernel, Object[]> argsSet = new IdentityHashMap<>();
    private static final Object ABSENT = new Object();
    /** clSetKernelArg calls so far (tests: the ones {@link #argsSet} spares are not made). */
    private long argumentsSet;

    ClRuntime(ClDevice device) {
        this.device = device;
        cl_device_id[] ids = {device.id()};
        this.context = clCreateContext(null, 1, ids, null, null, null);
        try {
            // clCreateCommandQueue is deprecated in 2.0 but is the one call every 1.2+ device has. Profiling
            // (a required capability since 1.0) only timestamps each command; events are made only while a
            // timeline records (startRecording).
            @SuppressWarnings("deprecation")
            cl_command_queue q = clCreateCommandQueue(context, device.id(), CL_QUEUE_PROFILING_ENABLE, null);
            this.queue = q;
        } catch (RuntimeException e) {
            clReleaseContext(context);
            throw e;
        }
    }

    /**
     * Kernel {@code name} of program {@code program} (kernels/opencl/{program}.cl) built with
     * {@code options} for tensors stored as {@code type}.
     */
    cl_kernel kernel(String program, String name, String options, ElementType type) {
        return kernel(program, name, options + storageDefine(type));
    }

    /** The build option that selects common.cl's storage type: " -D VIT4J_STORAGE_F32" (BF16, F16). */
    static String storageDefine(ElementType type) {
        if (type == null) throw new IllegalArgumentException("storage type is null");
        return " -D VIT4J_STORAGE_" + type.name();
    }

    private cl_kernel kernel(String program, String name, String options) {
        String key = program + "|" + options + "|" + name;
        cl_kernel k = kernels.get(key);
        if (k == null) {
            k = clCreateKernel(program(program, options), name, null);
            kernels.put(key, k);
        }
        return k;
    }

    private cl_program program(String program, String options) {
        String key = program + "|" + options;
        cl_program p = programs.get(key);
        if (p != null) return p;
        String source = source(program);
        long start = System.nanoTime();
        for (int attempt = 1; ; attempt++) {
            p = clCreateProgramWithSource(context, 1, new String[] {source}, null, null);
            try {
                clBuildProgram(p, 1, new cl_device_id[] {device.id()}, "-cl-std=CL1.2 " + options, null, null);
                break;
            } catch (CLException e) {
                String log = buildLog(p);
                clReleaseProgram(p);
                // PoCL without signal chaining: a JVM signal reached LLVM's handler, which deleted the
                // compiler's temporary files. Nothing was wrong with the source: build it again.
                boolean signalled = SignalChaining.temporaryFileDeleted(log);
                if (signalled && attempt < SignalChaining.BUILD_ATTEMPTS) {
                    LOG.debug("building {}.cl: temporary file deleted by LLVM's signal handler, attempt {}", program, attempt);
                    continue;
                }
                // The exception's message is one line (Vit4jException escapes the log's line breaks): the log
                // as the compiler wrote it goes to the logger.
                LOG.error("OpenCL build log of {}.cl for {}:\n{}", program, device.name(), log);
                throw new Vit4jException("OpenCL: building kernels/opencl/" + program + ".cl for " + device.name()
                        + " failed (" + e.getMessage() + ", options '" + options + "'"
                        + (signalled ? ", " + attempt + " attempts, each with its temporary file deleted by LLVM's "
                                + "signal handler: " + SignalChaining.advice() : "") + "):\n" + log, e);
            }
        }
        LOG.debug("built {}.cl for {} with '{}' in {} ms", program, device.name(), options,
                (System.nanoTime() - start) / 1_000_000);
        programs.put(key, p);
        return p;
    }

    /** The program's source, with common.cl (shared definitions) in front. */
    static String source(String program) {
        return resource("common") + "\n#line 1\n" + resource(program);
    }

    private static String resource(String program) {
        try (InputStream in = ClRuntime.class.getResourceAsStream(SOURCE_ROOT + program + ".cl")) {
            if (in == null) {
                throw new Vit4jException("OpenCL kernel source " + program + ".cl is not in the jar: a broken build");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new Vit4jException("cannot read OpenCL kernel source " + program + ".cl: " + e.getMessage(), e);
        }
    }

    private String buildLog(cl_program p) {
        try {
            long[] size = new long[1];
            clGetProgramBuildInfo(p, device.id(), CL_PROGRAM_BUILD_LOG, 0, null, size);
            byte[] buf = new byte[(int) size[0]];
            clGetProgramBuildInfo(p, device.id(), CL_PROGRAM_BUILD_LOG, buf.length, Pointer.to(buf), null);
            return new String(buf, StandardCharsets.UTF_8).trim();
        } catch (CLException e) {
            return "(no build log: " + e.getMessage() + ")";
        }
    }

    /**
     * Sets the arguments of {@code kernel} ({@link ClBuffer}s, Integer, Float; null for an absent buffer) and
     * enqueues it over {@code global} work-items in groups of {@code local} (null: the driver chooses).
     */
    void launch(cl_kernel kernel, String name, long[] global, long[] local, Object... args) {
        Object[] set = argsSet.get(kernel);
        if (set == null || set.length < args.length) {
            set = new Object[args.length];
            argsSet.put(kernel, set);
        }
        for (int i = 0; i < args.length; i++) {
            Object a = args[i];
            // A buffer by its cl_mem's identity (one the pool hands out again is the same cl_mem, the same
            // memory), a number by value.
            Object value = a == null ? ABSENT : a instanceof ClBuffer b ? b.mem() : a;
            if (value == set[i] || (!(value instanceof cl_mem) && value.equals(set[i]))) continue;
            if (a == null) {
                clSetKernelArg(kernel, i, Sizeof.cl_mem, null); // an absent optional buffer (no bias)
            } else if (a instanceof ClBuffer b) {
                clSetKernelArg(kernel, i, Sizeof.cl_mem, Pointer.to(b.mem()));
            } else if (a instanceof Integer v) {
                clSetKernelArg(kernel, i, Sizeof.cl_int, Pointer.to(new int[] {v}));
            } else if (a instanceof Float v) {
                clSetKernelArg(kernel, i, Sizeof.cl_float, Pointer.to(new float[] {v}));
            } else {
                throw new IllegalArgumentException(name + ": argument " + i + " has unsupported type " + a);
            }
            set[i] = value; // only once the driver took it
            argumentsSet++;
        }
        try {
            cl_event event = recording != null && recording.size() < MAX_RECORDED ? new cl_event() : null;
            clEnqueueNDRangeKernel(queue, kernel, global.length, null, global, local, 0, null, event);
            if (event != null) recording.add(new Recorded(global.length == 1 ? name + " [" + global[0] + "]"
                    : name + " " + java.util.Arrays.toString(global), currentOp, event));
        } catch (CLException e) {
            throw new Vit4jException("OpenCL: launching " + name + " on " + device.name() + " failed: "
                    + e.getMessage() + " (global " + java.util.Arrays.toString(global) + ", local "
                    + java.util.Arrays.toString(local) + ")", e);
        }
    }

    /** A kernel launched while recording, the op it ran for, and its event. */
    private record Recorded(String name, Op op, cl_event event) {}

    /** The op whose kernels are being launched (OpenClBackend.execute sets it), for the recording. */
    Op currentOp;

    /** The launches recorded since {@link #startRecording}, or null when not recording. */
    private List<Recorded> recording;
    /**
     * Past this many kernels a recording keeps no more: each holds a driver event until {@link #stopRecording},
     * and a recording never stopped must not grow without end. 65,536 kernels are over 300 passes of ViT-L.
     */
    static final int MAX_RECORDED = 1 << 16;

    /** Starts keeping an event per kernel launched (dropping any recording not stopped). */
    void startRecording() {
        releaseRecorded();
        recording = new ArrayList<>();
    }

    /** Waits for the queue, then the recorded kernels' device timestamps, in queue order; recording stops. */
    List<KernelTimeline.Kernel> stopRecording() {
        if (recording == null) throw new IllegalStateException("kernel timeline: stop without start");
        try {
            clFinish(queue);
            List<KernelTimeline.Kernel> out = new ArrayList<>(recording.size());
            for (Recorded r : recording) {
                out.add(new KernelTimeline.Kernel(r.name(), r.op(), profilingInfo(r.event(), CL_PROFILING_COMMAND_QUEUED),
                        profilingInfo(r.event(), CL_PROFILING_COMMAND_START), profilingInfo(r.event(), CL_PROFILING_COMMAND_END)));
            }
            return out;
        } finally {
            releaseRecorded();
        }
    }

    private static long profilingInfo(cl_event event, int what) {
        long[] value = new long[1];
        clGetEventProfilingInfo(event, what, Sizeof.cl_ulong, Pointer.to(value), null);
        return value[0];
    }

    private void releaseRecorded() {
        if (recording == null) return;
        recording.forEach(r -> clReleaseEvent(r.event()));
        recording = null;
    }

    /** How many kernel arguments have been set (clSetKernelArg calls) on this device so far. */
    long argumentsSet() {
        return argumentsSet;
    }

    cl_mem createBuffer(long bytes) {
        return clCreateBuffer(context, CL_MEM_READ_WRITE, Math.max(bytes, 4), null, null);
    }

    void write(cl_mem mem, float[] host) {
        clEnqueueWriteBuffer(queue, mem, CL_TRUE, 0, (long) host.length * Sizeof.cl_float, Pointer.to(host), 0, null, null);
    }

    void read(cl_mem mem, float[] host) {
        clEnqueueReadBuffer(queue, mem, CL_TRUE, 0, (long) host.length * Sizeof.cl_float, Pointer.to(host), 0, null, null);
    }

    void write(cl_mem mem, short[] host) {
        clEnqueueWriteBuffer(queue, mem, CL_TRUE, 0, (long) host.length * Sizeof.cl_short, Pointer.to(host), 0, null, null);
    }

    void read(cl_mem mem, short[] host) {
        clEnqueueReadBuffer(queue, mem, CL_TRUE, 0, (long) host.length * Sizeof.cl_short, Pointer.to(host), 0, null, null);
    }

    void copy(cl_mem src, cl_mem dst, long bytes) {
        org.jocl.CL.clEnqueueCopyBuffer(queue, src, dst, 0, 0, bytes, 0, null, null);
    }

    void finish() {
        clFinish(queue);
    }

    static void free(cl_mem mem) {
        clReleaseMemObject(mem);
    }

    @Override
    public void close() {
        try {
            clFinish(queue);
        } finally {
            releaseRecorded();
            argsSet.clear();
            kernels.values().forEach(k -> clReleaseKernel(k));
            programs.values().forEach(p -> clReleaseProgram(p));
            kernels.clear();
            programs.clear();
            clReleaseCommandQueue(queue);
            clReleaseContext(context);
        }
    }
}
