package org.vit4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Rectangle;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vit4j.HostTensor;
import org.vit4j.digits.EmbeddedDefaultModel;
import org.vit4j.io.checkpoint.SafetensorsFile;
import org.vit4j.io.checkpoint.SafetensorsWriter;

/**
 * {@code vit4j attention} and {@code vit4j posembed} (issue 14, item 5) on the embedded digits model
 * (8 x 8 px, patch 2: a 4 x 4 grid, 4 blocks of 4 heads): the PNGs they write, decoded: their size, that
 * they are not blank, that each map has its colour scale (a monotone gradient from dark to light), that
 * the maps use the scale's colours, and that the attention maps follow the image.
 */
class AttentionPicturesTest {
    /**
     * The pictures' labels need a font: where the host has none (the first GPU host), the commands stop with
     * one line (CliTest.withoutFontsThePictureCommandsSayWhatToInstall) and these tests are aborted, saying so.
     */
    static void assumeFonts() {
        org.junit.jupiter.api.Assumptions.assumeTrue(Fonts.available(), "no font on this host: the pictures cannot be drawn");
    }

    @TempDir
    Path dir;

    private static final int SIZE = 8, GRID = 4, HEADS = 4;

    static BufferedImage png(Path p) throws IOException {
        assertTrue(Files.isRegularFile(p), p + " was not written");
        BufferedImage img = ImageIO.read(p.toFile());
        assertTrue(img != null, p + " does not decode as an image");
        return img;
    }

    /** Lightness may rise by the rounding of each channel to 8 bits (at most half a unit each) between rows. */
    static final double ROUNDING = 0.5;

    static double luma(int rgb) {
        return 0.299 * ((rgb >> 16) & 255) + 0.587 * ((rgb >> 8) & 255) + 0.114 * (rgb & 255);
    }

    static Set<Integer> colours(BufferedImage img, Rectangle r) {
        Set<Integer> s = new HashSet<>();
        for (int y = r.y; y < r.y + r.height; y++) for (int x = r.x; x < r.x + r.width; x++) s.add(img.getRGB(x, y) & 0xffffff);
        return s;
    }

    static Rectangle whole(BufferedImage img) {
        return new Rectangle(0, 0, img.getWidth(), img.getHeight());
    }

    /**
     * Found without knowing the layout: some column holds a run of at least {@code minRun} pixels whose
     * lightness never rises from top to bottom (but for 8-bit rounding), with at least 40 distinct colours
     * over most of the lightness range: a colour bar.
     */
    static boolean hasColourBar(BufferedImage img, int minRun) {
        for (int x = 0; x < img.getWidth(); x++) {
            int start = 0;
            for (int y = 1; y <= img.getHeight(); y++) {
                boolean goesOn = y < img.getHeight() && luma(img.getRGB(x, y)) <= luma(img.getRGB(x, y - 1)) + ROUNDING
                        && (img.getRGB(x, y) & 0xffffff) != 0xffffff;
                if (goesOn) continue;
                if (y - start >= minRun) {
                    Rectangle run = new Rectangle(x, start, 1, y - start);
                    double range = luma(img.getRGB(x, start)) - luma(img.getRGB(x, y - 1));
                    if (colours(img, run).size() >= 40 && range > 150) return true;
                }
                start = y;
            }
        }
        return false;
    }

    /** The legend bar: in each column, lightness falls monotonically from max at the top to min at the bottom. */
    static void assertLegend(BufferedImage img, Rectangle r, String what) {
        for (int x = r.x; x < r.x + r.width; x++) {
            for (int y = r.y + 1; y < r.y + r.height; y++) {
                assertTrue(luma(img.getRGB(x, y)) <= luma(img.getRGB(x, y - 1)) + ROUNDING,
                        what + ": legend not monotone at (" + x + ", " + y + ")");
            }
        }
        assertTrue(luma(img.getRGB(r.x, r.y)) - luma(img.getRGB(r.x, r.y + r.height - 1)) > 150, what + ": legend range");
        assertTrue(colours(img, r).size() >= Math.min(100, r.height / 2), what + ": legend has too few colours");
    }

    /** Every pixel of the map {@code r} is a colour of the legend {@code legend} (the map uses the scale). */
    static void assertOnScale(BufferedImage img, Rectangle r, Rectangle legend, String what) {
        Set<Integer> scale = colours(img, legend);
        for (int c : colours(img, r)) {
            boolean near = scale.stream().anyMatch(s -> Math.abs(((s >> 16) & 255) - ((c >> 16) & 255))
                    + Math.abs(((s >> 8) & 255) - ((c >> 8) & 255)) + Math.abs((s & 255) - (c & 255)) <= 12);
            assertTrue(near, what + ": colour " + Integer.toHexString(c) + " is not on the colour scale");
        }
    }

    static int[] pixels(BufferedImage img, Rectangle r) {
        return img.getRGB(r.x, r.y, r.width, r.height, null, 0, r.width);
    }

    @Test
    void attentionWithNoArgumentsDrawsTheEmbeddedModelsSamples() throws IOException {
        assumeFonts();
        Path out = dir.resolve("pictures");
        CliTest.Result r = CliTest.cli("attention", "--backend", "cpu", "--out", out.toString());
        assertEquals(0, r.status(), r.err());
        AttentionPictures.AttentionLayout l = AttentionPictures.attentionLayout(SIZE, GRID, HEADS);
        for (int digit = 0; digit <= 9; digit++) {
            Path p = out.resolve("digit-" + digit + "-attention.png");
            assertTrue(r.out().contains(p.toString()), "stdout names " + p + ": " + r.out());
            BufferedImage img = png(p);
            String what = p.getFileName().toString();
            assertTrue(img.getWidth() >= l.width() && img.getWidth() < l.width() + 400, what + ": width " + img.getWidth());
            assertEquals(l.height(), img.getHeight(), what);
            assertTrue(colours(img, whole(img)).size() > 200, what + ": too few colours, blank?");
            assertTrue(hasColourBar(img, 100), what + ": no colour bar found");
            assertLegend(img, l.rolloutLegend(), what + " rollout");
            assertLegend(img, l.headsLegend(), what + " heads");
            // Rollout divided by its max: at least two patches differ, and the largest is the scale's top.
            Set<Integer> roll = colours(img, l.rollout());
            assertTrue(roll.size() >= 2 && roll.size() <= GRID * GRID, what + ": rollout colours " + roll.size());
            assertTrue(roll.contains(img.getRGB(l.rolloutLegend().x, l.rolloutLegend().y) & 0xffffff), what + ": no max");
            assertOnScale(img, l.rollout(), l.rolloutLegend(), what + " rollout");
            for (int h = 0; h < HEADS; h++) assertOnScale(img, l.heads().get(h), l.headsLegend(), what + " head " + h);
            // The input panel: greys only (the digits are one channel), and not all one grey.
            Set<Integer> input = colours(img, l.image());
            assertTrue(input.size() >= 3, what + ": input panel blank");
            for (int c : input) assertTrue(((c >> 16) & 255) == (c & 255) && ((c >> 8) & 255) == (c & 255), what + ": input not grey");
        }
        BufferedImage dist = png(out.resolve("mean-attention-distance.png"));
        assertEquals(720, dist.getWidth());
        assertEquals(480, dist.getHeight());
        assertTrue(colours(dist, whole(dist)).size() > 20, "distance plot blank");
        // One colour per head: each head's dots (and legend marker) are drawn in its own colour.
        for (int h = 0; h < HEADS; h++) {
            int c = AttentionPictures.viridis(0.9 * h / (HEADS - 1));
            long n = Arrays.stream(pixels(dist, whole(dist))).filter(v -> (v & 0xffffff) == c).count();
            assertTrue(n >= 5 * 20, "head " + h + "'s dots: " + n + " pixels of its colour");
        }
    }

    @Test
    void theAttentionPictureFollowsTheImage() throws IOException {
        assumeFonts();
        List<Path> samples = EmbeddedDefaultModel.samples(EmbeddedDefaultModel.extract());
        Path zero = samples.get(0), one = samples.get(1), out = dir.resolve("p");
        CliTest.Result r = CliTest.cli("attention", "--backend", "cpu", "--out", out.toString(),
                zero.toString(), one.toString(), zero.toString());
        assertEquals(0, r.status(), r.err());
        AttentionPictures.AttentionLayout l = AttentionPictures.attentionLayout(SIZE, GRID, HEADS);
        BufferedImage a = png(out.resolve("digit-0-attention.png")), b = png(out.resolve("digit-1-attention.png")),
                again = png(out.resolve("digit-0-attention-2.png"));
        // The same image draws the same maps (so a difference below is the image's doing) ...
        assertTrue(Arrays.equals(pixels(a, l.rollout()), pixels(again, l.rollout())), "same image, same rollout");
        // ... and another image other maps: the rollout and every head of the last block.
        assertFalse(Arrays.equals(pixels(a, l.rollout()), pixels(b, l.rollout())), "rollout of digit 0 and 1 equal");
        for (int h = 0; h < HEADS; h++) {
            Rectangle hr = l.heads().get(h);
            assertFalse(Arrays.equals(pixels(a, hr), pixels(b, hr)), "head " + h + " of digit 0 and 1 equal");
        }
        assertFalse(Arrays.equals(pixels(a, l.overlay()), pixels(b, l.overlay())), "overlays equal");
    }

    @Test
    void posembedWithNoArgumentsDrawsTheSimilarityGrid() throws IOException {
        assumeFonts();
        Path p = dir.resolve("sub").resolve("pe.png");
        CliTest.Result r = CliTest.cli("posembed", "--out", p.toString());
        assertEquals(0, r.status(), r.err());
        BufferedImage img = png(p);
        AttentionPictures.PosEmbedLayout l = AttentionPictures.posEmbedLayout(GRID, GRID);
        assertTrue(img.getWidth() >= l.width() && img.getWidth() < l.width() + 400, "width " + img.getWidth());
        assertEquals(l.height(), img.getHeight());
        assertTrue(colours(img, whole(img)).size() > 100, "too few colours, blank?");
        assertTrue(hasColourBar(img, 100), "no colour bar found");
        assertLegend(img, l.legend(), "posembed");
        int top = img.getRGB(l.legend().x, l.legend().y) & 0xffffff;
        Set<List<Integer>> tiles = new HashSet<>();
        for (int row = 0; row < GRID; row++) {
            for (int col = 0; col < GRID; col++) {
                Rectangle t = new Rectangle(l.grid().x + col * l.tile(), l.grid().y + row * l.tile(),
                        GRID * l.cell(), GRID * l.cell());
                assertOnScale(img, t, l.legend(), "tile " + row + "," + col);
                // Patch (row, col) is most similar to itself: cosine 1, the top of the shared scale.
                int self = img.getRGB(t.x + col * l.cell() + l.cell() / 2, t.y + row * l.cell() + l.cell() / 2) & 0xffffff;
                assertEquals(Integer.toHexString(top), Integer.toHexString(self), "tile " + row + "," + col + " at itself");
                tiles.add(Arrays.stream(pixels(img, t)).boxed().toList());
            }
        }
        assertEquals(GRID * GRID, tiles.size(), "every patch position has its own tile");
    }

    /**
     * The README's attention pictures (issue 14, item 6): shown, committed, and their maps what the
     * README's commands draw now (the map and colour-bar pixels, which no font changes).
     */
    @Test
    void theReadmesPicturesAreWhatItsCommandsDraw() throws IOException {
        assumeFonts();
        String readme = Files.readString(Path.of("README.md"));
        for (String cmd : List.of("./vit4j attention --backend cpu --out /tmp/attention",
                "cp /tmp/attention/digit-3-attention.png /tmp/attention/mean-attention-distance.png docs/pictures/",
                "./vit4j posembed --out docs/pictures/posembed.png")) {
            assertTrue(readme.contains(cmd), "README lacks the command: " + cmd);
        }
        for (String f : List.of("digit-3-attention.png", "mean-attention-distance.png", "posembed.png")) {
            assertTrue(readme.contains("](docs/pictures/" + f + ")"), "README does not show " + f);
            png(Path.of("docs", "pictures", f));
        }
        Path out = dir.resolve("attention"), pe = dir.resolve("posembed.png");
        assertEquals(0, CliTest.cli("attention", "--backend", "cpu", "--out", out.toString()).status());
        assertEquals(0, CliTest.cli("posembed", "--out", pe.toString()).status());
        AttentionPictures.AttentionLayout l = AttentionPictures.attentionLayout(SIZE, GRID, HEADS);
        BufferedImage now = png(out.resolve("digit-3-attention.png")), shown = png(Path.of("docs/pictures/digit-3-attention.png"));
        List<Rectangle> maps = new java.util.ArrayList<>(List.of(l.image(), l.overlay(), l.rollout(), l.rolloutLegend(),
                l.headsLegend()));
        maps.addAll(l.heads());
        for (Rectangle r : maps) {
            assertTrue(Arrays.equals(pixels(now, r), pixels(shown, r)), "docs/pictures/digit-3-attention.png is stale at " + r);
        }
        AttentionPictures.PosEmbedLayout p = AttentionPictures.posEmbedLayout(GRID, GRID);
        assertTrue(Arrays.equals(pixels(png(pe), p.grid()), pixels(png(Path.of("docs/pictures/posembed.png")), p.grid())),
                "docs/pictures/posembed.png is stale");
    }

    @Test
    void anUnreadableImageIsAOneLineError() throws IOException {
        Path bad = dir.resolve("not-an-image.png");
        Files.writeString(bad, "hello", StandardCharsets.UTF_8);
        CliTest.Result r = CliTest.cli("attention", "--backend", "cpu", "--out", dir.resolve("o").toString(), bad.toString());
        assertEquals(Main.EXIT_BAD_INPUT, r.status(), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains("not-an-image.png") && r.err().contains("expected a PNG or JPEG"), r.err());
        assertFalse(Files.exists(dir.resolve("o")), "nothing written");
    }

    /** A checkpoint whose position embedding is not a class token and a square grid: a one-line error naming that. */
    @Test
    void aCheckpointWithoutAGridOfPositionEmbeddingsIsAOneLineError() throws IOException {
        Path extracted = EmbeddedDefaultModel.extract();
        Map<String, HostTensor> tensors = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(extracted.resolve("model.safetensors"))) {
            for (String n : f.names()) tensors.put(n, f.read(n));
        }
        HostTensor pe = tensors.get("pos_embed");
        assertNotEquals(null, pe, "the embedded model has a pos_embed");
        int d = pe.dim(2);
        Path noGrid = dir.resolve("no-grid.safetensors"), none = dir.resolve("none.safetensors");
        tensors.put("pos_embed", new HostTensor(Arrays.copyOf(pe.toFloats(), 16 * d), new int[] {1, 16, d}));
        SafetensorsWriter.write(noGrid, tensors, Map.of());
        tensors.remove("pos_embed");
        SafetensorsWriter.write(none, tensors, Map.of());
        Path sample = EmbeddedDefaultModel.samples(extracted).get(0);
        for (Path w : List.of(noGrid, none)) {
            for (String[] args : List.of(
                    new String[] {"posembed", "--weights", w.toString(), "--heads", "4", "--out", dir.resolve("pe.png").toString()},
                    new String[] {"attention", "--weights", w.toString(), "--heads", "4", "--backend", "cpu",
                        "--out", dir.resolve("a").toString(), sample.toString()})) {
                CliTest.Result r = CliTest.cli(args);
                String what = args[0] + " on " + w.getFileName();
                assertEquals(Main.EXIT_BAD_INPUT, r.status(), what + ": " + r.err());
                assertEquals(1, r.err().strip().lines().count(), what + ": " + r.err());
                assertTrue(r.err().contains("pos_embed") && r.err().contains("expected"), what + ": " + r.err());
                assertTrue(w == none || r.err().contains("grid"), what + ": " + r.err());
            }
        }
        assertFalse(Files.exists(dir.resolve("pe.png")) || Files.exists(dir.resolve("a")), "nothing written");
    }
}
