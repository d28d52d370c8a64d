package org.vit4j.cli;

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
final class ThroughputChart {
    private ThroughputChart() {}

    static void write(Path png, String title, List<BenchCommand.Run> runs) {
        XYChart chart = new XYChartBuilder().width(800).height(480).title(title).xAxisTitle("batch size")
                .yAxisTitle("images / s").build();
        chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideNW);
        chart.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
        Map<String, List<BenchCommand.Run>> byBackend = new LinkedHashMap<>();
        for (BenchCommand.Run r : runs) byBackend.computeIfAbsent(r.backend(), k -> new java.util.ArrayList<>()).add(r);
        for (Map.Entry<String, List<BenchCommand.Run>> e : byBackend.entrySet()) {
            double[] x = e.getValue().stream().mapToDouble(BenchCommand.Run::batch).toArray();
            double[] y = e.getValue().stream().mapToDouble(BenchCommand.Run::imagesPerSecond).toArray();
            chart.addSeries("vit4j " + e.getKey(), x, y).setMarker(SeriesMarkers.CIRCLE);
        }
        try {
            BitmapEncoder.saveBitmap(chart, png.toString().replaceAll("(?i)\\.png$", ""), BitmapEncoder.BitmapFormat.PNG);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + png, e);
        }
    }
}
