#!/usr/bin/env python3
"""Half-precision error of vit4j against PyTorch's own, on the same weights and inputs.

For each golden case (random weights, odd shapes: vit4j-core/src/test/resources/golden/<case>), the reference is
PyTorch's float64 forward pass stored there (io.safetensors: input, logits, pre_logits). This runs
  * PyTorch (Debian's 1.13, CPU) with the model and input cast to bfloat16 (and float16 where the CPU
    kernels exist), and
  * `vit4j run --precision bf16|fp16` on the backends named (default cpu, the half-precision path the
    device kernels are held to; add opencl, cuda-cpu),
and prints each one's relative L2 error of the logits and pre-logits against the float64 reference.
Issue 11 asks that vit4j's bf16 error be no worse than PyTorch's own.

Usage:  python3 bench/peers/half_precision_error.py [--backends cpu,opencl] [--json OUT.json]
Needs python3-torch, python3-torchvision (apt) and a built vit4j (./vit4j builds itself on first use).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts", "python"))
import make_golden  # noqa: E402  (the model builder and the timm naming the goldens use)
import st_io  # noqa: E402

torch.set_num_threads(2)
GOLDEN = os.path.join(ROOT, "vit4j-core", "src", "test", "resources", "golden")
CASES = {c["name"]: c for c in make_golden.CASES}


def rel_l2(got, want):
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    return float(np.linalg.norm(got - want) / np.linalg.norm(want))


def torchvision_model(case):
    """The case's torchvision ViT with the golden's weights (stored in timm names)."""
    c = CASES[case]
    model = make_golden.build_model(c)
    timm = st_io.load(os.path.join(GOLDEN, case, "model.safetensors"))
    names = make_golden.to_timm({k: k for k in model.state_dict()}, c["depth"])  # torchvision -> timm name
    sd = {tv: torch.from_numpy(np.array(timm[t])) for t, tv in names.items()}
    missing = set(model.state_dict()) - set(sd)
    if missing:
        raise SystemExit("%s: weights missing for %s" % (case, sorted(missing)))
    model.load_state_dict(sd)
    return model.eval()


def torch_run(model, x, dtype):
    """(logits, pre_logits) of the model run in dtype."""
    m = model.to(dtype)
    seen = {}
    hook = m.encoder.ln.register_forward_hook(lambda mod, i, o: seen.__setitem__("ln", o[:, 0]))
    with torch.no_grad():
        logits = m(x.to(dtype))
    hook.remove()
    return logits.double().numpy(), seen["ln"].double().numpy()


def vit4j_run(case, backend, precision):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out.safetensors")
        cmd = [os.path.join(ROOT, "vit4j"), "run", "--weights", os.path.join(GOLDEN, case, "model.safetensors"),
               "--input", os.path.join(GOLDEN, case, "io.safetensors"), "--output", out, "--backend", backend,
               "--precision", precision]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            return None, (r.stderr.strip().splitlines() or ["exit %d" % r.returncode])[-1]
        t = st_io.load(out)
        return (t["logits"], t["pre_logits"]), None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--backends", default="cpu")
    ap.add_argument("--cases", default="vit-tiny,vit-odd,vit-ti16-224")
    ap.add_argument("--json")
    args = ap.parse_args()
    rows = []
    print("relative L2 against PyTorch float64 (logits / pre-logits); torch %s" % torch.__version__)
    print("%-14s %-22s %-6s %12s %12s" % ("case", "who", "type", "logits", "pre-logits"))
    for case in args.cases.split(","):
        io = st_io.load(os.path.join(GOLDEN, case, "io.safetensors"))
        want_logits, want_pre = io["logits"], io["pre_logits"]
        model = torchvision_model(case)
        x = torch.from_numpy(np.array(io["input"]))
        # the weights and the builder reproduce the stored float64 reference (else the comparison means nothing)
        check, _ = torch_run(model, x, torch.float64)
        assert rel_l2(check, want_logits) < 1e-6, "%s: float64 rerun differs from the golden" % case
        for name, dtype in (("bf16", torch.bfloat16), ("fp16", torch.float16)):
            try:
                logits, pre = torch_run(torchvision_model(case), x, dtype)
                row = dict(case=case, who="pytorch %s (CPU)" % torch.__version__, type=name,
                           logits=rel_l2(logits, want_logits), pre_logits=rel_l2(pre, want_pre))
            except RuntimeError as e:  # 1.13 has no CPU kernels for some fp16 ops
                row = dict(case=case, who="pytorch %s (CPU)" % torch.__version__, type=name, error=str(e).splitlines()[0])
            rows.append(row)
        for backend in args.backends.split(","):
            for name in ("bf16", "fp16"):
                got, err = vit4j_run(case, backend, name)
                row = dict(case=case, who="vit4j " + backend, type=name)
                if err:
                    row["error"] = err
                else:
                    row.update(logits=rel_l2(got[0], want_logits), pre_logits=rel_l2(got[1], want_pre))
                rows.append(row)
        for r in rows:
            if r["case"] != case:
                continue
            if "error" in r:
                print("%-14s %-22s %-6s %s" % (case, r["who"], r["type"], "n/a: " + r["error"][:60]))
            else:
                print("%-14s %-22s %-6s %12.3e %12.3e" % (case, r["who"], r["type"], r["logits"], r["pre_logits"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
