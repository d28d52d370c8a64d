package org.vit4j.model;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.vit4j.HostTensor;
import org.vit4j.backend.cpu.Gelu;

/**
 * An independent float64 ViT forward pass for the tests (issue 14): straight loops over timm-named
 * float32 tensors, written from the paper and timm's {@code VisionTransformer}, sharing no code with
 * vit4j's model or backends (only the exact GELU's erf, {@link Gelu#exact}, which CpuBackendTest holds
 * to tabulated values). It keeps what the attention pictures are made of: every block's attention
 * probabilities, and computes the rollout by full N x N matrix products (vit4j's AttentionRollout
 * multiplies a row vector) and the position-embedding similarity.
 *
 * <p>Images [B, C, H, W] of any H x W that are multiples of the patch: the grid is
 * {@code (H / P) x (W / P)}, patches row-major, as timm's {@code flatten(2)} of the convolution.
 */
public final class Float64Vit {
    /** probs[block][b][h][q][k]. */
    public final double[][][][][] probs;
    /** [B, classes], or null without a head. */
    public final double[][] logits;
    public final int gridH;
    public final int gridW;

    private Float64Vit(double[][][][][] probs, double[][] logits, int gridH, int gridW) {
        this.probs = probs;
        this.logits = logits;
        this.gridH = gridH;
        this.gridW = gridW;
    }

    private static double[] d(Map<String, HostTensor> w, String name) {
        HostTensor t = w.get(name);
        if (t == null) throw new IllegalArgumentException("no tensor " + name);
        float[] f = t.toFloats();
        double[] out = new double[f.length];
        for (int i = 0; i < f.length; i++) out[i] = f[i];
        return out;
    }

    /**
     * The pass. {@code posEmbed} [1, 1 + gridH * gridW, D] as the model runs it (for an image size other
     * than the checkpoint's: resized by the caller, e.g. from PyTorch's golden); {@code heads}, {@code eps}
     * as the config states.
     */
    public static Float64Vit run(Map<String, HostTensor> w, HostTensor posEmbed, HostTensor images, int heads,
            double eps) {
        int[] is = images.shape();
        int batch = is[0], c = is[1], height = is[2], width = is[3];
        int[] ps = w.get("patch_embed.proj.weight").shape();
        int dim = ps[0], p = ps[2];
        int gh = height / p, gw = width / p, n = 1 + gh * gw, hd = dim / heads;
        int depth = 0;
        while (w.containsKey("blocks." + depth + ".norm1.weight")) depth++;
        double[] img = new double[images.toFloats().length];
        float[] fi = images.toFloats();
        for (int i = 0; i < fi.length; i++) img[i] = fi[i];
        double[] proj = d(w, "patch_embed.proj.weight"), projB = d(w, "patch_embed.proj.bias");
        double[] cls = d(w, "cls_token");
        double[] pos = new double[posEmbed.toFloats().length];
        for (int i = 0; i < pos.length; i++) pos[i] = posEmbed.toFloats()[i];
        if (pos.length != n * dim) throw new IllegalArgumentException("pos_embed holds " + pos.length + ", expected " + n * dim);

        double[][][] x = new double[batch][n][dim];
        for (int b = 0; b < batch; b++) {
            for (int j = 0; j < dim; j++) x[b][0][j] = cls[j] + pos[j];
            for (int py = 0; py < gh; py++) {
                for (int px = 0; px < gw; px++) {
                    int t = 1 + py * gw + px;
                    for (int j = 0; j < dim; j++) {
                        double acc = projB[j];
                        for (int ch = 0; ch < c; ch++)
                            for (int dy = 0; dy < p; dy++)
                                for (int dx = 0; dx < p; dx++)
                                    acc += proj[((j * c + ch) * p + dy) * p + dx]
                                            * img[((b * c + ch) * height + py * p + dy) * width + px * p + dx];
                        x[b][t][j] = acc + pos[t * dim + j];
                    }
                }
            }
        }
        double[][][][][] probs = new double[depth][batch][heads][n][n];
        for (int l = 0; l < depth; l++) {
            String pre = "blocks." + l + ".";
            double[] qkvW = d(w, pre + "attn.qkv.weight");
            double[] qkvB = w.containsKey(pre + "attn.qkv.bias") ? d(w, pre + "attn.qkv.bias") : new double[3 * dim];
            double[] oW = d(w, pre + "attn.proj.weight"), oB = d(w, pre + "attn.proj.bias");
            double[] f1 = d(w, pre + "mlp.fc1.weight"), f1b = d(w, pre + "mlp.fc1.bias");
            double[] f2 = d(w, pre + "mlp.fc2.weight"), f2b = d(w, pre + "mlp.fc2.bias");
            int mlp = f1b.length;
            for (int b = 0; b < batch; b++) {
                double[][] h = layerNorm(x[b], d(w, pre + "norm1.weight"), d(w, pre + "norm1.bias"), eps);
                double[][] qkv = linear(h, qkvW, qkvB, 3 * dim);
                double[][] attended = new double[n][dim];
                for (int hh = 0; hh < heads; hh++) {
                    for (int q = 0; q < n; q++) {
                        double[] s = new double[n];
                        double max = Double.NEGATIVE_INFINITY;
                        for (int k = 0; k < n; k++) {
                            double dot = 0;
                            for (int e = 0; e < hd; e++) dot += qkv[q][hh * hd + e] * qkv[k][dim + hh * hd + e];
                            s[k] = dot / Math.sqrt(hd);
                            max = Math.max(max, s[k]);
                        }
                        double sum = 0;
                        for (int k = 0; k < n; k++) sum += s[k] = Math.exp(s[k] - max);
                        for (int k = 0; k < n; k++) probs[l][b][hh][q][k] = s[k] / sum;
                        for (int e = 0; e < hd; e++) {
                            double acc = 0;
                            for (int k = 0; k < n; k++) acc += probs[l][b][hh][q][k] * qkv[k][2 * dim + hh * hd + e];
                            attended[q][hh * hd + e] = acc;
                        }
                    }
                }
                double[][] o = linear(attended, oW, oB, dim);
                for (int t = 0; t < n; t++) for (int j = 0; j < dim; j++) x[b][t][j] += o[t][j];
                double[][] h2 = layerNorm(x[b], d(w, pre + "norm2.weight"), d(w, pre + "norm2.bias"), eps);
                double[][] m = linear(h2, f1, f1b, mlp);
                for (double[] row : m) for (int j = 0; j < mlp; j++) row[j] = Gelu.exact(row[j]);
                double[][] y = linear(m, f2, f2b, dim);
                for (int t = 0; t < n; t++) for (int j = 0; j < dim; j++) x[b][t][j] += y[t][j];
            }
        }
        double[][] logits = null;
        if (w.containsKey("head.weight")) {
            double[] hw = d(w, "head.weight"), hb = d(w, "head.bias");
            int classes = hb.length;
            logits = new double[batch][];
            for (int b = 0; b < batch; b++) {
                double[][] f = layerNorm(new double[][] {x[b][0]}, d(w, "norm.weight"), d(w, "norm.bias"), eps);
                logits[b] = linear(f, hw, hb, classes)[0];
            }
        }
        return new Float64Vit(probs, logits, gh, gw);
    }

    private static double[][] layerNorm(double[][] x, double[] g, double[] beta, double eps) {
        double[][] out = new double[x.length][];
        for (int t = 0; t < x.length; t++) {
            int dim = x[t].length;
            double mean = 0, var = 0;
            for (double v : x[t]) mean += v / dim;
            for (double v : x[t]) var += (v - mean) * (v - mean) / dim;
            out[t] = new double[dim];
            for (int j = 0; j < dim; j++) out[t][j] = (x[t][j] - mean) / Math.sqrt(var + eps) * g[j] + beta[j];
        }
        return out;
    }

    /** x [rows, in] times W^T (W [out, in]) plus b. */
    private static double[][] linear(double[][] x, double[] wt, double[] b, int outDim) {
        int in = x[0].length;
        double[][] y = new double[x.length][outDim];
        for (int r = 0; r < x.length; r++) {
            for (int o = 0; o < outDim; o++) {
                double acc = b[o];
                for (int i = 0; i < in; i++) acc += x[r][i] * wt[o * in + i];
                y[r][o] = acc;
            }
        }
        return y;
    }

    /** Block l's probabilities as [B, heads, N, N], flattened. */
    public double[] attentions(int l) {
        double[][][][] a = probs[l];
        int batch = a.length, heads = a[0].length, n = a[0][0].length;
        double[] flat = new double[batch * heads * n * n];
        int i = 0;
        for (double[][][] perB : a) for (double[][] perH : perB) for (double[] row : perH) for (double v : row) flat[i++] = v;
        return flat;
    }

    /**
     * Attention rollout as issue 14 defines it, by full matrix products: A_l = 0.5 * mean_h P_l + 0.5 I,
     * rows normalised; R = A_last ... A_0; R's class-token row without its own column, over its maximum:
     * [B, gridH, gridW], flattened.
     */
    public double[] rollout() {
        int depth = probs.length, batch = probs[0].length, heads = probs[0][0].length, n = probs[0][0][0].length;
        double[] out = new double[batch * (n - 1)];
        for (int b = 0; b < batch; b++) {
            double[][] r = identity(n);
            for (int l = 0; l < depth; l++) {
                double[][] a = new double[n][n];
                for (int q = 0; q < n; q++) {
                    double sum = 0;
                    for (int k = 0; k < n; k++) {
                        double mean = 0;
                        for (int h = 0; h < heads; h++) mean += probs[l][b][h][q][k] / heads;
                        a[q][k] = 0.5 * mean + (q == k ? 0.5 : 0);
                        sum += a[q][k];
                    }
                    for (int k = 0; k < n; k++) a[q][k] /= sum;
                }
                r = multiply(a, r); // A_l applied after the blocks before it
            }
            double max = 0;
            for (int k = 1; k < n; k++) max = Math.max(max, r[0][k]);
            for (int k = 1; k < n; k++) out[b * (n - 1) + k - 1] = r[0][k] / max;
        }
        return out;
    }

    /** Cosine similarity of the patches' position embeddings, [P, gridH, gridW] with P = gridH * gridW. */
    public static double[] posEmbedSimilarity(HostTensor posEmbed, int patches) {
        float[] e = posEmbed.toFloats();
        int dim = e.length / (patches + 1);
        double[] out = new double[patches * patches];
        for (int i = 0; i < patches; i++) {
            for (int j = 0; j < patches; j++) {
                double dot = 0, ni = 0, nj = 0;
                for (int k = 0; k < dim; k++) {
                    double a = e[(1 + i) * dim + k], b = e[(1 + j) * dim + k];
                    dot += a * b;
                    ni += a * a;
                    nj += b * b;
                }
                out[i * patches + j] = dot / Math.sqrt(ni * nj);
            }
        }
        return out;
    }

    private static double[][] identity(int n) {
        double[][] m = new double[n][n];
        for (int i = 0; i < n; i++) m[i][i] = 1;
        return m;
    }

    private static double[][] multiply(double[][] a, double[][] b) {
        int n = a.length;
        double[][] c = new double[n][n];
        for (int i = 0; i < n; i++)
            for (int k = 0; k < n; k++) {
                double v = a[i][k];
                if (v == 0) continue;
                for (int j = 0; j < n; j++) c[i][j] += v * b[k][j];
            }
        return c;
    }
}
