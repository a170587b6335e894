#!/usr/bin/env python3
"""The same model and AdamW step as `tessera bench train`, in PyTorch, for side-by-side timing.

Reads a Tessera YAML config (model, data.seq_len, optim.micro_batch/lr/weight_decay/grad_clip):
pre-norm decoder-only transformer, RMSNorm or LayerNorm, half-split RoPE, SwiGLU, untied or tied
output, causal SDPA attention, fp32 (or, with --bf16, bf16 autocast: torch.autocast("cpu",
dtype=torch.bfloat16) around forward and loss, fp32 master weights and AdamW), random tokens; one optimizer step = forward, cross-entropy,
backward, clip_grad_norm_, AdamW. Prints one JSON line with the same keys as
`tessera bench train --json` (tokens_per_s, gflops, step_ms, peak_rss_mb).

Usage: scripts/bench/torch_train.py CONFIG.yaml [--steps N] [--warmup N] [--threads N] [--bf16]
"""
import argparse, ctypes, json, math, resource, time
import torch
import torch.nn.functional as F
import yaml


class Block(torch.nn.Module):
    def __init__(self, d, heads, kv_heads, hidden, norm, eps):
        super().__init__()
        self.heads, self.kv_heads, self.hd = heads, kv_heads, d // heads
        mk = (lambda: torch.nn.RMSNorm(d, eps=eps)) if norm == "rmsnorm" else (lambda: torch.nn.LayerNorm(d, eps=eps, bias=norm == "layernorm"))
        self.attention_norm, self.ffn_norm = mk(), mk()
        self.in_proj = torch.nn.Linear(d, (heads + 2 * kv_heads) * self.hd, bias=False)
        self.out_proj = torch.nn.Linear(heads * self.hd, d, bias=False)
        self.w12 = torch.nn.Linear(d, 2 * hidden, bias=False)
        self.w3 = torch.nn.Linear(hidden, d, bias=False)

    def forward(self, x, cos, sin):
        B, T, _ = x.shape
        qkv = self.in_proj(self.attention_norm(x))
        q, k, v = qkv.split([self.heads * self.hd, self.kv_heads * self.hd, self.kv_heads * self.hd], -1)
        q = q.view(B, T, self.heads, self.hd).transpose(1, 2)
        k = k.view(B, T, self.kv_heads, self.hd).transpose(1, 2)
        v = v.view(B, T, self.kv_heads, self.hd).transpose(1, 2)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        o = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=self.heads != self.kv_heads)
        x = x + self.out_proj(o.transpose(1, 2).reshape(B, T, -1))
        g, u = self.w12(self.ffn_norm(x)).chunk(2, -1)
        return x + self.w3(F.silu(g) * u)


def rope(x, cos, sin):
    h = x.shape[-1] // 2
    x1, x2 = x[..., :h], x[..., h:]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], -1)


class LM(torch.nn.Module):
    def __init__(self, m, seq):
        super().__init__()
        d, heads = m["d_model"], m["n_heads"]
        kv = m.get("n_kv_heads", heads)
        hidden = m.get("ffn_hidden") or 256 * math.ceil(int(8 * d / 3) / 256)
        norm = m.get("norm", "layernorm")
        eps = m.get("norm_eps", 1e-6 if norm == "rmsnorm" else 1e-5)
        self.tok = torch.nn.Embedding(m["vocab_size"], d)
        self.layers = torch.nn.ModuleList(Block(d, heads, kv, hidden, norm, eps) for _ in range(m["n_layers"]))
        self.norm = torch.nn.RMSNorm(d, eps=eps) if norm == "rmsnorm" else torch.nn.LayerNorm(d, eps=eps, bias=norm == "layernorm")
        self.tied = m.get("tie_embeddings", False)
        if not self.tied:
            self.output = torch.nn.Linear(d, m["vocab_size"], bias=False)
        hd = d // heads
        inv = 1.0 / (m.get("rope_theta", 10000.0) ** (torch.arange(0, hd, 2).float() / hd))
        ang = torch.arange(seq).float()[:, None] * inv[None, :]
        self.register_buffer("cos", ang.cos(), persistent=False)
        self.register_buffer("sin", ang.sin(), persistent=False)

    def forward(self, idx):
        x = self.tok(idx)
        for b in self.layers:
            x = b(x, self.cos, self.sin)
        x = self.norm(x)
        return x @ self.tok.weight.T if self.tied else self.output(x)


def flops_per_token(m, seq):
    d, L, heads = m["d_model"], m["n_layers"], m["n_heads"]
    kv = m.get("n_kv_heads", heads)
    hd = d // heads
    h = m.get("ffn_hidden") or 256 * math.ceil(int(8 * d / 3) / 256)
    per_layer = (heads + 2 * kv) * hd * d + d * heads * hd + 2 * h * d + d * h
    return 6 * (L * per_layer + m["vocab_size"] * d) + 12 * L * heads * hd * seq


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("config")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--bf16", action="store_true", help="bf16 autocast (PyTorch's mixed precision on CPU)")
    a = ap.parse_args()
    cfg = yaml.safe_load(open(a.config))
    m, seq = cfg["model"], cfg["data"]["seq_len"]
    o = cfg.get("optim", {})
    B = o.get("micro_batch", 8)
    threads = a.threads or cfg.get("threads", 2)
    torch.set_num_threads(threads)
    torch.manual_seed(cfg.get("seed", 1337))
    model = LM(m, seq)
    opt = torch.optim.AdamW(model.parameters(), lr=float(o.get("lr", 3e-4)), betas=(o.get("beta1", 0.9), o.get("beta2", 0.95)),
                            eps=float(o.get("eps", 1e-8)), weight_decay=o.get("weight_decay", 0.1))
    clip = o.get("grad_clip", 1.0)
    V = m["vocab_size"]
    times = []
    # The peak RSS counted from here, as `tessera bench train` counts it: model and optimizer made,
    # then the steps (Linux: "5" to clear_refs resets the high-water mark to the current RSS).
    scope = "steps"
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)  # freed heap back to the system first, as Tessera does
    except OSError:
        pass
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        scope = "process"
    for s in range(a.warmup + a.steps):
        x = torch.randint(0, V, (B, seq))
        y = torch.randint(0, V, (B, seq))
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.bf16):
            loss = F.cross_entropy(model(x).view(-1, V), y.view(-1))
        loss.backward()
        if clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        if s >= a.warmup:
            times.append(time.perf_counter() - t0)
    times.sort()
    med = times[len(times) // 2]
    tokens = B * seq
    print(json.dumps({
        "config": a.config, "framework": f"torch {torch.__version__}", "threads": threads,
        "precision": "bf16" if a.bf16 else "fp32",
        "parameters": sum(p.numel() for p in model.parameters()), "tokens_per_step": tokens,
        "tokens_per_s": round(tokens / med, 1), "step_ms": round(med * 1000, 1), "best_step_ms": round(times[0] * 1000, 1),
        "gflops": round(tokens * flops_per_token(m, seq) / med / 1e9, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024), "peak_rss_scope": scope,
    }))


if __name__ == "__main__":
    main()
