"""Fréchet distance fixture: two random feature sets and the distance pytorch-fid's formula gives
(numpy mean/cov, scipy.linalg.sqrtm), for Tests/TesseraCoreTests/ImageClassifierTests.swift.

    python3 scripts/reference/make_fid_fixture.py [OUT]   (default Tests/TesseraCoreTests/Fixtures/frechet.safetensors)
"""
import os, subprocess, sys
subprocess.run([sys.executable, "-m", "pip", "install", "-q", "numpy", "scipy", "safetensors"], check=True)
import numpy as np  # noqa: E402
from scipy import linalg  # noqa: E402
from safetensors.numpy import save_file  # noqa: E402

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "Tests/TesseraCoreTests/Fixtures/frechet.safetensors")
rng = np.random.default_rng(7)
d = 12
mix = rng.normal(size=(d, d))
a = (rng.normal(size=(80, d)) @ mix).astype(np.float32)
b = (rng.normal(size=(60, d)) @ (mix + 0.3 * rng.normal(size=(d, d))) + 0.5).astype(np.float32)


def frechet(x, y):  # pytorch-fid's calculate_frechet_distance
    mu1, mu2 = x.astype(np.float64).mean(0), y.astype(np.float64).mean(0)
    s1, s2 = np.cov(x.astype(np.float64), rowvar=False), np.cov(y.astype(np.float64), rowvar=False)
    covmean, _ = linalg.sqrtm(s1.dot(s2), disp=False)
    covmean = covmean.real
    diff = mu1 - mu2
    return diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean)


save_file({"a": a, "b": b, "distance": np.array([frechet(a, b)], dtype=np.float64),
           "self": np.array([frechet(a, a)], dtype=np.float64)}, out)
print("wrote", out, frechet(a, b))
