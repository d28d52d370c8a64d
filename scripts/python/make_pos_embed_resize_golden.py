#!/usr/bin/env python3
"""Golden position-embedding resizes for PositionEmbeddingResizeTest (issue 14).

A random position embedding [1, 1 + fh * fw, D] (class token first, patches row-major on an fh x fw grid)
is resized to a th x tw grid the two ways vit4j does it, with PyTorch in float64:
  timm.*  timm's resample_abs_pos_embed: F.interpolate(mode="bicubic", antialias=True, align_corners=False)
  hf.*    Hugging Face's interpolate_pos_encoding: F.interpolate(mode="bicubic", align_corners=False)
the class token's row kept. Square and non-square grids, up and down, one side up and the other down.

Run with Debian's python3-torch: /usr/bin/python3 scripts/python/make_pos_embed_resize_golden.py
Writes vit4j-core/src/test/resources/golden/pos-embed-resize/resize.safetensors (float32 inputs, the
float64 results rounded once to float32).
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_io  # noqa: E402

CASES = [  # (fh, fw, th, tw, D)
    (4, 4, 6, 6, 7), (4, 4, 3, 5, 7), (4, 4, 2, 7, 5), (5, 3, 7, 4, 6), (6, 6, 3, 3, 4),
    (3, 5, 5, 3, 8), (7, 7, 14, 14, 3), (14, 14, 12, 20, 3), (1, 1, 3, 2, 4), (4, 4, 3, 5, 24),
    (2, 9, 9, 2, 5),
]


def resize(pos, fh, fw, th, tw, antialias):
    d = pos.shape[-1]
    cls, grid = pos[:, :1], pos[:, 1:]
    grid = grid.reshape(1, fh, fw, d).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, size=(th, tw), mode="bicubic", antialias=antialias, align_corners=False)
    grid = grid.permute(0, 2, 3, 1).reshape(1, th * tw, d)
    return torch.cat([cls, grid], dim=1)


def main():
    gen = torch.Generator().manual_seed(14)
    out = {}
    for fh, fw, th, tw, d in CASES:
        key = "%dx%d.d%d" % (fh, fw, d)
        if "pos." + key not in out:
            out["pos." + key] = torch.randn(1, 1 + fh * fw, d, generator=gen, dtype=torch.float64).float()
        pos = out["pos." + key].double()
        for name, aa in (("timm", True), ("hf", False)):
            r = resize(pos, fh, fw, th, tw, aa)
            assert torch.isfinite(r).all()
            assert torch.equal(r[:, 0], pos[:, 0])
            out["%s.%dx%d-%dx%d.d%d" % (name, fh, fw, th, tw, d)] = r.float()
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "..", "vit4j-core", "src", "test", "resources", "golden", "pos-embed-resize",
                        "resize.safetensors")
    st_io.save(os.path.normpath(path), {k: v.numpy() for k, v in out.items()},
               {"generator": "scripts/python/make_pos_embed_resize_golden.py", "torch": torch.__version__})
    print("%d tensors, torch %s -> %s" % (len(out), torch.__version__, os.path.normpath(path)))


if __name__ == "__main__":
    main()
