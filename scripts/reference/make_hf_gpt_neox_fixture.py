#!/usr/bin/env python3
"""HF transformers as the oracle for importing a GPT-NeoX checkpoint from safetensors: a tiny
GPTNeoXForCausalLM (parallel residual, rotary over half of each head, biases, exact GELU, untied
embed_out) with random weights → Tests/TesseraCoreTests/Fixtures/hf_gpt_neox_tiny/ (see hf_fixture.py).
Usage: scripts/reference/make_hf_gpt_neox_fixture.py
"""
import torch, transformers
from hf_fixture import write

torch.manual_seed(0)
cfg = transformers.GPTNeoXConfig(hidden_size=48, num_hidden_layers=2, num_attention_heads=4, intermediate_size=96,
                                 vocab_size=61, max_position_embeddings=24, rotary_pct=0.5, rotary_emb_base=1000,
                                 layer_norm_eps=1e-5, use_parallel_residual=True, hidden_act="gelu",
                                 tie_word_embeddings=False, attention_dropout=0.0, hidden_dropout=0.0)
write("hf_gpt_neox_tiny", transformers.GPTNeoXForCausalLM(cfg).eval(), [3, 17, 42, 5, 60, 1, 9, 33, 33, 12, 7, 0, 58],
      lambda name, p: name.endswith(("layernorm.weight", "final_layer_norm.weight")))
