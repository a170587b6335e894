#!/usr/bin/env python3
"""PyTorch oracle for Tessera's MoVQ image tokenizer.

Rebuilds SBER-MoVQGAN's modules (Encoder from vqvae_blocks.py, MOVQDecoder/SpatialNorm from
movq_modules.py, VectorQuantizer2 with legacy beta, the MOVQ wrapper) as plain PyTorch, at a tiny
shape with configurable GroupNorm groups, so the state-dict names are theirs. Random weights, a
random batch of images; saves
  movq_weights.safetensors  every parameter under MoVQGAN's name
  movq_outputs.safetensors  x, reconstruction, z (pre-quant), indices, vq_loss, loss and
                            grad.<name> for every parameter, for
                            loss = mean((x − x̂)²) + L_vq   (MoVQGAN's pixel L2 + codebook_weight·L_vq)
All in float64, stored as float32.
Usage: scripts/reference/make_movq_fixture.py
"""
import json
import os

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

CFG = dict(resolution=16, in_channels=3, out_ch=3, ch=8, ch_mult=[1, 2, 2], num_res_blocks=1,
           attn_resolutions=[4], z_channels=4, embed_dim=4, n_embed=24, norm_groups=4, beta=0.25)


def swish(x):
    return x * torch.sigmoid(x)


def GN(c, groups):
    return nn.GroupNorm(num_groups=groups, num_channels=c, eps=1e-6, affine=True)


class SpatialNorm(nn.Module):
    def __init__(self, c, zq_c, groups):
        super().__init__()
        self.norm_layer = GN(c, groups)
        self.conv_y = nn.Conv2d(zq_c, c, 1)
        self.conv_b = nn.Conv2d(zq_c, c, 1)

    def forward(self, f, zq):
        zq = F.interpolate(zq, size=f.shape[-2:], mode="nearest")
        return self.norm_layer(f) * self.conv_y(zq) + self.conv_b(zq)


def Norm(c, zq_c, groups):
    return GN(c, groups) if zq_c is None else SpatialNorm(c, zq_c, groups)


def norm_call(n, h, zq):
    return n(h) if zq is None else n(h, zq)


class ResnetBlock(nn.Module):
    def __init__(self, cin, cout, groups, zq_c=None):
        super().__init__()
        self.norm1 = Norm(cin, zq_c, groups)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.norm2 = Norm(cout, zq_c, groups)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        if cin != cout:
            self.nin_shortcut = nn.Conv2d(cin, cout, 1)
        self.cin, self.cout = cin, cout

    def forward(self, x, zq=None):
        h = self.conv1(swish(norm_call(self.norm1, x, zq)))
        h = self.conv2(swish(norm_call(self.norm2, h, zq)))
        if self.cin != self.cout:
            x = self.nin_shortcut(x)
        return x + h


class AttnBlock(nn.Module):
    def __init__(self, c, groups, zq_c=None):
        super().__init__()
        self.norm = Norm(c, zq_c, groups)
        self.q, self.k, self.v, self.proj_out = (nn.Conv2d(c, c, 1) for _ in range(4))

    def forward(self, x, zq=None):
        h = norm_call(self.norm, x, zq)
        q, k, v = self.q(h), self.k(h), self.v(h)
        b, c, hh, ww = q.shape
        q = q.reshape(b, c, hh * ww).permute(0, 2, 1)
        k = k.reshape(b, c, hh * ww)
        w_ = torch.softmax(torch.bmm(q, k) * (int(c) ** -0.5), dim=2)
        v = v.reshape(b, c, hh * ww)
        h = torch.bmm(v, w_.permute(0, 2, 1)).reshape(b, c, hh, ww)
        return x + self.proj_out(h)


class Downsample(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, stride=2, padding=0)

    def forward(self, x):
        return self.conv(F.pad(x, (0, 1, 0, 1), mode="constant", value=0))


class Upsample(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class Encoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        g, ch, mult = c["norm_groups"], c["ch"], c["ch_mult"]
        self.conv_in = nn.Conv2d(c["in_channels"], ch, 3, padding=1)
        res, in_mult = c["resolution"], (1,) + tuple(mult)
        self.down = nn.ModuleList()
        for i in range(len(mult)):
            block, attn = nn.ModuleList(), nn.ModuleList()
            bi, bo = ch * in_mult[i], ch * mult[i]
            for _ in range(c["num_res_blocks"]):
                block.append(ResnetBlock(bi, bo, g))
                bi = bo
                if res in c["attn_resolutions"]:
                    attn.append(AttnBlock(bi, g))
            d = nn.Module()
            d.block, d.attn = block, attn
            if i != len(mult) - 1:
                d.downsample = Downsample(bi)
                res //= 2
            self.down.append(d)
        self.mid = nn.Module()
        self.mid.block_1, self.mid.attn_1, self.mid.block_2 = ResnetBlock(bi, bi, g), AttnBlock(bi, g), ResnetBlock(bi, bi, g)
        self.norm_out = GN(bi, g)
        self.conv_out = nn.Conv2d(bi, c["z_channels"], 3, padding=1)
        self.n = len(mult)

    def forward(self, x):
        h = self.conv_in(x)
        for i, d in enumerate(self.down):
            for j, b in enumerate(d.block):
                h = b(h)
                if len(d.attn) > 0:
                    h = d.attn[j](h)
            if i != self.n - 1:
                h = d.downsample(h)
        h = self.mid.block_2(self.mid.attn_1(self.mid.block_1(h)))
        return self.conv_out(swish(self.norm_out(h)))


class MOVQDecoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        g, ch, mult, e = c["norm_groups"], c["ch"], c["ch_mult"], c["embed_dim"]
        n = len(mult)
        bi = ch * mult[-1]
        res = c["resolution"] // 2 ** (n - 1)
        self.conv_in = nn.Conv2d(c["z_channels"], bi, 3, padding=1)
        self.mid = nn.Module()
        self.mid.block_1, self.mid.attn_1, self.mid.block_2 = ResnetBlock(bi, bi, g, e), AttnBlock(bi, g, e), ResnetBlock(bi, bi, g, e)
        self.up = nn.ModuleList()
        for i in reversed(range(n)):
            block, attn = nn.ModuleList(), nn.ModuleList()
            bo = ch * mult[i]
            for _ in range(c["num_res_blocks"] + 1):
                block.append(ResnetBlock(bi, bo, g, e))
                bi = bo
                if res in c["attn_resolutions"]:
                    attn.append(AttnBlock(bi, g, e))
            u = nn.Module()
            u.block, u.attn = block, attn
            if i != 0:
                u.upsample = Upsample(bi)
                res *= 2
            self.up.insert(0, u)
        self.norm_out = SpatialNorm(bi, e, g)
        self.conv_out = nn.Conv2d(bi, c["out_ch"], 3, padding=1)
        self.n = n

    def forward(self, z, zq):
        h = self.conv_in(z)
        h = self.mid.block_2(self.mid.attn_1(self.mid.block_1(h, zq), zq), zq)
        for i in reversed(range(self.n)):
            u = self.up[i]
            for j, b in enumerate(u.block):
                h = b(h, zq)
                if len(u.attn) > 0:
                    h = u.attn[j](h, zq)
            if i != 0:
                h = u.upsample(h)
        return self.conv_out(swish(self.norm_out(h, zq)))


class VectorQuantizer2(nn.Module):
    """legacy=True: loss = mean((sg[zq] − z)²) + β·mean((zq − sg[z])²)."""

    def __init__(self, n_e, e_dim, beta):
        super().__init__()
        self.n_e, self.e_dim, self.beta = n_e, e_dim, beta
        self.embedding = nn.Embedding(n_e, e_dim)

    def forward(self, z):
        z = z.permute(0, 2, 3, 1).contiguous()
        zf = z.view(-1, self.e_dim)
        d = (zf ** 2).sum(1, keepdim=True) + (self.embedding.weight ** 2).sum(1) - 2 * zf @ self.embedding.weight.t()
        idx = torch.argmin(d, dim=1)
        zq = self.embedding(idx).view(z.shape)
        loss = torch.mean((zq.detach() - z) ** 2) + self.beta * torch.mean((zq - z.detach()) ** 2)
        zq = z + (zq - z).detach()
        return zq.permute(0, 3, 1, 2).contiguous(), loss, idx


class MOVQ(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.encoder = Encoder(c)
        self.decoder = MOVQDecoder(c)
        self.quantize = VectorQuantizer2(c["n_embed"], c["embed_dim"], c["beta"])
        self.quant_conv = nn.Conv2d(c["z_channels"], c["embed_dim"], 1)
        self.post_quant_conv = nn.Conv2d(c["embed_dim"], c["z_channels"], 1)

    def forward(self, x):
        z = self.quant_conv(self.encoder(x))
        quant, vq_loss, idx = self.quantize(z)
        return self.decoder(self.post_quant_conv(quant), quant), vq_loss, idx, z


def main():
    torch.manual_seed(0)
    model = MOVQ(CFG).double()
    with torch.no_grad():
        # Make the biases and norm affines non-trivial, and spread the codebook over the range of z
        # so each nearest code is decided by a clear margin (no argmin near-ties between float orders).
        for name, p in model.named_parameters():
            if name.endswith(".bias") or "norm" in name:
                p.add_(0.1 * torch.randn_like(p))
    x = torch.rand(2, 3, CFG["resolution"], CFG["resolution"], dtype=torch.float64) * 2 - 1
    with torch.no_grad():
        z = model.quant_conv(model.encoder(x)).permute(0, 2, 3, 1).reshape(-1, CFG["embed_dim"])
        pick = torch.randperm(z.shape[0])[: CFG["n_embed"]]
        model.quantize.embedding.weight.copy_(z[pick] + 0.05 * torch.randn(CFG["n_embed"], CFG["embed_dim"], dtype=torch.float64))
    recon, vq_loss, idx, z = model(x)
    loss = torch.mean((x - recon) ** 2) + vq_loss
    loss.backward()
    # Margin between the best and second-best code for every row: a fixture with a near-tie would
    # test float summation order rather than the model.
    zf = z.detach().permute(0, 2, 3, 1).reshape(-1, CFG["embed_dim"])
    d = torch.cdist(zf, model.quantize.embedding.weight.detach()) ** 2
    top2 = d.topk(2, largest=False).values
    margin = (top2[:, 1] - top2[:, 0]).min().item()
    assert margin > 1e-4, f"argmin margin {margin} too small; pick another seed"

    here = os.path.dirname(os.path.abspath(__file__))
    fixtures = os.path.join(here, "..", "..", "Tests/TesseraCoreTests/Fixtures")
    weights = {k: v.detach().float().contiguous() for k, v in model.state_dict().items()}
    save_file(weights, os.path.join(fixtures, "movq_weights.safetensors"), metadata={"config": json.dumps(CFG)})
    out = {"x": x, "recon": recon.detach(), "z": z.detach(), "indices": idx.to(torch.int32),
           "vq_loss": vq_loss.detach().reshape(1), "loss": loss.detach().reshape(1)}
    for name, p in model.named_parameters():
        out["grad." + name] = p.grad
    save_file({k: (v.float() if v.is_floating_point() else v).contiguous() for k, v in out.items()},
              os.path.join(fixtures, "movq_outputs.safetensors"))
    print(f"{sum(p.numel() for p in model.parameters())} parameters, loss {loss.item():.6f}, margin {margin:.2e}")


if __name__ == "__main__":
    main()
