#!/usr/bin/env python3
"""Optional: golden files from the real timm and Hugging Face transformers ViT implementations.

Needs a Python with torch 2.x, timm, transformers and safetensors (e.g. a venv built from the local
wheel store); nothing in the build depends on it, the outputs are committed:
  vit4j-core/src/test/resources/golden/timm-vit-odd/  model.safetensors (timm state_dict names), config.json, io.safetensors
  vit4j-core/src/test/resources/golden/hf-vit-odd/    model.safetensors + config.json exactly as save_pretrained writes them,
                                           io.safetensors
Sizes as make_golden.py's vit-odd (image 30, patch 6, D 72, 3 heads, depth 2, mlp 150, 7 classes, batch 3).
Random non-trivial weights rounded to float32, float32 input, reference forward pass in float64.

Usage:  /tmp/venv/bin/python scripts/python/make_golden_timm_hf.py
"""
import os
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import json  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(2)


def _shim_torchvision_ops():
    """The local wheel store pairs a CPU torch with a CUDA torchvision whose _C.so cannot load;
    torchvision's import then fails registering fake kernels for its ops. Define placeholder
    schemas so that `import torchvision` (pulled in by timm) works; no torchvision op is used."""
    try:
        import torchvision  # noqa: F401
        return None
    except Exception:
        for k in [k for k in sys.modules if k == "torchvision" or k.startswith("torchvision.")]:
            del sys.modules[k]
    lib = torch.library.Library("torchvision", "DEF")
    for op in ["roi_align", "_roi_align_backward", "ps_roi_align", "_ps_roi_align_backward", "roi_pool",
               "_roi_pool_backward", "ps_roi_pool", "_ps_roi_pool_backward", "nms", "qnms", "qroi_align",
               "deform_conv2d", "_deform_conv2d_backward"]:
        lib.define(op + "(Tensor x) -> Tensor")
    return lib


_TV_LIB = _shim_torchvision_ops()
import timm  # noqa: E402
import transformers  # noqa: E402
from safetensors.torch import save_file  # noqa: E402
from timm.models.vision_transformer import VisionTransformer  # noqa: E402
from transformers import ViTConfig, ViTForImageClassification  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import st_io  # noqa: E402

C = dict(image=30, patch=6, channels=3, hidden=72, depth=2, heads=3, mlp=150, classes=7, batch=3)
ID2LABEL = {str(i): "class_%d" % i for i in range(C["classes"])}


def randomize_(model, gen, is_norm):
    with torch.no_grad():
        for name, p in model.named_parameters():
            leaf = name.split(".")[-1]
            if name.endswith("cls_token") or "pos_embed" in name or "position_embeddings" in name:
                v = 0.5 * torch.randn(p.shape, generator=gen)
            elif is_norm(name) and leaf == "weight":
                v = 1.0 + 0.2 * torch.randn(p.shape, generator=gen)
            elif is_norm(name) and leaf == "bias":
                v = 0.2 * torch.randn(p.shape, generator=gen)
            elif leaf == "weight":
                v = torch.randn(p.shape, generator=gen) / np.sqrt(int(np.prod(p.shape[1:])))
            elif leaf == "bias":
                v = 0.1 * torch.randn(p.shape, generator=gen)
            else:
                raise RuntimeError("unhandled parameter " + name)
            p.copy_(v.float())
        for name, p in model.named_parameters():
            assert torch.count_nonzero(p) == p.numel(), name
    return model


def hf_style_config():
    return {"model_type": "vit", "architectures": ["ViTForImageClassification"],
            "image_size": C["image"], "patch_size": C["patch"], "num_channels": C["channels"],
            "hidden_size": C["hidden"], "num_hidden_layers": C["depth"],
            "num_attention_heads": C["heads"], "intermediate_size": C["mlp"], "hidden_act": "gelu",
            "layer_norm_eps": 1e-6, "qkv_bias": True, "id2label": ID2LABEL,
            "label2id": {v: int(k) for k, v in ID2LABEL.items()}}


def np32(t):
    return t.detach().to(torch.float32).cpu().numpy()


def summary(tag, pre, logits):
    assert torch.isfinite(logits).all() and torch.isfinite(pre).all()
    m = float(logits.abs().max())
    assert 0.3 < m < 30, m
    print("%-13s max|pre_logits|=%.3f max|logits|=%.3f argmax=%s" % (
        tag, float(pre.abs().max()), m, logits.argmax(-1).tolist()))


def make_timm(root):
    out = os.path.join(root, "timm-vit-odd")
    os.makedirs(out, exist_ok=True)
    gen = torch.Generator().manual_seed(2001)
    model = VisionTransformer(img_size=C["image"], patch_size=C["patch"], in_chans=C["channels"],
                              num_classes=C["classes"], embed_dim=C["hidden"], depth=C["depth"],
                              num_heads=C["heads"], mlp_ratio=C["mlp"] / C["hidden"], qkv_bias=True,
                              global_pool="token", class_token=True).eval()
    assert model.blocks[0].mlp.fc1.out_features == C["mlp"]
    randomize_(model, gen, lambda n: "norm" in n)
    sd = {k: v.detach().float().contiguous() for k, v in model.state_dict().items()}
    save_file(sd, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(out, "config.json"), "w") as f:
        cfg = hf_style_config()
        cfg["vit4j_source"] = "timm %s VisionTransformer, state_dict saved with safetensors" % timm.__version__
        json.dump(cfg, f, indent=2)
        f.write("\n")
    x32 = torch.randn(C["batch"], C["channels"], C["image"], C["image"], generator=gen).float()
    model = model.double()
    with torch.no_grad():
        feats = model.forward_features(x32.double())
        pre = model.forward_head(feats, pre_logits=True)
        logits = model.forward_head(feats)
        ref = model(x32.double())
    assert float((ref - logits).abs().max()) < 1e-12
    summary("timm-vit-odd", pre, logits)
    st_io.save(os.path.join(out, "io.safetensors"),
               {"input": np32(x32), "pre_logits": np32(pre), "logits": np32(logits)},
               {"generator": "scripts/python/make_golden_timm_hf.py", "timm": timm.__version__,
                "torch": torch.__version__})
    print("  timm tensor names:", list(sd)[:6], "...")


def make_hf(root):
    out = os.path.join(root, "hf-vit-odd")
    os.makedirs(out, exist_ok=True)
    gen = torch.Generator().manual_seed(2002)
    cfg = ViTConfig(image_size=C["image"], patch_size=C["patch"], num_channels=C["channels"],
                    hidden_size=C["hidden"], num_hidden_layers=C["depth"], num_attention_heads=C["heads"],
                    intermediate_size=C["mlp"], hidden_act="gelu", layer_norm_eps=1e-6, qkv_bias=True,
                    hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                    num_labels=C["classes"], id2label={int(k): v for k, v in ID2LABEL.items()},
                    label2id={v: int(k) for k, v in ID2LABEL.items()})
    model = ViTForImageClassification(cfg).eval()
    randomize_(model, gen, lambda n: "layernorm" in n)
    model = model.float()
    model.save_pretrained(out, safe_serialization=True)
    x32 = torch.randn(C["batch"], C["channels"], C["image"], C["image"], generator=gen).float()
    model = model.double()
    with torch.no_grad():
        hidden = model.vit(pixel_values=x32.double()).last_hidden_state
        pre = hidden[:, 0]
        logits = model.classifier(pre)
        ref = model(pixel_values=x32.double()).logits
    assert float((ref - logits).abs().max()) < 1e-12
    summary("hf-vit-odd", pre, logits)
    st_io.save(os.path.join(out, "io.safetensors"),
               {"input": np32(x32), "pre_logits": np32(pre), "logits": np32(logits)},
               {"generator": "scripts/python/make_golden_timm_hf.py",
                "transformers": transformers.__version__, "torch": torch.__version__})
    print("  hf files:", sorted(os.listdir(out)))


def main():
    root = os.path.normpath(os.path.join(HERE, "..", "..", "vit4j-core", "src", "test", "resources", "golden"))
    make_timm(root)
    make_hf(root)
    for d in ("timm-vit-odd", "hf-vit-odd"):
        for fn in sorted(os.listdir(os.path.join(root, d))):
            if fn.endswith(".safetensors"):
                t = st_io.load(os.path.join(root, d, fn))
                assert all(np.isfinite(v).all() for v in t.values())
                print("  %s/%s: %d tensors, dtypes %s" % (d, fn, len(t), sorted({str(v.dtype) for v in t.values()})))


if __name__ == "__main__":
    main()
