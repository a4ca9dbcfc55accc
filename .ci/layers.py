#!/usr/bin/env python3
"""Checks the shape of src/ that ARCHITECTURE.md promises:

- every `crate::MODULE` reference (in `use` lines and inline paths) goes from a module to one of
  a lower layer, or within the same module: data flows one way, never back up;
- no source file is longer than 600 lines, and no function longer than 100 lines.

Exit 1 with one line per violation. Run from the repository root: `.ci/layers.py`.
"""
import os
import re
import sys

# Layer of each top-level module of src/, lowest first. A module may use modules of lower layers
# and itself; never a module of its own layer or above.
LAYERS = [
    ["error", "lines", "cancel", "output"],
    ["input", "lock"],
    ["rules", "config"],
    ["breach"],
    ["finding"],
    ["blob"],
    ["engine", "filter", "registry"],
    ["source", "scan", "incident"],
    ["report"],
    ["cli", "fuzzing"],
    ["settings"],
    ["pipeline"],
    ["cmd"],
    ["lib", "main"],
]
RANK = {m: i for i, layer in enumerate(LAYERS) for m in layer}
EXEMPT = {"testutil"}  # test helpers, compiled only into unit tests
MAX_FILE_LINES = 600
MAX_FN_LINES = 100

REF = re.compile(r"\bcrate::([a-z_][a-z0-9_]*)")
USE_GROUP = re.compile(r"\buse crate::\{([^}]*)\}", re.S)
FN = re.compile(r"^(\s*)(?:pub(?:\([a-z]+\))?\s+)?(?:const\s+)?(?:unsafe\s+)?fn\s+([a-z_][a-z0-9_]*)")


def module_of(path):
    rel = os.path.relpath(path, "src")
    head = rel.split(os.sep)[0]
    return head[:-3] if head.endswith(".rs") else head


def strip_comments(text):
    return "\n".join(line.split("//", 1)[0] for line in text.split("\n"))


def function_lengths(lines):
    """(name, first line, length) of each fn whose body is delimited by its indentation."""
    out = []
    for i, line in enumerate(lines):
        m = FN.match(line)
        if not m or line.rstrip().endswith(";"):
            continue
        indent = m.group(1)
        for j in range(i + 1, len(lines)):
            if lines[j].startswith(indent + "}") and not lines[j].startswith(indent + "} else"):
                out.append((m.group(2), i + 1, j - i + 1))
                break
    return out


def main():
    problems = []
    for root, _, files in os.walk("src"):
        for name in sorted(files):
            if not name.endswith(".rs"):
                continue
            path = os.path.join(root, name)
            module = module_of(path)
            if module in EXEMPT:
                continue
            if module not in RANK:
                problems.append(f"{path}: module `{module}` has no layer in .ci/layers.py")
                continue
            text = open(path, encoding="utf-8").read()
            lines = text.split("\n")
            if len(lines) > MAX_FILE_LINES:
                problems.append(f"{path}: {len(lines)} lines (at most {MAX_FILE_LINES})")
            for fn, at, n in function_lengths(lines):
                if n > MAX_FN_LINES:
                    problems.append(f"{path}:{at}: fn {fn} is {n} lines (at most {MAX_FN_LINES})")
            code = strip_comments(text)
            targets = set(REF.findall(code))
            for group in USE_GROUP.findall(code):
                targets.update(re.findall(r"(?:^|,)\s*([a-z_][a-z0-9_]*)", group))
            for target in sorted(targets):
                if target in EXEMPT or target == module or target in ("self", "super"):
                    continue
                if target not in RANK:
                    continue  # a crate-root item (re-export), not a module
                if RANK[target] >= RANK[module]:
                    problems.append(f"{path}: `{module}` uses `crate::{target}`, which is not below it")
    for p in problems:
        print(p)
    print(f"layers: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
