import static org.jocl.CL.*;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.jocl.*;

/**
 * Stress for the PoCL/LLVM signal-handler question (README, "OpenCL on PoCL"; issue 12): threads
 * that each build, create and run a never-seen OpenCL kernel on PoCL (so LLVM compiles every time and
 * registers its signal handlers when it writes its temporary files), while other Java threads run hot
 * allocating loops (compiled code with safepoint polls, which fault on purpose: SIGSEGV) and a small
 * heap forces frequent GCs, plus a thread asking for all stack traces (a safepoint each time).
 * Prints one line with the counts (kernels built and run, builds that failed) and exits 0; a crash
 * shows as the JVM dying with a signal. Run by bench/peers/pocl_signal_stress.sh.
 *
 *   java -Xmx64m -cp jocl.jar SignalStress.java SECONDS COMPILE_THREADS JAVA_THREADS [no-safepoint-thread]
 */
public final class SignalStress {
    public static void main(String[] args) throws Exception {
        double seconds = Double.parseDouble(args[0]);
        int compilers = Integer.parseInt(args[1]);
        int javaThreads = Integer.parseInt(args[2]);
        boolean stackTraces = args.length < 4 || !args[3].equals("no-safepoint-thread");
        long deadline = System.nanoTime() + (long) (seconds * 1e9);
        setExceptionsEnabled(true);
        cl_device_id device = null;
        cl_platform_id platform = null;
        int[] n = new int[1];
        clGetPlatformIDs(0, null, n);
        cl_platform_id[] ps = new cl_platform_id[n[0]];
        clGetPlatformIDs(ps.length, ps, null);
        for (cl_platform_id p : ps) {
            byte[] name = new byte[256];
            clGetPlatformInfo(p, CL_PLATFORM_NAME, name.length, Pointer.to(name), null);
            if (new String(name).startsWith("Portable Computing Language")) {
                cl_device_id[] ds = new cl_device_id[1];
                clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 1, ds, null);
                platform = p;
                device = ds[0];
            }
        }
        if (device == null) throw new IllegalStateException("no PoCL platform");
        cl_context_properties props = new cl_context_properties();
        props.addProperty(CL_CONTEXT_PLATFORM, platform);
        cl_context ctx = clCreateContext(props, 1, new cl_device_id[] {device}, null, null, null);
        final cl_device_id dev = device;
        AtomicLong compiles = new AtomicLong(), failures = new AtomicLong(), safepoints = new AtomicLong(), sink = new AtomicLong();
        String[] firstFailure = {""};
        long salt = System.nanoTime() ^ ProcessHandle.current().pid() << 32;
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < compilers; t++) {
            final int id = t;
            threads.add(new Thread(() -> {
                @SuppressWarnings("deprecation")
                cl_command_queue q = clCreateCommandQueue(ctx, dev, 0, null);
                cl_mem buf = clCreateBuffer(ctx, CL_MEM_READ_WRITE, 64 * 4, null, null);
                for (long i = 0; System.nanoTime() < deadline; i++) {
                    // A source never built before (salted per process), so PoCL's kernel cache never hits.
                    String src = "// " + Long.toHexString(salt) + " " + id + " " + i + "\n"
                            + "__kernel void k(__global float *a) { int g = get_global_id(0);"
                            + " a[g] = a[g] * " + (i % 97 + 1) + ".0f + sin((float) g * " + id + ".5f); }";
                    cl_program prog = clCreateProgramWithSource(ctx, 1, new String[] {src}, null, null);
                    try {
                        clBuildProgram(prog, 0, null, null, null, null);
                        cl_kernel k = clCreateKernel(prog, "k", null);
                        clSetKernelArg(k, 0, Sizeof.cl_mem, Pointer.to(buf));
                        clEnqueueNDRangeKernel(q, k, 1, null, new long[] {64}, new long[] {8}, 0, null, null);
                        clFinish(q);
                        clReleaseKernel(k);
                        compiles.incrementAndGet();
                    } catch (CLException e) {
                        // LLVM's handler took a JVM SIGSEGV and deleted the compiler's temporary files.
                        String m = String.valueOf(e.getMessage());
                        if (failures.incrementAndGet() == 1) firstFailure[0] = m.lines().filter(l -> l.startsWith("error")).findFirst().orElse(m.lines().findFirst().orElse(m));
                    }
                    clReleaseProgram(prog);
                }
                clReleaseMemObject(buf);
                clReleaseCommandQueue(q);
            }, "compile-" + t));
        }
        for (int t = 0; t < javaThreads; t++) {
            threads.add(new Thread(() -> {
                long acc = 0;
                while (System.nanoTime() < deadline) {
                    for (int j = 0; j < 10_000; j++) {
                        int[] a = new int[16 + (j & 63)]; // garbage: young GCs every few ms with -Xmx64m
                        a[j & 15] = j;
                        acc += a[(j * 7) & 15] + (acc >>> 3);
                    }
                }
                sink.addAndGet(acc);
            }, "java-" + t));
        }
        if (stackTraces) threads.add(new Thread(() -> {
            while (System.nanoTime() < deadline) {
                Thread.getAllStackTraces(); // a safepoint: every running Java thread hits its poll
                safepoints.incrementAndGet();
                try {
                    Thread.sleep(1);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "safepoints"));
        for (Thread t : threads) t.start();
        for (Thread t : threads) t.join();
        clReleaseContext(ctx);
        System.out.println("ok builds=" + compiles.get() + " failed-builds=" + failures.get() + " stack-trace-safepoints="
                + safepoints.get() + " seconds=" + seconds + (sink.get() == 42 ? " " : "")
                + (failures.get() > 0 ? " first-failure: " + firstFailure[0] : ""));
    }
}
