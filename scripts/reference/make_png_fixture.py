#!/usr/bin/env python3
"""Pillow as the oracle for Tessera's PNG reader: writes Tests/TesseraCoreTests/Fixtures/png/ with
the same random image saved as grey, grey+alpha, RGB, RGBA, palette and 16-bit RGB PNGs, and
expected.safetensors holding each one's RGB bytes as Pillow decodes it, alpha composited over white
(round((v·a + 255·(255 − a)) / 255)).
Usage: scripts/reference/make_png_fixture.py
"""
import os, subprocess, sys
try:
    import numpy as np
    from PIL import Image
    from safetensors.numpy import save_file
except ImportError:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "pillow", "numpy", "safetensors"], check=True)
    import numpy as np
    from PIL import Image
    from safetensors.numpy import save_file

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "Tests/TesseraCoreTests/Fixtures/png")
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(0)
H, W = 13, 17
rgba = rng.integers(0, 256, size=(H, W, 4), dtype=np.uint8)
expected = {}


def over_white(a):
    rgb, alpha = a[..., :3].astype(np.int64), a[..., 3:4].astype(np.int64)
    return np.floor((rgb * alpha + 255 * (255 - alpha)) / 255 + 0.5).astype(np.int32)


def save(name, img):
    img.save(os.path.join(OUT, name + ".png"))
    back = Image.open(os.path.join(OUT, name + ".png")).convert("RGBA")
    expected[name] = over_white(np.asarray(back)).reshape(-1)


save("rgb", Image.fromarray(rgba[..., :3], "RGB"))
save("rgba", Image.fromarray(rgba, "RGBA"))
save("grey", Image.fromarray(rgba[..., 0], "L"))
save("grey_alpha", Image.fromarray(rgba[..., :2], "LA"))
save("palette", Image.fromarray(rgba[..., :3], "RGB").quantize(colors=37))
# 16-bit grey: the 8-bit value v stored as v·257, so its 8-bit reading is exactly v (Pillow's own
# I;16 → RGBA conversion clamps instead of scaling, so the expectation comes from the source).
Image.fromarray(rgba[..., 0].astype(np.uint16) * 257).save(os.path.join(OUT, "grey16.png"))
expected["grey16"] = np.repeat(rgba[..., 0:1].astype(np.int32), 3, axis=2).reshape(-1)
save_file(expected, os.path.join(OUT, "expected.safetensors"), metadata={"size": f"{W}x{H}"})
print("wrote", sorted(expected))
