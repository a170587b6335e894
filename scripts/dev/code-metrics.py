#!/usr/bin/env python3
"""Figures the redesign is judged by (issue "One definition"), from the Swift sources as they are:

  - the N longest functions (lines from the `func`/`init` line to its closing brace),
  - uses of `[String: Any]`,
  - string literals that are parameter names of the transformer (checkpoint keys such as
    "layers.0.attention.in_proj.weight" or a suffix of one), outside the one table that declares them.

Usage: scripts/dev/code-metrics.py [--top N] [--sources DIR] [--table FILE]
Brace matching skips string literals and comments; good enough for this code base's style.
"""
import argparse
import os
import re
import sys

FUNC = re.compile(r"^\s*(?:@\w+(?:\([^)]*\))?\s+)*(?:(?:public|private|fileprivate|internal|static|class|final|override|mutating|nonisolated|@discardableResult)\s+)*(?:func\s+([A-Za-z_`][\w`]*)|(init)\??\s*[(<])")
# Checkpoint keys of the transformer, or the per-layer suffixes the code joins onto "layers.N.".
PARAM_NAME = re.compile(
    r'"(?:layers\.[^"]*\.)?(?:tok_embeddings|pos_embeddings|attention_norm|ffn_norm|attention\.(?:in|out)_proj'
    r'|feed_forward\.w(?:12|3)|norm|output)\.(?:weight|bias)"')


def strip_strings_and_comments(line, in_block):
    """The line with string contents and comments blanked, and whether a /* */ comment is still open."""
    out, i, n = [], 0, len(line)
    while i < n:
        if in_block:
            j = line.find("*/", i)
            if j < 0:
                return "".join(out), True
            i, in_block = j + 2, False
            continue
        if line.startswith("//", i):
            break
        if line.startswith("/*", i):
            in_block, i = True, i + 2
            continue
        if line[i] == '"':
            j = i + 1
            while j < n and line[j] != '"':
                j += 2 if line[j] == "\\" else 1
            out.append('""')
            i = j + 1
            continue
        out.append(line[i])
        i += 1
    return "".join(out), in_block


def functions(path):
    with open(path, encoding="utf-8") as f:
        lines = f.readlines()
    found, in_block = [], False
    clean = []
    for line in lines:
        text, in_block = strip_strings_and_comments(line, in_block)
        clean.append(text)
    for i, line in enumerate(lines):
        m = FUNC.match(clean[i])
        if not m or "protocol" in clean[i]:
            continue
        name = m.group(1) or m.group(2)
        depth, started, end = 0, False, None
        for j in range(i, len(lines)):
            for ch in clean[j]:
                if ch == "{":
                    depth, started = depth + 1, True
                elif ch == "}":
                    depth -= 1
                    if started and depth == 0:
                        end = j
                        break
            if end is not None:
                break
            if not started and j > i and (clean[j].strip() == "" or FUNC.match(clean[j])):
                break   # a requirement without a body
        if end is not None:
            found.append((end - i + 1, name, path, i + 1))
    return found


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--top", type=int, default=10)
    ap.add_argument("--sources", default="Sources")
    ap.add_argument("--table", default="Sources/TesseraCore/Models/TransformerWeights.swift",
                    help="the file allowed to declare parameter names")
    a = ap.parse_args()
    files = []
    for root, _, names in os.walk(a.sources):
        files += [os.path.join(root, n) for n in names if n.endswith(".swift")]
    files.sort()
    funcs, any_uses, literals = [], 0, 0
    for p in files:
        funcs += functions(p)
        with open(p, encoding="utf-8") as f:
            text = f.read()
        any_uses += text.count("[String: Any]")
        if os.path.abspath(p) != os.path.abspath(a.table):
            code = "\n".join(l.split("///")[0] for l in text.splitlines())
            literals += len(PARAM_NAME.findall(code))
    funcs.sort(key=lambda f: (-f[0], f[2], f[3]))
    print(f"{len(files)} Swift files, {len(funcs)} functions")
    print(f"longest {a.top} functions (lines):")
    for n, name, path, line in funcs[:a.top]:
        print(f"  {n:4d}  {name}  {path}:{line}")
    print(f"[String: Any] uses: {any_uses}")
    print(f"parameter-name literals outside {a.table}: {literals}")


if __name__ == "__main__":
    sys.exit(main())
