package org.vit4j.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.vit4j.backend.Backend;
import org.vit4j.backend.DeviceBuffer;
import org.vit4j.backend.KernelTimeline;
import org.vit4j.backend.Op;
import org.vit4j.memory.PoolStats;

/**
 * A backend that times each op of another: it waits for the queue before and after every call, so
 * each time is that op's alone (launch and all), at the cost of the overlap a real pass has. Used
 * by {@code vit4j bench} for its per-kernel table; the end-to-end figure comes from the bare
 * backend. Calls are grouped by op and shape, in first-seen order.
 */
public final class ProfilingBackend implements Backend {
    private final Backend inner;
    private final Map<String, OpTimes> ops = new LinkedHashMap<>();

    public ProfilingBackend(Backend inner) {
        this.inner = inner;
    }

    /** One op at one shape: its cost ({@link Op#flops}, {@link Op#leastBytes}) and every call's time. */
    public static final class OpTimes {
        public final String op;
        public final String shape;
        public final double flops;
        public final double bytes;
        public final List<Long> nanos = new ArrayList<>();

        OpTimes(String op, String shape, double flops, double bytes) {
            this.op = op;
            this.shape = shape;
            this.flops = flops;
            this.bytes = bytes;
        }
    }

    public List<OpTimes> times() {
        return new ArrayList<>(ops.values());
    }

    /** Forgets every time recorded so far (after a warm-up pass). */
    public void reset() {
        ops.clear();
    }

    /** Every op comes through here (the named ops of Backend build an Op and execute it). */
    @Override
    public void execute(Op op) {
        inner.synchronize();
        long start = System.nanoTime();
        inner.execute(op);
        inner.synchronize();
        long elapsed = System.nanoTime() - start;
        String label = op.label(), shape = op.shape();
        ops.computeIfAbsent(label + "|" + shape, k -> new OpTimes(label, shape, op.flops(), op.leastBytes()))
                .nanos.add(elapsed);
    }

    @Override
    public String name() {
        return inner.name();
    }

    @Override
    public String deviceName() {
        return inner.deviceName();
    }

    @Override
    public String kernelChoices() {
        return inner.kernelChoices();
    }

    @Override
    public double measureFmaPeakGflops() {
        return inner.measureFmaPeakGflops();
    }

    @Override
    public DeviceBuffer allocate(org.vit4j.ElementType type, long length) {
        return inner.allocate(type, length);
    }

    @Override
    public boolean supports(org.vit4j.ElementType type) {
        return inner.supports(type);
    }

    @Override
    public DeviceBuffer upload(float[] host, org.vit4j.ElementType type) {
        return inner.upload(host, type);
    }

    @Override
    public DeviceBuffer upload(org.vit4j.HostTensor host, org.vit4j.ElementType type) {
        return inner.upload(host, type);
    }

    @Override
    public void writeBits(java.nio.ShortBuffer src, DeviceBuffer dst) {
        inner.writeBits(src, dst);
    }

    @Override
    public void download(DeviceBuffer src, float[] dst) {
        inner.download(src, dst);
    }

    @Override
    public void write(float[] src, DeviceBuffer dst) {
        inner.write(src, dst);
    }

    @Override
    public PoolStats memoryStats() {
        return inner.memoryStats();
    }

    /** The wrapped backend's: its kernels are the ones that run (each op waited for, as above). */
    @Override
    public Optional<KernelTimeline> kernelTimeline() {
        return inner.kernelTimeline();
    }

    @Override
    public long memoryCapacity() {
        return inner.memoryCapacity();
    }

    @Override
    public void synchronize() {
        inner.synchronize();
    }

    /** Does not close the wrapped backend. */
    @Override
    public void close() {}
}
