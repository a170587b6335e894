#!/usr/bin/env python3
"""Oracle for Tessera's image metrics: scikit-image's SSIM (gaussian_weights=True,
use_sample_covariance=False, data_range=255, channel_axis=0) and PSNR on CHW uint8 pairs of several
sizes (a clean image against a noisy, blurred or shifted copy). Writes
Tests/TesseraCoreTests/Fixtures/image_metrics.safetensors (images as int32, metrics as float64).
Usage: pip install scikit-image==0.26.0 && scripts/reference/make_ssim_fixture.py
"""
import os

import numpy as np
from safetensors.numpy import save_file
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

rng = np.random.default_rng(0)
out = {}
for i, side in enumerate([16, 28, 64, 11]):
    yy, xx = np.mgrid[0:side, 0:side]
    base = np.stack([(xx * 255 // side), (yy * 255 // side), ((xx + yy) * 127 // side)]).astype(np.float64)
    base += 40 * np.sin(xx / 2.0)[None]
    a = np.clip(base, 0, 255).astype(np.uint8)
    kind = i % 3
    if kind == 0:
        b = np.clip(a + rng.normal(0, 12, a.shape), 0, 255).astype(np.uint8)
    elif kind == 1:
        b = np.roll(a, 1, axis=2)
    else:
        b = np.clip(a * 0.8 + 30, 0, 255).astype(np.uint8)
    out[f"{i}.a"] = a.astype(np.int32)
    out[f"{i}.b"] = b.astype(np.int32)
    s = structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                              data_range=255, channel_axis=0) if side >= 7 else 1.0
    out[f"{i}.ssim"] = np.array([s], dtype=np.float64)
    out[f"{i}.psnr"] = np.array([peak_signal_noise_ratio(a, b, data_range=255)], dtype=np.float64)
path = os.path.join(os.path.dirname(__file__), "..", "..", "Tests/TesseraCoreTests/Fixtures/image_metrics.safetensors")
save_file(out, path)
print("wrote", path, {k: float(v[0]) for k, v in out.items() if k.endswith(("ssim", "psnr"))})
