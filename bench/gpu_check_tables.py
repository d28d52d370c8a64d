#!/usr/bin/env python3
"""The tables of bench/gpu-check.sh, from the JSON and logits files its run left in WORK:
  python3 bench/gpu_check_tables.py WORK
Half precision (issue 13's targets beside each figure), the GEMMs op by op against cuBLAS, and fp32 (issue 4).
A file that is missing makes a row that says so, never a crash: the run may have been cut short."""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts", "python"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "python"))  # in the distribution
import st_io  # noqa: E402


def load(path):
    with open(path) as f:
        return json.load(f)


def rel_l2(a_path, b_path):
    a = st_io.load(a_path)["logits"].astype(np.float64)
    b = st_io.load(b_path)["logits"].astype(np.float64)
    return np.linalg.norm(a - b) / np.linalg.norm(a), int((a.argmax(1) == b.argmax(1)).sum()), len(a)


def row(cells):
    return "| " + " | ".join(str(c) for c in cells) + " |"


def half_precision(work):
    d = os.path.join(work, "bf16", "b256")
    print("## ViT-B/16 bf16, batch 256 (issue 13)\n")
    print("| figure | value | target |")
    print("|---|---|---|")
    try:
        v = load(os.path.join(d, "vit4j-bf16.json"))
        t = load(os.path.join(d, "torch-bf16.json"))
        print(row(["vit4j bf16 img/s", f"{v['images_per_second']:.0f}", ">= 12400"]))
        print(row(["torch eager bf16 img/s", f"{t['images_per_second']:.0f}", ""]))
        print(row(["vit4j / torch eager", f"{v['images_per_second'] / t['images_per_second']:.2f}x", ""]))
        cp = os.path.join(d, "torch-compile-bf16.json")
        if os.path.exists(cp):
            c = load(cp)
            print(row(["torch.compile bf16 img/s", f"{c['images_per_second']:.0f}", ""]))
            print(row(["vit4j / torch.compile", f"{v['images_per_second'] / c['images_per_second']:.2f}x", ">= 1.25x"]))
        di = os.path.join(d, "vit4j-bf16-device-input.json")
        if os.path.exists(di):  # timed as torch's are: the input already on the device
            vd = load(di)['images_per_second']
            print(row(["vit4j bf16, input on the device (--input-on-device) img/s", f"{vd:.0f}", ""]))
            if os.path.exists(cp):
                print(row(["... / torch.compile", f"{vd / load(cp)['images_per_second']:.2f}x", ">= 1.25x"]))
        cb = os.path.join(d, "vit4j-bf16-cublas.json")
        if os.path.exists(cb):
            print(row(["vit4j bf16 --gemm cublas img/s", f"{load(cb)['images_per_second']:.0f}", ""]))
        ca = os.path.join(d, "vit4j-bf16-cp-async.json")
        if os.path.exists(ca):
            print(row(["vit4j bf16, Hopper GEMM with cp.async loads (VIT4J_CUDA_TMA=0) img/s",
                       f"{load(ca)['images_per_second']:.0f}", ""]))
        wd = os.path.join(d, "vit4j-bf16-wide-tile.json")
        if os.path.exists(wd):
            print(row(["vit4j bf16, wide TMA tile 128x128, 4 stages (VIT4J_CUDA_TILE=wide) img/s",
                       f"{load(wd)['images_per_second']:.0f}", ""]))
        for ref, name in (("torch-fp32-logits.safetensors", "torch fp32"), ("torch-bf16-logits.safetensors", "torch bf16")):
            p = os.path.join(d, ref)
            if os.path.exists(p):
                err, agree, n = rel_l2(p, os.path.join(d, "vit4j-bf16-logits.safetensors"))
                print(row([f"vit4j bf16 logits vs {name}: rel. L2, top-1 agree", f"{err:.1e}, {agree}/{n}",
                           "<= 2e-2" if "fp32" in name else ""]))
    except (OSError, KeyError, ValueError) as e:
        print(row(["missing", str(e), ""]))
    b1 = os.path.join(work, "bf16", "b1")
    try:
        v = load(os.path.join(b1, "vit4j-bf16.json"))
        print(row(["vit4j bf16 batch 1 median ms (CUDA graph)", f"{v['encoder_ms']['median']:.3f}", "<= 0.6"]))
        di = os.path.join(b1, "vit4j-bf16-device-input.json")
        if os.path.exists(di):
            print(row(["... with the input on the device (--input-on-device) median ms",
                       f"{load(di)['encoder_ms']['median']:.3f}", "<= 0.6"]))
        lt = os.path.join(b1, "vit4j-bf16-large-tile.json")
        if os.path.exists(lt):
            print(row(["... with the large tile forced (VIT4J_CUDA_TILE=large) median ms",
                       f"{load(lt)['encoder_ms']['median']:.3f}", ""]))
        for f, name in (("torch-bf16.json", "torch eager"), ("torch-compile-bf16.json", "torch.compile")):
            if os.path.exists(os.path.join(b1, f)):
                print(row([f"{name} bf16 batch 1 median ms", f"{load(os.path.join(b1, f))['median_ms']:.3f}", ""]))
    except (OSError, KeyError, ValueError) as e:
        print(row(["batch 1 missing", str(e), ""]))

    print("\n## GEMMs at ViT-B/16 b256 shapes, bf16: vit4j (its fused epilogue included) against cuBLAS "
          "(torch.nn.functional.linear, bias only)\n")
    try:
        g = load(os.path.join(d, "cublas-gemm.json"))
        v = load(os.path.join(d, "vit4j-bf16.json"))
        ops = {(o["op"], o["shape"]): o for o in v.get("ops", [])}
        print("| op | shape | vit4j ms | cuBLAS ms | vit4j TFLOP/s | cuBLAS TFLOP/s | vit4j / cuBLAS speed (target >= 0.95) |")
        print("|---|---|---|---|---|---|---|")
        for r in g["linears"]:
            o = ops.get((r["op"], r["shape"]))
            if o is None:
                print(row([r["op"], r["shape"], "not in vit4j's profile", f"{r['median_ms']:.3f}", "", f"{r['tflops']:.0f}", ""]))
                continue
            print(row([r["op"], r["shape"], f"{o['median_ms']:.3f}", f"{r['median_ms']:.3f}",
                       f"{o['gflops_per_second'] / 1e3:.0f}", f"{r['tflops']:.0f}", f"{r['median_ms'] / o['median_ms']:.2f}"]))
        peaks = v.get("peaks", {})
        print(f"\nbf16 matmul peak measured through torch ({g['peak_size']}^3): {g['peak_tflops']:.0f} TFLOP/s; "
              f"vit4j's own best large GEMM ({peaks.get('precision', '?')}): {peaks.get('gemmGflops', 0) / 1e3:.0f} TFLOP/s")
    except (OSError, KeyError, ValueError) as e:
        print(f"missing: {e}")


def fp32(work):
    print("\n## fp32 (TF32 off), issue 4\n")
    print("| model | batch | vit4j img/s | torch eager fp32 img/s | ratio | torch.compile img/s | logits rel. L2 | top-1 agree |")
    print("|---|---|---|---|---|---|---|---|")
    for model in ("vit-s16", "vit-b16"):
        for b in (1, 64, 256):
            d = os.path.join(work, model, f"b{b}")
            try:
                v, t = load(os.path.join(d, "vit4j.json")), load(os.path.join(d, "torch.json"))
                err, agree, n = rel_l2(os.path.join(d, "torch-logits.safetensors"), os.path.join(d, "vit4j-logits.safetensors"))
                cp = os.path.join(d, "torch-compile.json")
                comp = f"{load(cp)['images_per_second']:.1f}" if os.path.exists(cp) else "-"
                print(row([model, b, f"{v['images_per_second']:.1f}", f"{t['images_per_second']:.1f}",
                           f"{v['images_per_second'] / t['images_per_second']:.2f}", comp, f"{err:.1e}", f"{agree}/{n}"]))
            except (OSError, KeyError, ValueError) as e:  # a missing run is a row that says so
                print(row([model, b, "-", "-", "-", "-", "-", f"missing: {e}"]))


if __name__ == "__main__":
    half_precision(sys.argv[1])
    fp32(sys.argv[1])
