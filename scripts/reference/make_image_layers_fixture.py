#!/usr/bin/env python3
"""PyTorch oracle for Tessera's image layers: conv2d (3×3 stride 1 pad 1; 4×4 stride 2 pad 1) and
group_norm (2 groups, eps 1e-6), forward outputs and autograd gradients of sum(y · r), in float64,
saved as float32 to Tests/TesseraCoreTests/Fixtures/image_layers.safetensors.
Usage: scripts/reference/make_image_layers_fixture.py
"""
import os
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

torch.manual_seed(0)
DT = torch.float64
out = {}
x = torch.randn(2, 3, 7, 6, dtype=DT, requires_grad=True)
for name, (k, s, p) in {"conv_k3s1p1": (3, 1, 1), "conv_k4s2p1": (4, 2, 1)}.items():
    w = (torch.randn(4, 3, k, k, dtype=DT) * 0.3).requires_grad_(True)
    b = torch.randn(4, dtype=DT, requires_grad=True)
    y = F.conv2d(x, w, b, stride=s, padding=p)
    r = torch.randn_like(y)
    (y * r).sum().backward()
    out.update({f"{name}.x": x.detach(), f"{name}.w": w.detach(), f"{name}.b": b.detach(), f"{name}.y": y.detach(),
                f"{name}.r": r, f"{name}.dx": x.grad.clone(), f"{name}.dw": w.grad, f"{name}.db": b.grad})
    x.grad = None
g = torch.randn(2, 6, 5, 4, dtype=DT, requires_grad=True)
gw = (1 + 0.2 * torch.randn(6, dtype=DT)).requires_grad_(True)
gb = (0.2 * torch.randn(6, dtype=DT)).requires_grad_(True)
y = F.group_norm(g, 2, gw, gb, eps=1e-6)
r = torch.randn_like(y)
(y * r).sum().backward()
out.update({"gn.x": g.detach(), "gn.w": gw.detach(), "gn.b": gb.detach(), "gn.y": y.detach(), "gn.r": r,
            "gn.dx": g.grad, "gn.dw": gw.grad, "gn.db": gb.grad})
path = os.path.join(os.path.dirname(__file__), "..", "..", "Tests/TesseraCoreTests/Fixtures/image_layers.safetensors")
save_file({k: v.float().contiguous() for k, v in out.items()}, path)
print("wrote", path)
