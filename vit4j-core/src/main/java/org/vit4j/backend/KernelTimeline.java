package org.vit4j.backend;

import java.util.List;

/**
 * The device's own timestamps of the kernels a backend ran while recording: when the host queued each
 * one, when it began and when it ended, in nanoseconds on the device's clock. Nothing is synchronised
 * between kernels, so a recorded pass runs as an unrecorded one does; what it shows is where that
 * pass's time goes: kernels running, the device idle between two of them, and how much of that idle
 * time the host had not yet queued the next kernel ({@code vit4j bench --timeline-passes}).
 * {@link Backend#kernelTimeline()} gives it where the device keeps such timestamps (OpenCL's event
 * profiling). A recording holds every kernel the backend queues meanwhile, from whichever thread: on a
 * backend shared by several models or threads, it is their interleaving that is recorded.
 */
public interface KernelTimeline {

    /**
     * One kernel launch: its name (with its global size, where that tells launches of one kernel apart), the op
     * it ran for (null for work outside ops, such as packing a weight on its first use) and its times. An op
     * that launches several kernels gives each of them the same {@link Op} instance.
     */
    record Kernel(String name, Op op, long queuedNs, long startNs, long endNs) {}

    /**
     * Starts recording, from nothing: kernels queued from now on are kept (up to a bound the backend sets, so
     * that a recording never stopped cannot grow without end; OpenCL keeps 65,536).
     */
    void start();

    /** Waits for the kernels queued so far, stops recording and returns what was recorded, in queue order. */
    List<Kernel> stop();
}
