#!/usr/bin/env python3
"""Writes the malformed-input corpus: Tests/TesseraCoreTests/Fixtures/malformed/ holds one bad file
(or directory) per case, and cases.json says for each what `tessera inspect` must answer: the exit
code and a fragment of its one-line error. Every reader is covered: safetensors, GGUF,
tokenizer.json / vocab.json, token shards and their manifest, YAML configs, PNG.
Usage: scripts/reference/make_malformed.py   (needs Fixtures/gguf_types.gguf; installs zstandard)
"""
import json, os, shutil, struct, subprocess, sys, zlib
try:
    import zstandard
except ImportError:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "zstandard"], check=True)
    import zstandard

FIX = os.path.join(os.path.dirname(__file__), "..", "..", "Tests/TesseraCoreTests/Fixtures")
OUT = os.path.join(FIX, "malformed")
cases = []


def case(name, data, code, message):
    path = os.path.join(OUT, name)
    if isinstance(data, dict):  # a directory
        os.makedirs(path, exist_ok=True)
        for f, b in data.items():
            open(os.path.join(path, f), "wb").write(b)
    else:
        open(path, "wb").write(data)
    cases.append({"path": name, "exit": code, "message": message})


def st(header, data=b"", length=None):
    h = json.dumps(header).encode() if isinstance(header, dict) else header
    return struct.pack("<Q", len(h) if length is None else length) + h + data


def fnv(b):
    h = 0xcbf29ce484222325
    for x in b:
        h = ((h ^ x) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def shard(ids, width=2, magic=b"TSRD", count=None):
    raw = magic + struct.pack("<IIQ", 1, width, len(ids) if count is None else count)
    raw += b"".join(struct.pack("<H" if width == 2 else "<I", i) for i in ids)
    return zstandard.ZstdCompressor().compress(raw)


def shard_dir(payload, tokens, vocab=100, checksum=None, total=None):
    m = {"format": "tessera-token-shards", "format_version": 1, "vocab_size": vocab, "tokenizer": "t", "tokenizer_hash": "0",
         "sources": [], "splits": {"train": {"tokens": tokens if total is None else total,
                                             "shards": [{"file": "train-00000.tok.zst", "tokens": tokens,
                                                         "checksum": checksum or fnv(payload)}]}}}
    return {"manifest.json": json.dumps(m).encode(), "train-00000.tok.zst": payload}


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    f32 = lambda n: {"dtype": "F32", "shape": [n], "data_offsets": [0, 4 * n]}
    # safetensors
    case("truncated.safetensors", st({"a": f32(8)}, b"\0" * 16), 3, "past the end of the file")
    case("header-beyond-file.safetensors", st({"a": f32(1)}, b"\0" * 4, length=10_000), 3, "runs past the end")
    case("huge-header.safetensors", st(b"{}", length=1 << 40), 3, "100 MB limit")
    case("short.safetensors", b"\x01\x02", 3, "shorter than the 8-byte")
    case("offsets-out-of-range.safetensors", st({"a": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}, b"\0" * 8), 3, "gap")
    case("overlap.safetensors", st({"a": f32(2), "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, b"\0" * 8), 3, "overlaps")
    case("gap.safetensors", st({"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, b"\0" * 8), 3, "gap of 4 bytes")
    case("unknown-dtype.safetensors", st({"a": {"dtype": "F8_E4M3", "shape": [4], "data_offsets": [0, 4]}}, b"\0" * 4), 3, "unsupported dtype F8_E4M3")
    case("bad-json.safetensors", st(b'{"a": '), 3, "not valid JSON")
    case("shape-mismatch.safetensors", st({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, b"\0" * 8), 3, "needs 12")
    # GGUF, patched from a valid file
    good = open(os.path.join(FIX, "gguf_types.gguf"), "rb").read()
    def patch(off, b):
        return good[:off] + b + good[off + len(b):]
    case("bad-magic.gguf", patch(0, b"GGML"), 3, "bad magic")
    case("bad-version.gguf", patch(4, struct.pack("<I", 7)), 3, "version 7")
    case("tensor-count.gguf", patch(8, struct.pack("<Q", 1 << 50)), 3, "tensor count")
    case("metadata-count.gguf", patch(16, struct.pack("<Q", 1 << 40)), 3, "metadata count")
    key_len = struct.unpack("<Q", good[24:32])[0]
    case("unknown-value-type.gguf", patch(32 + key_len, struct.pack("<I", 99)), 3, "unknown value type 99")
    name = struct.pack("<Q", 5) + b"t.f32"
    at = good.index(name) + len(name) + 4 + 16
    case("unknown-tensor-type.gguf", patch(at, struct.pack("<I", 77)), 3, "ggml type 77")
    case("misaligned.gguf", patch(at + 4, struct.pack("<Q", 3)), 3, "not aligned")
    case("truncated.gguf", good[:-64], 3, "runs past the end")
    # tokenizers
    bytelevel = {"type": "ByteLevel", "add_prefix_space": False}
    case("missing-merges.tokenizer.json", json.dumps({"model": {"type": "BPE", "vocab": {"a": 0}}, "pre_tokenizer": bytelevel}).encode(), 3, "model.merges is missing")
    case("bad-json.tokenizer.json", b'{"model": {', 3, "not a JSON object")
    case("wordpiece.tokenizer.json", json.dumps({"model": {"type": "WordPiece", "vocab": {}}}).encode(), 3, "model.type WordPiece")
    # GPT-2's byte-to-character map, so the 256 byte tokens are all present and the bad merge is reached.
    printable = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    chars, extra = {}, 256
    for b in range(256):
        if b in printable:
            chars[b] = chr(b)
        else:
            chars[b] = chr(extra); extra += 1
    vocab = {chars[b]: b for b in range(256)}
    case("merge-unknown.tokenizer.json", json.dumps({"model": {"type": "BPE", "vocab": vocab, "merges": ["a zz"]}, "pre_tokenizer": bytelevel}).encode(), 3, "missing from the vocabulary")
    case("unsupported-pretokenizer.tokenizer.json", json.dumps({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "pre_tokenizer": {"type": "Whitespace"}}).encode(), 3, "unsupported pre_tokenizer")
    case("vocab-without-merges", {"vocab.json": json.dumps({"a": 0}).encode(), "x.txt": b""}, 3, "neither token shards")
    # token shards
    ids = list(range(100)) * 3
    good_shard = shard(ids)
    case("shard-bad-checksum", shard_dir(good_shard, len(ids), checksum="0123456789abcdef"), 3, "does not match the manifest")
    bad = shard(ids, magic=b"NOPE")
    case("shard-bad-magic", shard_dir(bad, len(ids)), 3, "bad magic")
    trunc = good_shard[:25]
    case("shard-truncated-zstd", shard_dir(trunc, len(ids)), 3, "zstd")
    case("shard-count-disagrees", shard_dir(good_shard, len(ids) - 1), 3, "the manifest says 299")
    case("shard-ids-outside-vocab", shard_dir(good_shard, len(ids), vocab=50), 3, "outside the vocabulary of 50")
    case("shard-manifest-totals", shard_dir(good_shard, len(ids), total=7), 3, "disagrees with its shards")
    case("shard-header-count", shard_dir(shard(ids, count=10**6), len(ids)), 3, "shard says 1000000 ids")
    # PNG (from a valid fixture)
    png = open(os.path.join(FIX, "png/rgb.png"), "rb").read()
    case("truncated.png", png[:70], 3, "corrupt PNG")
    crc = bytearray(png); crc[29] ^= 0xFF
    case("bad-crc.png", bytes(crc), 3, "not a readable PNG")
    ihdr = bytearray(png[12:29]); ihdr[4:12] = struct.pack(">II", 200000, 200000)
    huge = png[:12] + bytes(ihdr) + struct.pack(">I", zlib.crc32(bytes(ihdr))) + png[33:]
    case("absurd-dimensions.png", huge, 3, "PNG")
    case("not-a.png", b"GIF89a not a png", 3, "not a readable PNG")
    # captioned image folders
    line = lambda f, c: json.dumps({"file": f, "caption": c, "split": "train"}).encode() + b"\n"
    case("dataset-missing-image", {"captions.jsonl": line("gone.png", "a red circle")}, 3, "gone.png: listed on line 1")
    case("dataset-bad-line", {"captions.jsonl": line("a.png", "x") + b"{not json\n", "a.png": png}, 3, "line 2 is not a JSON object")
    case("dataset-escaping-path", {"captions.jsonl": line("../x.png", "x")}, 3, "must be a relative path inside the folder")
    case("dataset-corrupt-image", {"captions.jsonl": line("a.png", "x"), "a.png": png[:50]}, 3, "corrupt PNG")
    # Fashion-MNIST IDX files (gzip)
    gz = lambda b: __import__("gzip").compress(b, mtime=0)
    idx3 = bytes([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2]) + bytes(range(8))
    case("wrong-magic.idx3-ubyte.gz", gz(bytes([0, 0, 0x0D, 3]) + idx3[4:]), 3, "IDX magic 0x00000d03 is not unsigned bytes")
    case("truncated.idx3-ubyte.gz", gz(idx3)[:-12], 3, "not a valid gzip stream")
    case("short.idx3-ubyte.gz", gz(idx3[:-3]), 3, "IDX header promises [2, 2, 2] = 8 bytes, the file holds 5")
    case("not-gzip.idx3-ubyte.gz", idx3, 3, "not a valid gzip stream")
    # image-code directories (tokenize images)
    def codes_dir(payload, tokens, images, checksum=None, captions=b'{"caption": "a"}\n', grid=(2, 2)):
        m = {"format": "tessera-image-codes", "format_version": 1, "grid": list(grid), "tokens_per_image": grid[0] * grid[1],
             "codebook_size": 16, "tokenizer": "t", "tokenizer_hash": "0",
             "splits": {"val": {"images": images, "captions": "val-captions.jsonl", "captions_checksum": fnv(captions),
                                "shards": [{"file": "val-00000.codes.zst", "tokens": tokens, "checksum": checksum or fnv(payload)}]}}}
        return {"manifest.json": json.dumps(m).encode(), "val-00000.codes.zst": payload, "val-captions.jsonl": captions}
    good = shard([1, 2, 3, 4])
    case("codes-bad-checksum", codes_dir(good, 4, 1, checksum="0123456789abcdef"), 3, "checksum does not match")
    case("codes-count-mismatch", codes_dir(good, 4, 2), 3, "shards hold 4 codes, not 2 images × 4 = 8")
    case("codes-code-out-of-range", codes_dir(shard([1, 2, 3, 40]), 4, 1), 3, "val-00000.codes.zst")
    case("codes-not-square", codes_dir(good, 4, 1, grid=(2, 4)), 3, "grid must be [side, side]")
    # fuzzer finds (Tests/Fuzz/crashes): a zstd frame header claiming gigabytes
    forged = open(os.path.join(os.path.dirname(__file__), "..", "..", "Tests/Fuzz/crashes/shard/oom-forged-frame-size"), "rb").read()
    case("shard-forged-frame-size", shard_dir(forged, 5), 3, "over the 40 limit")
    forged_id = open(os.path.join(os.path.dirname(__file__), "..", "..", "Tests/Fuzz/crashes/tokenizer_json/oom-forged-token-id"), "rb").read()
    case("forged-token-id.tokenizer.json", forged_id, 3, "not contiguous")
    # configs
    base = "model: {d_model: 32, n_layers: 1, n_heads: 4}\n"
    case("unknown-key.yaml", (base + "optim: {learning_rate: 0.1}\n").encode(), 2, "optim.learning_rate: unknown key")
    case("wrong-type.yaml", (base + "optim: {steps: many}\n").encode(), 2, "optim.steps: expected an integer")
    case("out-of-range.yaml", (base + "optim: {lr: -1}\n").encode(), 2, "optim.lr: must be greater than 0")
    case("not-yaml.yaml", b"model: [unclosed\n", 2, "not valid YAML")
    case("top-level-list.yaml", b"- a\n- b\n", 2, "the top level must be a mapping")
    case("heads-do-not-divide.yaml", b"model: {d_model: 30, n_layers: 1, n_heads: 4}\n", 2, "must be a multiple of model.n_heads")
    case("vq-groups-do-not-divide.yaml", b"task: vq\nmodel: {ch: 24, norm_groups: 32}\ndata: {shapes: {count: 10, val_count: 2}}\n", 2, "model.norm_groups (32) must divide")
    case("vq-two-data-sources.yaml", b"task: vq\ndata: {folder: x, shapes: {count: 10, val_count: 2}}\n", 2, "give exactly one of data.folder")
    case("unknown-task.yaml", b"task: diffusion\n", 2, "task: \"diffusion\" is not lm")
    # sizes taken from inputs: bounded by SizeLimits / the memory available, before any allocation
    case("huge-d-model.yaml", b"model: {d_model: 1048576, n_layers: 1, n_heads: 4}\n", 2, "model.d_model: exceeds Tessera's maximum of 65536, got 1048576")
    case("huge-layers.yaml", b"model: {d_model: 32, n_layers: 1000000, n_heads: 4}\n", 2, "model.n_layers: exceeds Tessera's maximum of 1024")
    case("huge-vocab.yaml", b"model: {d_model: 32, n_layers: 1, n_heads: 4, vocab_size: 1000000000}\n", 2, "model.vocab_size: exceeds Tessera's maximum of 16777216")
    case("huge-ffn.yaml", b"model: {d_model: 32, n_layers: 1, n_heads: 4, ffn_hidden: 100000000}\n", 2, "model.ffn_hidden: exceeds Tessera's maximum of 1048576")
    case("huge-seq-len.yaml", b"model: {d_model: 32, n_layers: 1, n_heads: 4}\ndata: {seq_len: 1000000000}\n", 2, "exceeds Tessera's maximum of 1048576")
    case("weights-beyond-memory.yaml", b"model: {d_model: 65536, n_layers: 1024, n_heads: 64, vocab_size: 16000000}\n", 2, "available")
    case("vq-huge-resolution.yaml", b"task: vq\nmodel: {resolution: 100000}\ndata: {shapes: {count: 10, val_count: 2}}\n", 2, "model.resolution (100000) must be in 1")
    case("vq-empty-ch-mult.yaml", b"task: vq\nmodel: {ch_mult: []}\ndata: {shapes: {count: 10, val_count: 2}}\n", 2, "length of model.ch_mult) (0) must be in 1")
    case("vq-huge-codebook.yaml", b"task: vq\nmodel: {n_embed: 1000000000}\ndata: {shapes: {count: 10, val_count: 2}}\n", 2, "model.n_embed (1000000000) must be in 2")
    case("vq-batch-beyond-memory.yaml", b"task: vq\nmodel: {resolution: 4096, ch: 256, norm_groups: 32, attn_resolutions: []}\noptim: {batch: 100000}\ndata: {shapes: {count: 10, val_count: 2}}\n", 2, "available")
    case("huge-heads.yaml", b"model: {d_model: 8192, n_layers: 1, n_heads: 8192, rope: none}\n", 2, "model.n_heads: exceeds Tessera's maximum of 4096")
    case("huge-max-seq-len.yaml", b"model: {d_model: 32, n_layers: 1, n_heads: 4, max_seq_len: 1073741824}\n", 2, "model.max_seq_len: exceeds Tessera's maximum of 1048576")
    vq = "task: vq\ndata: {shapes: {count: 10, val_count: 2}}\nmodel: "
    case("vq-huge-ch.yaml", (vq + "{ch: 100000}\n").encode(), 2, "model.ch (100000) must be in 1")
    case("vq-huge-res-blocks.yaml", (vq + "{num_res_blocks: 1000}\n").encode(), 2, "model.num_res_blocks (1000) must be in 0")
    case("vq-nine-levels.yaml", (vq + "{ch_mult: [1, 1, 1, 1, 1, 1, 1, 1, 1]}\n").encode(), 2, "length of model.ch_mult) (9) must be in 1")
    case("vq-huge-multiplier.yaml", (vq + "{ch_mult: [1, 1000]}\n").encode(), 2, "model.ch_mult entries must be in 1")
    case("vq-huge-embed-dim.yaml", (vq + "{embed_dim: 100000}\n").encode(), 2, "model.embed_dim (100000) must be in 1")
    case("vq-huge-z-channels.yaml", (vq + "{z_channels: 100000}\n").encode(), 2, "model.z_channels (100000) must be in 1")
    lm = lambda extra: (base + extra + "\n").encode()
    case("huge-kv-heads.yaml", b"model: {d_model: 32, n_layers: 1, n_heads: 4, n_kv_heads: 100000}\n", 2, "model.n_kv_heads: exceeds Tessera's maximum of 4096")
    case("huge-ffn-multiple.yaml", b"model: {d_model: 32, n_layers: 1, n_heads: 4, ffn_multiple_of: 100000000}\n", 2, "model.ffn_multiple_of: exceeds Tessera's maximum of 1048576")
    case("huge-rotary-dims.yaml", b"model: {d_model: 32, n_layers: 1, n_heads: 4, rotary_dims: 1000000}\n", 2, "model.rotary_dims: exceeds Tessera's maximum of 65536")
    case("huge-threads.yaml", lm("threads: 100000"), 2, "threads: exceeds Tessera's maximum of 1024")
    case("huge-steps.yaml", lm("optim: {steps: 10000000000}"), 2, "optim.steps: exceeds Tessera's maximum of 2147483648")
    case("huge-micro-batch.yaml", lm("optim: {micro_batch: 100000000}"), 2, "optim.micro_batch: exceeds Tessera's maximum of 16777216")
    case("huge-batch-tokens.yaml", lm("optim: {batch_tokens: 10000000000}"), 2, "optim.batch_tokens: exceeds Tessera's maximum of 2147483648")
    case("val-fraction-too-large.yaml", lm("data: {val_fraction: 0.95}"), 2, "data.val_fraction")
    case("caption-dropout-above-one.yaml", lm("data: {caption_dropout: 2}"), 2, "data.caption_dropout")
    case("negative-steps.yaml", lm("optim: {steps: -5}"), 2, "optim.steps: must be at least 1, got -5")
    case("zero-d-model.yaml", b"model: {d_model: 0, n_layers: 1, n_heads: 4}\n", 2, "model.d_model: must be at least 1, got 0")
    case("fractional-layers.yaml", b"model: {d_model: 32, n_layers: 1.5, n_heads: 4}\n", 2, "model.n_layers: expected an integer")
    case("nan-lr.yaml", lm("optim: {lr: .nan}"), 2, "optim.lr: must be finite")
    case("infinite-lr.yaml", lm("optim: {lr: .inf}"), 2, "optim.lr: must be finite")
    case("integer-beyond-2-53.yaml", lm("optim: {steps: 1.0e+300}"), 2, "optim.steps: expected an integer")
    case("vq-huge-shapes-count.yaml", b"task: vq\ndata: {shapes: {count: 100000000, val_count: 2}}\n", 2, "data.shapes.count: exceeds Tessera's maximum of 16777216")
    case("vq-huge-batch.yaml", b"task: vq\ndata: {shapes: {count: 10, val_count: 2}}\noptim: {batch: 10000000}\n", 2, "optim.batch: exceeds Tessera's maximum of 1048576")
    case("vq-huge-gan-ndf.yaml", b"task: vq\ndata: {shapes: {count: 10, val_count: 2}}\ngan: {ndf: 100000}\n", 2, "gan.ndf: exceeds Tessera's maximum of 4096")
    case("vq-huge-gan-layers.yaml", b"task: vq\ndata: {shapes: {count: 10, val_count: 2}}\ngan: {layers: 100}\n", 2, "gan.layers: exceeds Tessera's maximum of 16")
    case("vq-huge-eval-images.yaml", b"task: vq\ndata: {shapes: {count: 10, val_count: 2}}\neval: {images: 100000000}\n", 2, "eval.images: exceeds Tessera's maximum of 16777216")
    case("vq-huge-grid.yaml", b"task: vq\ndata: {shapes: {count: 10, val_count: 2}}\neval: {grid: 1000}\n", 2, "eval.grid: exceeds Tessera's maximum of 64")
    case("vq-ema-decay-one.yaml", b"task: vq\ndata: {shapes: {count: 10, val_count: 2}}\nema: {decay: 1}\n", 2, "ema.decay")
    laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 10) + "]\n" for i in range(8))
    case("alias-bomb.yaml", laughs.encode(), 2, "expands to more than 200000 YAML nodes")
    payload = shard([1, 2, 3])
    case("shard-promises-1e15-tokens", shard_dir(payload, 10**15), 3, "more than a")
    case("shard-vocab-beyond-max", shard_dir(payload, 3, vocab=1 << 30), 3, "vocab_size 1073741824 exceeds")
    m = json.loads(shard_dir(payload, 3)["manifest.json"]); m["sequence_length"] = 1 << 30
    case("shard-sequence-length-beyond-max", {"manifest.json": json.dumps(m).encode(), "train-00000.tok.zst": payload}, 3, "sequence_length must be an integer in 2")
    m = json.loads(shard_dir(payload, 3)["manifest.json"])
    m["splits"]["train"]["shards"] = [dict(m["splits"]["train"]["shards"][0], tokens=(1 << 62)), dict(m["splits"]["train"]["shards"][0], tokens=(1 << 62))]
    m["splits"]["train"]["tokens"] = 0
    case("shard-counts-overflow", {"manifest.json": json.dumps(m).encode(), "train-00000.tok.zst": payload}, 3, "overflow")
    # more of every reader: structure, sizes and counts taken from the file
    png = open(os.path.join(FIX, "png/rgb.png"), "rb").read()
    def png_ihdr(**kw):
        ihdr = bytearray(png[12:29])
        for field, (at, fmt) in {"width": (4, ">I"), "height": (8, ">I"), "depth": (12, ">B"), "colour": (13, ">B"),
                                 "interlace": (16, ">B")}.items():
            if field in kw:
                ihdr[at:at + struct.calcsize(fmt)] = struct.pack(fmt, kw[field])
        return png[:12] + bytes(ihdr) + struct.pack(">I", zlib.crc32(bytes(ihdr))) + png[33:]
    case("png-zero-width.png", png_ihdr(width=0), 3, "Invalid IHDR data")
    case("png-bit-depth-3.png", png_ihdr(depth=3), 3, "Invalid IHDR data")
    case("png-colour-type-5.png", png_ihdr(colour=5), 3, "Invalid IHDR data")
    case("png-interlace-7.png", png_ihdr(interlace=7), 3, "Invalid IHDR data")
    idat = png.index(b"IDAT")
    n = struct.unpack(">I", png[idat - 4:idat])[0]
    garbage = bytes((i * 37 + 11) & 0xFF for i in range(n))
    case("png-idat-garbage.png", png[:idat + 4] + garbage + struct.pack(">I", zlib.crc32(b"IDAT" + garbage)) + png[idat + 8 + n:], 3, "corrupt PNG: IDAT")
    case("png-empty.png", b"", 3, "not a readable PNG")
    case("safetensors-negative-shape.safetensors", st({"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, b"\0" * 4), 3, "has a bad dimension -1")
    case("safetensors-shape-overflow.safetensors", st({"a": {"dtype": "F32", "shape": [1 << 40, 1 << 40], "data_offsets": [0, 4]}}, b"\0" * 4), 3, "is larger than the file")
    case("safetensors-header-array.safetensors", st(b"[]"), 3, "header is not a JSON object")
    case("safetensors-metadata-not-strings.safetensors", st({"__metadata__": {"a": 1}, "x": f32(1)}, b"\0" * 4), 3, "__metadata__.a is not a string")
    case("safetensors-offsets-reversed.safetensors", st({"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}}, b"\0" * 4), 3, "are reversed or negative")
    case("safetensors-entry-not-object.safetensors", st({"a": 7}), 3, "entry \"a\" is not an object")
    good = open(os.path.join(FIX, "gguf_types.gguf"), "rb").read()
    tname = struct.pack("<Q", 5) + b"t.f32"
    info = good.index(tname) + len(tname)
    case("gguf-tensor-dimensions-99.gguf", patch(info, struct.pack("<I", 99)), 3, "has 99 dimensions (1–4 allowed)")
    case("gguf-tensor-dims-overflow.gguf", patch(info + 4, struct.pack("<Q", 1 << 62)), 3, "dimension 4611686018427387904 is larger than the file")
    case("gguf-tensor-offset-beyond.gguf", patch(info + 4 + 16 + 4, struct.pack("<Q", 1 << 40)), 3, "runs past the end of the file")
    skey = struct.pack("<Q", 8) + b"test.str"
    case("gguf-string-length.gguf", patch(good.index(skey) + len(skey) + 4, struct.pack("<Q", 1 << 50)), 3, "string length 1125899906842624 cannot fit")
    akey = struct.pack("<Q", 8) + b"test.arr"
    case("gguf-array-count.gguf", patch(good.index(akey) + len(akey) + 8, struct.pack("<Q", 1 << 50)), 3, "array length 1125899906842624 cannot fit")
    case("tokenizer-vocab-not-object.tokenizer.json", json.dumps({"model": {"type": "BPE", "vocab": [1, 2], "merges": []}, "pre_tokenizer": bytelevel}).encode(), 3, "model.vocab is missing or not an object")
    case("tokenizer-negative-id.tokenizer.json", json.dumps({"model": {"type": "BPE", "vocab": {"a": -4}, "merges": []}, "pre_tokenizer": bytelevel}).encode(), 3, "has a bad id -4")
    case("tokenizer-duplicate-id.tokenizer.json", json.dumps({"model": {"type": "BPE", "vocab": {"a": 0, "b": 0}, "merges": []}, "pre_tokenizer": bytelevel}).encode(), 3, "id 0 is used by two tokens")
    case("tokenizer-merge-one-part.tokenizer.json", json.dumps({"model": {"type": "BPE", "vocab": vocab, "merges": ["abc"]}, "pre_tokenizer": bytelevel}).encode(), 3, "is not two tokens separated by a space")
    case("tokenizer-added-id-beyond.tokenizer.json", json.dumps({"model": {"type": "BPE", "vocab": vocab, "merges": []}, "pre_tokenizer": bytelevel,
                                                                "added_tokens": [{"id": 1 << 40, "content": "<x>", "special": True}]}).encode(), 3, "added_tokens[0] id 1099511627776 is outside")
    case("dataset-empty", {"captions.jsonl": b""}, 3, "lists no images")
    case("dataset-no-caption", {"captions.jsonl": json.dumps({"file": "a.png", "split": "train"}).encode() + b"\n", "a.png": png}, 3, "\"caption\" is missing")
    case("dataset-bad-split", {"captions.jsonl": json.dumps({"file": "a.png", "caption": "x", "split": "test"}).encode() + b"\n", "a.png": png}, 3, "split \"test\" is not train or val")
    case("dataset-absolute-path", {"captions.jsonl": line("/etc/passwd", "x")}, 3, "must be a relative path inside the folder")
    case("dataset-image-is-gif", {"captions.jsonl": line("a.png", "x"), "a.png": b"GIF89a"}, 3, "not a readable PNG")
    case("shard-unknown-format", {"manifest.json": json.dumps({"format": "something-else", "splits": {}}).encode()}, 3, "format is not tessera-token-shards")
    case("shard-manifest-not-json", {"manifest.json": b"{splits"}, 3, "not a JSON object")
    case("shard-file-escapes", {"manifest.json": json.dumps(dict(json.loads(shard_dir(good_shard, len(ids))["manifest.json"]),
                                splits={"train": {"tokens": 3, "shards": [{"file": "../x.tok.zst", "tokens": 3, "checksum": "0"}]}})).encode()}, 3, "must name a file inside the shard directory")
    case("shard-width-3", shard_dir(shard(ids, width=3), len(ids)), 3, "shard id width 3 is not 2 or 4")
    case("codes-missing-captions", {k: v for k, v in codes_dir(shard([1, 2, 3, 4]), 4, 1).items() if k != "val-captions.jsonl"}, 3, "val-captions.jsonl: no such file")
    case("codes-captions-checksum", dict(codes_dir(shard([1, 2, 3, 4]), 4, 1), **{"val-captions.jsonl": b'{"caption": "b"}\n'}), 3, "checksum does not match the manifest")
    case("codes-codebook-huge", (lambda d: dict(d, **{"manifest.json": json.dumps(dict(json.loads(d["manifest.json"]), codebook_size=1 << 40)).encode()}))(codes_dir(shard([1, 2, 3, 4]), 4, 1)), 3, "codebook_size 1099511627776 exceeds")
    case("codes-grid-huge", codes_dir(shard([1, 2, 3, 4]), 4, 1, grid=(1 << 20, 1 << 20)), 3, "grid side 1048576 exceeds")
    case("idx-four-dimensions.idx3-ubyte.gz", gz(bytes([0, 0, 8, 9]) + idx3[4:]), 3, "9 dimensions in its magic")
    case("idx-empty.idx3-ubyte.gz", gz(b""), 3, "0 dimensions in its magic")
    case("idx-huge-dims.idx3-ubyte.gz", gz(bytes([0, 0, 8, 3]) + struct.pack(">III", 1 << 31, 1 << 31, 1 << 31)), 3, "the file holds 0")
    # colour-emoji fonts (CBLC/CBDT, cmap), patched from the fontTools subset of Noto Color Emoji
    font = open(os.path.join(FIX, "emoji_font/noto-subset.ttf"), "rb").read()
    tables = {}
    for i in range(struct.unpack(">H", font[4:6])[0]):
        o = 12 + 16 * i
        tables[font[o:o + 4].decode()] = (o, *struct.unpack(">II", font[o + 8:o + 16]))
    def fpatch(off, b):
        return font[:off] + b + font[off + len(b):]
    cblc, cbdt, cmap = tables["CBLC"][1], tables["CBDT"][1], tables["cmap"][1]
    array = cblc + struct.unpack(">I", font[cblc + 8:cblc + 12])[0]
    sub = array + struct.unpack(">I", font[array + 4:array + 8])[0]
    sub_cmap = cmap + struct.unpack(">I", font[cmap + 8:cmap + 12])[0]
    first_glyph = cbdt + struct.unpack(">I", font[sub + 4:sub + 8])[0] + struct.unpack(">I", font[sub + 8:sub + 12])[0]
    case("font-short.ttf", font[:8], 3, "too short for an OpenType table directory")
    case("font-woff.ttf", fpatch(0, b"wOFF"), 3, "is not a TrueType/OpenType font")
    case("font-table-beyond-file.ttf", fpatch(tables["CBDT"][0] + 12, struct.pack(">I", 1 << 30)), 3, "lies outside the")
    case("font-table-count.ttf", fpatch(4, struct.pack(">H", 4000)), 3, "a table directory of 4000 tables runs past the end")
    case("font-truncated.ttf", font[:len(font) // 2], 3, "lies outside the")
    case("font-no-colour.ttf", open(os.path.join(FIX, "emoji_font/no-colour.ttf"), "rb").read(), 3, "has no CBLC, CBDT tables")
    case("font-cblc-version.ttf", fpatch(cblc, struct.pack(">H", 9)), 3, "CBLC version 9")
    case("font-no-strikes.ttf", fpatch(cblc + 4, struct.pack(">I", 0)), 3, "strikes (1–256 expected)")
    case("font-strike-count.ttf", fpatch(cblc + 4, struct.pack(">I", 1 << 30)), 3, "strikes (1–256 expected)")
    case("font-subtable-count.ttf", fpatch(cblc + 16, struct.pack(">I", 1 << 20)), 3, "index subtables")
    case("font-subtable-array.ttf", fpatch(cblc + 8, struct.pack(">I", 1 << 30)), 3, "truncated")
    case("font-glyph-range.ttf", fpatch(array, struct.pack(">HH", 9, 2)), 3, "covers glyphs 9…2")
    case("font-index-format.ttf", fpatch(sub, struct.pack(">H", 9)), 3, "has format 9 (1–5 expected)")
    case("font-image-format.ttf", fpatch(sub + 2, struct.pack(">H", 1)), 3, "image format 1")
    case("font-image-offset.ttf", fpatch(sub + 4, struct.pack(">I", 1 << 30)), 3, "lies outside CBDT")
    case("font-png-overrun.ttf", fpatch(first_glyph + 5, struct.pack(">I", 1 << 20)), 3, "overruns its")
    case("font-cmap-not-unicode.ttf", fpatch(cmap + 4, struct.pack(">HH", 1, 0)), 3, "no Unicode subtable")
    case("font-cmap-groups.ttf", fpatch(sub_cmap + 12, struct.pack(">I", 1 << 28)), 3, "groups beyond the file")
    case("font-cmap-range.ttf", fpatch(sub_cmap + 16, struct.pack(">II", 0x20, 0x110000)), 3, "is not a range of Unicode code points")
    case("font-cmap-offset.ttf", fpatch(cmap + 8, struct.pack(">I", 1 << 30)), 3, "truncated")
    # Links not verified: a shard folder's tokenizer that is not the one its manifest records, or
    # is missing; a checkpoint whose bytes changed after its CRC-32s were recorded, whose weights
    # hold a NaN (with matching CRCs), or whose config.json describes more than its weights.
    ids = shard([1, 2, 3, 4])
    tok = json.dumps({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": []}}).encode()
    linked = shard_dir(ids, 4)
    m = json.loads(linked["manifest.json"])
    m.update(tokenizer="tokenizer.json", tokenizer_hash=fnv(tok))
    case("shard-tokenizer-swapped", dict(linked, **{"manifest.json": json.dumps(m).encode(),
                                                   "tokenizer.json": tok.replace(b'"b"', b'"c"')}),
         3, "tokenizer.json")
    case("shard-tokenizer-missing", dict(linked, **{"manifest.json": json.dumps(m).encode()}), 3, "is missing")
    d, V = 8, 256
    shapes = {"tok_embeddings.weight": [V, d], "layers.0.attention_norm.weight": [d],
              "layers.0.attention.in_proj.weight": [3 * d, d], "layers.0.attention.out_proj.weight": [d, d],
              "layers.0.ffn_norm.weight": [d], "layers.0.feed_forward.w12.weight": [2 * d, d],
              "layers.0.feed_forward.w3.weight": [d, d], "norm.weight": [d]}
    config = {"seed": 1, "threads": 1, "log_every": 1,
              "model": {"d_model": d, "n_layers": 1, "n_heads": 2, "n_kv_heads": 2, "vocab_size": V, "ffn_hidden": d,
                        "norm": "rmsnorm", "rope": "half", "tie_embeddings": True, "max_seq_len": 4},
              "data": {"train": "text.txt", "seq_len": 4}, "optim": {"steps": 1, "micro_batch": 1}}

    def checkpoint(nan=False, flip=False, wider=False):
        header, data = {"__metadata__": {"format": "tessera"}}, b""
        for name, shape in shapes.items():
            n = 1
            for x in shape:
                n *= x
            values = [0.01 * ((i * 7) % 13 - 6) for i in range(n)]
            if nan and name == "norm.weight":
                values[3] = float("nan")
            header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [len(data), len(data) + 4 * n]}
            data += struct.pack(f"<{n}f", *values)
        cfg = json.loads(json.dumps(config))
        if wider:
            cfg["model"]["d_model"] = 16
        files = {"config.json": json.dumps(cfg).encode(), "model.safetensors": st(header, data)}
        marker = {"crc32": {k: f"{zlib.crc32(v):08x}" for k, v in files.items()}}
        if flip:
            b = bytearray(files["model.safetensors"]); b[-5] ^= 0x04; files["model.safetensors"] = bytes(b)
        files["COMPLETE"] = json.dumps(marker).encode()
        return files
    case("checkpoint-bit-flipped", checkpoint(flip=True), 3, "checksum mismatch")
    case("checkpoint-nan-weight", checkpoint(nan=True), 3, "holds a non-finite value")
    case("checkpoint-config-wider", checkpoint(wider=True), 3, "config.json")
    json.dump(cases, open(os.path.join(OUT, "cases.json"), "w"), indent=1)
    print(len(cases), "malformed inputs in", OUT)


if __name__ == "__main__":
    main()
