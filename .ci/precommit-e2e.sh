#!/usr/bin/env bash
# The pre-commit hook for real: pre-commit installs ndaguard from this checkout (language: rust,
# a cargo build) into a throwaway repository, then a commit with a staged secret must be refused
# and a clean one accepted.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
venv="${TMPDIR:-/tmp}/ndaguard-ci-venv"
if [ ! -x "$venv/bin/pre-commit" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet check-jsonschema==0.39.0 pre-commit==4.7.0
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# pre-commit clones the hook repository at a revision: use a snapshot of this checkout.
git -C "$here" ls-files -z | (cd "$here" && xargs -0 tar cf -) | (mkdir -p "$work/hookrepo" && cd "$work/hookrepo" && tar xf -)
git -C "$work/hookrepo" init -q -b main
git -C "$work/hookrepo" add -A
git -C "$work/hookrepo" -c user.name=ci -c user.email=ci@example.invalid commit -q -m snapshot
rev="$(git -C "$work/hookrepo" rev-parse HEAD)"
mkdir "$work/app"
cd "$work/app"
git init -q -b main
cat > .pre-commit-config.yaml <<YAML
repos:
  - repo: $work/hookrepo
    rev: $rev
    hooks:
      - id: ndaguard
YAML
git add .pre-commit-config.yaml
export PRE_COMMIT_HOME="$work/cache"
"$venv/bin/pre-commit" install >/dev/null
git -c user.name=ci -c user.email=ci@example.invalid commit -q -m "config"
# A generated GitHub token with a valid checksum (not a real credential).
token="$(python3 -c '
import random, zlib
A = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
r = random.Random(7); body = "".join(r.choice(A) for _ in range(30)); n = zlib.crc32(body.encode()); s = ""
while n: s = A[n % 62] + s; n //= 62
print("ghp_" + body + s.rjust(6, "0"))')"
echo "token = $token" > leak.txt
git add leak.txt
if PATH="$venv/bin:$PATH" git -c user.name=ci -c user.email=ci@example.invalid commit -q -m leak >"$work/out.txt" 2>&1; then
  cat "$work/out.txt"; echo "FAIL: the pre-commit hook let a staged secret through"; exit 1
fi
cat "$work/out.txt"
grep -q "leak.txt:1:9  github-pat-classic  critical  ghp_…(40)" "$work/out.txt" || { echo "FAIL: the hook's message does not name the finding"; exit 1; }
grep -q "Ways out" "$work/out.txt" || { echo "FAIL: the hook's message does not say how to get out"; exit 1; }
if grep -qF "$token" "$work/out.txt"; then echo "FAIL: the hook printed the secret"; exit 1; fi
git reset -q leak.txt
rm leak.txt
echo "nothing secret" > fine.txt
git add fine.txt
PATH="$venv/bin:$PATH" git -c user.name=ci -c user.email=ci@example.invalid commit -q -m fine
echo "ok -- pre-commit blocked the staged secret and accepted the clean commit"
