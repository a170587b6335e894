#!/usr/bin/env python3
"""HF transformers as the oracle for importing a Llama-family checkpoint from safetensors.

Builds a tiny LlamaForCausalLM (grouped KV heads, untied head) with random weights, saves it with
save_pretrained (config.json + model.safetensors, HF names) into
Tests/TesseraCoreTests/Fixtures/hf_llama_tiny/, and the logits of a token sequence to
hf_llama_tiny/expected.safetensors (not part of the checkpoint; the importer must ignore it).
Usage: scripts/reference/make_hf_llama_fixture.py
"""
import os, subprocess, sys
try:
    import torch, transformers
    from safetensors.torch import save_file
except ImportError:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "transformers", "safetensors"], check=True)
    import torch, transformers
    from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "Tests/TesseraCoreTests/Fixtures/hf_llama_tiny")
torch.manual_seed(0)
cfg = transformers.LlamaConfig(hidden_size=48, intermediate_size=72, num_hidden_layers=2, num_attention_heads=4,
                               num_key_value_heads=2, vocab_size=61, rms_norm_eps=1e-5, rope_theta=1000.0,
                               max_position_embeddings=64, tie_word_embeddings=False, attention_bias=False, mlp_bias=False)
model = transformers.LlamaForCausalLM(cfg).eval()
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.randn_like(p) * 0.2 + (1.0 if p.dim() == 1 else 0.0))
os.makedirs(OUT, exist_ok=True)
model.save_pretrained(OUT, safe_serialization=True)
ids = torch.tensor([[3, 17, 42, 5, 60, 1, 9, 33, 33, 12, 7]])
with torch.no_grad():
    logits = model(ids).logits[0]
save_file({"ids": ids[0].to(torch.int32).contiguous(), "logits": logits.float().contiguous()},
          os.path.join(OUT, "expected.safetensors"), metadata={"transformers": transformers.__version__})
print("wrote", OUT, "transformers", transformers.__version__)
