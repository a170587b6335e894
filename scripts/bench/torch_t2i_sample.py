#!/usr/bin/env python3
"""Greedy image-code sampling with a KV cache in PyTorch on a Tessera text-to-image checkpoint, for
side-by-side timing with `tessera bench sample` (scripts/bench/compare-sample.sh runs both).

Reads config.json + model.safetensors of the checkpoint, builds the same decoder written
independently here (LayerNorm or RMSNorm, half or interleaved RoPE, fused qkv, grouped KV heads,
SwiGLU, tied or untied output) and, after the prompt, draws each code as the argmax over the code
rows only (as Tessera does: the other output rows are never computed). Prints one JSON line.
Usage: torch_t2i_sample.py CHECKPOINT --prompt IDS(comma-separated) --lo L --hi H --codes N [--threads N] [--repeats R]
"""
import argparse, json, math, os, resource, time
import torch
from safetensors.torch import load_file


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint"); ap.add_argument("--prompt", required=True)
    ap.add_argument("--lo", type=int, required=True); ap.add_argument("--hi", type=int, required=True)
    ap.add_argument("--codes", type=int, required=True)
    ap.add_argument("--threads", type=int, default=2); ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    c = json.load(open(os.path.join(a.checkpoint, "config.json")))["model"]
    W = load_file(os.path.join(a.checkpoint, "model.safetensors"))
    d, L, H, KV = c["d_model"], c["n_layers"], c["n_heads"], c["n_kv_heads"]
    hd, ffn, eps = d // H, c["ffn_hidden"], c["norm_eps"]
    out_rows = (W["tok_embeddings.weight"] if c["tie_embeddings"] else W["output.weight"])[a.lo:a.hi].contiguous()
    prompt = [int(t) for t in a.prompt.split(",")]
    maxlen = len(prompt) + a.codes
    inv = 1.0 / c["rope_theta"] ** (torch.arange(0, hd, 2).float() / hd)
    ang = torch.arange(maxlen).float()[:, None] * inv[None, :]
    cos, sin = ang.cos(), ang.sin()

    def norm(x, p):
        w = W[p + ".weight"]
        if c["norm"] == "rmsnorm":
            return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps) * w
        return torch.nn.functional.layer_norm(x, (d,), w, W[p + ".bias"], eps)

    def rope(x, p):  # [heads, hd]
        co, si = cos[p], sin[p]
        if c["rope"] == "none":
            return x
        if c["rope"] == "half":
            x1, x2 = x[:, : hd // 2], x[:, hd // 2:]
            return torch.cat([x1 * co - x2 * si, x2 * co + x1 * si], -1)
        y = x.clone()
        y[:, 0::2] = x[:, 0::2] * co - x[:, 1::2] * si
        y[:, 1::2] = x[:, 1::2] * co + x[:, 0::2] * si
        return y

    kc = [torch.zeros(maxlen, KV, hd) for _ in range(L)]
    vc = [torch.zeros(maxlen, KV, hd) for _ in range(L)]

    @torch.inference_mode()
    def step(tok, p):
        x = W["tok_embeddings.weight"][tok]
        for i in range(L):
            b = f"layers.{i}."
            qkv = W[b + "attention.in_proj.weight"] @ norm(x, b + "attention_norm")
            q = rope(qkv[: H * hd].view(H, hd), p)
            kc[i][p] = rope(qkv[H * hd: (H + KV) * hd].view(KV, hd), p)
            vc[i][p] = qkv[(H + KV) * hd:].view(KV, hd)
            k = kc[i][: p + 1].repeat_interleave(H // KV, dim=1)
            v = vc[i][: p + 1].repeat_interleave(H // KV, dim=1)
            s = torch.einsum("hd,thd->ht", q, k) / math.sqrt(hd)
            o = torch.einsum("ht,thd->hd", torch.softmax(s, -1), v).reshape(H * hd)
            x = x + W[b + "attention.out_proj.weight"] @ o
            gu = W[b + "feed_forward.w12.weight"] @ norm(x, b + "ffn_norm")
            x = x + W[b + "feed_forward.w3.weight"] @ (torch.nn.functional.silu(gu[:ffn]) * gu[ffn:])
        return out_rows @ norm(x, "norm")

    times, codes = [], []
    for _ in range(a.repeats + 1):   # the first image is a warm-up
        for p, t in enumerate(prompt):
            logits = step(t, p)
        t0 = time.perf_counter()
        codes = []
        for i in range(a.codes):
            nxt = int(logits.argmax())
            codes.append(nxt)
            if i + 1 < a.codes:
                logits = step(a.lo + nxt, len(prompt) + i)
        times.append(time.perf_counter() - t0)
    med = sorted(times[1:])[a.repeats // 2]
    print(json.dumps({"who": f"torch {torch.__version__}", "threads": a.threads, "codes": a.codes,
                      "codes_per_s": round(a.codes / med, 1), "ms_per_code": round(med / a.codes * 1e3, 2),
                      "first_codes": codes[:16],
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))


if __name__ == "__main__":
    main()
