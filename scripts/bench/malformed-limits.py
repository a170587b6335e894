#!/usr/bin/env python3
"""Time and memory of every hostile input: each case of the malformed corpus
(Tests/TesseraCoreTests/Fixtures/malformed/cases.json, `tessera inspect CASE`) and the command-line
cases below (sizes taken from flags), run one at a time. Prints each case's wall time and peak RSS
(the child's own, from wait4), then the worst of each, and exits 1 if any case took over 1 s, grew
past 1 GB, or answered with another exit code than documented. A benchmark, not a test: run it on a
quiet machine.
  scripts/bench/malformed-limits.py [TESSERA_BIN]      (default .build/release/tessera)
"""
import json, os, resource, subprocess, sys, tempfile, time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
BIN = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build/release/tessera")
FIX = os.path.join(ROOT, "Tests/TesseraCoreTests/Fixtures/malformed")
LIMIT_S, LIMIT_MB = 1.0, 1024


def run(args, cwd=ROOT):
    t0 = time.monotonic()
    p = subprocess.Popen([BIN] + args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    seconds = time.monotonic() - t0
    err = p.stderr.read().decode(errors="replace").strip()
    p.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    return code, seconds, usage.ru_maxrss / 1024, err  # ru_maxrss is in KiB on Linux


def main():
    if not os.access(BIN, os.X_OK):
        sys.exit(f"malformed-limits: {BIN} is not an executable (swift build -c release --product tessera)")
    cases = [(c["path"], ["inspect", os.path.join(FIX, c["path"])], c["exit"])
             for c in json.load(open(os.path.join(FIX, "cases.json")))]
    tmp = tempfile.mkdtemp(prefix="malformed-limits-")
    cfg = os.path.join(tmp, "c.yaml")
    with open(cfg, "w") as f:
        f.write("model: {d_model: 32, n_layers: 1, n_heads: 2, vocab_size: 256}\n"
                f"data: {{train: {ROOT}/configs/corpus/pride-and-prejudice.txt, seq_len: 16}}\noptim: {{steps: 1}}\n")
    run_dir = os.path.join(tmp, "run")
    cases += [
        ("--set model.d_model=1048576", ["train", "--config", cfg, "--run-dir", run_dir, "--set", "model.d_model=1048576"], 2),
        ("--set model.n_layers=100000", ["train", "--config", cfg, "--run-dir", run_dir, "--set", "model.n_layers=100000"], 2),
        ("--set optim.micro_batch=100000000", ["train", "--config", cfg, "--run-dir", run_dir, "--set", "optim.micro_batch=100000000"], 2),
        ("--set model.vocab_size=4000000000", ["train", "--config", cfg, "--run-dir", run_dir, "--set", "model.vocab_size=4000000000"], 2),
        ("tokenize pairs --seq-len 1000000000", ["tokenize", "pairs", "--codes", tmp, "--out", os.path.join(tmp, "p"), "--seq-len", "1000000000"], 2),
    ]
    worst_s, worst_mb, bad = 0.0, 0.0, []
    for name, args, want in cases:
        code, s, mb, err = run(args)
        worst_s, worst_mb = max(worst_s, s), max(worst_mb, mb)
        flag = ""
        if code != want or s > LIMIT_S or mb > LIMIT_MB:
            flag = "  <-- " + (f"exit {code}, documented {want}" if code != want else "over the limit")
            bad.append(name)
        print(f"{s:6.3f} s {mb:7.1f} MB  exit {code}  {name}{flag}")
    print(f"{len(cases)} cases: slowest {worst_s:.3f} s, largest {worst_mb:.1f} MB peak RSS "
          f"(limits {LIMIT_S:.0f} s, {LIMIT_MB} MB); {len(bad)} over or with another exit code")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
