#!/usr/bin/env python3
"""Generate golden parity files for vit4j from torchvision's VisionTransformer.

Random, non-trivial weights (every parameter overwritten, rounded to float32), float32 input,
forward pass in float64 as the reference; everything stored as float32 safetensors.

Usage:  /usr/bin/python3 scripts/python/make_golden.py [--out vit4j-core/src/test/resources/golden]
"""
import os
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # avoid BLAS/OpenMP oversubscription with torch threads
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

CASES = [
    # name, image, patch, channels, hidden, depth, heads, mlp, classes, batch, extras
    dict(name="vit-tiny", image=32, patch=8, channels=3, hidden=64, depth=2, heads=4, mlp=128,
         classes=10, batch=2, seed=1001, resized=(48, 24)),
    dict(name="vit-odd", image=30, patch=6, channels=3, hidden=72, depth=2, heads=3, mlp=150,
         classes=7, batch=3, seed=1002, tv=True, hf=True),
    dict(name="vit-ti16-224", image=224, patch=16, channels=3, hidden=192, depth=2, heads=3, mlp=768,
         classes=1000, batch=2, seed=1003),
]


def build_model(c, image_size=None):
    m = VisionTransformer(image_size=image_size or c["image"], patch_size=c["patch"],
                          num_layers=c["depth"], num_heads=c["heads"], hidden_dim=c["hidden"],
                          mlp_dim=c["mlp"], num_classes=c["classes"])
    if c["channels"] != 3:
        m.conv_proj = torch.nn.Conv2d(c["channels"], c["hidden"], kernel_size=c["patch"], stride=c["patch"])
    return m.eval()


def randomize_(model, gen):
    """Overwrite every parameter with non-trivial random values (rounded to float32)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            shape = p.shape
            leaf = name.split(".")[-1]
            is_ln = (".ln_" in name or name.startswith("encoder.ln.") or ".ln." in name)
            if name in ("class_token", "encoder.pos_embedding"):
                v = 0.5 * torch.randn(shape, generator=gen)
            elif is_ln and leaf == "weight":
                v = 1.0 + 0.2 * torch.randn(shape, generator=gen)
            elif is_ln and leaf == "bias":
                v = 0.2 * torch.randn(shape, generator=gen)
            elif leaf in ("weight", "in_proj_weight"):
                fan_in = int(np.prod(shape[1:]))
                v = torch.randn(shape, generator=gen) / np.sqrt(fan_in)
            elif leaf in ("bias", "in_proj_bias"):
                v = 0.1 * torch.randn(shape, generator=gen)
            else:
                raise RuntimeError("unhandled parameter " + name)
            p.copy_(v.float())
    for name, p in model.named_parameters():
        assert torch.count_nonzero(p) == p.numel(), name
    return model


def to_timm(sd, depth):
    out = {
        "patch_embed.proj.weight": sd["conv_proj.weight"],
        "patch_embed.proj.bias": sd["conv_proj.bias"],
        "cls_token": sd["class_token"],
        "pos_embed": sd["encoder.pos_embedding"],
    }
    for i in range(depth):
        t = "encoder.layers.encoder_layer_%d." % i
        b = "blocks.%d." % i
        out[b + "norm1.weight"] = sd[t + "ln_1.weight"]
        out[b + "norm1.bias"] = sd[t + "ln_1.bias"]
        out[b + "attn.qkv.weight"] = sd[t + "self_attention.in_proj_weight"]
        out[b + "attn.qkv.bias"] = sd[t + "self_attention.in_proj_bias"]
        out[b + "attn.proj.weight"] = sd[t + "self_attention.out_proj.weight"]
        out[b + "attn.proj.bias"] = sd[t + "self_attention.out_proj.bias"]
        out[b + "norm2.weight"] = sd[t + "ln_2.weight"]
        out[b + "norm2.bias"] = sd[t + "ln_2.bias"]
        out[b + "mlp.fc1.weight"] = sd[t + "mlp.0.weight"]
        out[b + "mlp.fc1.bias"] = sd[t + "mlp.0.bias"]
        out[b + "mlp.fc2.weight"] = sd[t + "mlp.3.weight"]
        out[b + "mlp.fc2.bias"] = sd[t + "mlp.3.bias"]
    out["norm.weight"] = sd["encoder.ln.weight"]
    out["norm.bias"] = sd["encoder.ln.bias"]
    out["head.weight"] = sd["heads.head.weight"]
    out["head.bias"] = sd["heads.head.bias"]
    return out


def to_hf(sd, depth, hidden):
    D = hidden
    out = {
        "vit.embeddings.cls_token": sd["class_token"],
        "vit.embeddings.position_embeddings": sd["encoder.pos_embedding"],
        "vit.embeddings.patch_embeddings.projection.weight": sd["conv_proj.weight"],
        "vit.embeddings.patch_embeddings.projection.bias": sd["conv_proj.bias"],
    }
    for i in range(depth):
        t = "encoder.layers.encoder_layer_%d." % i
        h = "vit.encoder.layer.%d." % i
        w = sd[t + "self_attention.in_proj_weight"]
        bb = sd[t + "self_attention.in_proj_bias"]
        out[h + "layernorm_before.weight"] = sd[t + "ln_1.weight"]
        out[h + "layernorm_before.bias"] = sd[t + "ln_1.bias"]
        for j, part in enumerate(("query", "key", "value")):
            out[h + "attention.attention.%s.weight" % part] = w[j * D:(j + 1) * D]
            out[h + "attention.attention.%s.bias" % part] = bb[j * D:(j + 1) * D]
        out[h + "attention.output.dense.weight"] = sd[t + "self_attention.out_proj.weight"]
        out[h + "attention.output.dense.bias"] = sd[t + "self_attention.out_proj.bias"]
        out[h + "layernorm_after.weight"] = sd[t + "ln_2.weight"]
        out[h + "layernorm_after.bias"] = sd[t + "ln_2.bias"]
        out[h + "intermediate.dense.weight"] = sd[t + "mlp.0.weight"]
        out[h + "intermediate.dense.bias"] = sd[t + "mlp.0.bias"]
        out[h + "output.dense.weight"] = sd[t + "mlp.3.weight"]
        out[h + "output.dense.bias"] = sd[t + "mlp.3.bias"]
    out["vit.layernorm.weight"] = sd["encoder.ln.weight"]
    out["vit.layernorm.bias"] = sd["encoder.ln.bias"]
    out["classifier.weight"] = sd["heads.head.weight"]
    out["classifier.bias"] = sd["heads.head.bias"]
    return out


def hf_config(c, id2label=None, extra=None):
    cfg = {
        "model_type": "vit",
        "architectures": ["ViTForImageClassification"],
        "image_size": c["image"],
        "patch_size": c["patch"],
        "num_channels": c["channels"],
        "hidden_size": c["hidden"],
        "num_hidden_layers": c["depth"],
        "num_attention_heads": c["heads"],
        "intermediate_size": c["mlp"],
        "hidden_act": "gelu",
        "layer_norm_eps": 1e-6,
        "qkv_bias": True,
        "id2label": id2label or {str(i): "class_%d" % i for i in range(c["classes"])},
    }
    cfg["label2id"] = {v: int(k) for k, v in cfg["id2label"].items()}
    if extra:
        cfg.update(extra)
    return cfg


def forward_by_hand(model, x):
    """Returns embeddings, block0 output, pre_logits, logits (all computed via submodules)."""
    n = x.shape[0]
    p = model._process_input(x)
    tok = torch.cat([model.class_token.expand(n, -1, -1), p], dim=1)
    emb = tok + model.encoder.pos_embedding
    h = emb
    block0 = None
    for i, layer in enumerate(model.encoder.layers):
        h = layer(h)
        if i == 0:
            block0 = h
    pre = model.encoder.ln(h)[:, 0]
    logits = model.heads(pre)
    return emb, block0, pre, logits


def resample_pos_embed(pos, old_grid, new_grid):
    """Class-token row kept; grid part interpolated bicubic + antialias (timm's default)."""
    D = pos.shape[-1]
    cls, grid = pos[:, :1], pos[:, 1:]
    grid = grid.reshape(1, old_grid, old_grid, D).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, size=(new_grid, new_grid), mode="bicubic", antialias=True,
                         align_corners=False)
    grid = grid.permute(0, 2, 3, 1).reshape(1, new_grid * new_grid, D)
    return torch.cat([cls, grid], dim=1)


def np32(t):
    return t.detach().to(torch.float32).cpu().numpy()


def check(name, t):
    a = t.detach().double()
    assert torch.isfinite(a).all(), name + " has non-finite values"
    return float(a.abs().max())


def make_case(c, outroot):
    out = os.path.join(outroot, c["name"])
    os.makedirs(out, exist_ok=True)
    gen = torch.Generator().manual_seed(c["seed"])
    model = randomize_(build_model(c), gen)
    sd32 = {k: v.detach().clone().float() for k, v in model.state_dict().items()}
    x32 = torch.randn(c["batch"], c["channels"], c["image"], c["image"], generator=gen).float()

    meta = {"generator": "scripts/python/make_golden.py", "torch": torch.__version__}
    st_io.save(os.path.join(out, "model.safetensors"),
               {k: np32(v) for k, v in to_timm(sd32, c["depth"]).items()}, meta)
    if c.get("tv"):
        st_io.save(os.path.join(out, "model-torchvision.safetensors"),
                   {k: np32(v) for k, v in sd32.items()}, meta)
    if c.get("hf"):
        st_io.save(os.path.join(out, "model-hf.safetensors"),
                   {k: np32(v) for k, v in to_hf(sd32, c["depth"], c["hidden"]).items()}, meta)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(hf_config(c), f, indent=2)
        f.write("\n")

    model = model.double()
    x = x32.double()
    with torch.no_grad():
        emb, block0, pre, logits = forward_by_hand(model, x)
        ref = model(x)
    diff = float((ref - logits).abs().max())
    assert diff < 1e-12, "by-hand path differs from model: %g" % diff
    stats = {k: check(k, v) for k, v in
             dict(embeddings=emb, block0=block0, pre_logits=pre, logits=logits).items()}
    # the logits should be O(1), not saturated, and vary across batch and classes
    assert 0.3 < stats["logits"] < 30, stats
    assert float(logits.std()) > 0.1
    st_io.save(os.path.join(out, "io.safetensors"), {
        "input": np32(x32), "embeddings": np32(emb), "block0": np32(block0),
        "pre_logits": np32(pre), "logits": np32(logits)}, meta)
    print("%-14s max|.|: %s  argmax=%s  (model vs by-hand diff %.1e)" % (
        c["name"], ", ".join("%s=%.3f" % kv for kv in stats.items()),
        logits.argmax(-1).tolist(), diff))

    if c.get("resized"):
        g = c["image"] // c["patch"]
        res = {}
        for size in c["resized"]:
            ng = size // c["patch"]
            with torch.no_grad():
                pos = resample_pos_embed(model.encoder.pos_embedding, g, ng)
                m2 = build_model(c, image_size=size).double()
                sd2 = {k: v.double() for k, v in sd32.items()}
                sd2["encoder.pos_embedding"] = pos
                m2.load_state_dict(sd2)
                xi32 = torch.randn(c["batch"], c["channels"], size, size, generator=gen).float()
                xi = xi32.double()
                _, _, pre_i, logit_i = forward_by_hand(m2, xi)
                ref_i = m2(xi)
            assert float((ref_i - logit_i).abs().max()) < 1e-12
            s = check("logits%d" % size, logit_i)
            assert 0.3 < s < 30
            res["input%d" % size] = np32(xi32)
            res["pos_embed%d" % size] = np32(pos)
            res["pre_logits%d" % size] = np32(pre_i)
            res["logits%d" % size] = np32(logit_i)
            print("%-14s resized %dx%d (grid %d->%d): max|logits|=%.3f argmax=%s" % (
                "", size, size, g, ng, s, logit_i.argmax(-1).tolist()))
        st_io.save(os.path.join(out, "io-resized.safetensors"), res,
                   dict(meta, pos_embed_resample="bicubic, antialias=True, align_corners=False, "
                                                 "class token kept"))

    # reload and sanity check what was written
    for fn in sorted(os.listdir(out)):
        if fn.endswith(".safetensors"):
            d = st_io.load(os.path.join(out, fn))
            assert all(np.isfinite(v).all() for v in d.values()), fn


def main():
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "..", "..", "vit4j-core", "src", "test", "resources", "golden"))
    ap.add_argument("--only", nargs="*")
    args = ap.parse_args()
    for c in CASES:
        if args.only and c["name"] not in args.only:
            continue
        make_case(c, os.path.normpath(args.out))


if __name__ == "__main__":
    main()
