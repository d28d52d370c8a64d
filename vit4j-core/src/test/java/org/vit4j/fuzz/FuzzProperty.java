package org.vit4j.fuzz;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.vit4j.Vit4jException;

/**
 * The property every fuzz target of this package checks, for each input:
 *
 * <ul>
 *   <li><b>Only documented exceptions.</b> The code under test returns normally or throws a
 *       {@link Vit4jException} (or a subclass: CheckpointException, ImageException,
 *       WeightsException). Anything else is a finding: an {@code IllegalArgumentException},
 *       {@code ArithmeticException}, {@code IndexOutOfBoundsException}, {@code NullPointerException},
 *       {@code OutOfMemoryError}, {@code StackOverflowError}, ...
 *   <li><b>One line, naming the thing at fault.</b> The message of that exception is non-empty,
 *       holds no line break (the CLI prints it as one line), and names one of the files the target
 *       gave the code (so a user knows which input is bad).
 *   <li><b>A time bound.</b> At most {@link #CPU_BOUND_MS} ms of CPU time on the calling thread
 *       (CPU, not wall time, so that the other engineers' jobs on this 2-core machine and GC pauses
 *       do not make findings; typical inputs take well under 1 ms). A hang, which never returns to
 *       be measured, is caught by the {@code @Timeout} of each target: in regression mode JUnit
 *       enforces it, in fuzzing mode Jazzer turns it into libFuzzer's {@code -timeout} (and
 *       {@code scripts/fuzz.sh} turns JUnit's own timeout off, which would otherwise end the whole
 *       fuzzing run).
 *   <li><b>A memory bound.</b> The bytes allocated on the calling thread while the input is
 *       processed (HotSpot's per-thread allocation counter, which counts every array, whether or not
 *       the heap could hold it) stay under a bound each target states: a constant plus a multiple of
 *       the input's size. An {@code OutOfMemoryError} is a finding as any other error.
 * </ul>
 */
final class FuzzProperty {
    /** Bytes every target allows an input to allocate, whatever its own bound adds. */
    static final long MIN_ALLOC_BOUND = 32L << 20;

    /** CPU time allowed per input, on the calling thread. */
    static final long CPU_BOUND_MS = 2_000;

    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    private static final java.lang.management.ClassLoadingMXBean CLASSES = ManagementFactory.getClassLoadingMXBean();

    private FuzzProperty() {}

    /** What a target runs on one input; may throw anything, the property sorts it out. */
    interface Body {
        void run() throws Exception;
    }

    /**
     * Runs {@code body} and checks the property.
     *
     * @param target         the fuzz target's name, for messages
     * @param allocBound     bytes the input may make the calling thread allocate
     * @param namesExpected  file names at least one of which an error message must contain
     */
    static void check(String target, long allocBound, List<String> namesExpected, Body body) {
        check(target, () -> allocBound, namesExpected, body);
    }

    /** {@link #check(String, long, List, Body)} with a bound worked out after the body ran (not counted). */
    static void check(String target, java.util.function.LongSupplier allocBound, List<String> namesExpected, Body body) {
        long classes0 = CLASSES.getTotalLoadedClassCount();
        long cpu0 = THREADS.getCurrentThreadCpuTime();
        long alloc0 = THREADS.getCurrentThreadAllocatedBytes();
        Vit4jException documented = null;
        try {
            body.run();
        } catch (Vit4jException e) {
            documented = e;
        } catch (Throwable t) {
            // Includes OutOfMemoryError and StackOverflowError. Rethrown as the finding itself, so that
            // Jazzer's deduplication token is the failure's own stack.
            throw new AssertionError(target + ": undocumented " + t.getClass().getName()
                    + " (expected only Vit4jException and its subclasses): " + t.getMessage(), t);
        }
        long cpuMs = (THREADS.getCurrentThreadCpuTime() - cpu0) / 1_000_000;
        long alloc = THREADS.getCurrentThreadAllocatedBytes() - alloc0;
        // The first input down a new path loads classes, and Jazzer instruments each one in this thread
        // (seconds and hundreds of MB for Jackson's ObjectMapper): a one-time cost of the process, not of
        // the input, so the bounds hold only for inputs that loaded no class. A slow or greedy input
        // still shows up: its mutations take the same path again without loading anything.
        boolean warm = CLASSES.getTotalLoadedClassCount() == classes0;
        if (documented != null) {
            String m = documented.getMessage();
            if (m == null || m.isBlank()) {
                throw new AssertionError(target + ": " + documented.getClass().getSimpleName()
                        + " without a message", documented);
            }
            if (m.indexOf('\n') >= 0 || m.indexOf('\r') >= 0) {
                throw new AssertionError(target + ": message is not one line: " + m, documented);
            }
            if (namesExpected.stream().noneMatch(m::contains)) {
                throw new AssertionError(target + ": message names none of " + namesExpected + ": " + m, documented);
            }
        }
        if (warm && cpuMs > CPU_BOUND_MS) {
            throw new AssertionError(target + ": one input took " + cpuMs + " ms of CPU, bound " + CPU_BOUND_MS
                    + " ms" + (documented == null ? "" : " (then: " + documented.getMessage() + ")"));
        }
        // Every target allows at least 32 MiB: below that the bound (which may cost a look at the file) is not needed.
        long bound = warm && alloc > MIN_ALLOC_BOUND ? allocBound.getAsLong() : Long.MAX_VALUE;
        if (alloc > bound) {
            throw new AssertionError(target + ": one input allocated " + alloc + " bytes, bound " + bound
                    + (documented == null ? "" : " (then: " + documented.getMessage() + ")"));
        }
    }

    /** A fresh directory for one target's files, removed when the JVM exits. */
    static Path workDir(String target) {
        try {
            // tmpfs where there is one: a file is written and read back for every input.
            Path shm = Path.of("/dev/shm");
            Path d = Files.isDirectory(shm) && Files.isWritable(shm)
                    ? Files.createTempDirectory(shm, "vit4j-fuzz-" + target)
                    : Files.createTempDirectory("vit4j-fuzz-" + target);
            d.toFile().deleteOnExit();
            return d;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Writes {@code data} to {@code file}, registering it for removal at exit. */
    static void write(Path file, byte[] data) {
        try {
            Files.write(file, data);
            file.toFile().deleteOnExit();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
