#!/usr/bin/env python3
"""PyTorch's ViT on a GPU: the numbers vit4j's CUDA backend has to beat.

Builds ViT-S/16 and ViT-B/16 at 224 (torchvision's VisionTransformer; timm's if torchvision is
absent or broken; else a built-in copy of torchvision's module layout), random non-trivial weights
from a fixed seed, eval mode, and measures for each batch (default 1, 64, 256) and mode:

  fp32          eager, TF32 off (cuda.matmul.allow_tf32 = cudnn.allow_tf32 = False)
  tf32          eager, TF32 on
  amp-bf16      eager under torch.autocast(device, bfloat16)
  bf16          eager, model.to(bfloat16) and bf16 input
  compile       torch.compile(model) (default mode) called under bf16 autocast
  max-autotune  torch.compile(model, mode="max-autotune") under bf16 autocast
  graph-fp32    torch.cuda.CUDAGraph replay of the eager fp32 forward (static input), batch 1
  graph-bf16    the same for the pure-bf16 model

images/s and latency (median, min, p10, p90, max over repeats timed with CUDA events after warm-up,
inputs rotated among pre-allocated random buffers), torch.cuda.max_memory_allocated (reset before
each mode), and the attention path taken (torch.profiler: nn.MultiheadAttention's fast path, the
SDPA kernel). Also in the same run: the card's ceilings (device-to-device copy GB/s, large bf16 and
fp32 matmul TFLOP/s), an SDPA probe at [B, heads, 197, 64] with each backend forced, and per-op times
at ViT-B/16 shapes (batch 64: 12608 tokens) for the ops vit4j writes by hand.

Every item runs in try/except (errors and OOM are recorded, not fatal); work stops being added past
--time-budget-s (skipped items are recorded with the reason); the JSON is rewritten after each item
so a killed run still leaves its results. Needs no network (no pretrained weights).

  python3 bench/peers/torch_vit_gpu.py --json /tmp/torch-gpu.json              # GPU host, ~5 min
  python3 bench/peers/torch_vit_gpu.py --device cpu --quick --json /tmp/q.json  # smoke test on a CPU
"""
import argparse
import contextlib
import copy
import datetime
import gc
import importlib
import json
import math
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
import traceback
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F

SIZES = {"vit-ti16": (192, 12, 3, 768), "vit-s16": (384, 12, 6, 1536),
         "vit-b16": (768, 12, 12, 3072), "vit-l16": (1024, 24, 16, 4096)}
ALL_MODES = ["fp32", "tf32", "amp-bf16", "bf16", "graph-fp32", "graph-bf16", "compile", "max-autotune"]
COMPILE_MODES = ("compile", "max-autotune")
GRAPH_MODES = ("graph-fp32", "graph-bf16")
TORCH_VER = torch.__version__.split("+")[0]
TORCH_MAJOR_MINOR = ".".join(TORCH_VER.split(".")[:2])


class WorkTimeout(Exception):
    pass


# ----------------------------------------------------------------------------------------------------
# models


def _import_torchvision_vit():
    try:
        import torchvision
        from torchvision.models.vision_transformer import VisionTransformer
        return VisionTransformer, "torchvision " + torchvision.__version__, None
    except Exception as e:  # ImportError, or a torchvision built for another torch (RuntimeError)
        return None, None, f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"


class _BuiltinMLP(nn.Sequential):
    def __init__(self, d, mlp):
        super().__init__(nn.Linear(d, mlp), nn.GELU(), nn.Dropout(0.0), nn.Linear(mlp, d), nn.Dropout(0.0))


class _BuiltinBlock(nn.Module):
    """torchvision's EncoderBlock: pre-LN, nn.MultiheadAttention(batch_first=True), exact GELU."""

    def __init__(self, d, heads, mlp):
        super().__init__()
        self.ln_1 = nn.LayerNorm(d, eps=1e-6)
        self.self_attention = nn.MultiheadAttention(d, heads, dropout=0.0, batch_first=True)
        self.dropout = nn.Dropout(0.0)
        self.ln_2 = nn.LayerNorm(d, eps=1e-6)
        self.mlp = _BuiltinMLP(d, mlp)

    def forward(self, x):
        y = self.ln_1(x)
        y, _ = self.self_attention(y, y, y, need_weights=False)
        x = x + self.dropout(y)
        return x + self.mlp(self.ln_2(x))


class BuiltinViT(nn.Module):
    """Same layout and ops as torchvision.models.vision_transformer.VisionTransformer (used only when
    neither torchvision nor timm imports)."""

    def __init__(self, image, patch, depth, heads, d, mlp, num_classes=1000):
        super().__init__()
        n = (image // patch) ** 2 + 1
        self.conv_proj = nn.Conv2d(3, d, patch, patch)
        self.class_token = nn.Parameter(torch.zeros(1, 1, d))
        self.pos_embedding = nn.Parameter(torch.zeros(1, n, d))
        self.layers = nn.Sequential(*[_BuiltinBlock(d, heads, mlp) for _ in range(depth)])
        self.ln = nn.LayerNorm(d, eps=1e-6)
        self.head = nn.Linear(d, num_classes)

    def forward(self, x):
        x = self.conv_proj(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.class_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embedding
        x = self.ln(self.layers(x))
        return self.head(x[:, 0])


def build_model(name, impl_pref, image=224):
    """Returns (module on CPU, fp32, eval, no grad) and a description of the implementation."""
    d, depth, heads, mlp = SIZES[name]
    patch = int(name[-2:])
    torch.manual_seed(1)
    notes = []
    m, impl = None, None
    if impl_pref in ("auto", "torchvision"):
        VT, ver, err = _import_torchvision_vit()
        if VT is not None:
            m, impl = VT(image, patch, depth, heads, d, mlp, num_classes=1000), ver + " VisionTransformer"
        else:
            notes.append("torchvision unusable: " + err)
            if impl_pref == "torchvision":
                raise RuntimeError(notes[-1])
    if m is None and impl_pref in ("auto", "timm"):
        try:
            import timm
            from timm.models.vision_transformer import VisionTransformer as TimmViT
            m = TimmViT(img_size=image, patch_size=patch, embed_dim=d, depth=depth, num_heads=heads,
                        mlp_ratio=mlp / d, num_classes=1000)
            impl = "timm " + timm.__version__ + " VisionTransformer"
        except Exception as e:
            notes.append(f"timm unusable: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
            if impl_pref == "timm":
                raise RuntimeError(notes[-1])
    if m is None:
        m = BuiltinViT(image, patch, depth, heads, d, mlp)
        impl = "built-in copy of torchvision's VisionTransformer (nn.MultiheadAttention)"
    m.eval()
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, nn.LayerNorm):
                mod.weight.normal_(1.0, 0.1)
                mod.bias.normal_(0.0, 0.02)
        for pname, p in m.named_parameters():
            if "norm" in pname or ".ln" in pname or pname.startswith("ln"):
                continue
            if p.dim() >= 2:
                p.normal_(0.0, p[0].numel() ** -0.5)
            else:
                p.normal_(0.0, 0.02)
    for p in m.parameters():
        p.requires_grad_(False)
    params = sum(p.numel() for p in m.parameters())
    return m, {"impl": impl, "impl_notes": notes, "params": params, "D": d, "depth": depth, "heads": heads,
               "mlp": mlp, "patch": patch, "image": image, "tokens": (image // patch) ** 2 + 1,
               "gflop_per_image": vit_flops(d, depth, mlp, image, patch) / 1e9}


def vit_flops(d, depth, mlp, image, patch):
    """Multiply-adds x 2 of the forward pass (matmuls, conv, attention), excluding elementwise ops."""
    n = (image // patch) ** 2
    s = n + 1
    f = 2 * n * (3 * patch * patch) * d
    per_layer = 2 * s * d * 3 * d + 2 * s * d * d + 2 * 2 * s * d * mlp + 2 * 2 * s * s * d
    return f + depth * per_layer + 2 * d * 1000


# ----------------------------------------------------------------------------------------------------
# helpers


def sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def set_tf32(on):
    """Sets both TF32 switches; returns what torch reports back."""
    try:
        torch.backends.cuda.matmul.allow_tf32 = on
        torch.backends.cudnn.allow_tf32 = on
    except Exception:  # newer torch may insist on the fp32_precision API
        try:
            torch.backends.cuda.matmul.fp32_precision = "tf32" if on else "ieee"
            torch.backends.cudnn.conv.fp32_precision = "tf32" if on else "ieee"
        except Exception:
            pass
    state = {}
    for k, f in [("matmul.allow_tf32", lambda: torch.backends.cuda.matmul.allow_tf32),
                 ("cudnn.allow_tf32", lambda: torch.backends.cudnn.allow_tf32)]:
        try:
            state[k] = f()
        except Exception as e:
            state[k] = f"unreadable: {e}"
    return state


def is_oom(e):
    oom_t = getattr(torch.cuda, "OutOfMemoryError", None)
    return (oom_t is not None and isinstance(e, oom_t)) or "out of memory" in str(e).lower()


def err_str(e):
    s = f"{type(e).__name__}: {e}"
    return s if len(s) <= 600 else s[:600] + " ..."


def free(dev):
    gc.collect()
    if dev.type == "cuda":
        torch.cuda.empty_cache()


def pct(sorted_xs, q):
    if not sorted_xs:
        return None
    k = (len(sorted_xs) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return sorted_xs[lo] + (sorted_xs[hi] - sorted_xs[lo]) * (k - lo)


def stats(ms):
    xs = sorted(ms)
    return {"median": statistics.median(xs), "min": xs[0], "p10": pct(xs, 0.1), "p90": pct(xs, 0.9),
            "max": xs[-1], "mean": statistics.fmean(xs) if hasattr(statistics, "fmean") else sum(xs) / len(xs),
            "n": len(xs)}


@contextlib.contextmanager
def watchdog(seconds):
    """Raises WorkTimeout in the main thread after `seconds` (SIGALRM; no-op where unavailable)."""
    if seconds is None or not hasattr(signal, "setitimer"):
        yield
        return

    def handler(signum, frame):
        raise WorkTimeout(f"interrupted after {seconds:.0f} s (time budget)")

    old = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, max(1.0, seconds))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


class Timer:
    def __init__(self, dev, warmup, repeats, min_repeats, cap_s):
        self.dev, self.warmup, self.repeats, self.min_repeats, self.cap_s = dev, warmup, repeats, min_repeats, cap_s

    def run(self, step, warmup=None, repeats=None, cap_s=None):
        """step(i) does iteration i. Returns (list of ms, warm-up seconds). The repeat count is cut so
        that the timed part takes about cap_s (never fewer than min_repeats)."""
        warmup = self.warmup if warmup is None else warmup
        repeats = self.repeats if repeats is None else repeats
        cap_s = self.cap_s if cap_s is None else cap_s
        w = []
        t_all = time.perf_counter()
        for i in range(warmup):
            t0 = time.perf_counter()
            step(i)
            sync(self.dev)
            w.append(time.perf_counter() - t0)
        warm_s = time.perf_counter() - t_all
        est = statistics.median(w[1:]) if len(w) > 1 else (w[0] if w else 0.01)
        n = max(self.min_repeats, min(repeats, int(cap_s / max(est, 1e-6))))
        if self.dev.type == "cuda":
            evs = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(n)]
            for i, (a, b) in enumerate(evs):
                a.record()
                step(i)
                b.record()
            torch.cuda.synchronize(self.dev)
            ms = [a.elapsed_time(b) for a, b in evs]
        else:
            ms = []
            for i in range(n):
                t0 = time.perf_counter()
                step(i)
                ms.append((time.perf_counter() - t0) * 1e3)
        return ms, warm_s


def profile_names(fn, dev):
    """Names of the ops (and, on CUDA, kernels) that one call of fn runs."""
    from torch.profiler import profile, ProfilerActivity
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if dev.type == "cuda" else [])
    try:
        with profile(activities=acts) as prof:
            fn()
            sync(dev)
    except Exception:
        if len(acts) == 1:
            raise
        with profile(activities=[ProfilerActivity.CPU]) as prof:  # no CUPTI: the aten ops still tell
            fn()
            sync(dev)
    return [e.key for e in prof.key_averages()]


ATTN_KEYS = ("multi_head_attention", "scaled_dot_product", "flash", "efficient_attention", "cudnn_attention",
             "fmha", "attention", "softmax", "transformer_encoder", "sdpa", "mha")


def classify_attention(names):
    low = [n.lower() for n in names]

    def has(s):
        return any(s in n for n in low)

    if has("_scaled_dot_product_flash_attention") or has("flash_fwd") or has("flash::"):
        b = "flash"
    elif has("_scaled_dot_product_cudnn_attention") or has("cudnn_attention"):
        b = "cudnn"
    elif has("_scaled_dot_product_efficient_attention") or has("_efficient_attention_forward") or has("fmha_cutlass"):
        b = "mem-efficient"
    elif has("_scaled_dot_product_attention_math") or has("_masked_softmax") or has("aten::softmax") or has("_softmax"):
        b = "math"
    else:
        b = "unknown (not visible to the profiler)"
    if b == "math" and has("_native_multi_head_attention"):
        b = "math (bmm+softmax inside the native MHA op)"
    return {"mha_fast_path": has("_native_multi_head_attention"), "sdpa_backend": b,
            "attention_ops": sorted({n[:140] for n in names if any(k in n.lower() for k in ATTN_KEYS)})[:16]}


def sdpa_force_api():
    """(api description, {backend name: context-manager factory}) for this torch, or (reason, {})."""
    if not hasattr(F, "scaled_dot_product_attention"):
        return f"unavailable in torch {TORCH_MAJOR_MINOR}", {}
    try:
        from torch.nn.attention import sdpa_kernel, SDPBackend
        out = {}
        for name, attr in [("flash", "FLASH_ATTENTION"), ("mem-efficient", "EFFICIENT_ATTENTION"),
                           ("math", "MATH"), ("cudnn", "CUDNN_ATTENTION")]:
            if hasattr(SDPBackend, attr):
                out[name] = (lambda b: (lambda: sdpa_kernel([b])))(getattr(SDPBackend, attr))
        return "torch.nn.attention.sdpa_kernel", out
    except ImportError:
        pass
    if hasattr(torch.backends.cuda, "sdp_kernel"):
        import inspect
        params = inspect.signature(torch.backends.cuda.sdp_kernel).parameters
        flags = ["enable_flash", "enable_mem_efficient", "enable_math"] + (
            ["enable_cudnn"] if "enable_cudnn" in params else [])
        out = {}
        for name, flag in [("flash", "enable_flash"), ("mem-efficient", "enable_mem_efficient"),
                           ("math", "enable_math"), ("cudnn", "enable_cudnn")]:
            if flag in flags:
                kw = {f: f == flag for f in flags}
                out[name] = (lambda kw: (lambda: torch.backends.cuda.sdp_kernel(**kw)))(kw)
        return "torch.backends.cuda.sdp_kernel", out
    return "no API to force an SDPA backend in this torch", {}


def dynamo_reset():
    try:
        importlib.import_module("torch._dynamo").reset()
    except Exception:
        pass


def dtype_name(dt):
    return str(dt).replace("torch.", "")


# ----------------------------------------------------------------------------------------------------
# the benchmark


class Bench:
    def __init__(self, a):
        self.a = a
        self.dev = torch.device(a.device)
        self.cuda = self.dev.type == "cuda"
        self.t0 = time.monotonic()
        self.timer = Timer(self.dev, a.warmup, a.repeats, a.min_repeats, a.mode_time_s)
        self.masters = {}
        self.cached = (None, None)
        self.res = {"tool": "bench/peers/torch_vit_gpu.py", "args": vars(a), "env": {}, "models": {},
                    "ceilings": {}, "sdpa_probe": [], "per_op": [], "runs": [], "skipped": [], "notes": []}

    # -- bookkeeping
    def elapsed(self):
        return time.monotonic() - self.t0

    def left(self):
        return self.a.time_budget_s - self.elapsed()

    def save(self):
        self.res["wall_s"] = round(self.elapsed(), 2)
        if self.a.json:
            tmp = self.a.json + ".tmp"
            with open(tmp, "w") as f:
                json.dump(self.res, f, indent=1, default=str)
            os.replace(tmp, self.a.json)

    def log(self, msg):
        print(f"[{self.elapsed():6.1f}s] {msg}", file=sys.stderr, flush=True)

    def budget_ok(self, what, need_s):
        if self.left() < need_s:
            reason = f"time budget: {max(self.left(), 0):.0f} s of {self.a.time_budget_s:.0f} s left, needs ~{need_s:.0f} s"
            self.res["skipped"].append({"item": what, "reason": reason})
            self.log(f"skip {what}: {reason}")
            return False
        return True

    # -- environment
    def environment(self):
        env = {"date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
               "host": platform.node(), "python": platform.python_version(), "executable": sys.executable,
               "torch": torch.__version__, "torch_cuda": torch.version.cuda,
               "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
               "device": str(self.dev), "torch_threads": torch.get_num_threads(),
               "torch_compile": hasattr(torch, "compile"),
               "sdpa": hasattr(F, "scaled_dot_product_attention")}
        _, tv, tv_err = _import_torchvision_vit()
        env["torchvision"] = tv or ("unusable: " + tv_err)
        try:
            with open("/proc/cpuinfo") as f:
                env["cpu"] = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), None)
            env["cpu_cores"] = os.cpu_count()
        except Exception:
            pass
        try:
            with open("/proc/self/maps") as f:
                libs = sorted({l.split()[-1] for l in f if "libblas" in l or "libopenblas" in l})
            env["blas_mapped"] = ", ".join(libs) or "none mapped"
        except Exception:
            pass
        if self.cuda:
            p = torch.cuda.get_device_properties(self.dev)
            env.update(gpu=p.name, capability=f"{p.major}.{p.minor}", sm_count=p.multi_processor_count,
                       gpu_memory_gib=round(p.total_memory / 2 ** 30, 1))
            try:
                q = subprocess.run(["nvidia-smi", "--query-gpu=driver_version,clocks.max.sm,clocks.max.mem,power.limit",
                                    "--format=csv,noheader", "-i", str(self.dev.index or 0)],
                                   capture_output=True, text=True, timeout=15)
                parts = [s.strip() for s in q.stdout.strip().split(",")]
                if q.returncode == 0 and parts:
                    env["driver"] = parts[0]
                    env["nvidia_smi"] = q.stdout.strip()
            except Exception as e:
                env["driver"] = f"nvidia-smi failed: {e}"
            try:
                import getpass
                import tempfile
                d = os.environ.get("TORCHINDUCTOR_CACHE_DIR") or os.path.join(
                    tempfile.gettempdir(), "torchinductor_" + getpass.getuser())
                env["inductor_cache"] = f"{d} ({'existed' if os.path.isdir(d) else 'absent'} at start: compile_s is "
                env["inductor_cache"] += ("warm-cache" if os.path.isdir(d) else "cold-cache") + " time)"
            except Exception:
                pass
            try:
                import triton
                env["triton"] = triton.__version__
            except Exception as e:
                env["triton"] = f"unavailable: {type(e).__name__}"
        self.res["env"] = env

    # -- ceilings
    def ceilings(self):
        a, dev = self.a, self.dev
        out = self.res["ceilings"]
        try:
            n = a.copy_mib * 2 ** 20 // 4
            src = torch.randn(n, device=dev)
            dst = torch.empty_like(src)
            ms, _ = self.timer.run(lambda i: dst.copy_(src), warmup=2, repeats=20, cap_s=1.0)
            s = stats(ms)
            out["copy"] = {"what": "dst.copy_(src), fp32, bytes counted = read + written", "mib": a.copy_mib,
                           "ms": s, "GB_per_s": 2 * n * 4 / (s["median"] * 1e-3) / 1e9,
                           "GB_per_s_best": 2 * n * 4 / (s["min"] * 1e-3) / 1e9}
            del src, dst
        except Exception as e:
            out["copy"] = {"error": err_str(e)}
        free(dev)
        mm = []
        nmat = a.matmul_n
        cases = [("bf16", torch.bfloat16, None), ("fp32 (TF32 off)", torch.float32, False)]
        if self.cuda:
            cases.append(("fp32 (TF32 on)", torch.float32, True))
        for label, dt, tf32 in cases:
            try:
                if tf32 is not None:
                    set_tf32(tf32)
                x = torch.randn(nmat, nmat, device=dev, dtype=dt)
                y = torch.randn(nmat, nmat, device=dev, dtype=dt)
                z = torch.empty(nmat, nmat, device=dev, dtype=dt)
                ms, _ = self.timer.run(lambda i: torch.mm(x, y, out=z), warmup=2, repeats=20, cap_s=1.0)
                s = stats(ms)
                fl = 2 * nmat ** 3
                mm.append({"dtype": label, "n": nmat, "flop": fl, "ms": s, "TFLOP_per_s": fl / (s["median"] * 1e-3) / 1e12,
                           "TFLOP_per_s_best": fl / (s["min"] * 1e-3) / 1e12})
                del x, y, z
            except Exception as e:
                mm.append({"dtype": label, "n": nmat, "error": err_str(e)})
            finally:
                set_tf32(False)
                free(dev)
        out["matmul"] = mm

    # -- SDPA probe
    def sdpa_probe(self, heads_list):
        dev = self.dev
        api, ctxs = sdpa_force_api()
        self.res["sdpa_force_api"] = api
        b = self.a.op_batch
        for heads in heads_list:
            for dt in (torch.bfloat16, torch.float32):
                rec = {"shape": [b, heads, 197, 64], "dtype": dtype_name(dt), "api": api}
                if not ctxs:
                    rec["error"] = api
                    self.res["sdpa_probe"].append(rec)
                    continue
                try:
                    g = torch.Generator(device=dev).manual_seed(3)
                    q, k, v = (torch.randn(b, heads, 197, 64, device=dev, dtype=dt, generator=g) for _ in range(3))
                    names = profile_names(lambda: F.scaled_dot_product_attention(q, k, v), dev)
                    rec["default_pick"] = classify_attention(names)["sdpa_backend"]
                    try:
                        from torch.nn.attention import SDPBackend
                        rec["fused_sdp_choice"] = SDPBackend(torch._fused_sdp_choice(q, k, v)).name
                    except Exception:
                        pass
                    ref = None
                    backends = {}
                    for name, mk in ctxs.items():
                        r = {}
                        with warnings.catch_warnings(record=True) as ws:
                            warnings.simplefilter("always")
                            try:
                                with mk():
                                    o = F.scaled_dot_product_attention(q, k, v)
                                    ms, _ = self.timer.run(lambda i: F.scaled_dot_product_attention(q, k, v),
                                                           warmup=2, repeats=30, cap_s=0.3)
                                r.update(available=True, ms=stats(ms)["median"],
                                         GFLOP_per_s=4 * b * heads * 197 * 197 * 64 / (stats(ms)["median"] * 1e-3) / 1e9)
                                if name == "math":
                                    ref = o.float()
                                r["_out"] = o
                            except Exception as e:
                                r.update(available=False, error=err_str(e).splitlines()[0])
                            why = [str(w.message).splitlines()[0][:300] for w in ws
                                   if "deprecated" not in str(w.message).lower()]
                            if why and not r.get("available"):
                                r["why"] = why[:4]
                        backends[name] = r
                    for name, r in backends.items():
                        o = r.pop("_out", None)
                        if o is not None and ref is not None:
                            r["max_abs_diff_vs_math"] = float((o.float() - ref).abs().max())
                    rec["backends"] = backends
                    del q, k, v
                except Exception as e:
                    rec["error"] = err_str(e)
                self.res["sdpa_probe"].append(rec)
                free(dev)

    # -- per-op times at ViT-B shapes
    def per_op(self):
        a, dev = self.a, self.dev
        B = a.op_batch
        D, HID, H, S = 768, 3072, 12, 197
        M = B * S
        budget_bytes = 256 * 2 ** 20 if self.cuda else 16 * 2 ** 20

        def nbufs(nbytes):
            return max(2, min(8, math.ceil(budget_bytes / max(nbytes, 1))))

        for dt in (torch.float32, torch.bfloat16):
            es = torch.finfo(dt).bits // 8
            set_tf32(False)
            g = torch.Generator(device=dev).manual_seed(4)

            def rnd(*shape):
                return torch.randn(*shape, device=dev, dtype=dt, generator=g)

            ops = []
            conv = nn.Conv2d(3, D, 16, 16).to(dev, dt).eval()
            ops.append(("patch_embed conv 3->768 k=s=16", [B, 3, 224, 224], lambda x: conv(x),
                        2 * B * 196 * D * 768, None, "2*B*196*768*(3*16*16)"))
            ln = nn.LayerNorm(D, eps=1e-6).to(dev, dt).eval()
            ops.append(("layernorm", [M, D], lambda x: ln(x), None, 2 * M * D * es, "bytes = read + write of [M,768]"))
            ops.append(("gelu (exact, erf)", [M, HID], lambda x: F.gelu(x), None, 2 * M * HID * es,
                        "bytes = read + write of [M,3072]"))
            for name, k, n in [("linear qkv 768->2304", D, 3 * D), ("linear proj 768->768", D, D),
                               ("linear fc1 768->3072", D, HID), ("linear fc2 3072->768", HID, D)]:
                lin = nn.Linear(k, n).to(dev, dt).eval()
                ops.append((name, [M, k], (lambda l: (lambda x: l(x)))(lin), 2 * M * k * n, None,
                            f"2*M*{k}*{n} (bias add not counted)"))
            if hasattr(F, "scaled_dot_product_attention"):
                sd_name, sd = "sdpa (default backend)", lambda x: F.scaled_dot_product_attention(x[0], x[1], x[2])
            else:
                sd_name = f"attention as bmm+softmax+bmm (F.scaled_dot_product_attention unavailable in torch {TORCH_MAJOR_MINOR})"

                def sd(x):
                    return torch.softmax(x[0] @ x[1].transpose(-1, -2) * 0.125, -1) @ x[2]
            ops.append((sd_name, [3, B, H, S, 64], sd, 4 * B * H * S * S * 64, None,
                        "4*B*heads*197*197*64 (QK^T and PV)"))
            for name, shape, fn, flop, nbytes, count in ops:
                rec = {"op": name, "dtype": dtype_name(dt) + (" (TF32 off)" if dt == torch.float32 else ""),
                       "shape": shape, "tokens_M": M, "count": count}
                try:
                    elem = math.prod(shape)
                    bufs = [rnd(*shape) for _ in range(nbufs(elem * es))]
                    with torch.inference_mode():
                        ms, _ = self.timer.run(lambda i: fn(bufs[i % len(bufs)]), warmup=1 if a.quick else 3,
                                               repeats=50, cap_s=0.5)
                        if name.startswith("sdpa") and hasattr(F, "scaled_dot_product_attention"):
                            try:
                                rec["backend"] = classify_attention(
                                    profile_names(lambda: fn(bufs[0]), dev))["sdpa_backend"]
                            except Exception as e:
                                rec["backend"] = f"profiler failed: {type(e).__name__}"
                    s = stats(ms)
                    rec.update(ms=s["median"], ms_min=s["min"], ms_p90=s["p90"], n=s["n"], buffers=len(bufs))
                    if flop:
                        rec.update(flop=flop, GFLOP_per_s=flop / (s["median"] * 1e-3) / 1e9)
                    if nbytes:
                        rec.update(bytes=nbytes, GB_per_s=nbytes / (s["median"] * 1e-3) / 1e9)
                    del bufs
                except Exception as e:
                    rec["error"] = err_str(e)
                self.res["per_op"].append(rec)
                free(dev)
            del ops, conv, ln

    # -- models and modes
    def master(self, name):
        if name not in self.masters:
            m, info = build_model(name, self.a.impl)
            self.masters[name] = m
            self.res["models"][name] = info
        return self.masters[name]

    def model(self, name, dt):
        key = (name, dt)
        if self.cached[0] == key:
            return self.cached[1]
        self.cached = (None, None)
        free(self.dev)
        base = self.master(name)
        if self.dev.type == "cpu" and dt == torch.float32:
            m = base
        else:
            m = copy.deepcopy(base).to(self.dev, dt)
        m.eval()
        self.cached = (key, m)
        return m

    def unsupported(self, mode, batch):
        if mode == "tf32" and not self.cuda:
            return "TF32 is a CUDA (Ampere+) matmul mode; not applicable on CPU"
        if mode in GRAPH_MODES:
            if not self.cuda:
                return "CUDA graphs need a CUDA device"
            if batch not in self.a.graph_batches:
                return f"graph replay measured at batches {self.a.graph_batches} only"
        if mode in COMPILE_MODES:
            if not hasattr(torch, "compile"):
                return f"torch.compile unavailable in torch {TORCH_MAJOR_MINOR}"
            if self.a.quick and not self.a.modes_explicit:
                return "skipped in --quick (compile warm-up is slow; request it with --modes)"
        return None

    def run_mode(self, name, mode, batch):
        a, dev = self.a, self.dev
        rec = {"model": name, "mode": mode, "batch": batch}
        why = self.unsupported(mode, batch)
        if why:
            rec.update(status="skipped", reason=why)
            return rec
        is_compile = mode in COMPILE_MODES
        need = (a.compile_estimate_s if mode == "compile" else a.autotune_estimate_s) if is_compile else a.item_estimate_s
        if self.left() < need:
            rec.update(status="skipped",
                       reason=f"time budget: {max(self.left(), 0):.0f} s of {a.time_budget_s:.0f} s left, needs ~{need:.0f} s")
            return rec
        info = self.res["models"].get(name) or {}
        dt = torch.bfloat16 if mode in ("bf16", "graph-bf16") else torch.float32
        amp = mode in ("amp-bf16",) + COMPILE_MODES
        graph = None
        compiled = None
        bufs = None
        try:
            m = self.model(name, dt)
            info = self.res["models"][name]
            rec["tf32"] = set_tf32(mode == "tf32")
            if self.cuda:
                torch.cuda.reset_peak_memory_stats(dev)
                base_alloc = torch.cuda.memory_allocated(dev)
                rec["weights_bytes"] = sum(p.numel() * p.element_size() for p in m.parameters())
            g = torch.Generator(device=dev).manual_seed(5)
            bufs = [torch.randn(batch, 3, 224, 224, device=dev, dtype=dt, generator=g) for _ in range(a.input_buffers)]
            amp_ctx = (lambda: torch.autocast(dev.type, dtype=torch.bfloat16)) if amp else contextlib.nullcontext
            grad_ctx = torch.no_grad if is_compile else torch.inference_mode
            if is_compile:
                dynamo_reset()
                kw = {"dynamic": False}
                if mode == "max-autotune":
                    kw["mode"] = "max-autotune"
                compiled = torch.compile(m, **kw)
                fwd = compiled
                t0 = time.perf_counter()
                with watchdog(max(self.left() + a.grace_s, 30.0)):
                    with grad_ctx(), amp_ctx():
                        fwd(bufs[0])
                        sync(dev)
                        fwd(bufs[1 % len(bufs)])  # max-autotune: cudagraph trees record on a later call
                        sync(dev)
                rec["compile_s"] = round(time.perf_counter() - t0, 2)
            elif mode in GRAPH_MODES:
                static_in = bufs[0].clone()
                s = torch.cuda.Stream(dev)
                s.wait_stream(torch.cuda.current_stream(dev))
                with torch.cuda.stream(s), torch.inference_mode():
                    for _ in range(3):
                        m(static_in)
                torch.cuda.current_stream(dev).wait_stream(s)
                graph = torch.cuda.CUDAGraph()
                with torch.inference_mode():
                    with torch.cuda.graph(graph):
                        static_out = m(static_in)  # noqa: F841 (kept alive by the graph's pool)

                def fwd(x):
                    static_in.copy_(x)
                    graph.replay()
                rec["note"] = "input copied into the static buffer before each replay (included in the time)"
            else:
                fwd = m

            def step(i):
                with grad_ctx(), amp_ctx():
                    fwd(bufs[i % len(bufs)])

            with watchdog(max(self.left() + a.grace_s, 30.0)):
                ms, warm_s = self.timer.run(step)
            s = stats(ms)
            rec.update(status="ok", latency_ms=s, warmup_s=round(warm_s, 3),
                       images_per_s=batch / (s["median"] * 1e-3),
                       images_per_s_best=batch / (s["min"] * 1e-3))
            if info.get("gflop_per_image"):
                rec["TFLOP_per_s"] = info["gflop_per_image"] * batch / (s["median"] * 1e-3) / 1e3
            if self.cuda:
                rec["max_memory_allocated_bytes"] = torch.cuda.max_memory_allocated(dev)
                rec["max_memory_above_weights_bytes"] = torch.cuda.max_memory_allocated(dev) - base_alloc
            if mode in GRAPH_MODES:
                rec["attention"] = {"note": "graph replay: see the eager mode of the same dtype"}
            elif a.profile:
                try:
                    with grad_ctx(), amp_ctx():
                        rec["attention"] = classify_attention(profile_names(lambda: fwd(bufs[0]), dev))
                except Exception as e:
                    rec["attention"] = {"error": "profiler: " + err_str(e)}
        except Exception as e:
            rec["status"] = "oom" if is_oom(e) else ("timeout" if isinstance(e, WorkTimeout) else "error")
            rec["error"] = err_str(e)
            if amp and not is_compile and "expected scalar type" in str(e) and TORCH_VER.startswith("1."):
                rec["hint"] = (f"torch {TORCH_MAJOR_MINOR}: nn.MultiheadAttention's fast path "
                               "(_native_multi_head_attention) ignores autocast")
            if a.verbose:
                traceback.print_exc()
        finally:
            set_tf32(False)
            del graph, compiled, bufs
            if is_compile:
                dynamo_reset()
            if rec.get("status") in ("oom", "error", "timeout"):
                self.cached = (None, None)
            free(dev)
        return rec

    # -- plan
    def plan(self):
        a = self.a
        items = []
        eager = [m for m in a.modes if m in ("fp32", "tf32", "amp-bf16", "bf16")]
        for name in a.models:  # grouped by dtype so the model is copied to the device twice, not per item
            for mode in eager:
                for b in a.batches:
                    items.append((name, mode, b))
        for name in a.models:
            for b in a.batches:
                for mode in GRAPH_MODES:
                    if mode in a.modes and b in a.graph_batches:
                        items.append((name, mode, b))
        # compile: most informative first (ViT-B, batch 64), so a tight budget drops the rest
        pri_b = sorted(a.batches, key=lambda b: (b != 64, -b))
        pri_m = sorted(a.models, key=lambda n: n != "vit-b16")
        # compile ViT-B b64, then max-autotune ViT-B b64, then compile ViT-S b64, then the other batches
        if "compile" in a.modes:
            items += [(pri_m[0], "compile", pri_b[0])]
        if "max-autotune" in a.modes:
            items += [(pri_m[0], "max-autotune", pri_b[0])]
        if "compile" in a.modes:
            items += [(n, "compile", pri_b[0]) for n in pri_m[1:]]
        if "compile" in a.modes:
            items += [(n, "compile", b) for b in pri_b[1:] for n in pri_m]
        if "max-autotune" in a.modes:
            items += [(n, "max-autotune", b) for b in pri_b for n in pri_m if (n, b) != (pri_m[0], pri_b[0])]
        return items

    def main(self):
        a = self.a
        self.environment()
        self.save()
        for what, fn in [("ceilings", self.ceilings),
                         ("sdpa_probe", lambda: self.sdpa_probe(sorted({SIZES[n][2] for n in a.models}))),
                         ("per_op", self.per_op)]:
            if what in a.skip:
                self.res["skipped"].append({"item": what, "reason": "--skip"})
                continue
            if not self.budget_ok(what, 5):
                continue
            self.log(what)
            try:
                fn()
            except Exception as e:
                self.res["notes"].append(f"{what} failed: {err_str(e)}")
                if a.verbose:
                    traceback.print_exc()
            set_tf32(False)
            free(self.dev)
            self.save()
        for name, mode, b in self.plan():
            self.log(f"{name} {mode} batch {b}")
            try:
                rec = self.run_mode(name, mode, b)
            except Exception as e:  # never expected: run_mode catches everything
                rec = {"model": name, "mode": mode, "batch": b, "status": "error", "error": err_str(e)}
            self.res["runs"].append(rec)
            if rec["status"] == "skipped":
                self.res["skipped"].append({"item": f"{name} {mode} batch {b}", "reason": rec["reason"]})
            self.save()
        self.cached = (None, None)
        self.save()
        print_report(self.res)


# ----------------------------------------------------------------------------------------------------
# report


def fmt(x, nd=1):
    if x is None:
        return "-"
    if isinstance(x, str):
        return x
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.{nd}f}"


def print_report(r):
    e = r["env"]
    print("=" * 100)
    print("PyTorch ViT peer (bench/peers/torch_vit_gpu.py)")
    keys = ["date_utc", "host", "device", "gpu", "capability", "sm_count", "gpu_memory_gib", "driver", "torch",
            "torch_cuda", "cudnn", "triton", "torchvision", "python", "cpu", "cpu_cores", "torch_threads", "blas_mapped"]
    for k in keys:
        if k in e and e[k] is not None:
            print(f"  {k:16s} {e[k]}")
    for name, info in r["models"].items():
        print(f"  model {name}: {info['impl']}, {info['params'] / 1e6:.1f} M params, {info['gflop_per_image']:.2f} GFLOP/image"
              + (f" ({'; '.join(info['impl_notes'])})" if info["impl_notes"] else ""))
    c = r.get("ceilings", {})
    if c:
        print("-" * 100 + "\nCeilings")
        cp = c.get("copy", {})
        if "error" in cp:
            print(f"  copy: ERROR {cp['error']}")
        elif cp:
            print(f"  device copy {cp['mib']} MiB: {cp['ms']['median']:.3f} ms = {cp['GB_per_s']:.0f} GB/s "
                  f"(best {cp['GB_per_s_best']:.0f}; read+write)")
        for mm in c.get("matmul", []):
            if "error" in mm:
                print(f"  matmul {mm['dtype']} {mm['n']}^3: ERROR {mm['error']}")
            else:
                print(f"  matmul {mm['dtype']:16s} {mm['n']}^3: {mm['ms']['median']:.3f} ms = {mm['TFLOP_per_s']:.2f} TFLOP/s "
                      f"(best {mm['TFLOP_per_s_best']:.2f})")
    if r.get("sdpa_probe"):
        api = r.get("sdpa_force_api") or ""
        print("-" * 100 + "\nSDPA probe" + (f" (forced via {api}); ms per call, default pick" if "sdp" in api else ""))
        for p in r["sdpa_probe"]:
            head = f"  {str(p['shape']):22s} {p['dtype']:9s}"
            if "error" in p:
                print(f"{head} {p['error']}")
                continue
            parts = []
            for n, b in p["backends"].items():
                if b.get("available"):
                    parts.append(f"{n} {b['ms']:.3f}")
                else:
                    parts.append(f"{n} n/a")
            print(f"{head} default={p.get('default_pick')}: " + ", ".join(parts))
            for n, b in p["backends"].items():
                if not b.get("available"):
                    print(f"      {n}: {(b.get('why') or [b.get('error', '')])[0][:150]}")
    if r.get("per_op"):
        print("-" * 100 + "\nPer-op at ViT-B/16 shapes (M = batch*197 tokens)")
        print(f"  {'op':40s} {'dtype':18s} {'shape':22s} {'ms':>9s} {'GFLOP/s':>9s} {'GB/s':>8s}")
        for o in r["per_op"]:
            if "error" in o:
                print(f"  {o['op'][:40]:40s} {o['dtype']:18s} {str(o['shape']):22s} ERROR {o['error'][:60]}")
                continue
            extra = f"  [{o['backend']}]" if o.get("backend") else ""
            print(f"  {o['op'][:40]:40s} {o['dtype']:18s} {str(o['shape']):22s} {o['ms']:9.3f} "
                  f"{fmt(o.get('GFLOP_per_s')):>9s} {fmt(o.get('GB_per_s')):>8s}{extra}")
    if r.get("runs"):
        print("-" * 100 + "\nModel runs (latency ms over repeats; img/s from the median)")
        print(f"  {'model':8s} {'batch':>5s} {'mode':13s} {'img/s':>9s} {'median':>8s} {'min':>8s} {'p10':>8s} "
              f"{'p90':>8s} {'max':>8s} {'n':>4s} {'peakMiB':>8s}  attention / note")
        order = {m: i for i, m in enumerate(ALL_MODES)}
        runs = sorted(r["runs"], key=lambda x: (x["model"], x["batch"], order.get(x["mode"], 99)))
        for x in runs:
            h = f"  {x['model']:8s} {x['batch']:5d} {x['mode']:13s}"
            if x["status"] != "ok":
                print(f"{h} {x['status'].upper()}: {(x.get('reason') or x.get('error') or '')[:120]}")
                continue
            s = x["latency_ms"]
            mem = x.get("max_memory_allocated_bytes")
            att = x.get("attention", {})
            if "sdpa_backend" in att:
                note = f"mha_fast_path={'yes' if att['mha_fast_path'] else 'no'}, {att['sdpa_backend']}"
            else:
                note = att.get("note") or att.get("error") or ""
            if x.get("compile_s") is not None:
                note += f"; compile {x['compile_s']:.0f} s"
            print(f"{h} {fmt(x['images_per_s']):>9s} {s['median']:8.2f} {s['min']:8.2f} {s['p10']:8.2f} {s['p90']:8.2f} "
                  f"{s['max']:8.2f} {s['n']:4d} {fmt(mem / 2 ** 20 if mem else None, 0):>8s}  {note}")
    shown = [s for s in r.get("skipped", [])  # the other skipped runs are in the table above
             if not s["item"].startswith(tuple(r["models"])) or "time budget" in s["reason"]]
    if shown:
        print("-" * 100 + "\nSkipped")
        for s in shown:
            print(f"  {s['item']}: {s['reason']}")
    for n in r.get("notes", []):
        print("note: " + n)
    print(f"wall time {r.get('wall_s', 0):.1f} s")


# ----------------------------------------------------------------------------------------------------


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default=None, help="cuda (default when available), cuda:N or cpu")
    ap.add_argument("--quick", action="store_true", help="tiny sizes, batches 1,2, few repeats (smoke test)")
    ap.add_argument("--models", default="vit-s16,vit-b16", help=f"comma list of {','.join(SIZES)}")
    ap.add_argument("--batches", default=None, help="comma list (default 1,64,256; --quick: 1,2)")
    ap.add_argument("--modes", default=None, help=f"comma list of {','.join(ALL_MODES)} (default all)")
    ap.add_argument("--graph-batches", default="1", help="batches at which graph-* modes run (default 1)")
    ap.add_argument("--repeats", type=int, default=None, help="max timed repeats per mode (default 100; --quick 3)")
    ap.add_argument("--min-repeats", type=int, default=None, help="fewest timed repeats (default 10; --quick 2)")
    ap.add_argument("--warmup", type=int, default=None, help="warm-up iterations (default 5; --quick 1)")
    ap.add_argument("--mode-time-s", type=float, default=None,
                    help="aim for this much timed work per mode; repeats are cut to fit (default 2; --quick 0.5)")
    ap.add_argument("--time-budget-s", type=float, default=None,
                    help="stop adding work past this wall time (default 270 on GPU; --quick 150)")
    ap.add_argument("--compile-estimate-s", type=float, default=None,
                    help="needed budget to start a torch.compile item (default 45)")
    ap.add_argument("--autotune-estimate-s", type=float, default=None,
                    help="needed budget to start a max-autotune item (default 120)")
    ap.add_argument("--item-estimate-s", type=float, default=3.0, help="needed budget to start an eager item")
    ap.add_argument("--grace-s", type=float, default=20.0, help="a running item is interrupted this long past the budget")
    ap.add_argument("--input-buffers", type=int, default=4, help="random inputs rotated among (default 4)")
    ap.add_argument("--op-batch", type=int, default=None, help="batch of the per-op and SDPA shapes (default 64; --quick 2)")
    ap.add_argument("--copy-mib", type=int, default=None, help="device copy size (default 2048; --quick 64)")
    ap.add_argument("--matmul-n", type=int, default=None, help="square matmul size (default 8192; --quick 512)")
    ap.add_argument("--impl", default="auto", choices=["auto", "torchvision", "timm", "builtin"])
    ap.add_argument("--threads", type=int, default=None, help="torch intra-op threads (CPU)")
    ap.add_argument("--skip", default="", help="comma list of ceilings,sdpa_probe,per_op")
    ap.add_argument("--no-profile", dest="profile", action="store_false",
                    help="don't run the profiler to find the attention path")
    ap.add_argument("--json", help="write all results here (rewritten after every item)")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args(argv)

    if a.device is None:
        a.device = "cuda" if torch.cuda.is_available() else "cpu"
    if a.device.startswith("cuda") and not torch.cuda.is_available():
        ap.error("--device cuda but torch.cuda.is_available() is False")
    q = a.quick
    gpu = a.device.startswith("cuda")

    def dflt(name, quick_v, full_v):
        if getattr(a, name) is None:
            setattr(a, name, quick_v if q else full_v)

    dflt("batches", "1,2", "1,64,256")
    dflt("repeats", 3, 100)
    dflt("min_repeats", 2, 10)
    dflt("warmup", 1, 5)
    dflt("mode_time_s", 0.5, 2.0)
    dflt("time_budget_s", 150.0, 270.0 if gpu else 900.0)
    dflt("compile_estimate_s", 45.0 if gpu else 90.0, 45.0 if gpu else 90.0)
    dflt("autotune_estimate_s", 120.0 if gpu else 300.0, 120.0 if gpu else 300.0)
    dflt("op_batch", 2, 64)
    dflt("copy_mib", 64, 2048 if gpu else 256)
    dflt("matmul_n", 512, 8192 if gpu else 2048)
    a.models = [m.strip() for m in a.models.split(",") if m.strip()]
    for m in a.models:
        if m not in SIZES:
            ap.error(f"unknown model {m}; known: {', '.join(SIZES)}")
    a.batches = [int(b) for b in str(a.batches).split(",") if b.strip()]
    a.graph_batches = [int(b) for b in str(a.graph_batches).split(",") if b.strip()]
    a.modes_explicit = a.modes is not None
    a.modes = [m.strip() for m in (a.modes or ",".join(ALL_MODES)).split(",") if m.strip()]
    for m in a.modes:
        if m not in ALL_MODES:
            ap.error(f"unknown mode {m}; known: {', '.join(ALL_MODES)}")
    a.skip = [s.strip() for s in a.skip.split(",") if s.strip()]
    if a.threads:
        torch.set_num_threads(a.threads)
    warnings.filterwarnings("ignore", message=".*TypedStorage is deprecated.*")
    Bench(a).main()


if __name__ == "__main__":
    main()
