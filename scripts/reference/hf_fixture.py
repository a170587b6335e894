"""Shared by the make_hf_*_fixture.py scripts: a tiny transformers model with random weights,
saved with save_pretrained (config.json + model.safetensors, HF names) into
Tests/TesseraCoreTests/Fixtures/<name>/, and the logits of a fixed token sequence to
<name>/expected.safetensors (not part of the checkpoint; the importer must ignore it)."""
import os, subprocess, sys
try:
    import torch, transformers
    from safetensors.torch import save_file
except ImportError:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "transformers", "safetensors"], check=True)
    import torch, transformers
    from safetensors.torch import save_file

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "Tests/TesseraCoreTests/Fixtures")


def write(name, model, ids, is_gain):
    """Draws every parameter from N(0, 0.2²) (+1 where is_gain(name, p): norm gains), saves the
    model and the logits of `ids`."""
    out = os.path.join(FIXTURES, name)
    with torch.no_grad():
        for pname, p in model.named_parameters():
            p.copy_(torch.randn_like(p) * 0.2 + (1.0 if is_gain(pname, p) else 0.0))
    os.makedirs(out, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    ids = torch.tensor([ids])
    with torch.no_grad():
        logits = model(ids).logits[0]
    save_file({"ids": ids[0].to(torch.int32).contiguous(), "logits": logits.float().contiguous()},
              os.path.join(out, "expected.safetensors"), metadata={"transformers": transformers.__version__})
    print("wrote", out, "transformers", transformers.__version__)
