package org.vit4j.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.vit4j.backend.KernelTimeline;
import org.vit4j.backend.Op;

/**
 * Where recorded passes ({@link KernelTimeline}) spent their time, in medians over the passes. Within
 * a pass the kernels run one after another (an in-order queue), so the time from the first kernel's
 * start to the last one's end is the kernels' own time plus the device's idle gaps between them. Part
 * of a gap can come before the host even queued the next kernel (the host was late: a pass queues
 * faster than it runs only once the host has got ahead); the rest is the driver's own handover from
 * one kernel to the next.
 *
 * @param passes the passes summarised
 * @param kernels kernels per pass (median)
 * @param spanMs first kernel's start to last kernel's end (median over passes)
 * @param runningMs the kernels' own time, summed (median)
 * @param idleMs the gaps between kernels, summed (median)
 * @param hostLateMs the part of those gaps before the host had queued the next kernel (median)
 * @param medianGapUs the median gap, over every gap of every pass
 * @param rows per kernel (name and global size), by time per pass, largest first
 * @param ops per op (label and shape), in the order first run: an op's time is from its first kernel's start to
 *     its last one's end (an op of two kernels includes the gap between them)
 */
public record TimelineSummary(int passes, int kernels, double spanMs, double runningMs, double idleMs, double hostLateMs,
        double medianGapUs, List<Row> rows, List<OpRow> ops) {

    /**
     * One op (by label and shape) over all passes.
     *
     * @param calls calls per pass
     * @param medianUs median device time of one call
     * @param usPerPass its device time per pass
     * @param flops floating-point operations of one call ({@link org.vit4j.backend.Op#flops})
     */
    public record OpRow(String op, String shape, double calls, double medianUs, double usPerPass, double flops) {
        /** GFLOP/s at the median call. */
        public double gflops() {
            return flops / medianUs / 1e3;
        }
    }

    /**
     * One kernel (by name and global size) over all passes.
     *
     * @param calls launches per pass
     * @param medianUs median time of one launch
     * @param usPerPass its time per pass (sum over passes / passes)
     * @param share of the kernels' time
     * @param medianGapUs median idle gap before its launches
     */
    public record Row(String kernel, double calls, double medianUs, double usPerPass, double share, double medianGapUs) {}

    /** The summary of {@code passes}, each the kernels one pass ran in queue order; none may be empty. */
    public static TimelineSummary of(List<List<KernelTimeline.Kernel>> passes) {
        if (passes.isEmpty()) throw new IllegalArgumentException("no passes to summarise");
        int n = passes.size();
        double[] span = new double[n], running = new double[n], idle = new double[n], late = new double[n];
        double[] count = new double[n];
        List<Double> gaps = new ArrayList<>();
        Map<String, List<Double>> runs = new LinkedHashMap<>(), gapsBefore = new LinkedHashMap<>(), opTimes = new LinkedHashMap<>();
        Map<String, Op> opOf = new LinkedHashMap<>();
        for (int p = 0; p < n; p++) {
            List<KernelTimeline.Kernel> ks = passes.get(p);
            if (ks.isEmpty()) throw new IllegalArgumentException("pass " + p + " recorded no kernel");
            count[p] = ks.size();
            span[p] = ks.get(ks.size() - 1).endNs() - ks.get(0).startNs();
            for (int i = 0; i < ks.size(); i++) {
                KernelTimeline.Kernel k = ks.get(i);
                double run = k.endNs() - k.startNs();
                running[p] += run;
                runs.computeIfAbsent(k.name(), x -> new ArrayList<>()).add(run);
                if (i == 0) continue;
                long previousEnd = ks.get(i - 1).endNs();
                double gap = Math.max(0, k.startNs() - previousEnd);
                idle[p] += gap;
                late[p] += Math.max(0, Math.min(k.queuedNs(), k.startNs()) - previousEnd);
                gaps.add(gap);
                gapsBefore.computeIfAbsent(k.name(), x -> new ArrayList<>()).add(gap);
            }
            // each op call: its run of consecutive kernels launched for one Op instance
            for (int i = 0; i < ks.size(); ) {
                Op op = ks.get(i).op();
                int j = i + 1;
                while (op != null && j < ks.size() && ks.get(j).op() == op) j++;
                if (op != null) {
                    String key = op.label() + " " + op.shape();
                    opOf.putIfAbsent(key, op);
                    opTimes.computeIfAbsent(key, x -> new ArrayList<>()).add((double) (ks.get(j - 1).endNs() - ks.get(i).startNs()));
                }
                i = j;
            }
        }
        double total = Arrays.stream(running).sum();
        List<Row> rows = new ArrayList<>();
        for (Map.Entry<String, List<Double>> e : runs.entrySet()) {
            List<Double> r = e.getValue();
            double sum = r.stream().mapToDouble(Double::doubleValue).sum();
            List<Double> g = gapsBefore.get(e.getKey());
            rows.add(new Row(e.getKey(), (double) r.size() / n, median(r) / 1e3, sum / n / 1e3, total > 0 ? sum / total : 0,
                    g == null ? Double.NaN : median(g) / 1e3));
        }
        rows.sort((a, b) -> Double.compare(b.usPerPass(), a.usPerPass()));
        List<OpRow> ops = new ArrayList<>();
        for (Map.Entry<String, List<Double>> e : opTimes.entrySet()) {
            Op op = opOf.get(e.getKey());
            List<Double> t = e.getValue();
            ops.add(new OpRow(op.label(), op.shape(), (double) t.size() / n, median(t) / 1e3,
                    t.stream().mapToDouble(Double::doubleValue).sum() / n / 1e3, op.flops()));
        }
        return new TimelineSummary(n, (int) Math.round(median(count)), median(span) / 1e6, median(running) / 1e6,
                median(idle) / 1e6, median(late) / 1e6, gaps.isEmpty() ? Double.NaN : median(gaps) / 1e3, rows, ops);
    }

    /**
     * An op's share of an FMA peak measured pass by pass ({@code vit4j bench --paired-peak}): in each pass, the op's
     * median call as GFLOP/s over {@code passPeakGflops[p]}, the peak measured right before pass p; the median over
     * the passes where the op ran (NaN if none, or if it does no FLOPs). On a shared host the cores' speed drifts,
     * and a peak measured minutes away from the passes moves their share by as much.
     */
    public static double pairedFmaShare(List<List<KernelTimeline.Kernel>> passes, double[] passPeakGflops, String op, String shape) {
        if (passPeakGflops.length != passes.size()) {
            throw new IllegalArgumentException(passes.size() + " passes but " + passPeakGflops.length + " peaks");
        }
        double[] share = new double[passes.size()];
        int n = 0;
        for (int p = 0; p < passes.size(); p++) {
            for (OpRow r : of(List.of(passes.get(p))).ops()) {
                if (r.op().equals(op) && r.shape().equals(shape) && r.flops() > 0 && passPeakGflops[p] > 0) {
                    share[n++] = r.gflops() / passPeakGflops[p];
                }
            }
        }
        return n == 0 ? Double.NaN : median(Arrays.copyOf(share, n));
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    private static double median(List<Double> v) {
        return median(v.stream().mapToDouble(Double::doubleValue).toArray());
    }
}
