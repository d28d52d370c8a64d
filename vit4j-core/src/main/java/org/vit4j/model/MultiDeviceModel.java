package org.vit4j.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.vit4j.ElementType;
import org.vit4j.HostTensor;
import org.vit4j.Vit4jException;
import org.vit4j.backend.Backend;
import org.vit4j.backend.BackendOptions;
import org.vit4j.backend.Backends;

/**
 * One model replica per device behind one object: a batch is cut into chunks along its first
 * dimension, the chunks go into one bounded queue, and one thread per device takes the next chunk
 * as soon as its device is free, so every device stays busy and a faster device simply takes more
 * chunks. Results come back in input order.
 *
 * <p><b>Split.</b> By default a batch of B images on n devices is cut into n equal chunks
 * ({@code ceil(B / n)} images, the last one shorter), so each device gets one; with
 * {@link #withChunkSize(int)} smaller chunks give dynamic, throughput-proportional balancing (a device
 * twice as fast takes about twice as many chunks) at the cost of smaller batches per pass. No chunk is
 * sized from a throughput estimate: the shared queue is the balancing.
 *
 * <p><b>Queue.</b> Chunks wait in one {@link ArrayBlockingQueue} of {@code 2 n} entries by default;
 * {@link #submit} blocks while it is full (back-pressure on the callers), and any number of threads may
 * call {@link #forward} or {@link #submit} at once.
 *
 * <p><b>Errors.</b> A failure on one device fails the chunks it ran (and so the batches they belong to)
 * with an exception that names the device; the device's thread goes on with the next chunk.
 *
 * <p><b>Close.</b> {@link #close()} refuses new work, lets the chunks already queued finish, stops the
 * threads, then closes every replica (its device buffers) and, where this object opened them
 * ({@link #open}), the backends.
 */
public final class MultiDeviceModel implements AutoCloseable {
    private static final Task STOP = new Task(null, null);

    private final List<Replica> replicas;
    private final BlockingQueue<Task> queue;
    private final boolean ownsBackends;
    private volatile int chunkSize; // 0: ceil(B / devices)
    private boolean closed; // guarded by this

    /**
     * Replicas of {@code weights} on each of {@code backends} (one device each, e.g. from
     * {@link Backends#openAll}), in {@code precision}; the backends stay the caller's to close, after
     * this object.
     */
    public MultiDeviceModel(VitWeights weights, List<Backend> backends, ElementType precision) {
        this(weights, backends, precision, 0, false);
    }

    /** As {@link #MultiDeviceModel(VitWeights, List, ElementType)}, with a queue of {@code queueCapacity} chunks (0: twice the devices). */
    public MultiDeviceModel(VitWeights weights, List<Backend> backends, ElementType precision, int queueCapacity) {
        this(weights, backends, precision, queueCapacity, false);
    }

    private MultiDeviceModel(VitWeights weights, List<Backend> backends, ElementType precision, int queueCapacity,
            boolean ownsBackends) {
        if (backends == null || backends.isEmpty()) throw new Vit4jException("MultiDeviceModel: no backends given");
        if (queueCapacity < 0) throw new Vit4jException("MultiDeviceModel: queue capacity " + queueCapacity + " < 0");
        this.ownsBackends = ownsBackends;
        this.queue = new ArrayBlockingQueue<>(queueCapacity == 0 ? 2 * backends.size() : queueCapacity);
        List<Replica> built = new ArrayList<>();
        try {
            for (int i = 0; i < backends.size(); i++) {
                Backend b = backends.get(i);
                if (b == null) throw new Vit4jException("MultiDeviceModel: backend " + i + " is null");
                for (Replica r : built) {
                    if (r.model.backend() == b) throw new Vit4jException("MultiDeviceModel: backend " + i + " ("
                            + describe(b) + ") is given twice; give one backend per device");
                }
                String device = "device " + i + " (" + describe(b) + ")";
                VisionTransformer model;
                try {
                    model = new VisionTransformer(weights, b, precision);
                } catch (RuntimeException e) {
                    throw new Vit4jException(device + ": the model could not be built: " + e.getMessage(), e);
                }
                built.add(new Replica(i, device, model));
            }
        } catch (RuntimeException e) {
            for (Replica r : built) closeQuietly(r.model, e);
            throw e;
        }
        this.replicas = List.copyOf(built);
        for (Replica r : replicas) {
            r.thread = new Thread(() -> r.run(queue), "vit4j-replica-" + r.index);
            r.thread.setDaemon(true);
            r.thread.start();
        }
    }

    /**
     * Opens every device of backend {@code backend} ({@link Backends#openAll}) with {@code options}
     * and builds a replica on each; {@link #close()} then closes the backends too.
     */
    public static MultiDeviceModel open(VitWeights weights, String backend, BackendOptions options,
            ElementType precision) {
        List<Backend> backends = Backends.openAll(backend, options);
        try {
            return new MultiDeviceModel(weights, backends, precision, 0, true);
        } catch (RuntimeException e) {
            for (Backend b : backends) closeQuietly(b, e);
            throw e;
        }
    }

    /**
     * Cut each batch into chunks of at most {@code images} (0: the default, {@code ceil(B / devices)}).
     * Returns this.
     */
    public MultiDeviceModel withChunkSize(int images) {
        if (images < 0) throw new Vit4jException("MultiDeviceModel: chunk size " + images + " < 0");
        this.chunkSize = images;
        return this;
    }

    public int deviceCount() {
        return replicas.size();
    }

    public VitConfig config() {
        return replicas.get(0).model.config();
    }

    /** The replicas' models, in device order (for inspection; running them directly bypasses the queue). */
    public List<VisionTransformer> replicas() {
        return replicas.stream().map(r -> r.model).toList();
    }

    /**
     * Runs images [B, C, H, W] across the devices and returns logits [B, classes] and pre-logits [B, D]
     * in input order, as one model would. Blocks until every chunk is done; a failure on a device is
     * thrown (the first, by chunk order) naming the device.
     */
    public VitOutput forward(HostTensor images) {
        try {
            return submit(images).join();
        } catch (CompletionException e) {
            throw unwrap(e);
        }
    }

    /**
     * Queues images [B, C, H, W] and returns their output when every chunk is done. Blocks while the
     * queue is full.
     */
    public CompletableFuture<VitOutput> submit(HostTensor images) {
        if (images == null) throw new Vit4jException("MultiDeviceModel: images is null");
        if (images.rank() != 4 || images.dim(0) < 1) {
            throw new Vit4jException("MultiDeviceModel: images must be [B, C, H, W] with B >= 1, got "
                    + Arrays.toString(images.shape()));
        }
        int batch = images.dim(0);
        int chunk = chunkSize > 0 ? chunkSize : (batch + replicas.size() - 1) / replicas.size();
        List<CompletableFuture<VitOutput>> parts = new ArrayList<>();
        for (int start = 0; start < batch; start += chunk) {
            Task t = new Task(slice(images, start, Math.min(batch, start + chunk)), new CompletableFuture<>());
            enqueue(t);
            parts.add(t.result);
        }
        return CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new))
                .handle((ok, failure) -> {
                    // Whatever completed first, report the first chunk that failed, so errors do not depend on timing.
                    for (CompletableFuture<VitOutput> p : parts) {
                        if (p.isCompletedExceptionally()) throw new CompletionException(causeOf(p));
                    }
                    return concat(parts.stream().map(CompletableFuture::join).toList());
                });
    }

    private void enqueue(Task t) {
        synchronized (this) {
            if (closed) throw new IllegalStateException("MultiDeviceModel used after close");
        }
        try {
            // Re-check closed while waiting for room, so a caller blocked on a full queue is not stuck by close().
            while (!queue.offer(t, 50, TimeUnit.MILLISECONDS)) {
                synchronized (this) {
                    if (closed) throw new IllegalStateException("MultiDeviceModel used after close");
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Vit4jException("MultiDeviceModel: interrupted while queueing a chunk", e);
        }
    }

    /** Per device, in device order: what it ran so far and how fast. */
    public List<DeviceStats> stats() {
        return replicas.stream().map(Replica::stats).toList();
    }

    /** A device's share of the work: images and chunks run, time spent in forward passes, failures. */
    public record DeviceStats(int index, String device, long images, long chunks, long busyNanos, long failures) {
        /** Images per second of busy time (0 before its first chunk). */
        public double imagesPerSecond() {
            return busyNanos == 0 ? 0 : images * 1e9 / busyNanos;
        }

        @Override
        public String toString() {
            return String.format(java.util.Locale.ROOT, "%s: %d images in %d chunks, %.3f s busy, %.2f img/s%s",
                    device, images, chunks, busyNanos / 1e9, imagesPerSecond(),
                    failures == 0 ? "" : ", " + failures + " failed chunks");
        }
    }

    /**
     * Stops taking work, finishes what is queued, stops the device threads and closes the replicas
     * (and the backends where {@link #open} opened them). Idempotent.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) return;
            closed = true;
        }
        RuntimeException failure = null;
        boolean interrupted = false;
        for (int i = 0; i < replicas.size(); i++) {
            while (true) {
                try {
                    queue.put(STOP); // behind every queued chunk: those still run
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        }
        for (Replica r : replicas) {
            while (true) {
                try {
                    r.thread.join();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        }
        for (Replica r : replicas) {
            try {
                r.model.close();
            } catch (RuntimeException e) {
                if (failure == null) failure = new Vit4jException(r.device + ": close failed: " + e.getMessage(), e);
                else failure.addSuppressed(e);
            }
            if (ownsBackends) {
                try {
                    r.model.backend().close();
                } catch (RuntimeException e) {
                    if (failure == null) failure = new Vit4jException(r.device + ": close failed: " + e.getMessage(), e);
                    else failure.addSuppressed(e);
                }
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
        if (failure != null) throw failure;
    }

    private static String describe(Backend b) {
        String d;
        try {
            d = b.deviceName();
        } catch (RuntimeException e) {
            d = "?";
        }
        return b.name() + ": " + d;
    }

    private static HostTensor slice(HostTensor images, int from, int to) {
        int[] shape = images.shape();
        int per = (int) (HostTensor.elementCount(shape) / shape[0]);
        int[] s = shape.clone();
        s[0] = to - from;
        if (images.dtype() == ElementType.F32) {
            if (from == 0 && to == shape[0]) return images;
            return new HostTensor(Arrays.copyOfRange(images.data(), from * per, to * per), s);
        }
        java.nio.ShortBuffer b = images.bits().duplicate();
        b.position(from * per).limit(to * per);
        return HostTensor.ofBits(images.dtype(), b, s);
    }

    private static VitOutput concat(List<VitOutput> parts) {
        if (parts.size() == 1) return parts.get(0);
        return new VitOutput(concatRows(parts.stream().map(VitOutput::logits).toList()),
                concatRows(parts.stream().map(VitOutput::preLogits).toList()));
    }

    private static HostTensor concatRows(List<HostTensor> ts) {
        int rows = 0;
        for (HostTensor t : ts) rows += t.dim(0);
        int[] shape = ts.get(0).shape().clone();
        shape[0] = rows;
        float[] out = new float[(int) HostTensor.elementCount(shape)];
        int at = 0;
        for (HostTensor t : ts) {
            float[] d = t.toFloats();
            System.arraycopy(d, 0, out, at, d.length);
            at += d.length;
        }
        return new HostTensor(out, shape);
    }

    private static Throwable causeOf(CompletableFuture<?> f) {
        try {
            f.get();
            return null;
        } catch (ExecutionException e) {
            return e.getCause();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return e;
        } catch (java.util.concurrent.CancellationException e) {
            return e;
        }
    }

    private static RuntimeException unwrap(CompletionException e) {
        Throwable c = e.getCause();
        while (c instanceof CompletionException && c.getCause() != null) c = c.getCause();
        if (c instanceof RuntimeException r) return r;
        if (c instanceof Error err) throw err;
        return new Vit4jException(String.valueOf(c), c);
    }

    private static void closeQuietly(AutoCloseable c, Throwable into) {
        try {
            c.close();
        } catch (Exception e) {
            into.addSuppressed(e);
        }
    }

    private record Task(HostTensor images, CompletableFuture<VitOutput> result) {}

    private static final class Replica {
        final int index;
        final String device;
        final VisionTransformer model;
        Thread thread;
        final AtomicLong images = new AtomicLong();
        final AtomicLong chunks = new AtomicLong();
        final AtomicLong busyNanos = new AtomicLong();
        final AtomicLong failures = new AtomicLong();

        Replica(int index, String device, VisionTransformer model) {
            this.index = index;
            this.device = device;
            this.model = model;
        }

        void run(BlockingQueue<Task> queue) {
            while (true) {
                Task t;
                try {
                    t = queue.take();
                } catch (InterruptedException e) {
                    continue; // only close() ends this thread, by STOP, so queued chunks never go unanswered
                }
                if (t == STOP) return;
                long t0 = System.nanoTime();
                try {
                    VitOutput out = model.forward(t.images);
                    busyNanos.addAndGet(System.nanoTime() - t0);
                    images.addAndGet(t.images.dim(0));
                    chunks.incrementAndGet();
                    t.result.complete(out);
                } catch (Throwable e) {
                    busyNanos.addAndGet(System.nanoTime() - t0);
                    failures.incrementAndGet();
                    t.result.completeExceptionally(
                            new Vit4jException(device + " failed on " + t.images.dim(0) + " images: " + e.getMessage(), e));
                    if (e instanceof VirtualMachineError vme) throw vme;
                }
            }
        }

        DeviceStats stats() {
            return new DeviceStats(index, device, images.get(), chunks.get(), busyNanos.get(), failures.get());
        }
    }
}
