#!/usr/bin/env python3
"""PyTorch's ViT on the same weights as vit4j: the peer its numbers are compared with (CPU, or a GPU).

Builds torchvision's VisionTransformer at a Table 1 size with random, non-trivial weights (fixed
seed), optionally exports them under timm names (safetensors + config.json) with the input batch,
so that vit4j runs the very same model; then times the forward pass (median of --iterations after
warm-up, torch.inference_mode, --threads intra-op threads) and writes the logits.

Runs under Debian's /usr/bin/python3 (python3-torch, python3-torchvision; install
libopenblas0-openmp, not -pthread, whose threads fight torch's OpenMP).
  python3 bench/peers/torch_vit_cpu.py --model vit-s16 --batch 8 --threads 2 --export /tmp/w
"""
import argparse
import json
import os
import statistics
import sys
import time

# BLAS threads: the OpenMP build of OpenBLAS shares torch's OpenMP pool (compare-cpu.sh puts it first on
# LD_LIBRARY_PATH); the pthread build would start threads of its own that fight torch's.
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "python"))

import torch  # noqa: E402
from torchvision.models.vision_transformer import VisionTransformer  # noqa: E402

import st_io  # noqa: E402

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
SIZES = {"ti": (192, 12, 3, 768), "s": (384, 12, 6, 1536), "b": (768, 12, 12, 3072), "l": (1024, 24, 16, 4096)}


def build(name, image):
    letter, patch = name.split("-")[1][:-2], int(name.split("-")[1][-2:])
    d, depth, heads, mlp = SIZES[letter]
    torch.manual_seed(1)
    m = VisionTransformer(image, patch, depth, heads, d, mlp, num_classes=1000).eval()
    with torch.no_grad():
        for pname, p in m.named_parameters():
            if p.dim() >= 2:
                fan_in = p[0].numel()
                p.normal_(0.0, fan_in ** -0.5)
            elif pname.endswith("ln_1.weight") or pname.endswith("ln_2.weight") or pname == "encoder.ln.weight":
                p.normal_(1.0, 0.1)
            else:
                p.normal_(0.0, 0.02)
    return m, heads


def timm_state(m):
    sd = {k: v.detach().float().numpy() for k, v in m.state_dict().items()}
    out = {"patch_embed.proj.weight": sd["conv_proj.weight"], "patch_embed.proj.bias": sd["conv_proj.bias"],
           "cls_token": sd["class_token"], "pos_embed": sd["encoder.pos_embedding"]}
    i = 0
    while f"encoder.layers.encoder_layer_{i}.ln_1.weight" in sd:
        s, t = f"encoder.layers.encoder_layer_{i}.", f"blocks.{i}."
        fc1 = "mlp.0" if s + "mlp.0.weight" in sd else "mlp.linear_1"
        fc2 = "mlp.3" if s + "mlp.3.weight" in sd else "mlp.linear_2"
        for a, b in [("ln_1", "norm1"), ("ln_2", "norm2"), ("self_attention.out_proj", "attn.proj"),
                     (fc1, "mlp.fc1"), (fc2, "mlp.fc2")]:
            out[t + b + ".weight"], out[t + b + ".bias"] = sd[s + a + ".weight"], sd[s + a + ".bias"]
        out[t + "attn.qkv.weight"] = sd[s + "self_attention.in_proj_weight"]
        out[t + "attn.qkv.bias"] = sd[s + "self_attention.in_proj_bias"]
        i += 1
    out["norm.weight"], out["norm.bias"] = sd["encoder.ln.weight"], sd["encoder.ln.bias"]
    out["head.weight"], out["head.bias"] = sd["heads.head.weight"], sd["heads.head.bias"]
    return out


def blas_in_use():
    """The BLAS library this process actually mapped (Debian switches it by alternatives)."""
    with open("/proc/self/maps") as f:
        libs = {line.split()[-1] for line in f if "libblas" in line or "libopenblas" in line}
    return ", ".join(sorted(libs)) or "none mapped"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="vit-s16")
    ap.add_argument("--image", type=int, default=224)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--iterations", type=int, default=10)
    ap.add_argument("--export", help="folder to write model.safetensors, config.json, input.safetensors")
    ap.add_argument("--logits", help="safetensors file to write the logits to")
    ap.add_argument("--json", help="write the timing as JSON")
    ap.add_argument("--device", default="cpu", help="cpu, or cuda (eager fp32 with TF32 off)")
    ap.add_argument("--compile", action="store_true", help="time torch.compile(model) instead of eager (torch 2.x)")
    ap.add_argument("--dtype", default="fp32", choices=DTYPES,
                    help="weights and activations in fp32, bf16 or fp16 (logits returned as fp32); on a GPU the "
                         "half types run cuBLAS on tensor cores and nn.MultiheadAttention's fused (flash) path")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    m, heads = build(a.model, a.image)
    g = torch.Generator().manual_seed(2)
    x = torch.randn(a.batch, 3, a.image, a.image, generator=g)
    if a.export:
        os.makedirs(a.export, exist_ok=True)
        st_io.save(os.path.join(a.export, "model.safetensors"), timm_state(m))
        with open(os.path.join(a.export, "config.json"), "w") as f:
            json.dump({"num_attention_heads": heads, "image_size": a.image, "layer_norm_eps": 1e-6}, f)
        st_io.save(os.path.join(a.export, "input.safetensors"), {"input": x.numpy()})
    dev = torch.device(a.device)
    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    # The exported weights and input stay fp32 (vit4j rounds them to its own precision at upload, as
    # torch's .to() does here), so both sides start from the same numbers.
    m, xd = m.to(dev, DTYPES[a.dtype]), x.to(dev, DTYPES[a.dtype])
    mode = "eager"
    if a.compile:
        if not hasattr(torch, "compile"):
            sys.exit(f"torch {torch.__version__} has no torch.compile")
        m, mode = torch.compile(m), "torch.compile"
    with torch.inference_mode():
        for _ in range(a.warmup):
            m(xd)
        times = []
        for _ in range(a.iterations):
            t0 = time.perf_counter()
            y = m(xd).float().cpu()  # to the host, as vit4j's forward returns logits on the host
            times.append(time.perf_counter() - t0)
    med = statistics.median(times) * 1e3
    where = (torch.cuda.get_device_name(dev) + ", TF32 off") if dev.type == "cuda" else \
        f"{torch.get_num_threads()} threads, BLAS {blas_in_use()}"
    where += ", " + a.dtype + ", " + mode
    print(f"torch {torch.__version__} ({where}): {a.model} batch {a.batch}: "
          f"median {med:.1f} ms (min {min(times) * 1e3:.1f}, max {max(times) * 1e3:.1f}; {a.iterations} runs) "
          f"= {a.batch / med * 1e3:.2f} img/s")
    if a.logits:
        st_io.save(a.logits, {"logits": y.numpy()})
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"peer": "torch " + torch.__version__ + " " + mode, "dtype": a.dtype, "threads": torch.get_num_threads(), "model": a.model,
                       "batch": a.batch, "median_ms": med, "min_ms": min(times) * 1e3, "max_ms": max(times) * 1e3,
                       "images_per_second": a.batch / med * 1e3}, f, indent=1)


if __name__ == "__main__":
    main()
