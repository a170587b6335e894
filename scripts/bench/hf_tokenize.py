#!/usr/bin/env python3
"""HF tokenizers encode speed on one thread, for side-by-side with `tessera bench tokenize`.
Usage: scripts/bench/hf_tokenize.py TOKENIZER FILE [FILE ...]   (TOKENIZER: tokenizer.json or vocab.json)
Prints one JSON line: mb_per_s (best of 3 passes over the text, a fresh tokenizer each pass so no
cache carries over), ids, bytes."""
import json, os, sys, time
os.environ["RAYON_NUM_THREADS"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
from tokenizers import Tokenizer, models, pre_tokenizers


def load(path):
    if path.endswith("vocab.json") and not isinstance(json.load(open(path)).get("model"), dict):
        t = Tokenizer(models.BPE.from_file(path, os.path.join(os.path.dirname(path), "merges.txt")))
        t.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        return t
    return Tokenizer.from_file(path)


text = "".join(open(p, encoding="utf-8").read() for p in sys.argv[2:])
nbytes = len(text.encode("utf-8"))
best = float("inf")
for _ in range(3):
    tok = load(sys.argv[1])
    t0 = time.perf_counter()
    ids = tok.encode(text, add_special_tokens=False).ids
    best = min(best, time.perf_counter() - t0)
print(json.dumps({"who": "hf-tokenizers", "tokenizer": sys.argv[1], "bytes": nbytes, "ids": len(ids),
                  "mb_per_s": round(nbytes / best / 1e6, 2)}))
