#!/usr/bin/env python3
"""Scores scanners' JSON reports against the labels of tools/accuracy/gen.py.

    tools/accuracy/score.py LABELS.json NAME=REPORT.json [NAME=REPORT.json ...]

Reports may be ndaguard JSON ({"findings": [{path, line}]}), gitleaks JSON ([{File, StartLine}])
or Kingfisher JSON ({"findings": [{"finding": {path, line}}]}). Paths are compared relative to the
corpus directory. A planted secret counts as found when any finding is on its line; a finding on
any other line is a false positive. Prints a Markdown table and, per scanner, the providers missed.
"""
import json, sys


def locations(report):
    data = json.load(open(report))
    out = set()
    items = data if isinstance(data, list) else data.get("findings", [])
    for f in items:
        if "File" in f:
            path, line = f["File"], f["StartLine"]
        elif "finding" in f:
            path, line = f["finding"]["path"], f["finding"]["line"]
        else:
            path, line = f["path"], f["line"]
        path = path.split("corpus/", 1)[-1]
        out.add((path, int(line)))
    return out


labels = json.load(open(sys.argv[1]))
secrets = {(s["path"], s["line"]): s["provider"] for s in labels["secrets"]}
negatives = {(n["path"], n["line"]): n["kind"] for n in labels["negatives"]}
print("| scanner | recall | precision | true positives | missed | false positives | hard negatives reported |")
print("|---|---|---|---|---|---|---|")
details = []
for arg in sys.argv[2:]:
    name, report = arg.split("=", 1)
    found = locations(report)
    tp = [k for k in secrets if k in found]
    fn = [k for k in secrets if k not in found]
    fp = [k for k in found if k not in secrets]
    neg_hit = sorted({negatives[k] for k in fp if k in negatives})
    recall = len(tp) / len(secrets) if secrets else 1.0
    precision = len(tp) / (len(tp) + len(fp)) if tp or fp else 1.0
    print(f"| {name} | {recall:.1%} | {precision:.1%} | {len(tp)} | {len(fn)} | {len(fp)} | {', '.join(neg_hit) or '-'} |")
    missed = sorted({secrets[k] for k in fn})
    details.append(f"{name} missed ({len(missed)} providers): {', '.join(missed) or '-'}")
    other_fp = sorted({f"{p}:{l}" for p, l in fp if (p, l) not in negatives})
    if other_fp:
        details.append(f"{name} other false positives: {', '.join(other_fp[:20])}")
print()
for d in details:
    print("- " + d)
