#!/usr/bin/env python3
"""HF transformers as the oracle for importing a Llama-family checkpoint from safetensors: a tiny
LlamaForCausalLM (grouped KV heads, untied head) with random weights →
Tests/TesseraCoreTests/Fixtures/hf_llama_tiny/ (see hf_fixture.py).
Usage: scripts/reference/make_hf_llama_fixture.py
"""
import torch, transformers
from hf_fixture import write

torch.manual_seed(0)
cfg = transformers.LlamaConfig(hidden_size=48, intermediate_size=72, num_hidden_layers=2, num_attention_heads=4,
                               num_key_value_heads=2, vocab_size=61, rms_norm_eps=1e-5, rope_theta=1000.0,
                               max_position_embeddings=64, tie_word_embeddings=False, attention_bias=False, mlp_bias=False)
write("hf_llama_tiny", transformers.LlamaForCausalLM(cfg).eval(), [3, 17, 42, 5, 60, 1, 9, 33, 33, 12, 7],
      lambda name, p: p.dim() == 1)
