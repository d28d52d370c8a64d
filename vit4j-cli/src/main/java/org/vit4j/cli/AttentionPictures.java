package org.vit4j.cli;

import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.Rectangle;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SortedMap;
import javax.imageio.ImageIO;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The pictures of {@code vit4j attention} and {@code vit4j posembed}, drawn headless (Java2D into a
 * {@link BufferedImage}, written with ImageIO; the distance plot with XChart). Maps are coloured with
 * viridis (perceptual, lightness rising with the value) and upscaled nearest-neighbour, so a 4 x 4 patch
 * grid shows as 16 clean squares; every map comes with a legend bar labelled with its min and max.
 */
final class AttentionPictures {
    static {
        System.setProperty("java.awt.headless", "true");
    }

    private AttentionPictures() {}

    /** matplotlib's viridis at 0, 0.1, ..., 1 (linearly interpolated between). */
    private static final int[] VIRIDIS = {0x440154, 0x482475, 0x414487, 0x355f8d, 0x2a788e, 0x21918c, 0x22a884,
        0x44bf70, 0x7ad151, 0xbddf26, 0xfde725};

    static final int MARGIN = 12, GAP = 10, LABEL = 18, LEGEND_W = 16, LEGEND_TEXT = 56;
    private static final Font FONT = new Font(Font.SANS_SERIF, Font.PLAIN, 12);
    private static final Font TITLE = new Font(Font.SANS_SERIF, Font.BOLD, 13);

    /** viridis at t in [0, 1] (clamped), as 0xRRGGBB. */
    static int viridis(double t) {
        if (!(t > 0)) t = 0; // NaN too
        if (t > 1) t = 1;
        double x = t * (VIRIDIS.length - 1);
        int i = Math.min((int) x, VIRIDIS.length - 2);
        double f = x - i;
        int a = VIRIDIS[i], b = VIRIDIS[i + 1];
        int r = (int) Math.round(((a >> 16) & 255) * (1 - f) + ((b >> 16) & 255) * f);
        int g = (int) Math.round(((a >> 8) & 255) * (1 - f) + ((b >> 8) & 255) * f);
        int bl = (int) Math.round((a & 255) * (1 - f) + (b & 255) * f);
        return (r << 16) | (g << 8) | bl;
    }

    /** A value range for a colour scale; a constant map gets a range of width 1 below its value. */
    record Range(double min, double max) {
        static Range of(float[] v, int from, int to) {
            double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
            for (int i = from; i < to; i++) {
                lo = Math.min(lo, v[i]);
                hi = Math.max(hi, v[i]);
            }
            if (!(hi > lo)) lo = hi - 1;
            return new Range(lo, hi);
        }

        double t(double v) {
            return (v - min) / (max - min);
        }
    }

    /** Cell size (pixels per grid cell) so that a map of {@code n} cells is at least about {@code target} px. */
    static int cell(int n, int target) {
        return Math.max(1, (target + n - 1) / n);
    }

    /** Where {@link #attention} draws what: for tests and the README. */
    record AttentionLayout(int width, int height, Rectangle image, Rectangle overlay, Rectangle rollout,
            Rectangle rolloutLegend, List<Rectangle> heads, Rectangle headsLegend) {}

    /** The layout of one image's picture for an image of {@code size} px, a {@code grid} patch grid and {@code heads} heads. */
    static AttentionLayout attentionLayout(int size, int grid, int heads) {
        return attentionLayout(size, size, grid, grid, heads);
    }

    /** The layout for an {@code height x width} image on a {@code gridH x gridW} patch grid (rows x columns). */
    static AttentionLayout attentionLayout(int height, int width, int gridH, int gridW, int heads) {
        int scale = cell(Math.max(height, width), 192);
        int pw = width * scale, ph = height * scale;
        int y1 = MARGIN + LABEL + LABEL;
        Rectangle image = new Rectangle(MARGIN, y1, pw, ph);
        Rectangle overlay = new Rectangle(MARGIN + pw + GAP, y1, pw, ph);
        Rectangle rollout = new Rectangle(MARGIN + 2 * (pw + GAP), y1, pw, ph);
        Rectangle legend = new Rectangle(rollout.x + pw + GAP, y1, LEGEND_W, ph);
        int hc = cell(Math.max(gridH, gridW), 88);
        int hw = gridW * hc, hh = gridH * hc;
        int perRow = Math.max(1, Math.min(heads, Math.max(4, (3 * pw + 2 * GAP) / (hw + GAP))));
        int y2 = y1 + ph + GAP + LABEL + LABEL;
        List<Rectangle> hs = new ArrayList<>();
        for (int h = 0; h < heads; h++) {
            hs.add(new Rectangle(MARGIN + (h % perRow) * (hw + GAP), y2 + (h / perRow) * (hh + LABEL), hw, hh));
        }
        int rows = (heads + perRow - 1) / perRow;
        int headsH = rows * hh + (rows - 1) * LABEL;
        Rectangle headsLegend = new Rectangle(MARGIN + perRow * (hw + GAP), y2, LEGEND_W, Math.max(headsH, 64));
        int width2 = Math.max(legend.x, headsLegend.x) + LEGEND_W + LEGEND_TEXT + MARGIN;
        int height2 = y2 + Math.max(headsH, 64) + MARGIN;
        return new AttentionLayout(width2, height2, image, overlay, rollout, legend, hs, headsLegend);
    }

    /**
     * One image's picture: the preprocessed image ({@code pixels} [C, H, W] in [0, 1], C = 1 or 3), the
     * rollout over it and alone ({@code rollout} [gridH * gridW]) with its colour scale, and the class token's
     * attention to the patches in each head of block {@code block} ({@code headMaps} [heads, gridH * gridW}),
     * on one shared colour scale.
     */
    static void attention(Path png, String title, float[] pixels, int channels, int height, int width, int gridH,
            int gridW, float[] rollout, int block, float[] headMaps, int heads) {
        AttentionLayout l = attentionLayout(height, width, gridH, gridW, heads);
        BufferedImage img = new BufferedImage(widthFor(l.width(), title), l.height(), BufferedImage.TYPE_INT_RGB);
        Graphics2D g = canvas(img);
        g.setFont(TITLE);
        g.drawString(title, MARGIN, MARGIN + 12);
        g.setFont(FONT);
        int y = l.image().y - 5;
        g.drawString("input (preprocessed)", l.image().x, y);
        g.drawString("rollout over input", l.overlay().x, y);
        g.drawString("attention rollout", l.rollout().x, y);
        Range rr = Range.of(rollout, 0, rollout.length);
        int scale = l.image().width / width, patch = height / gridH;
        for (int yy = 0; yy < l.image().height; yy++) {
            for (int xx = 0; xx < l.image().width; xx++) {
                int sy = yy / scale, sx = xx / scale;
                int grey = gray(pixels, channels, height, width, sy, sx);
                img.setRGB(l.image().x + xx, l.image().y + yy, grey);
                int gy = Math.min(sy / patch, gridH - 1), gx = Math.min(sx / patch, gridW - 1);
                int heat = viridis(rr.t(rollout[gy * gridW + gx]));
                img.setRGB(l.overlay().x + xx, l.overlay().y + yy, blend(grey, heat, 0.6));
                img.setRGB(l.rollout().x + xx, l.rollout().y + yy, heat);
            }
        }
        legend(g, img, l.rolloutLegend(), rr);
        Range hr = Range.of(headMaps, 0, headMaps.length);
        for (int h = 0; h < heads; h++) {
            Rectangle r = l.heads().get(h);
            g.setColor(Color.BLACK);
            g.drawString("head " + h, r.x, r.y - 5);
            map(img, r, headMaps, h * gridH * gridW, gridH, gridW, hr);
        }
        g.drawString("block " + block + " (last): the class token's attention to each patch, per head",
                MARGIN, l.heads().get(0).y - 5 - LABEL);
        legend(g, img, l.headsLegend(), hr);
        g.dispose();
        write(img, png);
    }

    /** Where {@link #posEmbed} draws what. */
    record PosEmbedLayout(int width, int height, Rectangle grid, int cell, int tile, Rectangle legend) {}

    static PosEmbedLayout posEmbedLayout(int gridH, int gridW) {
        int n = Math.max(gridH, gridW);
        int cell = cell(n, Math.max(40, 600 / n));
        int tile = n * cell;
        int gap = Math.max(1, tile / 12);
        int x0 = MARGIN + LABEL + 24, y0 = MARGIN + LABEL + LABEL + 18;
        int w = gridW * tile + (gridW - 1) * gap, h = gridH * tile + (gridH - 1) * gap;
        Rectangle legend = new Rectangle(x0 + w + GAP + 4, y0, LEGEND_W, h);
        return new PosEmbedLayout(Math.max(560, legend.x + LEGEND_W + LEGEND_TEXT + MARGIN), y0 + h + LABEL + 8 + MARGIN,
                new Rectangle(x0, y0, w, h), cell, tile + gap, legend);
    }

    /**
     * The similarity grid of the paper's Fig. 7 (centre): tile (r, c) is the map of patch (r, c)'s
     * cosine similarity with every patch ({@code sim} [gridH * gridW, gridH, gridW]), one colour scale
     * for all tiles.
     */
    static void posEmbed(Path png, String title, float[] sim, int gridH, int gridW) {
        PosEmbedLayout l = posEmbedLayout(gridH, gridW);
        BufferedImage img = new BufferedImage(widthFor(l.width(), title), l.height(), BufferedImage.TYPE_INT_RGB);
        Graphics2D g = canvas(img);
        g.setFont(TITLE);
        g.drawString(title, MARGIN, MARGIN + 12);
        g.setFont(FONT);
        Range range = Range.of(sim, 0, sim.length);
        int cell = l.cell(), tile = cell * gridW;
        Rectangle area = l.grid();
        FontMetrics fm = g.getFontMetrics();
        int step = Math.max(1, (fm.stringWidth("00") + 4 + l.tile() - 1) / l.tile());
        for (int r = 0; r < gridH; r++) {
            for (int c = 0; c < gridW; c++) {
                Rectangle t = new Rectangle(area.x + c * l.tile(), area.y + r * l.tile(), tile, cell * gridH);
                map(img, t, sim, (r * gridW + c) * gridH * gridW, gridH, gridW, range);
            }
        }
        g.setColor(Color.BLACK);
        for (int c = 0; c < gridW; c += step) {
            String s = String.valueOf(c + 1);
            g.drawString(s, area.x + c * l.tile() + (tile - fm.stringWidth(s)) / 2, area.y - 4);
        }
        for (int r = 0; r < gridH; r += step) {
            String s = String.valueOf(r + 1);
            g.drawString(s, area.x - 6 - fm.stringWidth(s), area.y + r * l.tile() + (cell * gridH + fm.getAscent()) / 2);
        }
        String cols = "input patch column";
        g.drawString(cols, area.x + (area.width - fm.stringWidth(cols)) / 2, area.y - 4 - LABEL);
        String rows = "input patch row";
        Graphics2D v = (Graphics2D) g.create();
        v.rotate(-Math.PI / 2);
        v.drawString(rows, -(area.y + (area.height + fm.stringWidth(rows)) / 2), MARGIN + 12);
        v.dispose();
        g.drawString("cosine similarity of the position embeddings (class token excluded)", area.x,
                area.y + area.height + LABEL);
        legend(g, img, l.legend(), range);
        g.dispose();
        write(img, png);
    }

    /**
     * The mean attention distance per block and head (paper Fig. 7 right): x the block, y pixels, one
     * dot per head (XChart scatter).
     */
    static void distance(Path png, String title, SortedMap<Integer, double[]> byBlock, int heads) {
        XYChart chart = new XYChartBuilder().width(720).height(480).title(title).xAxisTitle("network depth (block)")
                .yAxisTitle("mean attention distance (pixels)").build();
        Styler s = chart.getStyler();
        chart.getStyler().setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
        s.setChartBackgroundColor(Color.WHITE);
        s.setLegendPosition(Styler.LegendPosition.OutsideE);
        s.setMarkerSize(9);
        chart.getStyler().setXAxisDecimalPattern("0");
        double[] x = byBlock.keySet().stream().mapToDouble(Integer::doubleValue).toArray();
        for (int h = 0; h < heads; h++) {
            double[] y = new double[x.length];
            int i = 0;
            for (double[] perHead : byBlock.values()) y[i++] = perHead[h];
            Color c = new Color(viridis(heads == 1 ? 0.5 : 0.9 * h / (heads - 1)));
            chart.addSeries("head " + h, x, y).setMarker(SeriesMarkers.CIRCLE).setMarkerColor(c);
        }
        try {
            BitmapEncoder.saveBitmap(chart, png.toString().replaceAll("(?i)\\.png$", ""), BitmapEncoder.BitmapFormat.PNG);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + png, e);
        }
    }

    /** The layout's width, or wider where the title needs it (a long checkpoint path). */
    private static int widthFor(int layoutWidth, String title) {
        Graphics2D g = new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB).createGraphics();
        try {
            return Math.max(layoutWidth, g.getFontMetrics(TITLE).stringWidth(title) + 2 * MARGIN);
        } finally {
            g.dispose();
        }
    }

    private static Graphics2D canvas(BufferedImage img) {
        Graphics2D g = img.createGraphics();
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, img.getWidth(), img.getHeight());
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.BLACK);
        return g;
    }

    /** A map of rows x cols values from {@code v[from...]}, nearest-neighbour into {@code r}. */
    private static void map(BufferedImage img, Rectangle r, float[] v, int from, int rows, int cols, Range range) {
        for (int yy = 0; yy < r.height; yy++) {
            for (int xx = 0; xx < r.width; xx++) {
                int gy = Math.min(yy * rows / r.height, rows - 1), gx = Math.min(xx * cols / r.width, cols - 1);
                img.setRGB(r.x + xx, r.y + yy, viridis(range.t(v[from + gy * cols + gx])));
            }
        }
    }

    /** A vertical colour bar, max at the top, min at the bottom, both labelled. */
    private static void legend(Graphics2D g, BufferedImage img, Rectangle r, Range range) {
        for (int yy = 0; yy < r.height; yy++) {
            int rgb = viridis(1 - (double) yy / (r.height - 1));
            for (int xx = 0; xx < r.width; xx++) img.setRGB(r.x + xx, r.y + yy, rgb);
        }
        g.setColor(Color.BLACK);
        g.drawRect(r.x - 1, r.y - 1, r.width + 1, r.height + 1);
        FontMetrics fm = g.getFontMetrics();
        g.drawString(format(range.max()), r.x + r.width + 4, r.y + fm.getAscent() - 2);
        g.drawString(format(range.min()), r.x + r.width + 4, r.y + r.height);
    }

    static String format(double v) {
        return String.format(Locale.ROOT, "%.3g", v);
    }

    /** The preprocessed pixel at (y, x) as grey or RGB, from [C, H, W] values in [0, 1]. */
    private static int gray(float[] px, int channels, int height, int width, int y, int x) {
        int[] c = new int[3];
        for (int k = 0; k < 3; k++) {
            float v = px[Math.min(k, channels - 1) * height * width + y * width + x];
            c[k] = (int) Math.round(255 * Math.max(0, Math.min(1, v)));
        }
        return (c[0] << 16) | (c[1] << 8) | c[2];
    }

    private static int blend(int a, int b, double wb) {
        int out = 0;
        for (int shift = 16; shift >= 0; shift -= 8) {
            int v = (int) Math.round(((a >> shift) & 255) * (1 - wb) + ((b >> shift) & 255) * wb);
            out |= v << shift;
        }
        return out;
    }

    private static void write(BufferedImage img, Path png) {
        try {
            if (!ImageIO.write(img, "png", png.toFile())) throw new IOException("no PNG writer");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + png + ": " + e.getMessage(), e);
        }
    }
}
