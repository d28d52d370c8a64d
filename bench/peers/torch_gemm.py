#!/usr/bin/env python3
"""cuBLAS through PyTorch at the shapes of a ViT's linear layers: the vendor GEMM that vit4j's own
tensor-core GEMM is held to (issue 13: >= 0.95x cuBLAS at ViT-B shapes), and the device's matmul peak.

For each linear of one encoder block at batch B (M = B * tokens rows), times torch.nn.functional.linear
(y = x W^T + b: cuBLAS/cuBLASLt picks the kernel, bias fused where it can) as the median of --iterations
CUDA-event-timed calls after warm-up, and a large square matmul (--peak-size^3) as the device's measured
matmul rate in that dtype. Prints one line per shape and writes JSON:
  python3 bench/peers/torch_gemm.py --model vit-b16 --batch 256 --dtype bf16 --json gemm.json
Shapes are written "M=.. K=.. N=.." as vit4j bench's per-op table names them, so the two can be joined.
Runs on the CPU too (slowly), which is how its arithmetic is checked without a GPU.
"""
import argparse
import json
import statistics
import time

import torch

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
# (D, MLP) of Table 1's sizes; the patch size only sets the token count.
SIZES = {"ti": (192, 768), "s": (384, 1536), "b": (768, 3072), "l": (1024, 4096), "h": (1280, 5120)}


def linear_shapes(model, batch, image):
    letter, patch = model.split("-")[1][:-2], int(model.split("-")[1][-2:])
    d, mlp = SIZES[letter]
    m = batch * ((image // patch) ** 2 + 1)
    # (label, M, K, N) in the order of a block: qkv, attention projection, fc1, fc2
    return [("linear_qkv", m, d, 3 * d), ("linear+bias_residual", m, d, d), ("linear+bias_gelu", m, d, mlp),
            ("linear+bias_residual", m, mlp, d)]


def timed(fn, dev, warmup, iterations):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iterations):
        if dev.type == "cuda":
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            fn()
            b.record()
            b.synchronize()
            times.append(a.elapsed_time(b) / 1e3)
        else:
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="vit-b16")
    ap.add_argument("--image", type=int, default=224)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--dtype", default="bf16", choices=DTYPES)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--iterations", type=int, default=20)
    ap.add_argument("--peak-size", type=int, default=8192)
    ap.add_argument("--json")
    a = ap.parse_args()
    dev, dt = torch.device(a.device), DTYPES[a.dtype]
    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
    g = torch.Generator().manual_seed(3)
    rows = []
    with torch.inference_mode():
        for label, m, k, n in linear_shapes(a.model, a.batch, a.image):
            x = torch.randn(m, k, generator=g).to(dev, dt)
            w = (torch.randn(n, k, generator=g) * k ** -0.5).to(dev, dt)
            bias = torch.randn(n, generator=g).to(dev, dt)
            t = timed(lambda: torch.nn.functional.linear(x, w, bias), dev, a.warmup, a.iterations)
            tflops = 2.0 * m * n * k / t / 1e12
            shape = f"M={m} K={k} N={n}"
            rows.append({"op": label, "shape": shape, "median_ms": t * 1e3, "tflops": tflops})
            print(f"{'cuBLAS' if dev.type == 'cuda' else 'BLAS'} (torch {torch.__version__}, {a.dtype}) {label:22s} {shape:26s} {t * 1e3:9.3f} ms "
                  f"{tflops:8.1f} TFLOP/s")
        s = a.peak_size
        x = torch.randn(s, s, generator=g).to(dev, dt)
        w = torch.randn(s, s, generator=g).to(dev, dt)
        t = timed(lambda: x @ w, dev, a.warmup, a.iterations)
        peak = 2.0 * s ** 3 / t / 1e12
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"
    print(f"{name}: {a.dtype} matmul {s}^3: {t * 1e3:.3f} ms = {peak:.1f} TFLOP/s (the measured peak)")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"peer": "cuBLAS via torch " + torch.__version__, "device": name, "dtype": a.dtype,
                       "model": a.model, "batch": a.batch, "linears": rows, "peak_size": s, "peak_tflops": peak},
                      f, indent=1)


if __name__ == "__main__":
    main()
