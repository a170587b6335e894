#!/usr/bin/env python3
"""PyTorch oracle for Tessera's transformer: logits, loss, every gradient, and three AdamW steps.

Builds two 2-layer models from the same equations Tessera implements, written independently in
plain PyTorch (autograd does every backward):
  openlm: LayerNorm with bias, half-split RoPE, untied output, multi-head attention;
  llama:  RMSNorm, interleaved RoPE, grouped KV heads (4 query / 2 KV), tied embeddings.
Weights are random, stored under Tessera's parameter names. The reference runs in float64 and is
saved as float32. Then three optimizer steps of torch.optim.AdamW with warmup + cosine (LambdaLR),
weight decay on matrices only, and clip_grad_norm_; the schedule is torch's own LinearLR warmup
followed by CosineAnnealingLR (SequentialLR), which equals open_lm's cosine_lr. A separate single
AdamW step from the reference gradients isolates the optimizer from float32 noise in the gradients
(Adam's first step is ±lr·sign(g), so near-zero gradients amplify any rounding).

Usage: python3 scripts/reference/make_lm_fixture.py [OUT_DIR]   (default Tests/TesseraCoreTests/Fixtures)
"""
import json, math, os, sys
import torch
from safetensors.torch import save_file

torch.manual_seed(0)
DT = torch.float64

CONFIGS = {
    "openlm": dict(d=48, layers=2, heads=4, kv_heads=4, vocab=61, ffn=140, norm="layernorm",
                   eps=1e-5, rope="half", theta=10000.0, tied=False),
    "llama": dict(d=48, layers=2, heads=4, kv_heads=2, vocab=61, ffn=72, norm="rmsnorm",
                  eps=1e-5, rope="interleaved", theta=500.0, tied=True),
}
B, T = 2, 17
IGNORE = 60  # a "pad" id: targets equal to it are not counted
OPT = dict(lr=1e-2, min_lr=1e-3, warmup=2, total=5, wd=0.1, beta1=0.9, beta2=0.95, eps=1e-8, clip=0.5, steps=3)


def param_shapes(c):
    d, h, hd = c["d"], c["ffn"], c["d"] // c["heads"]
    qkv = (c["heads"] + 2 * c["kv_heads"]) * hd
    s = [("tok_embeddings.weight", (c["vocab"], d))]
    for i in range(c["layers"]):
        p = f"layers.{i}."
        s.append((p + "attention_norm.weight", (d,)))
        if c["norm"] == "layernorm":
            s.append((p + "attention_norm.bias", (d,)))
        s += [(p + "attention.in_proj.weight", (qkv, d)), (p + "attention.out_proj.weight", (d, d)),
              (p + "ffn_norm.weight", (d,))]
        if c["norm"] == "layernorm":
            s.append((p + "ffn_norm.bias", (d,)))
        s += [(p + "feed_forward.w12.weight", (2 * h, d)), (p + "feed_forward.w3.weight", (d, h))]
    s.append(("norm.weight", (d,)))
    if c["norm"] == "layernorm":
        s.append(("norm.bias", (d,)))
    if not c["tied"]:
        s.append(("output.weight", (c["vocab"], d)))
    return s


def norm(c, P, prefix, x):
    w = P[prefix + ".weight"]
    if c["norm"] == "rmsnorm":
        return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + c["eps"]) * w
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + c["eps"]) * w + P[prefix + ".bias"]


def rope(c, x):  # x [B, T, H, hd]
    if c["rope"] == "none":
        return x
    hd = x.shape[-1]
    inv = 1.0 / (c["theta"] ** (torch.arange(0, hd, 2, dtype=DT) / hd))
    ang = torch.arange(x.shape[1], dtype=DT)[:, None] * inv[None, :]  # [T, hd/2]
    cos, sin = torch.cos(ang)[None, :, None, :], torch.sin(ang)[None, :, None, :]
    if c["rope"] == "half":
        x1, x2 = x[..., : hd // 2], x[..., hd // 2:]
        return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], -1)
    x1, x2 = x[..., 0::2], x[..., 1::2]
    out = torch.empty_like(x)
    out[..., 0::2] = x1 * cos - x2 * sin
    out[..., 1::2] = x2 * cos + x1 * sin
    return out


def forward(c, P, tokens):
    d, H, Hkv = c["d"], c["heads"], c["kv_heads"]
    hd = d // H
    x = P["tok_embeddings.weight"][tokens]
    mask = torch.full((T, T), float("-inf"), dtype=DT).triu(1)
    for i in range(c["layers"]):
        p = f"layers.{i}."
        a = norm(c, P, p + "attention_norm", x)
        qkv = a @ P[p + "attention.in_proj.weight"].T
        q = qkv[..., : H * hd].view(B, T, H, hd)
        k = qkv[..., H * hd: (H + Hkv) * hd].view(B, T, Hkv, hd)
        v = qkv[..., (H + Hkv) * hd:].view(B, T, Hkv, hd)
        q, k = rope(c, q), rope(c, k)
        rep = H // Hkv
        k = k.repeat_interleave(rep, dim=2)
        v = v.repeat_interleave(rep, dim=2)
        s = torch.einsum("bthd,bshd->bhts", q, k) / math.sqrt(hd) + mask
        o = torch.einsum("bhts,bshd->bthd", torch.softmax(s, -1), v).reshape(B, T, H * hd)
        x = x + o @ P[p + "attention.out_proj.weight"].T
        f = norm(c, P, p + "ffn_norm", x)
        gu = f @ P[p + "feed_forward.w12.weight"].T
        g, u = gu[..., : c["ffn"]], gu[..., c["ffn"]:]
        x = x + (torch.nn.functional.silu(g) * u) @ P[p + "feed_forward.w3.weight"].T
    x = norm(c, P, "norm", x)
    w_out = P["tok_embeddings.weight"] if c["tied"] else P["output.weight"]
    return x @ w_out.T


def make_schedule(opt):
    o = OPT
    warm = torch.optim.lr_scheduler.LinearLR(opt, start_factor=1.0 / o["warmup"], end_factor=1.0,
                                             total_iters=o["warmup"] - 1)
    cos = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=o["total"] - o["warmup"], eta_min=o["min_lr"])
    return torch.optim.lr_scheduler.SequentialLR(opt, [warm, cos], milestones=[o["warmup"]])


def schedule_lrs():
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.AdamW([p], lr=OPT["lr"])
    sched = make_schedule(opt)
    lrs = []
    for _ in range(OPT["total"] + 1):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return lrs


def adamw(named, grads, steps_lr):
    decay = [t for n, t in named.items() if not n.endswith("norm.weight") and not n.endswith("norm.bias")]
    no_decay = [t for n, t in named.items() if n.endswith("norm.weight") or n.endswith("norm.bias")]
    return torch.optim.AdamW([{"params": decay, "weight_decay": OPT["wd"]}, {"params": no_decay, "weight_decay": 0.0}],
                             lr=steps_lr, betas=(OPT["beta1"], OPT["beta2"]), eps=OPT["eps"])


def make(name, c, out_dir):
    P = {}
    for n, shape in param_shapes(c):
        if n.endswith("norm.weight"):
            t = 1.0 + 0.1 * torch.randn(shape, dtype=DT)
        elif n.endswith("norm.bias"):
            t = 0.1 * torch.randn(shape, dtype=DT)
        else:
            t = torch.randn(shape, dtype=DT) / math.sqrt(shape[-1])
        P[n] = t.requires_grad_(True)
    tokens = torch.randint(0, c["vocab"] - 1, (B, T + 1))
    inputs, targets = tokens[:, :-1], tokens[:, 1:].clone()
    targets[0, -3:] = IGNORE  # trailing pads, as a padded caption-image sequence has
    targets[1, 5] = IGNORE
    init = {n: t.detach().clone() for n, t in P.items()}

    logits = forward(c, P, inputs)
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, c["vocab"]), targets.reshape(-1), ignore_index=IGNORE)
    loss.backward()
    tensors = {n: t.float().contiguous() for n, t in init.items()}
    tensors["inputs"] = inputs.to(torch.int32).contiguous()
    tensors["targets"] = targets.to(torch.int32).contiguous()
    tensors["logits"] = logits.detach().reshape(B * T, c["vocab"]).float().contiguous()
    tensors["loss"] = loss.detach().reshape(1).float()
    for n, t in P.items():
        tensors["grad." + n] = t.grad.float().contiguous()

    # One AdamW step (with clipping) from the reference gradients, float32 inputs as Tessera sees them.
    P1 = {n: t.float().double().clone().requires_grad_(True) for n, t in init.items()}
    for n, t in P1.items():
        t.grad = P[n].grad.float().double().clone()
    tensors["step1_grad_norm"] = torch.nn.utils.clip_grad_norm_(list(P1.values()), OPT["clip"]).reshape(1).float()
    opt1 = adamw(P1, None, OPT["lr"])
    sched1 = make_schedule(opt1)
    tensors["step1_lr"] = torch.tensor([opt1.param_groups[0]["lr"]], dtype=torch.float32)
    opt1.step()
    for n, t in P1.items():
        tensors["step1." + n] = t.detach().float().contiguous()
    tensors["schedule_lrs"] = torch.tensor(schedule_lrs(), dtype=torch.float64)

    # Three training steps: AdamW + warmup/cosine + global-norm clipping, from the initial weights.
    P2 = {n: t.clone().requires_grad_(True) for n, t in init.items()}
    opt = adamw(P2, None, OPT["lr"])
    sched = make_schedule(opt)
    losses, norms, lrs = [], [], []
    for step in range(OPT["steps"]):
        opt.zero_grad()
        lg = forward(c, P2, inputs)
        l = torch.nn.functional.cross_entropy(lg.reshape(-1, c["vocab"]), targets.reshape(-1), ignore_index=IGNORE)
        l.backward()
        gn = torch.nn.utils.clip_grad_norm_(list(P2.values()), OPT["clip"])
        losses.append(l.item()); norms.append(gn.item()); lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    for n, t in P2.items():
        tensors["adamw." + n] = t.detach().float().contiguous()
    tensors["adamw_losses"] = torch.tensor(losses, dtype=torch.float32)
    tensors["adamw_grad_norms"] = torch.tensor(norms, dtype=torch.float32)
    tensors["adamw_lrs"] = torch.tensor(lrs, dtype=torch.float32)

    meta = {"config": json.dumps(c), "optimizer": json.dumps(OPT), "batch": str(B), "seq_len": str(T),
            "ignore_index": str(IGNORE), "torch": torch.__version__}
    path = os.path.join(out_dir, f"lm_{name}.safetensors")
    save_file(tensors, path, metadata=meta)
    print(f"{path}: loss {loss.item():.6f}, adamw losses {[round(x, 6) for x in losses]}")


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else "Tests/TesseraCoreTests/Fixtures"
    os.makedirs(out, exist_ok=True)
    for name, c in CONFIGS.items():
        make(name, c, out)
