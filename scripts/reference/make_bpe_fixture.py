#!/usr/bin/env python3
"""HF `tokenizers` as the oracle for Tessera's byte-level BPE.

For each tokenizer given (name=path to tokenizer.json, or name=vocab.json with merges.txt beside it),
encodes (1) the two embedded Austen novels, 1.36 MB of real text, and (2) a list of edge-case strings
(contractions, digits, whitespace runs, accents, CJK, emoji, special tokens), and writes
Tests/TesseraCoreTests/Fixtures/bpe_<name>.json (edge cases with their ids) and
bpe_<name>_austen.ids.zst (the novels' ids, little-endian uint32, zstd).

Usage: scripts/reference/make_bpe_fixture.py name=PATH [name=PATH ...]
  PATH: tokenizer.json, vocab.json (merges.txt beside it), or a .gguf (its embedded BPE), e.g.
  gpt2=$HOME/.cache/tessera/gpt2/vocab.json smollm2=$HOME/.cache/tessera/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
  (scripts/fetch-reference.sh fetches both)
"""
import json, os, struct, subprocess, sys
try:
    import tokenizers, zstandard  # noqa: F401
except ImportError:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "tokenizers==0.23.3", "zstandard"], check=True)
from tokenizers import Tokenizer, models, pre_tokenizers, decoders
import zstandard

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "Tests/TesseraCoreTests/Fixtures")
CORPUS = ["configs/corpus/pride-and-prejudice.txt", "configs/corpus/sense-and-sensibility.txt"]

EDGE = [
    "Hello world", " Hello world", "Hello World!", "hello   world", "don't you'll we've I'M they'RE",
    "It's 2026: 1234567 items cost $3.50 (approx.)", "a\n\nb\n \n  c\t\td  ", "   leading and trailing   ",
    "naïve café — “quoted” ‘text’ … ½ ⅔ Ⅻ ٣", "日本語のテキスト、中文。", "emoji 👍🏽 and 🇫🇷 flags", "\u00a0non-breaking\u2009thin\u3000ideographic",
    "<|endoftext|>after end<|endoftext|>", "line one\r\nline two\r\n", "x" * 300, "tab\tseparated\tvalues", "'s 't 're 've 'm 'll 'd",
    "", " ", "\n", "1 2 3 4 5 6 7 8 9 10 100 1000", "A.B.C. e.g. i.e. U.S.A.", "ℕ ∈ ∀x∃y (x+y)² ≠ ∞",
]


def load_gguf(path):
    """The BPE inside a GGUF (llama.cpp layout), as an HF tokenizer: vocab + merges, SmolLM2's
    Digits + ByteLevel pre-tokenizer when tokenizer.ggml.pre says smollm, control tokens special."""
    import gguf
    r = gguf.GGUFReader(path)
    def arr(name):
        f = r.fields[name]
        if f.types[1] == gguf.GGUFValueType.STRING:
            return [bytes(f.parts[i]).decode("utf-8") for i in f.data]
        return [f.parts[i][0].item() for i in f.data]
    tokens, merges, types = arr("tokenizer.ggml.tokens"), arr("tokenizer.ggml.merges"), arr("tokenizer.ggml.token_type")
    pre = bytes(r.fields["tokenizer.ggml.pre"].parts[-1]).decode()
    tok = Tokenizer(models.BPE({t: i for i, t in enumerate(tokens)}, [tuple(m.split(" ", 1)) for m in merges]))
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte_level]) if pre == "smollm" else byte_level
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([t for t, ty in zip(tokens, types) if ty == 3])
    return tok


def load(path):
    if path.endswith(".gguf"):
        return load_gguf(path)
    if path.endswith("vocab.json") and not isinstance(json.load(open(path)).get("model"), dict):
        merges = os.path.join(os.path.dirname(path), "merges.txt")
        tok = Tokenizer(models.BPE.from_file(path, merges))
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        vocab = json.load(open(path))
        tok.add_special_tokens([t for t in vocab if t.startswith("<|") and t.endswith("|>")])
        return tok
    return Tokenizer.from_file(path)


def main():
    for arg in sys.argv[1:]:
        name, path = arg.split("=", 1)
        tok = load(path)
        edge = [{"text": t, "ids": tok.encode(t, add_special_tokens=False).ids} for t in EDGE]
        text = "".join(open(os.path.join(ROOT, p), encoding="utf-8").read() for p in CORPUS)
        ids = tok.encode(text, add_special_tokens=False).ids
        raw = struct.pack(f"<{len(ids)}I", *ids)
        with open(os.path.join(OUT, f"bpe_{name}_austen.ids.zst"), "wb") as f:
            f.write(zstandard.ZstdCompressor(level=19).compress(raw))
        meta = {"tokenizer": os.path.basename(path), "tokenizers": tokenizers.__version__, "corpus": CORPUS,
                "corpus_bytes": len(text.encode("utf-8")), "corpus_ids": len(ids), "edge_cases": edge}
        with open(os.path.join(OUT, f"bpe_{name}.json"), "w", encoding="utf-8") as f:
            json.dump(meta, f, ensure_ascii=False, indent=1)
        print(f"{name}: {len(text.encode('utf-8'))} bytes -> {len(ids)} ids; {len(edge)} edge cases")


if __name__ == "__main__":
    main()
