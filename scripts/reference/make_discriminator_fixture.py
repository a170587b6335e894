#!/usr/bin/env python3
"""PyTorch oracle for Tessera's PatchGAN discriminator: taming-transformers' NLayerDiscriminator
(BatchNorm, as MoVQGAN uses it) rebuilt, ndf 8, 2 layers, at 16×16; in training mode (batch
statistics). Saves weights under MoVQGAN's checkpoint names (loss.discriminator.main.*), the input,
the patch logits, the running statistics after the call, and the gradients of sum(logits · r) with
respect to every parameter and the input, to Tests/TesseraCoreTests/Fixtures/discriminator.safetensors.
Usage: scripts/reference/make_discriminator_fixture.py
"""
import os

import torch
import torch.nn as nn
from safetensors.torch import save_file


def nlayer_discriminator(input_nc=3, ndf=64, n_layers=3):
    seq = [nn.Conv2d(input_nc, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
    mult = 1
    for n in range(1, n_layers):
        prev, mult = mult, min(2 ** n, 8)
        seq += [nn.Conv2d(ndf * prev, ndf * mult, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * mult), nn.LeakyReLU(0.2, True)]
    prev, mult = mult, min(2 ** n_layers, 8)
    seq += [nn.Conv2d(ndf * prev, ndf * mult, 4, 1, 1, bias=False), nn.BatchNorm2d(ndf * mult), nn.LeakyReLU(0.2, True)]
    seq += [nn.Conv2d(ndf * mult, 1, 4, 1, 1)]
    m = nn.Module()
    m.main = nn.Sequential(*seq)
    return m


def main():
    torch.manual_seed(0)
    d = nlayer_discriminator(3, 8, 2).double()
    for mod in d.modules():  # taming's weights_init
        if isinstance(mod, nn.Conv2d):
            nn.init.normal_(mod.weight, 0.0, 0.02)
        elif isinstance(mod, nn.BatchNorm2d):
            nn.init.normal_(mod.weight, 1.0, 0.02)
            nn.init.constant_(mod.bias, 0)
    d.train()
    x = (torch.rand(3, 3, 16, 16, dtype=torch.float64) * 2 - 1).requires_grad_(True)
    weights = {"loss.discriminator." + k: v.clone() for k, v in d.state_dict().items() if "running" not in k and "num_batches" not in k}
    logits = d.main(x)
    r = torch.randn_like(logits)
    (logits * r).sum().backward()
    out = {"x": x.detach(), "logits": logits.detach(), "r": r, "grad.x": x.grad}
    out.update({k: v.detach() for k, v in weights.items()})
    for k, p in d.named_parameters():
        out["grad.loss.discriminator." + k] = p.grad
    for k, v in d.state_dict().items():
        if "running" in k:
            out["loss.discriminator." + k] = v
    path = os.path.join(os.path.dirname(__file__), "..", "..", "Tests/TesseraCoreTests/Fixtures/discriminator.safetensors")
    save_file({k: v.float().contiguous() for k, v in out.items()}, path)
    print("wrote", path, tuple(logits.shape))


if __name__ == "__main__":
    main()
