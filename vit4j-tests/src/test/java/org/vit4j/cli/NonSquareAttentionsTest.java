package org.vit4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.vit4j.Golden;
import org.vit4j.HostTensor;
import org.vit4j.backend.DevicesUnderTest;
import org.vit4j.io.checkpoint.SafetensorsFile;
import org.vit4j.io.checkpoint.SafetensorsWriter;
import org.vit4j.model.Float64Vit;

/**
 * Issue 14's "Done when" on odd shapes: {@code vit4j run --output-attentions} on non-square patch grids
 * and at an image size other than the checkpoint's (position embedding resized to a non-square grid),
 * on cpu and every device backend the tests run (opencl, cuda-cpu), against the independent float64
 * pass of {@link Float64Vit} within 1e-5 relative L2: {@code attentions.{i}}, {@code attention_rollout},
 * {@code pos_embed_similarity}, {@code mean_attention_distance} and the logits; each probability row
 * sums to 1 within 1e-6.
 *
 * <p>Checkpoints are made here from fresh random weights (timm naming):
 * <ul>
 *   <li>{@code grid3x5}: 12 x 20 px images, patch 4 (a 3 x 5 grid), config.json {@code image_size [12, 20]};
 *   <li>{@code grid3x7}: 1 channel, 15 x 35 px, patch 5 (3 x 7, a patch row of 5 pixels: the kernels'
 *       scalar paths), 4 heads of 5, 3 blocks;
 *   <li>{@code resized}: trained at 16 x 16 px (4 x 4 grid) with PyTorch's golden position embedding,
 *       run with {@code --image-size 12x20}: the reference takes PyTorch's own bicubic resize of it to
 *       3 x 5 (scripts/python/make_pos_embed_resize_golden.py), not vit4j's.
 * </ul>
 */
class NonSquareAttentionsTest {
    private static final double BUDGET = 1e-5;

    @TempDir
    static Path dir;

    /** name, channels, height, width, patch, dim, heads, depth, mlp, classes, batch. */
    record Case(String name, int channels, int height, int width, int patch, int dim, int heads, int depth, int mlp,
            int classes, int batch, String imageSizeArg) {
        int gridH() {
            return height / patch;
        }

        int gridW() {
            return width / patch;
        }
    }

    private static final Case[] CASES = {
        new Case("grid3x5", 3, 12, 20, 4, 24, 3, 2, 40, 5, 2, null),
        new Case("grid3x7", 1, 15, 35, 5, 20, 4, 3, 36, 3, 3, null),
        new Case("resized", 3, 12, 20, 4, 24, 3, 2, 40, 5, 2, "12x20"),
    };

    private static final Map<String, Map<String, HostTensor>> WEIGHTS = new LinkedHashMap<>();
    private static final Map<String, HostTensor> POS_RUN = new LinkedHashMap<>();

    private static float[] gaussian(SplittableRandom r, int n, double scale) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            double u = 1 - r.nextDouble(), v = r.nextDouble();
            x[i] = (float) (scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v));
        }
        return x;
    }

    private static HostTensor t(SplittableRandom r, double scale, int... shape) {
        return new HostTensor(gaussian(r, Math.toIntExact(HostTensor.elementCount(shape)), scale), shape);
    }

    @BeforeAll
    static void makeCheckpoints() throws IOException {
        HostTensor goldenPos, goldenResized;
        try (SafetensorsFile g = SafetensorsFile.open(Golden.file("pos-embed-resize", "resize.safetensors"))) {
            goldenPos = g.read("pos.4x4.d24");
            goldenResized = g.read("timm.4x4-3x5.d24");
        }
        long seed = 1400;
        for (Case c : CASES) {
            SplittableRandom r = new SplittableRandom(seed++);
            int d = c.dim(), m = c.mlp(), p = c.patch();
            boolean resized = c.imageSizeArg() != null;
            int trainedH = resized ? 16 : c.height(), trainedW = resized ? 16 : c.width();
            int tokens = 1 + (trainedH / p) * (trainedW / p);
            Map<String, HostTensor> w = new LinkedHashMap<>();
            w.put("patch_embed.proj.weight", t(r, 1 / Math.sqrt(c.channels() * p * p), d, c.channels(), p, p));
            w.put("patch_embed.proj.bias", t(r, 0.5, d));
            w.put("cls_token", t(r, 1, 1, 1, d));
            w.put("pos_embed", resized ? goldenPos : t(r, 1, 1, tokens, d));
            for (int i = 0; i < c.depth(); i++) {
                String b = "blocks." + i + ".";
                w.put(b + "norm1.weight", t(r, 0.3, d));
                w.get(b + "norm1.weight").data()[0] += 1; // not all near zero
                w.put(b + "norm1.bias", t(r, 0.3, d));
                w.put(b + "attn.qkv.weight", t(r, 1.5 / Math.sqrt(d), 3 * d, d));
                w.put(b + "attn.qkv.bias", t(r, 0.3, 3 * d));
                w.put(b + "attn.proj.weight", t(r, 1 / Math.sqrt(d), d, d));
                w.put(b + "attn.proj.bias", t(r, 0.3, d));
                w.put(b + "norm2.weight", t(r, 1, d));
                w.put(b + "norm2.bias", t(r, 0.3, d));
                w.put(b + "mlp.fc1.weight", t(r, 1 / Math.sqrt(d), m, d));
                w.put(b + "mlp.fc1.bias", t(r, 0.3, m));
                w.put(b + "mlp.fc2.weight", t(r, 1 / Math.sqrt(m), d, m));
                w.put(b + "mlp.fc2.bias", t(r, 0.3, d));
            }
            w.put("norm.weight", t(r, 1, d));
            w.put("norm.bias", t(r, 0.3, d));
            w.put("head.weight", t(r, 1 / Math.sqrt(d), c.classes(), d));
            w.put("head.bias", t(r, 0.3, c.classes()));
            Path caseDir = Files.createDirectories(dir.resolve(c.name()));
            SafetensorsWriter.write(caseDir.resolve("model.safetensors"), w, Map.of());
            String size = trainedH == trainedW ? String.valueOf(trainedH) : "[" + trainedH + ", " + trainedW + "]";
            Files.writeString(caseDir.resolve("config.json"), "{\"image_size\": " + size + ", \"patch_size\": " + p
                    + ", \"num_attention_heads\": " + c.heads() + ", \"hidden_size\": " + d + "}\n");
            HostTensor input = t(r, 1, c.batch(), c.channels(), c.height(), c.width());
            SafetensorsWriter.write(caseDir.resolve("input.safetensors"), Map.of("input", input), Map.of());
            WEIGHTS.put(c.name(), w);
            POS_RUN.put(c.name(), resized ? goldenResized : w.get("pos_embed"));
        }
    }

    static Stream<Arguments> backendsAndCases() {
        List<Arguments> out = new ArrayList<>();
        List<String> names = new ArrayList<>(List.of("cpu"));
        DevicesUnderTest.all().stream().map(b -> b.getName()).filter(n -> !n.contains("(")).forEach(names::add);
        for (String b : names) for (Case c : CASES) out.add(Arguments.of(b, c));
        return out.stream();
    }

    private static void close(String what, float[] got, double[] want) {
        assertEquals(want.length, got.length, what + ": length");
        double err = 0, norm = 0;
        for (int i = 0; i < got.length; i++) {
            err += (got[i] - want[i]) * (got[i] - want[i]);
            norm += want[i] * want[i];
        }
        double rel = Math.sqrt(err / norm);
        assertTrue(rel <= BUDGET, what + ": relative L2 " + rel + " > " + BUDGET);
    }

    @ParameterizedTest(name = "vit4j run --backend {0} --output-attentions: {1}")
    @MethodSource("backendsAndCases")
    void runOutputsMatchTheFloat64Reference(String backend, Case c) {
        Path caseDir = dir.resolve(c.name()), out = dir.resolve(c.name() + "-" + backend + ".safetensors");
        List<String> args = new ArrayList<>(List.of("run", "--backend", backend, "--weights",
                caseDir.resolve("model.safetensors").toString(), "--input", caseDir.resolve("input.safetensors").toString(),
                "--output", out.toString(), "--output-attentions"));
        if (c.imageSizeArg() != null) args.addAll(List.of("--image-size", c.imageSizeArg()));
        CliTest.Result r = CliTest.cli(args.toArray(String[]::new));
        assertEquals(0, r.status(), r.err());

        HostTensor input;
        try (SafetensorsFile in = SafetensorsFile.open(caseDir.resolve("input.safetensors"))) {
            input = in.read("input");
        }
        Float64Vit ref = Float64Vit.run(WEIGHTS.get(c.name()), POS_RUN.get(c.name()), input, c.heads(), 1e-6);
        int gh = c.gridH(), gw = c.gridW(), patches = gh * gw, n = 1 + patches;
        String who = backend + " " + c.name();
        try (SafetensorsFile got = SafetensorsFile.open(out)) {
            for (int i = 0; i < c.depth(); i++) {
                HostTensor a = got.read("attentions." + i);
                assertArrayEquals(new int[] {c.batch(), c.heads(), n, n}, a.shape(), who + " attentions." + i);
                close(who + " attentions." + i, a.data(), ref.attentions(i));
                double worst = 0;
                for (int row = 0; row < a.data().length / n; row++) {
                    double sum = 0;
                    for (int k = 0; k < n; k++) sum += a.data()[row * n + k];
                    worst = Math.max(worst, Math.abs(sum - 1));
                }
                assertTrue(worst <= 1e-6, who + " attentions." + i + ": a row sums to 1 +- " + worst);
            }
            HostTensor roll = got.read("attention_rollout");
            assertArrayEquals(new int[] {c.batch(), gh, gw}, roll.shape(), who + " attention_rollout");
            close(who + " attention_rollout", roll.data(), ref.rollout());
            HostTensor sim = got.read("pos_embed_similarity");
            assertArrayEquals(new int[] {patches, gh, gw}, sim.shape(), who + " pos_embed_similarity");
            close(who + " pos_embed_similarity", sim.data(), Float64Vit.posEmbedSimilarity(POS_RUN.get(c.name()), patches));
            HostTensor dist = got.read("mean_attention_distance");
            assertArrayEquals(new int[] {c.depth(), c.heads()}, dist.shape(), who + " mean_attention_distance");
            close(who + " mean_attention_distance", dist.data(), meanDistance(ref, c));
            HostTensor logits = got.read("logits");
            double[] want = new double[c.batch() * c.classes()];
            for (int b = 0; b < c.batch(); b++) System.arraycopy(ref.logits[b], 0, want, b * c.classes(), c.classes());
            close(who + " logits", logits.data(), want);
        }
    }

    /** Fig. 7 right from the reference's probabilities: P[b, h, 1 + i, 1 + j] * |centre_i - centre_j| px. */
    private static double[] meanDistance(Float64Vit ref, Case c) {
        int gw = c.gridW(), patches = c.gridH() * gw;
        double[] out = new double[c.depth() * c.heads()];
        for (int l = 0; l < c.depth(); l++) {
            for (int h = 0; h < c.heads(); h++) {
                double total = 0;
                for (int b = 0; b < c.batch(); b++) {
                    for (int i = 0; i < patches; i++) {
                        for (int j = 0; j < patches; j++) {
                            double dy = (i / gw - j / gw) * c.patch(), dx = (i % gw - j % gw) * c.patch();
                            total += ref.probs[l][b][h][1 + i][1 + j] * Math.hypot(dy, dx);
                        }
                    }
                }
                out[l * c.heads() + h] = total / (c.batch() * patches);
            }
        }
        return out;
    }

    /** The reference is not trivially satisfied: the grids' rollouts are not flat, the rows not uniform. */
    @Test
    void theReferenceHasStructure() {
        Case c = CASES[0];
        HostTensor input;
        try (SafetensorsFile in = SafetensorsFile.open(dir.resolve(c.name()).resolve("input.safetensors"))) {
            input = in.read("input");
        }
        Float64Vit ref = Float64Vit.run(WEIGHTS.get(c.name()), POS_RUN.get(c.name()), input, c.heads(), 1e-6);
        double[] roll = ref.rollout();
        double min = 1;
        for (double v : roll) min = Math.min(min, v);
        assertTrue(min < 0.9, "rollout varies over the grid: min " + min);
        double[] a = ref.attentions(0);
        int n = 1 + c.gridH() * c.gridW();
        double maxP = 0;
        for (double v : a) maxP = Math.max(maxP, v);
        assertTrue(maxP > 2.0 / n, "attention is not uniform: max " + maxP);
    }

    /** Pictures of a non-square checkpoint: drawn at its aspect, with colour scales (decoded here). */
    @Test
    void picturesOfANonSquareGrid() throws IOException {
        AttentionPicturesTest.assumeFonts();
        Case c = CASES[0];
        Path weights = dir.resolve(c.name()).resolve("model.safetensors");
        Path image = dir.resolve("wide.png");
        java.awt.image.BufferedImage src = new java.awt.image.BufferedImage(50, 30, java.awt.image.BufferedImage.TYPE_INT_RGB);
        SplittableRandom r = new SplittableRandom(7);
        for (int y = 0; y < 30; y++) for (int x = 0; x < 50; x++) src.setRGB(x, y, r.nextInt(1 << 24));
        javax.imageio.ImageIO.write(src, "png", image.toFile());
        Path out = dir.resolve("pictures");
        CliTest.Result a = CliTest.cli("attention", "--backend", "cpu", "--weights", weights.toString(), "--out",
                out.toString(), image.toString());
        assertEquals(0, a.status(), a.err());
        AttentionPictures.AttentionLayout l = AttentionPictures.attentionLayout(c.height(), c.width(), c.gridH(),
                c.gridW(), c.heads());
        assertEquals(l.image().width * c.height(), l.image().height * c.width(), "the image keeps its aspect");
        java.awt.image.BufferedImage img = AttentionPicturesTest.png(out.resolve("wide-attention.png"));
        assertEquals(l.height(), img.getHeight());
        assertTrue(AttentionPicturesTest.hasColourBar(img, 40), "a colour bar");
        AttentionPicturesTest.assertLegend(img, l.rolloutLegend(), "rollout");
        AttentionPicturesTest.assertOnScale(img, l.rollout(), l.rolloutLegend(), "rollout");
        assertTrue(AttentionPicturesTest.colours(img, l.rollout()).size() > 1, "the rollout is not flat");

        Path pe = dir.resolve("posembed.png");
        CliTest.Result p = CliTest.cli("posembed", "--weights", weights.toString(), "--out", pe.toString());
        assertEquals(0, p.status(), p.err());
        AttentionPictures.PosEmbedLayout pl = AttentionPictures.posEmbedLayout(c.gridH(), c.gridW());
        java.awt.image.BufferedImage pimg = AttentionPicturesTest.png(pe);
        assertEquals(pl.height(), pimg.getHeight());
        assertTrue(pl.grid().width > pl.grid().height, "5 columns of tiles are wider than 3 rows");
        AttentionPicturesTest.assertLegend(pimg, pl.legend(), "posembed");
    }

    /** Bad sizes are one-line errors naming the option and what was expected (exit status 2). */
    @Test
    void badImageSizesAreOneLineErrors() {
        Case c = CASES[0];
        Path caseDir = dir.resolve(c.name());
        String[][] bad = {
            {"13x20", "--image-size 13x20", "not a multiple of the checkpoint's patch size 4", "expected e.g. 12x20"},
            {"12x22", "--image-size 12x22", "not a multiple", "expected e.g. 12x20"},
            {"12x", "--image-size", "not a size", "expected S"},
            {"0x8", "--image-size", "<= 0", "expected positive"},
        };
        for (String[] b : bad) {
            CliTest.Result r = CliTest.cli("run", "--backend", "cpu", "--weights",
                    caseDir.resolve("model.safetensors").toString(), "--input", caseDir.resolve("input.safetensors").toString(),
                    "--output", dir.resolve("bad.safetensors").toString(), "--image-size", b[0]);
            assertEquals(Main.EXIT_BAD_INPUT, r.status(), b[0] + ": " + r.err());
            assertEquals(1, r.err().strip().lines().count(), b[0] + ": " + r.err());
            for (int k = 1; k < b.length; k++) assertTrue(r.err().contains(b[k]), b[0] + ": " + r.err());
        }
        assertTrue(!Files.exists(dir.resolve("bad.safetensors")), "nothing written");
        // An input of the checkpoint's grid but another size than asked for: named, with the shape expected.
        CliTest.Result r = CliTest.cli("run", "--backend", "cpu", "--weights", caseDir.resolve("model.safetensors").toString(),
                "--input", caseDir.resolve("input.safetensors").toString(), "--output", dir.resolve("bad.safetensors").toString(),
                "--image-size", "20x12");
        assertEquals(Main.EXIT_BAD_INPUT, r.status(), r.err());
        // The loader's INFO line about the resize comes first; the error is one line.
        assertEquals(1, r.err().strip().lines().filter(line -> !line.contains(" INFO ")).count(), r.err());
        assertTrue(r.err().contains("expected a tensor [B, 3, 20, 12]"), r.err());
    }

    /** A non-square pos_embed without the config that states its grid is no grid: a one-line error. */
    @Test
    void aNonSquareGridNeedsTheConfigThatStatesIt() throws IOException {
        Path lone = Files.createDirectories(dir.resolve("lone")).resolve("model.safetensors");
        Files.copy(dir.resolve(CASES[0].name()).resolve("model.safetensors"), lone);
        CliTest.Result r = CliTest.cli("posembed", "--weights", lone.toString(), "--heads", "3", "--out",
                dir.resolve("lone.png").toString());
        assertEquals(Main.EXIT_BAD_INPUT, r.status(), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains("pos_embed") && r.err().contains("16 tokens")
                && r.err().contains("image_size [height, width]"), r.err());
        assertTrue(!Files.exists(dir.resolve("lone.png")));
    }
}
