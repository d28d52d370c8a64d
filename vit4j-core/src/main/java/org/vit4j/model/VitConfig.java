package org.vit4j.model;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.vit4j.Vit4jException;

/**
 * The shape of a Vision Transformer, in the paper's terms (Dosovitskiy et al., 2021, Table 1).
 *
 * <p>An image of {@code imageHeight x imageWidth} pixels and {@code channels} channels is cut into a
 * {@code gridHeight x gridWidth} grid of patches ({@code imageHeight / patchSize} rows of
 * {@code imageWidth / patchSize}, row-major; square in the paper, any shape here), each projected to
 * {@code hiddenSize} = D; a class token is
 * prepended, a learned position embedding added, and {@code depth} pre-norm blocks of
 * {@code heads}-head self-attention and an MLP of width {@code mlpSize} follow. The final
 * LayerNorm of the class token is the image's representation ("pre-logits"); a linear head maps it
 * to {@code numClasses} logits (no head when {@code numClasses} is 0).
 */
public record VitConfig(
        int imageHeight,
        int imageWidth,
        int patchSize,
        int channels,
        int hiddenSize,
        int depth,
        int heads,
        int mlpSize,
        int numClasses,
        double layerNormEps,
        Pooling pooling) {

    /** How the image representation is taken from the token sequence. */
    public enum Pooling {
        /** The final-normed class token, as in the paper and timm's {@code global_pool='token'}. */
        CLASS_TOKEN
    }

    /** LayerNorm epsilon of timm, torchvision and Hugging Face ViTs (the paper's JAX code). */
    public static final double DEFAULT_LAYER_NORM_EPS = 1e-6;

    public VitConfig {
        require(imageHeight > 0, "imageHeight", imageHeight, "> 0");
        require(imageWidth > 0, "imageWidth", imageWidth, "> 0");
        require(patchSize > 0, "patchSize", patchSize, "> 0");
        require(channels > 0, "channels", channels, "> 0");
        require(hiddenSize > 0, "hiddenSize", hiddenSize, "> 0");
        require(depth >= 0, "depth", depth, ">= 0");
        require(heads > 0, "heads", heads, "> 0");
        require(mlpSize > 0, "mlpSize", mlpSize, "> 0");
        require(numClasses >= 0, "numClasses", numClasses, ">= 0 (0: no head)");
        if (imageHeight % patchSize != 0 || imageWidth % patchSize != 0) {
            throw new Vit4jException("image size " + sizeText(imageHeight, imageWidth) + " (height x width) is not a "
                    + "multiple of patchSize " + patchSize + " on both sides");
        }
        if (hiddenSize % heads != 0) {
            throw new Vit4jException("hidden size D = " + hiddenSize + " is not divisible by heads = " + heads
                    + ": each head needs D / heads channels");
        }
        // (0, 1]: ViTs use 1e-6..1e-5; an epsilon near the variance of the activations erases them.
        if (!(layerNormEps > 0) || !(layerNormEps <= 1)) {
            throw new Vit4jException("layerNormEps must be in (0, 1] (ViTs use 1e-6 or 1e-5), got " + layerNormEps);
        }
        // The kernels index one image's tokens, and a pass's activations, with int: sizes past that are
        // an error here, not an overflow later (--image-size 65536 at patch 16 is 16.8M tokens).
        long tokens = (long) (imageHeight / patchSize) * (imageWidth / patchSize) + 1;
        if (tokens * Math.max(hiddenSize, mlpSize) > Integer.MAX_VALUE / 64) {
            throw new Vit4jException("image size " + sizeText(imageHeight, imageWidth) + " at patch " + patchSize
                    + " makes " + tokens
                    + " tokens of width " + Math.max(hiddenSize, mlpSize) + " per image: more than vit4j runs ("
                    + (Integer.MAX_VALUE / 64) + " activations per image)");
        }
        if (pooling == null) {
            throw new Vit4jException("pooling must be given");
        }
    }

    /** A square image of {@code imageSize x imageSize} pixels, as in the paper. */
    public VitConfig(int imageSize, int patchSize, int channels, int hiddenSize, int depth, int heads, int mlpSize,
            int numClasses, double layerNormEps, Pooling pooling) {
        this(imageSize, imageSize, patchSize, channels, hiddenSize, depth, heads, mlpSize, numClasses, layerNormEps,
                pooling);
    }

    private static void require(boolean ok, String name, int value, String expected) {
        if (!ok) throw new Vit4jException(name + " must be " + expected + ", got " + value);
    }

    /** "224" for a square size, "192x320" (height x width) otherwise: how the CLI's --image-size reads it. */
    public static String sizeText(int height, int width) {
        return height == width ? Integer.toString(height) : height + "x" + width;
    }

    /** The image size as {@link #sizeText} writes it. */
    public String imageSizeText() {
        return sizeText(imageHeight, imageWidth);
    }

    /** Whether the image (and so the patch grid) is square. */
    public boolean isSquare() {
        return imageHeight == imageWidth;
    }

    /**
     * The side of a square image. A non-square config has none: an error naming the two sides, not one
     * of them silently (code written for squares reads {@link #imageHeight} and {@link #imageWidth}).
     */
    public int imageSize() {
        if (!isSquare()) {
            throw new Vit4jException("the image is " + imageHeight + "x" + imageWidth + " (height x width), not "
                    + "square: use imageHeight() and imageWidth()");
        }
        return imageHeight;
    }

    /** Patch rows, {@code imageHeight / patchSize}. */
    public int gridHeight() {
        return imageHeight / patchSize;
    }

    /** Patch columns, {@code imageWidth / patchSize}. */
    public int gridWidth() {
        return imageWidth / patchSize;
    }

    /** Patches along one side of a square grid; an error naming both sides for a non-square one. */
    public int gridSize() {
        if (gridHeight() != gridWidth()) {
            throw new Vit4jException("the patch grid is " + gridHeight() + "x" + gridWidth() + " (rows x columns), "
                    + "not square: use gridHeight() and gridWidth()");
        }
        return gridHeight();
    }

    /** N, the number of patches, {@code gridHeight * gridWidth}. */
    public int numPatches() {
        return gridHeight() * gridWidth();
    }

    /** N + 1: the patches and the class token. */
    public int tokens() {
        return numPatches() + 1;
    }

    public int headDim() {
        return hiddenSize / heads;
    }

    /** Length of one flattened patch, C * P * P: the K of the patch-embedding GEMM. */
    public int patchDim() {
        return channels * patchSize * patchSize;
    }

    /** This model at square images of {@code newImageSize} pixels a side. */
    public VitConfig withImageSize(int newImageSize) {
        return withImageSize(newImageSize, newImageSize);
    }

    /** This model at {@code height x width} images. */
    public VitConfig withImageSize(int height, int width) {
        return new VitConfig(height, width, patchSize, channels, hiddenSize, depth, heads, mlpSize, numClasses,
                layerNormEps, pooling);
    }

    /** Multiply-accumulates of one image's forward pass (the GEMMs and attention matmuls). */
    public long macsPerImage() {
        long t = tokens(), d = hiddenSize, m = mlpSize;
        long embed = (long) numPatches() * patchDim() * d;
        long perBlock = t * d * 3 * d + 2 * t * t * d + t * d * d + 2 * t * d * m;
        return embed + depth * perBlock + d * (long) numClasses;
    }

    // ---- Table 1 of the paper: Ti and S from DeiT, B, L, H from ViT ----

    private record Size(String letter, int hidden, int depth, int heads, int mlp) {}

    private static final Size[] SIZES = {
        new Size("ti", 192, 12, 3, 768),
        new Size("s", 384, 12, 6, 1536),
        new Size("b", 768, 12, 12, 3072),
        new Size("l", 1024, 24, 16, 4096),
        new Size("h", 1280, 32, 16, 5120),
    };
    private static final int[] PATCHES = {8, 14, 16, 32};

    private static final Map<String, VitConfig> PRESETS = buildPresets();

    private static Map<String, VitConfig> buildPresets() {
        Map<String, VitConfig> all = new LinkedHashMap<>();
        for (Size s : SIZES) {
            for (int p : PATCHES) {
                all.put("vit-" + s.letter + p, new VitConfig(224, p, 3, s.hidden, s.depth, s.heads, s.mlp, 1000,
                        DEFAULT_LAYER_NORM_EPS, Pooling.CLASS_TOKEN));
            }
        }
        return java.util.Collections.unmodifiableMap(all);
    }

    /** Every named preset: {@code vit-ti8 ... vit-h32}, at 224 px, 1000 classes. */
    public static Map<String, VitConfig> presets() {
        return PRESETS;
    }

    /** A preset by name, e.g. {@code vit-b16} or {@code vit-l14}. */
    public static VitConfig preset(String name) {
        VitConfig c = PRESETS.get(name.toLowerCase(Locale.ROOT));
        if (c == null) {
            throw new Vit4jException("unknown model preset '" + name + "'; expected one of " + PRESETS.keySet());
        }
        return c;
    }

    /** Heads of the Table 1 size named by a timm architecture ("vit_base_patch16_224"), or -1. */
    public static int headsOfTimmArchitecture(String architecture) {
        String a = architecture.toLowerCase(Locale.ROOT);
        String[][] names = {{"vit_tiny_", "ti"}, {"vit_small_", "s"}, {"vit_base_", "b"}, {"vit_large_", "l"},
            {"vit_huge_", "h"}};
        for (String[] n : names) {
            if (a.startsWith(n[0])) {
                for (Size s : SIZES) if (s.letter.equals(n[1])) return s.heads;
            }
        }
        return -1;
    }
}
