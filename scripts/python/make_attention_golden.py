#!/usr/bin/env python3
"""Golden attention analyses for vit4j (issue 14) from PyTorch's own attention probabilities.

For each case, the golden checkpoint (timm names, from make_golden.py) is loaded into torchvision's
VisionTransformer in float64 and run on the case's golden input; each block's attention probabilities are
nn.MultiheadAttention's own (need_weights=True, average_attn_weights=False) on that block's LN_1 output.
From them, in float64:
  attentions.{i}            [B, H, N, N]
  attention_rollout         [B, g, g]   A = 0.5 mean_h P + 0.5 I, rows / sum; R = A_last ... A_first;
                                        R[:, 0, 1:] reshaped, / max per image (Abnar & Zuidema)
  mean_attention_distance   [depth, H]  sum_j P[i, j] * |centre_i - centre_j| px over patches i, j (class
                                        token excluded, no renormalisation), mean over i and images
  pos_embed_similarity      [g*g, g, g] cosine of patch position embeddings (class token excluded)
stored as float32 in golden/<case>/attention.safetensors (vit-tiny at 48 px: the resized position
embedding, 6 x 6 grid, attention-48.safetensors).

Usage: /usr/bin/python3 scripts/python/make_attention_golden.py [--out vit4j-core/src/test/resources/golden]
"""
import os
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import argparse
import json
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torchvision.models.vision_transformer import VisionTransformer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_io  # noqa: E402

torch.set_num_threads(2)


def from_timm(t, depth):
    sd = {
        "conv_proj.weight": t["patch_embed.proj.weight"], "conv_proj.bias": t["patch_embed.proj.bias"],
        "class_token": t["cls_token"], "encoder.pos_embedding": t["pos_embed"],
        "encoder.ln.weight": t["norm.weight"], "encoder.ln.bias": t["norm.bias"],
        "heads.head.weight": t["head.weight"], "heads.head.bias": t["head.bias"],
    }
    for i in range(depth):
        l, b = "encoder.layers.encoder_layer_%d." % i, "blocks.%d." % i
        for dst, src in (("ln_1", "norm1"), ("ln_2", "norm2")):
            sd[l + dst + ".weight"], sd[l + dst + ".bias"] = t[b + src + ".weight"], t[b + src + ".bias"]
        sd[l + "self_attention.in_proj_weight"] = t[b + "attn.qkv.weight"]
        sd[l + "self_attention.in_proj_bias"] = t[b + "attn.qkv.bias"]
        sd[l + "self_attention.out_proj.weight"] = t[b + "attn.proj.weight"]
        sd[l + "self_attention.out_proj.bias"] = t[b + "attn.proj.bias"]
        sd[l + "mlp.0.weight"], sd[l + "mlp.0.bias"] = t[b + "mlp.fc1.weight"], t[b + "mlp.fc1.bias"]
        sd[l + "mlp.3.weight"], sd[l + "mlp.3.bias"] = t[b + "mlp.fc2.weight"], t[b + "mlp.fc2.bias"]
    return {k: torch.from_numpy(np.asarray(v, dtype=np.float32)) for k, v in sd.items()}


def analyse(case_dir, image, input_name, pos_name, io_name, out_name):
    cfg = json.load(open(os.path.join(case_dir, "config.json")))
    t = st_io.load(os.path.join(case_dir, "model.safetensors"))
    io = st_io.load(os.path.join(case_dir, io_name))
    depth, heads, patch = cfg["num_hidden_layers"], cfg["num_attention_heads"], cfg["patch_size"]
    sd = from_timm(t, depth)
    if pos_name:
        sd["encoder.pos_embedding"] = torch.from_numpy(np.asarray(io[pos_name], dtype=np.float32))
    m = VisionTransformer(image_size=image, patch_size=patch, num_layers=depth, num_heads=heads,
                          hidden_dim=cfg["hidden_size"], mlp_dim=cfg["intermediate_size"],
                          num_classes=cfg.get("num_labels", len(cfg["id2label"])))
    m.load_state_dict(sd)
    m = m.double().eval()
    x = torch.from_numpy(np.asarray(io[input_name], dtype=np.float32)).double()
    g = image // patch
    out = {}
    with torch.no_grad():
        n = x.shape[0]
        h = torch.cat([m.class_token.expand(n, -1, -1), m._process_input(x)], dim=1) + m.encoder.pos_embedding
        probs = []
        for i, layer in enumerate(m.encoder.layers):
            y = layer.ln_1(h)
            _, w = layer.self_attention(y, y, y, need_weights=True, average_attn_weights=False)
            probs.append(w)
            out["attentions.%d" % i] = w
            h = layer(h)
        logits = m.heads(m.encoder.ln(h)[:, 0])
        if "logits" in io and not pos_name:  # the same model as the golden io: its logits agree
            err = (logits - torch.from_numpy(io["logits"]).double()).norm() / logits.norm()
            assert err < 1e-6, err
        N = 1 + g * g
        eye = torch.eye(N, dtype=torch.float64)
        R = eye.expand(n, N, N)
        for w in probs:
            a = 0.5 * w.mean(1) + 0.5 * eye
            a = a / a.sum(-1, keepdim=True)
            R = a @ R
        roll = R[:, 0, 1:]
        roll = roll / roll.amax(-1, keepdim=True)
        out["attention_rollout"] = roll.reshape(n, g, g)
        ys, xs = torch.meshgrid(torch.arange(g), torch.arange(g), indexing="ij")
        centres = torch.stack([ys.flatten(), xs.flatten()], -1).double() * patch
        dist = torch.cdist(centres, centres)
        out["mean_attention_distance"] = torch.stack(
            [(w[:, :, 1:, 1:] * dist).sum(-1).mean(dim=(0, 2)) for w in probs])
        pos = m.encoder.pos_embedding[0, 1:]
        sim = F.cosine_similarity(pos[:, None, :], pos[None, :, :], dim=-1)
        out["pos_embed_similarity"] = sim.reshape(g * g, g, g)
    meta = {"generator": "scripts/python/make_attention_golden.py", "torch": torch.__version__}
    st_io.save(os.path.join(case_dir, out_name), {k: v.float().numpy() for k, v in out.items()}, meta)
    print(case_dir, out_name, {k: tuple(v.shape) for k, v in out.items()})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="vit4j-core/src/test/resources/golden")
    a = ap.parse_args()
    analyse(os.path.join(a.out, "vit-odd"), 30, "input", None, "io.safetensors", "attention.safetensors")
    analyse(os.path.join(a.out, "vit-tiny"), 48, "input48", "pos_embed48", "io-resized.safetensors",
            "attention-48.safetensors")


if __name__ == "__main__":
    main()
