#!/usr/bin/env python3
"""Golden files for CMYK and YCCK JPEGs (org.vit4j.io.CmykJpegGoldenTest).

What PIL does with a 4-component JPEG (Pillow 9.4, libjpeg-turbo 2.1.5, as on Debian 12):
  * libjpeg decides the JPEG colour space: with an Adobe APP14 marker, transform 0 is CMYK and any
    other value YCCK; without one, CMYK (jdapimin.c). PIL asks for CMYK output, so libjpeg converts
    YCCK to CMYK itself (jdcolor.c ycck_cmyk_convert).
  * PIL unpacks the samples as "CMYK;I": every sample inverted, whether or not the file has an
    Adobe marker ("assume adobe conventions", JpegImagePlugin.py).
  * convert("RGB") is Convert.c cmyk2rgb: nk = 255 - K; R = nk - MULDIV255(C, nk), likewise G, B.
    convert("L") goes CMYK -> RGB -> L (Image.convert falls back to the base mode RGB).

Writes to vit4j-core/src/test/resources/golden/cmyk/, for each case X:
    X.jpg      the JPEG
    X.rgb.png  Image.open(X.jpg).convert("RGB"), PIL's pixels
    X.l.png    Image.open(X.jpg).convert("L")
    cases.json the cases, what PIL reported (mode, adobe_transform), the versions

The CMYK cases are written by PIL (it writes an Adobe marker with transform 0 and inverted samples);
one has its APP14 marker removed afterwards. PIL cannot write YCCK, so the YCCK cases are written by
libjpeg through write_cmyk_jpeg.c (compiled here with cc and -ljpeg; Debian: libjpeg62-turbo-dev),
once 4:4:4 and once with C/K at 2x2 as Photoshop writes them. Deterministic.

    /usr/bin/python3 scripts/python/make_cmyk_golden.py
"""

import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image, features

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "vit4j-core", "src", "test", "resources", "golden", "cmyk")
HELPER = os.path.join(ROOT, "scripts", "python", "write_cmyk_jpeg.c")
W, H = 48, 36


def cmyk_content():
    """Ink amounts (0 = none), as PIL's CMYK mode holds them: ramps, a saturated disc, full K, texture."""
    rng = np.random.default_rng(77)
    y, x = np.mgrid[0:H, 0:W]
    c = (x * 255 // (W - 1))
    m = (y * 255 // (H - 1))
    yy = np.where((x - 30) ** 2 + (y - 14) ** 2 < 90, 255, (x + y) * 3 % 256)
    k = np.where(x < 8, 255, np.where(y > 28, (x * 5) % 256, 0))
    img = np.stack([c, m, yy, k], axis=-1) + rng.integers(-12, 13, size=(H, W, 4))
    return np.clip(img, 0, 255).astype(np.uint8)


def strip_app14(data):
    """The JPEG without its Adobe APP14 segment(s)."""
    assert data[:2] == b"\xff\xd8"
    out, i = bytearray(data[:2]), 2
    while True:
        assert data[i] == 0xFF, i
        marker = data[i + 1]
        if marker == 0xDA:  # start of scan: the rest is entropy-coded data
            out += data[i:]
            return bytes(out)
        n = int.from_bytes(data[i + 2:i + 4], "big")
        if marker != 0xEE:
            out += data[i:i + 2 + n]
        i += 2 + n


def main():
    os.makedirs(OUT, exist_ok=True)
    content = cmyk_content()
    files = {}
    # PIL's own CMYK JPEGs (Adobe transform 0, inverted samples, 4:4:4), baseline and progressive.
    Image.fromarray(content, "CMYK").save(os.path.join(OUT, "cmyk_adobe.jpg"), quality=95)
    files["cmyk_adobe"] = "written by PIL: Adobe APP14 transform 0, inverted samples"
    Image.fromarray(content, "CMYK").save(os.path.join(OUT, "cmyk_progressive.jpg"), quality=90, progressive=True)
    files["cmyk_progressive"] = "written by PIL, progressive: Adobe APP14 transform 0, inverted samples"
    with open(os.path.join(OUT, "cmyk_adobe.jpg"), "rb") as f:
        plain = strip_app14(f.read())
    with open(os.path.join(OUT, "cmyk_no_adobe.jpg"), "wb") as f:
        f.write(plain)
    files["cmyk_no_adobe"] = "cmyk_adobe.jpg without its APP14 marker: libjpeg reads CMYK, PIL still inverts"
    # YCCK through libjpeg (PIL cannot write it).
    with tempfile.TemporaryDirectory() as tmp:
        exe = os.path.join(tmp, "write_cmyk_jpeg")
        subprocess.run(["cc", "-O2", "-Wall", "-Werror", "-o", exe, HELPER, "-ljpeg"], check=True)
        raw = os.path.join(tmp, "in.raw")
        (255 - content).tofile(raw)  # stored inverted, as Adobe files (and PIL) store them
        for name, hs, vs in [("ycck_444", 1, 1), ("ycck_420", 2, 2)]:
            subprocess.run([exe, raw, str(W), str(H), os.path.join(OUT, name + ".jpg"), "ycck", str(hs), str(vs)], check=True)
            files[name] = f"written by libjpeg: Adobe APP14 transform 2 (YCCK), Y and K sampled {hs}x{vs}, Cb Cr 1x1"
    cases = []
    for name, how in files.items():
        im = Image.open(os.path.join(OUT, name + ".jpg"))
        assert im.mode == "CMYK", (name, im.mode)
        im.convert("RGB").save(os.path.join(OUT, name + ".rgb.png"))
        Image.open(os.path.join(OUT, name + ".jpg")).convert("L").save(os.path.join(OUT, name + ".l.png"))
        cases.append({"name": name, "image": name + ".jpg", "how": how, "pil_mode": im.mode,
                      "adobe_transform": im.info.get("adobe_transform"),
                      "first_pixels_rgb": [list(p) for p in list(im.convert("RGB").getdata())[:2]]})
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump({"generator": "scripts/python/make_cmyk_golden.py",
                   "versions": {"PIL": Image.__version__, "libjpeg_turbo": features.version("libjpeg_turbo"),
                                "numpy": np.__version__},
                   "cases": cases}, f, indent=1)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print(f"wrote {len(cases)} cases, {total} bytes in {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
