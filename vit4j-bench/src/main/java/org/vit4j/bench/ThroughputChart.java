package org.vit4j.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/** A PNG of images/s against batch size, one line per backend (XChart). */
public final class ThroughputChart {
    private ThroughputChart() {}

    /** One measured point: a line's name (the backend), the batch size and the throughput. */
    public record Point(String line, int batch, double imagesPerSecond) {}

    public static void write(Path png, String title, List<Point> points) {
        XYChart chart = new XYChartBuilder().width(800).height(480).title(title).xAxisTitle("batch size")
                .yAxisTitle("images / s").build();
        chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideNW);
        chart.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
        Map<String, List<Point>> byLine = new LinkedHashMap<>();
        for (Point p : points) byLine.computeIfAbsent(p.line(), k -> new java.util.ArrayList<>()).add(p);
        for (Map.Entry<String, List<Point>> e : byLine.entrySet()) {
            double[] x = e.getValue().stream().mapToDouble(Point::batch).toArray();
            double[] y = e.getValue().stream().mapToDouble(Point::imagesPerSecond).toArray();
            chart.addSeries("vit4j " + e.getKey(), x, y).setMarker(SeriesMarkers.CIRCLE);
        }
        try {
            BitmapEncoder.saveBitmap(chart, png.toString().replaceAll("(?i)\\.png$", ""), BitmapEncoder.BitmapFormat.PNG);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + png, e);
        }
    }
}
