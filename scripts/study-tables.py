#!/usr/bin/env python3
"""Markdown tables of a finished study, for docs/ and the README.

    scripts/study-tables.py REPORT_JSON [FORGETTING_JSONL]

Prints (standard library only, nothing computed that the study did not write):
- the claims table of `tessera report`'s report.json: verdict, paired Δ with its interval and n, the
  region the rule fixed before the runs;
- the tokens each arm learned from (caption text, image, replayed text; image:text ratio);
- with FORGETTING_JSONL (`tessera probe forget --json` lines, as reproduce.sh writes them): Table 1 —
  text-id perplexity, cloze and EN→FR accuracy of every probed checkpoint (the LM before training,
  each step along training, each replay run), then the paper's two prompts' completions before and
  after.
"""
import json
import re
import sys


def fmt(x, digits=3):
    return f"{x:+.{digits}f}"


def claims(report):
    rows = ["| claim | verdict | Δ [90 % CI] | n | region |", "| --- | --- | --- | --- | --- |"]
    for c in report["claims"]:
        iv = c.get("interval")
        if iv:
            level = int(round(iv.get("level", 0.9) * 100))
            delta = f"{fmt(iv['mean'])} [{fmt(iv['lower'])}, {fmt(iv['upper'])}] ({level} %)"
            n = str(iv.get("n", ""))
        else:
            delta, n = "—", ""
        statement = c["statement"].replace("|", "\\|")
        verdict = c["verdict"] + (f" ({c['reason']})" if c.get("reason") else "")
        region = c.get("region", "").replace("|", "\\|")
        rows.append(f"| {c['id']} {statement} | {verdict} | {delta} | {n} | {region} |")
    return "\n".join(rows)


def tokens(report):
    rows = [
        "| arm | training | runs | caption text | image | replayed text | image : text |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for t in report.get("tokens", []):
        text = t["caption_text"] + t["replayed_text"]
        ratio = f"{t['image'] / text:.1f} : 1" if text > 0 else "—"
        rows.append(
            f"| {t['arm']} | {t['training']} | {t['runs']} | {t['caption_text']:,.0f} | {t['image']:,.0f} | "
            f"{t['replayed_text']:,.0f} | {ratio} |"
        )
    return "\n".join(rows)


def label(entry):
    path = entry["checkpoint"]
    m = re.search(r"([^/]+)/checkpoints/(?:step_0*(\d+)|(final))", path)
    if m:
        return m.group(1), int(m.group(2)) if m.group(2) else "final"
    run = path.rstrip("/").split("/")[-1]
    return run, entry.get("step", "—")


def table1(lines):
    rows = [
        "| checkpoint | step | text-id perplexity | cloze | EN→FR |",
        "| --- | --- | --- | --- | --- |",
    ]
    for e in lines:
        run, step = label(e)
        rows.append(
            f"| {run} | {step} | {e['val_ppl_text_only']:,.1f} | {100 * e['cloze_accuracy']:.1f} % | "
            f"{100 * e['translation_accuracy']:.1f} % |"
        )
    return "\n".join(rows)


def prompts(lines):
    if not lines:
        return ""
    before, out = lines[0], []
    # "after": the last checkpoint of each probed run.
    finals = {}
    for e in lines[1:]:
        finals[label(e)[0]] = e
    for i, p in enumerate(before["completions"]):
        out.append(f"**{p['prompt']}**\n")
        out.append(f"- before ({label(before)[0]}): {json.dumps(p['completion'], ensure_ascii=False)}")
        for run, e in finals.items():
            c = e["completions"][i]
            out.append(f"- {run}, step {label(e)[1]}: {json.dumps(c['completion'], ensure_ascii=False)}")
        out.append("")
    return "\n".join(out)


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: scripts/study-tables.py REPORT_JSON [FORGETTING_JSONL]")
    try:
        report = json.load(open(sys.argv[1], encoding="utf-8"))
    except (OSError, ValueError) as e:
        sys.exit(f"study-tables: {sys.argv[1]}: {e}")
    print("## Claims\n")
    print(claims(report))
    print("\n## Tokens per run (mean over seeds)\n")
    print(tokens(report))
    if len(sys.argv) == 3:
        try:
            lines = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8") if l.strip()]
        except (OSError, ValueError) as e:
            sys.exit(f"study-tables: {sys.argv[2]}: {e}")
        print("\n## Table 1: what the LM keeps\n")
        print(table1(lines))
        print("\n## The paper's two prompts\n")
        print(prompts(lines))


if __name__ == "__main__":
    main()
