#!/usr/bin/env python3
"""Golden data for vit4j's image preprocessing tests (org.vit4j.io.Image*Test).

Creates a few small synthetic images with PIL and, for several preprocessing configurations,
the expected model input computed with torchvision.transforms on the PIL image (what timm's
eval transform and Hugging Face's ViTImageProcessor do):

    img = Image.open(path).convert("RGB" or "L")
    Resize(floor(size / crop_pct), interpolation) + CenterCrop(size)   # resize_mode shortest_side_center_crop
    Resize((size, size), interpolation)                               # resize_mode direct
    ToTensor() + Normalize(mean, std)

Outputs, in vit4j-core/src/test/resources/golden/images/:
    *.png, *.jpg           the input images
    jpeg_q95_50x45.pil.png the JPEG's pixels as PIL (libjpeg) decodes them, RGB
    expected.safetensors   one F32 tensor [C, size, size] per case, written with struct + json
    cases.json             the cases: image, preprocessing parameters, tensor name

Run with Debian's interpreter (python3-pil, python3-numpy, python3-torch, python3-torchvision):
    /usr/bin/python3 scripts/python/make_image_golden.py
The output is deterministic (fixed seeds).
"""

import json
import math
import os
import struct
import sys

import numpy as np
import torch
from PIL import Image
from torchvision import transforms
from torchvision.transforms import InterpolationMode

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "vit4j-core", "src", "test", "resources", "golden", "images")

INTERP = {
    "BICUBIC": InterpolationMode.BICUBIC,
    "BILINEAR": InterpolationMode.BILINEAR,
    "NEAREST": InterpolationMode.NEAREST,
}


def make_images():
    rng = np.random.default_rng(1234)
    images = {}

    # Random-noise RGB, 37 wide x 53 tall: the hardest case for resampling.
    noise = rng.integers(0, 256, size=(53, 37, 3), dtype=np.uint8)
    Image.fromarray(noise, "RGB").save(os.path.join(OUT, "noise_rgb_37x53.png"))
    images["noise_rgb"] = "noise_rgb_37x53.png"

    # Grayscale gradient with a little texture, 64 wide x 40 tall (PNG colour type 0).
    y, x = np.mgrid[0:40, 0:64]
    grad = ((x * 4 + y * 2 + (x * y) % 7 * 3) % 256).astype(np.uint8)
    Image.fromarray(grad, "L").save(os.path.join(OUT, "gradient_gray_64x40.png"))
    images["gradient_gray"] = "gradient_gray_64x40.png"

    # Palette image with per-entry alpha (tRNS), 30 x 22: alpha must be dropped, not composited.
    pal_idx = rng.integers(0, 16, size=(22, 30), dtype=np.uint8)
    pal = Image.fromarray(pal_idx, "P")
    colours = rng.integers(0, 256, size=(16, 3), dtype=np.uint8)
    pal.putpalette(colours.flatten().tolist())
    alpha = bytes(int(a) for a in rng.integers(0, 256, size=16))
    pal.save(os.path.join(OUT, "palette_alpha_30x22.png"), transparency=alpha)
    images["palette_alpha"] = "palette_alpha_30x22.png"

    # Small RGBA image, 12 x 9 (upscaled by the tests), random colours and alpha.
    rgba = rng.integers(0, 256, size=(9, 12, 4), dtype=np.uint8)
    Image.fromarray(rgba, "RGBA").save(os.path.join(OUT, "rgba_12x9.png"))
    images["rgba"] = "rgba_12x9.png"

    # Quality-95 JPEG, 50 x 45, smooth content plus edges; 4:4:4 so that decoders agree closely.
    y, x = np.mgrid[0:45, 0:50]
    r = (x * 5) % 256
    g = (y * 5 + 20) % 256
    b = np.where((x - 25) ** 2 + (y - 22) ** 2 < 150, 230, 40)
    jpg = np.stack([r, g, b], axis=-1).astype(np.uint8)
    jpg_path = os.path.join(OUT, "jpeg_q95_50x45.jpg")
    Image.fromarray(jpg, "RGB").save(jpg_path, quality=95, subsampling=0)
    images["jpeg"] = "jpeg_q95_50x45.jpg"
    # How PIL (libjpeg) decodes it, so the Java decoder can be compared pixel by pixel.
    Image.open(jpg_path).convert("RGB").save(os.path.join(OUT, "jpeg_q95_50x45.pil.png"))
    return images


IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
HALF = [0.5, 0.5, 0.5]

# name, image key, size, channels, mean, std, crop_pct, interpolation, resize mode
CASES = [
    ("noise_timm_bicubic_0875", "noise_rgb", 32, 3, IMAGENET_MEAN, IMAGENET_STD, 0.875, "BICUBIC", "SHORTEST_SIDE_CENTER_CROP"),
    ("noise_timm_bicubic_09", "noise_rgb", 32, 3, HALF, HALF, 0.9, "BICUBIC", "SHORTEST_SIDE_CENTER_CROP"),
    ("noise_timm_bilinear_09", "noise_rgb", 24, 3, HALF, HALF, 0.9, "BILINEAR", "SHORTEST_SIDE_CENTER_CROP"),
    ("noise_hf_bilinear_24", "noise_rgb", 24, 3, HALF, HALF, 1.0, "BILINEAR", "DIRECT"),
    ("noise_nearest_direct_24", "noise_rgb", 24, 3, HALF, HALF, 1.0, "NEAREST", "DIRECT"),
    ("noise_gray_1ch_bicubic", "noise_rgb", 32, 1, [0.5], [0.5], 0.9, "BICUBIC", "SHORTEST_SIDE_CENTER_CROP"),
    ("noise_pad_crop_pct_1_2", "noise_rgb", 32, 3, HALF, HALF, 1.2, "BICUBIC", "SHORTEST_SIDE_CENTER_CROP"),
    ("gradient_timm_bicubic_09", "gradient_gray", 32, 3, HALF, HALF, 0.9, "BICUBIC", "SHORTEST_SIDE_CENTER_CROP"),
    ("gradient_1ch_bilinear", "gradient_gray", 24, 1, [0.5], [0.25], 0.875, "BILINEAR", "SHORTEST_SIDE_CENTER_CROP"),
    ("palette_hf_bilinear_24", "palette_alpha", 24, 3, HALF, HALF, 1.0, "BILINEAR", "DIRECT"),
    ("rgba_upscale_bicubic_32", "rgba", 32, 3, IMAGENET_MEAN, IMAGENET_STD, 0.875, "BICUBIC", "SHORTEST_SIDE_CENTER_CROP"),
    ("rgba_1ch_upscale_bicubic", "rgba", 24, 1, [0.5], [0.5], 0.9, "BICUBIC", "SHORTEST_SIDE_CENTER_CROP"),
    ("jpeg_timm_bicubic_09", "jpeg", 32, 3, HALF, HALF, 0.9, "BICUBIC", "SHORTEST_SIDE_CENTER_CROP"),
]


def expected(path, size, channels, mean, std, crop_pct, interp, mode):
    img = Image.open(path).convert("RGB" if channels == 3 else "L")
    if mode == "DIRECT":
        resize = [transforms.Resize((size, size), interpolation=INTERP[interp])]
    else:
        resize = [transforms.Resize(int(math.floor(size / crop_pct)), interpolation=INTERP[interp]),
                  transforms.CenterCrop(size)]
    t = transforms.Compose(resize + [transforms.ToTensor(), transforms.Normalize(mean, std)])
    out = t(img)
    assert tuple(out.shape) == (channels, size, size), out.shape
    return out.to(torch.float32).contiguous().numpy()


def write_safetensors(path, tensors):
    """Minimal safetensors writer: F32 only, insertion order, header padded with spaces to 8 bytes."""
    header = {}
    offset = 0
    blobs = []
    for name, arr in tensors.items():
        data = np.ascontiguousarray(arr, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def main():
    os.makedirs(OUT, exist_ok=True)
    images = make_images()
    tensors = {}
    cases = []
    for name, key, size, ch, mean, std, crop, interp, mode in CASES:
        tensors[name] = expected(os.path.join(OUT, images[key]), size, ch, mean, std, crop, interp, mode)
        cases.append({
            "name": name, "image": images[key], "image_size": size, "channels": ch,
            "mean": mean, "std": std, "crop_pct": crop, "interpolation": interp, "resize_mode": mode,
            "jpeg": images[key].endswith(".jpg"),
        })
    write_safetensors(os.path.join(OUT, "expected.safetensors"), tensors)
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump({
            "generator": "scripts/python/make_image_golden.py",
            "versions": {"PIL": Image.__version__, "torch": torch.__version__,
                         "torchvision": __import__("torchvision").__version__, "numpy": np.__version__},
            "jpeg_decoded_by_pil": "jpeg_q95_50x45.pil.png",
            "cases": cases,
        }, f, indent=1)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print(f"wrote {len(cases)} cases, {total} bytes in {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
