#!/usr/bin/env python3
"""Train vit4j's embedded default model: a small torchvision ViT on scikit-learn's 8x8 digits.

Writes vit4j-digits/src/main/resources/org/vit4j/default-model/{model.safetensors,config.json,
digits-test.safetensors,samples/digit-<d>.png} and samples/digits/digit-<d>.png.

Usage:  /usr/bin/python3 scripts/python/train_digits.py
"""
import os
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # avoid BLAS/OpenMP oversubscription with torch threads
import argparse
import json
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_io  # noqa: E402
from make_golden import build_model, hf_config, to_timm  # noqa: E402

torch.set_num_threads(2)

CFG = dict(name="digits", image=8, patch=2, channels=1, hidden=64, depth=4, heads=4, mlp=128, classes=10)


def normalize(x01):
    return (x01 - 0.5) / 0.5


def shift_batch(x, gen):
    """Random shifts of up to 1 pixel in each direction, filling with background (-1 after normalization)."""
    n = x.shape[0]
    padded = F.pad(x, (1, 1, 1, 1), value=-1.0)
    crops = torch.stack([padded[:, :, dy:dy + 8, dx:dx + 8] for dy in range(3) for dx in range(3)])
    k = torch.randint(0, 9, (n,), generator=gen)
    return crops[k, torch.arange(n)]


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        pred = model(x).argmax(-1)
    return float((pred == y).float().mean()), pred


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.normpath(os.path.join(here, "..", ".."))
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=150)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    random.seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)

    digits = load_digits()
    raw = digits.images.astype(np.float64)  # [n, 8, 8], values 0..16
    y_all = digits.target.astype(np.int64)
    idx = np.arange(len(y_all))
    tr_idx, te_idx = train_test_split(idx, test_size=0.2, random_state=0, stratify=y_all)

    def prep(v):  # exact preprocessing: v/16 in [0,1], then (x-0.5)/0.5
        return torch.from_numpy(normalize(v / 16.0)).float().unsqueeze(1)

    x_tr, y_tr = prep(raw[tr_idx]), torch.from_numpy(y_all[tr_idx])
    x_te, y_te = prep(raw[te_idx]), torch.from_numpy(y_all[te_idx])
    # what the Java side sees after going through an 8-bit PNG
    png_te = np.round(raw[te_idx] * 255.0 / 16.0).astype(np.uint8)
    x_te_png = torch.from_numpy(normalize(png_te.astype(np.float64) / 255.0)).float().unsqueeze(1)

    model = build_model(CFG)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.05)
    bs = 64
    steps_per_epoch = (len(x_tr) + bs - 1) // bs
    total = args.epochs * steps_per_epoch
    warm = 5 * steps_per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + np.cos(np.pi * min(1.0, s / total))))
    t0 = time.time()
    for ep in range(args.epochs):
        model.train()
        perm = torch.randperm(len(x_tr), generator=gen)
        tot_loss = 0.0
        for s in range(steps_per_epoch):
            b = perm[s * bs:(s + 1) * bs]
            xb = shift_batch(x_tr[b], gen)
            loss = F.cross_entropy(model(xb), y_tr[b], label_smoothing=0.1)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot_loss += float(loss) * len(b)
        if (ep + 1) % 25 == 0 or ep == 0:
            tr_acc, _ = accuracy(model, x_tr, y_tr)
            print("epoch %3d loss %.4f train acc %.4f (%.0fs)" % (ep + 1, tot_loss / len(x_tr), tr_acc,
                                                                 time.time() - t0), flush=True)
    model.eval()
    acc, pred = accuracy(model, x_te, y_te)
    acc_png, pred_png = accuracy(model, x_te_png, y_te)
    n_te = len(y_te)
    print("held-out accuracy (exact v/16): %.4f (%d/%d)" % (acc, int(round(acc * n_te)), n_te))
    print("held-out accuracy (PNG-quantised round(v*255/16)/255): %.4f (%d/%d)" % (
        acc_png, int(round(acc_png * n_te)), n_te))

    out = os.path.join(root, "vit4j-digits", "src", "main", "resources", "org", "vit4j", "default-model")
    os.makedirs(os.path.join(out, "samples"), exist_ok=True)
    sample_dir = os.path.join(root, "samples", "digits")
    os.makedirs(sample_dir, exist_ok=True)

    sd32 = {k: v.detach().float() for k, v in model.state_dict().items()}
    meta = {"generator": "scripts/python/train_digits.py", "torch": torch.__version__}
    st_io.save(os.path.join(out, "model.safetensors"),
               {k: v.numpy() for k, v in to_timm(sd32, CFG["depth"]).items()}, meta)
    cfg = hf_config(CFG, id2label={str(i): str(i) for i in range(10)}, extra={
        "image_mean": [0.5], "image_std": [0.5], "crop_pct": 1.0, "interpolation": "bicubic",
        "layer_norm_eps": 1e-6,
        "vit4j_description": "ViT on scikit-learn's 8x8 digits, trained by scripts/python/train_digits.py",
        "vit4j_heldout_accuracy_pytorch": round(acc, 6),
        "vit4j_heldout_accuracy_pytorch_png_quantised": round(acc_png, 6),
        "vit4j_heldout_count": n_te,
    })
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    st_io.save(os.path.join(out, "digits-test.safetensors"),
               {"images": x_te.numpy(), "labels": y_te.float().numpy()},
               dict(meta, preprocessing="x = pixel/16; (x-0.5)/0.5",
                    split="train_test_split(test_size=0.2, random_state=0, stratify=y)",
                    sklearn_indices=",".join(str(int(i)) for i in te_idx)))

    # one PNG per class from the held-out set, correctly classified with exact and PNG inputs
    ok = (pred == y_te) & (pred_png == y_te)
    chosen = {}
    for i in range(n_te):
        lab = int(y_te[i])
        if lab not in chosen and bool(ok[i]):
            chosen[lab] = i
    assert sorted(chosen) == list(range(10)), chosen
    for lab, i in sorted(chosen.items()):
        for d in (sample_dir, os.path.join(out, "samples")):
            Image.fromarray(png_te[i], mode="L").save(os.path.join(d, "digit-%d.png" % lab))
    # read the PNGs back the way the Java side will and classify them
    xs = []
    for lab in range(10):
        im = np.asarray(Image.open(os.path.join(sample_dir, "digit-%d.png" % lab)).convert("L"), dtype=np.float64)
        assert im.shape == (8, 8)
        xs.append(normalize(im / 255.0))
    with torch.no_grad():
        logits = model(torch.tensor(np.stack(xs)[:, None], dtype=torch.float32))
    probs = logits.softmax(-1)
    print("sample PNGs: predicted", logits.argmax(-1).tolist(),
          "min top prob %.3f" % float(probs.max(-1).values.min()),
          "(test-set indices %s)" % [chosen[k] for k in range(10)])
    assert logits.argmax(-1).tolist() == list(range(10))


if __name__ == "__main__":
    main()
