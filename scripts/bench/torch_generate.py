#!/usr/bin/env python3
"""Greedy KV-cache generation in PyTorch on the same SmolLM2 weights, for side-by-side timing with
`tessera eval generate` on a checkpoint made by `tessera import`.

Reads the GGUF with gguf-py (dequantised to fp32, as Tessera imports it), builds a Llama decoder
(RMSNorm, interleaved RoPE, grouped KV heads, SwiGLU, tied output) and decodes token by token with
a KV cache. Prints one JSON line: prompt and generation tokens/s.
Usage: scripts/bench/torch_generate.py MODEL.gguf PROMPT_IDS(comma-separated) [--new N] [--threads N]
"""
import argparse, json, time
import gguf, numpy as np, torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("gguf"); ap.add_argument("prompt")
    ap.add_argument("--new", type=int, default=64); ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    r = gguf.GGUFReader(a.gguf)
    def meta(k):
        return r.fields[k].parts[-1][0].item()
    d, L = meta("llama.embedding_length"), meta("llama.block_count")
    H, KV = meta("llama.attention.head_count"), meta("llama.attention.head_count_kv")
    eps, theta = meta("llama.attention.layer_norm_rms_epsilon"), meta("llama.rope.freq_base")
    hd = d // H
    W = {t.name: torch.from_numpy(np.ascontiguousarray(gguf.quants.dequantize(t.data, t.tensor_type)
                                                        .reshape([int(x) for x in reversed(t.shape)]).astype(np.float32)))
         for t in r.tensors}
    out_w = W.get("output.weight", W["token_embd.weight"])
    maxlen = 4096
    inv = 1.0 / theta ** (torch.arange(0, hd, 2).float() / hd)
    ang = torch.arange(maxlen).float()[:, None] * inv[None, :]
    cos, sin = ang.cos(), ang.sin()
    kc = [torch.zeros(maxlen, KV, hd) for _ in range(L)]
    vc = [torch.zeros(maxlen, KV, hd) for _ in range(L)]

    def rms(x, w):
        return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps) * w

    def rope(x, p):  # [heads, hd]
        c, s = cos[p], sin[p]
        y = x.clone()
        y[:, 0::2] = x[:, 0::2] * c - x[:, 1::2] * s
        y[:, 1::2] = x[:, 1::2] * c + x[:, 0::2] * s
        return y

    @torch.inference_mode()
    def step(tok, p):
        x = W["token_embd.weight"][tok]
        for i in range(L):
            b = f"blk.{i}."
            a = rms(x, W[b + "attn_norm.weight"])
            q = rope((W[b + "attn_q.weight"] @ a).view(H, hd), p)
            kc[i][p] = rope((W[b + "attn_k.weight"] @ a).view(KV, hd), p)
            vc[i][p] = (W[b + "attn_v.weight"] @ a).view(KV, hd)
            k = kc[i][: p + 1].repeat_interleave(H // KV, dim=1)   # [p+1, H, hd]
            v = vc[i][: p + 1].repeat_interleave(H // KV, dim=1)
            s = torch.einsum("hd,thd->ht", q, k) / hd ** 0.5
            o = torch.einsum("ht,thd->hd", torch.softmax(s, -1), v).reshape(d)
            x = x + W[b + "attn_output.weight"] @ o
            f = rms(x, W[b + "ffn_norm.weight"])
            g, u = W[b + "ffn_gate.weight"] @ f, W[b + "ffn_up.weight"] @ f
            x = x + W[b + "ffn_down.weight"] @ (torch.nn.functional.silu(g) * u)
        return out_w @ rms(x, W["output_norm.weight"])

    prompt = [int(t) for t in a.prompt.split(",")]
    t0 = time.perf_counter()
    for p, t in enumerate(prompt):
        logits = step(t, p)
    t1 = time.perf_counter()
    out = []
    for p in range(len(prompt), len(prompt) + a.new):
        nxt = int(logits.argmax())
        out.append(nxt)
        logits = step(nxt, p)
    t2 = time.perf_counter()
    print(json.dumps({"who": f"torch {torch.__version__}", "threads": a.threads, "prompt_tokens": len(prompt),
                      "prompt_tokens_per_s": round(len(prompt) / (t1 - t0), 1), "generated": len(out),
                      "tokens_per_s": round(len(out) / (t2 - t1), 1), "ids": out[:16]}))


if __name__ == "__main__":
    main()
