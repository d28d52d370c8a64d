#!/usr/bin/python3
"""Writes the image seeds of the fuzz target org.vit4j.fuzz.ImageFuzzTest: tiny PNGs and JPEGs in
every colour layout the loader must handle (PIL makes the CMYK and YCCK JPEGs that javax.imageio
cannot write). Run from the repository root: /usr/bin/python3 scripts/python/make_fuzz_image_seeds.py"""
import io
import os

from PIL import Image

OUT = "vit4j-core/src/test/resources/org/vit4j/fuzz/ImageFuzzTestInputs/fuzz"


def pattern(mode, w, h):
    img = Image.new("RGB", (w, h))
    img.putdata([((x * 53 + y * 17) % 256, (x * 11 + y * 71) % 256, (x * y * 29) % 256)
                 for y in range(h) for x in range(w)])
    return img.convert(mode) if mode != "RGB" else img


def save(name, img, **kw):
    buf = io.BytesIO()
    img.save(buf, **kw)
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(buf.getvalue())


def main():
    os.makedirs(OUT, exist_ok=True)
    save("rgb-7x5.png", pattern("RGB", 7, 5), format="PNG")
    rgba = pattern("RGB", 6, 4).convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize((6, 4)))
    save("rgba-6x4.png", rgba, format="PNG")
    save("gray-9x3.png", pattern("L", 9, 3), format="PNG")
    save("gray16-5x5.png", pattern("L", 5, 5).convert("I").point(lambda v: v * 257).convert("I;16"), format="PNG")
    save("gray-alpha-4x4.png", pattern("LA", 4, 4), format="PNG")
    pal = pattern("RGB", 8, 3).convert("P", palette=Image.ADAPTIVE, colors=4)
    save("palette-trns-8x3.png", pal, format="PNG", transparency=0)
    save("bilevel-10x2.png", pattern("1", 10, 2), format="PNG")
    save("tall-1x40.png", pattern("RGB", 1, 40), format="PNG")
    save("rgb-16x12.jpg", pattern("RGB", 16, 12), format="JPEG", quality=90, subsampling=0)
    save("rgb-420-16x16.jpg", pattern("RGB", 16, 16), format="JPEG", quality=75, subsampling=2)
    save("progressive-16x8.jpg", pattern("RGB", 16, 8), format="JPEG", quality=80, progressive=True)
    save("gray-8x8.jpg", pattern("L", 8, 8), format="JPEG", quality=90)
    save("cmyk-8x8.jpg", pattern("CMYK", 8, 8), format="JPEG", quality=90)
    # YCCK: PIL writes CMYK JPEGs as Adobe transform 0; an Adobe YCCK (transform 2) file is not
    # something PIL writes, so the CMYK seed covers the 4-component path and the fuzzer the rest.


if __name__ == "__main__":
    main()
