#!/usr/bin/env python3
"""Golden data for non-square preprocessing (ImageGoldenNonSquareTest, issue 14): the images that
make_image_golden.py wrote, brought to H x W (H != W) model inputs the way

  * timm's eval transform does for a non-square input_size (transforms_imagenet_eval, crop_mode
    "center"): scale = (floor(H / crop_pct), floor(W / crop_pct)); ResizeKeepRatio(scale) (timm's
    get_params with longest=0: r = min(h / scale_h, w / scale_w), size = (round(h / r), round(w / r)))
    then CenterCrop((H, W));
  * Hugging Face's ViTImageProcessor does with size {"height": H, "width": W}: Resize((H, W));

then ToTensor() + Normalize(mean, std). timm itself is not installed here: ResizeKeepRatio's size rule
is written out below from timm/data/transforms.py (timm 0.9+); the resampling is torchvision's on PIL.

Run with Debian's interpreter: /usr/bin/python3 scripts/python/make_image_golden_nonsquare.py
Writes vit4j-core/src/test/resources/golden/images/expected-nonsquare.safetensors and cases-nonsquare.json.
"""
import json
import math
import os
import sys

import torch
from PIL import Image
from torchvision import transforms
from torchvision.transforms import InterpolationMode

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_io  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "vit4j-core", "src", "test", "resources", "golden", "images")
INTERP = {"BICUBIC": InterpolationMode.BICUBIC, "BILINEAR": InterpolationMode.BILINEAR,
          "NEAREST": InterpolationMode.NEAREST}
HALF = [0.5, 0.5, 0.5]
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]

# name, image, height, width, channels, mean, std, crop_pct, interpolation, resize mode
CASES = [
    ("ns_noise_timm_bicubic_24x40", "noise_rgb_37x53.png", 24, 40, 3, HALF, HALF, 0.9, "BICUBIC", "SHORTEST_SIDE_CENTER_CROP"),
    ("ns_noise_timm_bicubic_40x16", "noise_rgb_37x53.png", 40, 16, 3, IMAGENET_MEAN, IMAGENET_STD, 0.875, "BICUBIC",
     "SHORTEST_SIDE_CENTER_CROP"),
    ("ns_gradient_timm_bilinear_16x48", "gradient_gray_64x40.png", 16, 48, 3, HALF, HALF, 0.9, "BILINEAR",
     "SHORTEST_SIDE_CENTER_CROP"),
    ("ns_gradient_1ch_pad_30x20", "gradient_gray_64x40.png", 30, 20, 1, [0.5], [0.5], 1.3, "BICUBIC",
     "SHORTEST_SIDE_CENTER_CROP"),
    ("ns_rgba_upscale_bicubic_28x12", "rgba_12x9.png", 28, 12, 3, HALF, HALF, 0.9, "BICUBIC", "SHORTEST_SIDE_CENTER_CROP"),
    ("ns_noise_hf_bilinear_20x36", "noise_rgb_37x53.png", 20, 36, 3, HALF, HALF, 1.0, "BILINEAR", "DIRECT"),
    ("ns_palette_hf_bicubic_36x12", "palette_alpha_30x22.png", 36, 12, 3, HALF, HALF, 1.0, "BICUBIC", "DIRECT"),
]


def keep_ratio_size(img_h, img_w, target_h, target_w):
    ratio = min(img_h / target_h, img_w / target_w)
    return [round(img_h / ratio), round(img_w / ratio)]


def expected(path, h, w, channels, mean, std, crop_pct, interp, mode):
    img = Image.open(path).convert("RGB" if channels == 3 else "L")
    if mode == "DIRECT":
        resize = [transforms.Resize((h, w), interpolation=INTERP[interp])]
    else:
        scale = (math.floor(h / crop_pct), math.floor(w / crop_pct))
        size = keep_ratio_size(img.height, img.width, *scale)
        resize = [transforms.Resize(size, interpolation=INTERP[interp]), transforms.CenterCrop((h, w))]
    out = transforms.Compose(resize + [transforms.ToTensor(), transforms.Normalize(mean, std)])(img)
    assert tuple(out.shape) == (channels, h, w), out.shape
    return out.to(torch.float32).contiguous().numpy()


def main():
    tensors, cases = {}, []
    for name, image, h, w, ch, mean, std, crop, interp, mode in CASES:
        tensors[name] = expected(os.path.join(OUT, image), h, w, ch, mean, std, crop, interp, mode)
        cases.append({"name": name, "image": image, "height": h, "width": w, "channels": ch, "mean": mean,
                      "std": std, "crop_pct": crop, "interpolation": interp, "resize_mode": mode})
    st_io.save(os.path.join(OUT, "expected-nonsquare.safetensors"), tensors,
               {"generator": "scripts/python/make_image_golden_nonsquare.py"})
    with open(os.path.join(OUT, "cases-nonsquare.json"), "w") as f:
        json.dump({"generator": "scripts/python/make_image_golden_nonsquare.py",
                   "versions": {"PIL": Image.__version__, "torch": torch.__version__,
                                "torchvision": __import__("torchvision").__version__},
                   "cases": cases}, f, indent=1)
        f.write("\n")
    print("wrote %d cases to %s" % (len(cases), OUT))


if __name__ == "__main__":
    main()
