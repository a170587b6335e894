#!/usr/bin/env python3
"""HF transformers as the oracle for importing a GPT-2 checkpoint from safetensors: a tiny
GPT2LMHeadModel (learned positions, biases, gelu_new, tied head, Conv1D [in, out] weights) with
random weights → Tests/TesseraCoreTests/Fixtures/hf_gpt2_tiny/ (see hf_fixture.py).
Usage: scripts/reference/make_hf_gpt2_fixture.py
"""
import torch, transformers
from hf_fixture import write

torch.manual_seed(0)
cfg = transformers.GPT2Config(n_embd=48, n_layer=2, n_head=4, vocab_size=61, n_positions=24, n_inner=None,
                              activation_function="gelu_new", layer_norm_epsilon=1e-5,
                              resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
write("hf_gpt2_tiny", transformers.GPT2LMHeadModel(cfg).eval(), [3, 17, 42, 5, 60, 1, 9, 33, 33, 12, 7, 0, 58],
      lambda name, p: name.endswith(("ln_1.weight", "ln_2.weight", "ln_f.weight")))
