#!/usr/bin/env python3
"""gguf-py (llama.cpp's own Python package) as the oracle for Tessera's GGUF reader.

Writes Tests/TesseraCoreTests/Fixtures/gguf_types.gguf: a GGUF v3 file with one tensor per ggml
type Tessera reads (F32, F16, BF16, Q4_0, Q4_1, Q8_0, Q4_K, Q6_K; random blocks with finite
scales) and metadata of every value type; and gguf_types.expected.safetensors: each tensor
dequantised by gguf.quants.dequantize, row-major [rows, cols].
Usage: scripts/reference/make_gguf_fixture.py
"""
import os, subprocess, sys
try:
    import gguf, numpy as np
    from safetensors.numpy import save_file
except ImportError:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "gguf==0.19.0", "numpy", "safetensors"], check=True)
    import gguf, numpy as np
    from safetensors.numpy import save_file
from gguf import GGMLQuantizationType as Q

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "Tests/TesseraCoreTests/Fixtures")
rng = np.random.default_rng(0)


def random_blocks(qtype, rows, cols):
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    nblocks = rows * cols // block
    raw = rng.integers(0, 256, size=(nblocks, size), dtype=np.uint8)
    def put_half(col, scale):
        raw[:, col:col + 2] = (rng.standard_normal(nblocks) * scale).astype(np.float16).view(np.uint8).reshape(nblocks, 2)
    if qtype in (Q.Q4_0, Q.Q8_0):
        put_half(0, 0.05)
    elif qtype == Q.Q4_1:
        put_half(0, 0.05); put_half(2, 0.5)
    elif qtype == Q.Q4_K:
        put_half(0, 0.01); put_half(2, 0.01)
    elif qtype == Q.Q6_K:
        put_half(size - 2, 0.01)
    return raw.reshape(rows, cols // block * size)


def main():
    path = os.path.join(OUT, "gguf_types.gguf")
    w = gguf.GGUFWriter(path, arch="tessera-test")
    w.add_uint32("test.u32", 7); w.add_int32("test.i32", -3); w.add_float32("test.f32", 0.5)
    w.add_bool("test.bool", True); w.add_string("test.str", "héllo"); w.add_uint64("test.u64", 1 << 40)
    w.add_float64("test.f64", 2.25); w.add_array("test.arr", ["a", "b", "c"]); w.add_array("test.ints", [1, 2, 3])
    expected = {}
    rows, cols = 3, 512
    f = rng.standard_normal((rows, cols)).astype(np.float32)
    w.add_tensor("t.f32", f); expected["t.f32"] = f
    h = f.astype(np.float16)
    w.add_tensor("t.f16", h); expected["t.f16"] = h.astype(np.float32)
    bf = (f.view(np.uint32) >> 16).astype(np.uint16)
    w.add_tensor("t.bf16", bf, raw_dtype=Q.BF16)
    expected["t.bf16"] = (bf.astype(np.uint32) << 16).view(np.float32)
    for name, qt in [("t.q4_0", Q.Q4_0), ("t.q4_1", Q.Q4_1), ("t.q8_0", Q.Q8_0), ("t.q4_k", Q.Q4_K), ("t.q6_k", Q.Q6_K)]:
        raw = random_blocks(qt, rows, cols)
        w.add_tensor(name, raw, raw_dtype=qt)  # shape given in bytes; the writer derives [rows, cols]
        expected[name] = gguf.quants.dequantize(raw, qt).reshape(rows, cols).astype(np.float32)
    w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
    save_file({k: np.ascontiguousarray(v) for k, v in expected.items()}, os.path.join(OUT, "gguf_types.expected.safetensors"))
    print(path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
