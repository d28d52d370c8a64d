#!/usr/bin/env python3
"""Exports the very ViT that torch_vit_cpu.py builds (same sizes, same seed, so the same weights as its
--export safetensors) to ONNX, for onnxruntime's peer (bench/peers/OrtVit.java).

torch.onnx.export traces one forward at a fixed input shape [batch, 3, image, image] (no dynamic axes:
the benchmark runs one batch size), opset 14, constant folding on. Torch 1.13's exporter serialises the
graph itself: the `onnx` Python package is not needed.
  python3 bench/peers/export_onnx.py --model vit-s16 --batch 8 --out /tmp/w/model.onnx
"""
import argparse
import os
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

import torch_vit_cpu  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="vit-s16")
    ap.add_argument("--image", type=int, default=224)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--opset", type=int, default=14)
    ap.add_argument("--out", required=True, help="the .onnx file to write")
    a = ap.parse_args()
    m, _ = torch_vit_cpu.build(a.model, a.image)
    x = torch.zeros(a.batch, 3, a.image, a.image)  # only its shape matters for the trace
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's warnings on torchvision's shape asserts
        torch.onnx.export(m, (x,), a.out, opset_version=a.opset, input_names=["input"], output_names=["logits"],
                          do_constant_folding=True)
    print(f"exported {a.model} (batch {a.batch}, opset {a.opset}, torch {torch.__version__}) to {a.out}: "
          f"{os.path.getsize(a.out) / 2**20:.1f} MiB in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
