#!/usr/bin/env python3
"""Extracts Jane Austen's novels (public domain) from Debian's r-cran-janeaustenr as plain text.

The package stores them in an R lazy-load database: Rdata.rdx (gzip of an XDR-serialised index
name -> (offset, length)) and Rdata.rdb (blobs: 4-byte big-endian length + zlib of an XDR
character vector, one string per line). Parsed with PyPI `rdata`.

Usage: scripts/data/austen.py OUT_DIR [NOVEL ...]   (default: all six)
Writes OUT_DIR/<novel>.txt. Installs what it needs (apt-get download, pip).
"""
import glob, gzip, os, subprocess, sys, tempfile, zlib

NOVELS = ["prideprejudice", "sensesensibility", "emma", "mansfieldpark", "northangerabbey", "persuasion"]


def main():
    out = sys.argv[1]
    wanted = sys.argv[2:] or NOVELS
    os.makedirs(out, exist_ok=True)
    try:
        import rdata  # noqa: F401
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "rdata"], check=True)
    import rdata
    work = tempfile.mkdtemp()
    subprocess.run(["apt-get", "download", "r-cran-janeaustenr"], cwd=work, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deb = glob.glob(os.path.join(work, "r-cran-janeaustenr_*.deb"))[0]
    subprocess.run(["dpkg", "-x", deb, os.path.join(work, "root")], check=True)
    base = os.path.join(work, "root/usr/lib/R/site-library/janeaustenr/data/Rdata")
    index = rdata.parser.parse_data(gzip.decompress(open(base + ".rdx", "rb").read()))
    index = rdata.conversion.convert(index)
    blobs = open(base + ".rdb", "rb").read()
    variables = index["variables"]
    for name in wanted:
        offset, length = [int(x) for x in variables[name]]
        blob = blobs[offset: offset + length]
        parsed = rdata.parser.parse_data(zlib.decompress(blob[4:]))
        lines = rdata.conversion.convert(parsed)
        text = "\n".join("" if l is None else str(l) for l in lines).strip() + "\n"
        path = os.path.join(out, name + ".txt")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        print(f"{path}: {len(text)} chars", file=sys.stderr)


if __name__ == "__main__":
    main()
