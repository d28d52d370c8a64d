#!/usr/bin/env python3
"""One-off cross-check of `vit4j run --output-attentions` against Hugging Face transformers'
ViTForImageClassification(output_attentions=True) (issue 14). Not part of CI: it needs a torch and
transformers (here: a venv from the machine's local wheel store, see the command below).

Two small random models, float64 in PyTorch, weights saved as float32 with save_pretrained:
  * nonsquare: image_size [24, 40], patch 8 (a 3 x 5 grid), 4 heads of 9, 3 blocks, run at its own size;
  * resized:   image_size 32 (a 4 x 4 grid) run on 24 x 40 images with interpolate_pos_encoding=True,
               vit4j with --image-size 24x40 (HF-named checkpoint: HF's bicubic position-embedding resize).
HF's default init (std 0.02) gives near-uniform attention; the weights are redrawn larger so the
probabilities, rollout and logits have structure. Compared (relative L2 against HF's float64):
logits, attentions.{i}, and attention_rollout / pos_embed_similarity recomputed here from HF's
attentions and position embeddings (rollout by full matrix products).

Usage (the venv: python3 -m venv /tmp/hfvenv && /tmp/hfvenv/bin/pip install torch transformers safetensors):
  /tmp/hfvenv/bin/python bench/peers/hf_attentions_check.py [--backends cpu,opencl] [--vit4j ./vit4j]
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import transformers
from safetensors.numpy import load_file, save_file
from transformers import ViTConfig, ViTForImageClassification


def rel_l2(got, want):
    got = np.asarray(got, dtype=np.float64).ravel()
    want = np.asarray(want, dtype=np.float64).ravel()
    return float(np.linalg.norm(got - want) / np.linalg.norm(want))


def randomize(model, gen):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("layernorm_before.weight") or name.endswith("layernorm_after.weight") \
                    or name.endswith("layernorm.weight"):
                p.copy_(1 + 0.3 * torch.randn(p.shape, generator=gen, dtype=p.dtype))
            elif p.dim() >= 2:
                fan_in = p[0].numel()
                scale = 1.5 if "attention.attention" in name else 1.0
                p.copy_(scale * torch.randn(p.shape, generator=gen, dtype=p.dtype) / fan_in ** 0.5)
            else:
                p.copy_(0.5 * torch.randn(p.shape, generator=gen, dtype=p.dtype))


def rollout(attentions):
    """Issue 14's rollout from [B, H, N, N] per block (float64), by full matrix products: [B, N - 1]."""
    b, _, n, _ = attentions[0].shape
    out = np.zeros((b, n - 1))
    for i in range(b):
        r = np.eye(n)
        for a in attentions:
            m = 0.5 * a[i].mean(0) + 0.5 * np.eye(n)
            m = m / m.sum(-1, keepdims=True)
            r = m @ r
        row = r[0, 1:]
        out[i] = row / row.max()
    return out


def similarity(pos):
    e = pos[0, 1:]
    e = e / np.linalg.norm(e, axis=-1, keepdims=True)
    return e @ e.T


def run_case(name, cfg_kwargs, image_hw, interpolate, backends, vit4j, work, gen, lines):
    cfg = ViTConfig(**cfg_kwargs, attn_implementation="eager")
    model = ViTForImageClassification(cfg).eval()
    randomize(model, gen)
    d = os.path.join(work, name)
    model.float().save_pretrained(d)  # float32 safetensors + config.json, as a hub directory holds them
    model = model.double()
    h, w = image_hw
    x = torch.randn(2, cfg.num_channels, h, w, generator=gen, dtype=torch.float64).float()
    save_file({"input": x.numpy()}, os.path.join(d, "input.safetensors"))
    with torch.no_grad():
        out = model(x.double(), output_attentions=True, interpolate_pos_encoding=interpolate)
        pos = model.vit.embeddings.position_embeddings
        grid_h, grid_w = h // cfg.patch_size, w // cfg.patch_size
        if interpolate:
            pos = model.vit.embeddings.interpolate_pos_encoding(
                torch.zeros(1, 1 + grid_h * grid_w, cfg.hidden_size, dtype=torch.float64), h, w)
    att = [a.numpy() for a in out.attentions]
    want = {"logits": out.logits.numpy(), "attention_rollout": rollout(att).reshape(-1, grid_h, grid_w),
            "pos_embed_similarity": similarity(pos.detach().numpy()).reshape(-1, grid_h, grid_w)}
    for i, a in enumerate(att):
        want["attentions.%d" % i] = a
    lines.append("## %s: image %dx%d, patch %d, grid %dx%d, D %d, %d heads, %d blocks, %s" % (
        name, h, w, cfg.patch_size, grid_h, grid_w, cfg.hidden_size, cfg.num_attention_heads,
        cfg.num_hidden_layers, "interpolate_pos_encoding=True (checkpoint image_size %s)" % cfg.image_size
        if interpolate else "checkpoint image_size %s" % (cfg.image_size,)))
    worst = 0.0
    for backend in backends:
        o = os.path.join(d, "out-%s.safetensors" % backend)
        cmd = [vit4j, "run", "--backend", backend, "--weights", d, "--input", os.path.join(d, "input.safetensors"),
               "--output", o, "--output-attentions"]
        if interpolate:
            cmd += ["--image-size", "%dx%d" % (h, w)]
        lines.append("$ " + " ".join(["./vit4j"] + cmd[1:]).replace(work, "$WORK"))
        subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL)
        got = load_file(o)
        for k, v in want.items():
            assert got[k].shape == v.shape, (k, got[k].shape, v.shape)
            e = rel_l2(got[k], v)
            worst = max(worst, e)
            lines.append("  %-8s %-22s %-16s relative L2 %.2e" % (backend, k, "x".join(map(str, v.shape)), e))
        rows = got["attentions.0"].reshape(-1, got["attentions.0"].shape[-1]).astype(np.float64).sum(-1)
        lines.append("  %-8s probability rows sum to 1 within %.1e; argmax logits vit4j %s, HF %s" % (
            backend, np.abs(rows - 1).max(), got["logits"].argmax(-1).tolist(), want["logits"].argmax(-1).tolist()))
    return worst


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--backends", default="cpu,opencl")
    ap.add_argument("--vit4j", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "vit4j"))
    args = ap.parse_args()
    torch.set_num_threads(2)
    gen = torch.Generator().manual_seed(14)
    lines = ["# vit4j run --output-attentions against Hugging Face ViTForImageClassification(output_attentions=True)",
             "# torch %s, transformers %s, HF in float64, vit4j fp32; %s" % (
                 torch.__version__, transformers.__version__, " ".join(sys.argv))]
    base = dict(hidden_size=36, num_hidden_layers=3, num_attention_heads=4, intermediate_size=52, num_channels=3,
                num_labels=7, patch_size=8, layer_norm_eps=1e-6, qkv_bias=True)
    backends = [b for b in args.backends.split(",") if b]
    with tempfile.TemporaryDirectory() as work:
        w1 = run_case("nonsquare", dict(base, image_size=[24, 40]), (24, 40), False, backends, args.vit4j, work, gen,
                      lines)
        w2 = run_case("resized", dict(base, image_size=32), (24, 40), True, backends, args.vit4j, work, gen, lines)
    worst = max(w1, w2)
    lines.append("worst relative L2: %.2e (%s 1e-5)" % (worst, "within" if worst <= 1e-5 else "NOT within"))
    print("\n".join(lines))
    return 0 if worst <= 1e-5 else 1


if __name__ == "__main__":
    sys.exit(main())
