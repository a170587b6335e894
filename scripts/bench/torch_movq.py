#!/usr/bin/env python3
"""PyTorch side of `tessera bench vq`: the same MoVQ network (the MoVQGAN modules rebuilt in
scripts/reference/make_movq_fixture.py) at a task: vq config's shape, random images in [-1, 1];
median images/s of encode (encoder + quant_conv + nearest code), decode (post_quant_conv +
decoder) and a training pass (forward + backward of L2 + VQ loss), fp32 or, with --bf16, under
torch.autocast("cpu", dtype=torch.bfloat16) (convolutions and matmuls in bf16, fp32 weights),
torch.set_num_threads. Prints one JSON line.
Usage: scripts/bench/torch_movq.py CONFIG.yaml [--batch B] [--repeats N] [--threads T] [--bf16]
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

import torch
import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
from make_movq_fixture import MOVQ  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("config")
ap.add_argument("--batch", type=int)
ap.add_argument("--repeats", type=int, default=5)
ap.add_argument("--threads", type=int)
ap.add_argument("--bf16", action="store_true")
a = ap.parse_args()
c = yaml.safe_load(open(a.config))
m = c.get("model", {})
cfg = dict(resolution=m.get("resolution", 64), in_channels=3, out_ch=3, ch=m.get("ch", 32), ch_mult=m.get("ch_mult", [1, 2, 2]),
           num_res_blocks=m.get("num_res_blocks", 1), attn_resolutions=m.get("attn_resolutions", [16]),
           z_channels=m.get("z_channels", 4), embed_dim=m.get("embed_dim", 4), n_embed=m.get("n_embed", 1024),
           norm_groups=m.get("norm_groups", 32), beta=m.get("beta", 0.25))
threads = a.threads or c.get("threads", 2)
batch = a.batch or c.get("optim", {}).get("batch", 16)
torch.set_num_threads(threads)
torch.manual_seed(0)
model = MOVQ(cfg)
x = torch.rand(batch, 3, cfg["resolution"], cfg["resolution"]) * 2 - 1


def median(fn):
    if a.bf16:
        inner = fn

        def fn():
            with torch.autocast("cpu", dtype=torch.bfloat16):
                return inner()
    fn()
    ts = []
    for _ in range(a.repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def encode():
    with torch.no_grad():
        return model.quantize(model.quant_conv(model.encoder(x)))


quant = encode()[0].float()


def decode():
    with torch.no_grad():
        model.decoder(model.post_quant_conv(quant), quant)


def train():
    model.zero_grad(set_to_none=False)
    recon, vq, _, _ = model(x)
    (torch.mean((x - recon) ** 2) + vq).backward()


enc, dec, tr = median(encode), median(decode), median(train)
print(json.dumps({"impl": "torch " + torch.__version__ + (" bf16" if a.bf16 else ""), "config": a.config, "threads": threads, "batch": batch,
                  "parameters": sum(p.numel() for p in model.parameters()),
                  "encode_images_per_s": round(batch / enc, 1), "decode_images_per_s": round(batch / dec, 1),
                  "train_images_per_s": round(batch / tr, 1),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))
