#!/usr/bin/env python3
"""fontTools as the oracle for Tessera's colour-emoji font reader (NotoColorEmojiFont.swift).
Subsets Debian's NotoColorEmoji.ttf (fonts-noto-color-emoji, SIL OFL 1.1) to four code points with
fontTools' subsetter, which keeps the CBDT/CBLC colour bitmaps, and writes to
Tests/TesseraCoreTests/Fixtures/emoji_font/:
  noto-subset.ttf      the subset font;
  no-colour.ttf        the same font without its CBDT and CBLC tables (must be refused);
  expected.json        per code point: glyph id, bitmap width and height, length, sha256 and
                       FNV-1a 64 (Tessera's checksum) of the PNG bytes fontTools finds in CBDT.
Usage: scripts/reference/make_emoji_font_fixture.py   (fetches the Debian package with apt-get download)
"""
import glob, hashlib, json, os, subprocess, sys, tempfile
try:
    from fontTools.ttLib import TTFont
    from fontTools import subset
except ImportError:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "fonttools==4.68.0"], check=True)
    from fontTools.ttLib import TTFont
    from fontTools import subset

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "Tests/TesseraCoreTests/Fixtures/emoji_font")
os.makedirs(OUT, exist_ok=True)
CODEPOINTS = [0x1F600, 0x1F436, 0x2764, 0x1F34E]  # grinning face, dog face, red heart, red apple

with tempfile.TemporaryDirectory() as work:
    subprocess.run(["apt-get", "download", "fonts-noto-color-emoji"], cwd=work, check=True, capture_output=True)
    deb = glob.glob(os.path.join(work, "fonts-noto-color-emoji_*.deb"))[0]
    subprocess.run(["dpkg", "-x", deb, os.path.join(work, "root")], check=True)
    src = os.path.join(work, "root/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
    options = subset.Options()
    options.layout_features = []          # no GSUB sequences: single code points only
    options.drop_tables += ["GSUB", "vhea", "vmtx"]
    font = TTFont(src)
    sub = subset.Subsetter(options)
    sub.populate(unicodes=CODEPOINTS)
    sub.subset(font)
    path = os.path.join(OUT, "noto-subset.ttf")
    font.save(path)

font = TTFont(path)
cmap = font.getBestCmap()
order = font.getGlyphOrder()
strike = font["CBDT"].strikeData[0]
def fnv1a64(b):
    h = 0xcbf29ce484222325
    for x in b:
        h = ((h ^ x) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


expected = []
for cp in CODEPOINTS:
    name = cmap[cp]
    glyph = strike[name]
    glyph.decompile()
    png = glyph.imageData
    expected.append({"codepoint": cp, "glyph": order.index(name), "width": int.from_bytes(png[16:20], "big"),
                     "height": int.from_bytes(png[20:24], "big"), "png_bytes": len(png), "png_sha256": hashlib.sha256(png).hexdigest(),
                     "png_fnv1a64": fnv1a64(png)})
with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump({"font": "noto-subset.ttf", "glyphs": expected}, f, indent=1)
for t in ["CBDT", "CBLC"]:
    del font[t]
font.save(os.path.join(OUT, "no-colour.ttf"))
print("wrote", OUT, [e["codepoint"] for e in expected])
