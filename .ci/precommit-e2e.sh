#!/usr/bin/env bash
# The pre-commit hooks for real, through the wheel: pre-commit installs this checkout's hooks
# (language: python) into a throwaway repository, and pip resolves `ndaguard-bin` from the wheel
# that .ci/package.sh built (no index, no cargo on PATH). Then:
#   1. a commit with a staged secret is refused, with a message that names it (redacted);
#   2. a clean commit is accepted;
#   3. `pre-commit run --all-files` fails on a secret that is already committed, and
#      `pre-commit run --files OTHER` does not (the hook scans the file names it is given).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
. "$here/.ci/tools.sh"
dist="${NDAGUARD_WHEEL_DIR:-${TMPDIR:-/tmp}/ndaguard-ci-dist}"
version="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$here/Cargo.toml" | head -n 1)"
ls "$dist"/ndaguard_bin-"$version"-*.whl >/dev/null || { echo "no ndaguard-bin wheel in $dist: run .ci/package.sh first"; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# The glue package's build backend, so that pip needs no index at all.
"$CI_VENV/bin/pip" download --quiet --disable-pip-version-check --only-binary=:all: -d "$work/wheels" "setuptools==80.9.0"
cp "$dist"/ndaguard_bin-"$version"-*.whl "$work/wheels/"
export PIP_NO_INDEX=1 PIP_FIND_LINKS="$work/wheels" PIP_DISABLE_PIP_VERSION_CHECK=1
export PRE_COMMIT_HOME="$work/cache"
# No Rust toolchain where pre-commit runs: only the venv's tools and the system's.
export PATH="$CI_VENV/bin:/usr/local/bin:/usr/bin:/bin"
if command -v cargo >/dev/null; then echo "cargo is still on PATH"; exit 1; fi

# pre-commit clones the hook repository at a revision: use a snapshot of this checkout.
git -C "$here" ls-files -z | (cd "$here" && xargs -0 tar cf -) | (mkdir -p "$work/hookrepo" && cd "$work/hookrepo" && tar xf -)
git -C "$work/hookrepo" init -q -b main
git -C "$work/hookrepo" add -A
git -C "$work/hookrepo" -c user.name=ci -c user.email=ci@example.invalid commit -q -m snapshot
rev="$(git -C "$work/hookrepo" rev-parse HEAD)"
mkdir "$work/app"
cd "$work/app"
git init -q -b main
git config user.name ci
git config user.email ci@example.invalid
cat > .pre-commit-config.yaml <<YAML
repos:
  - repo: $work/hookrepo
    rev: $rev
    hooks:
      - id: ndaguard
      - id: ndaguard-files
YAML
git add .pre-commit-config.yaml
pre-commit install >/dev/null
start=$(date +%s%N)
pre-commit install-hooks
echo "ok -- pre-commit installed the hooks (pip, the wheel, no cargo) in $(( ($(date +%s%N) - start) / 1000000 )) ms"
git commit -q -m "config"

# 1. A staged secret is refused.
token="$(python3 "$here/.ci/fake-token.py" 7)"
echo "token = $token" > leak.txt
git add leak.txt
if git commit -q -m leak >"$work/out.txt" 2>&1; then
  cat "$work/out.txt"; echo "FAIL: the pre-commit hook let a staged secret through"; exit 1
fi
cat "$work/out.txt"
grep -q "leak.txt:1:9  github-pat-classic  critical  ghp_…(40)" "$work/out.txt" || { echo "FAIL: the hook's message does not name the finding"; exit 1; }
grep -q "Ways out" "$work/out.txt" || { echo "FAIL: the hook's message does not say how to get out"; exit 1; }
if grep -qF "$token" "$work/out.txt"; then echo "FAIL: the hook printed the secret"; exit 1; fi
[ "$(git rev-list --count HEAD)" = 1 ] || { echo "FAIL: a commit was made"; exit 1; }
echo "ok -- the staged secret was refused"

# 2. A clean commit is accepted, though an untracked file holds a secret: the hooks scan what is
# committed (the index; the file names pre-commit passes), not the rest of the working tree.
git reset -q leak.txt
mv leak.txt untracked-leak.txt
echo "nothing secret" > fine.txt
git add fine.txt
git commit -q -m fine
[ "$(git rev-list --count HEAD)" = 2 ] || { echo "FAIL: the clean commit was not made"; exit 1; }
rm untracked-leak.txt
echo "ok -- the clean commit was accepted (an untracked file with a secret did not block it)"

# 3. A secret committed past the hooks fails `pre-commit run --all-files` (what pre-commit.ci and
# CI jobs run), through the ndaguard-files hook, which gets every tracked file's name; the
# staged hook has nothing staged to scan.
echo "token = $token" > committed.txt
git add committed.txt
git commit -q --no-verify -m "committed past the hook"
if pre-commit run --all-files >"$work/all.txt" 2>&1; then
  cat "$work/all.txt"; echo "FAIL: pre-commit run --all-files passed with a committed secret"; exit 1
fi
cat "$work/all.txt"
grep -q "committed.txt:1:9  github-pat-classic  critical  ghp_…(40)" "$work/all.txt" || { echo "FAIL: --all-files did not name the committed secret"; exit 1; }
if grep -qF "$token" "$work/all.txt"; then echo "FAIL: the hook printed the secret"; exit 1; fi
echo "ok -- pre-commit run --all-files failed on the committed secret"
pre-commit run --files fine.txt >"$work/files.txt" 2>&1 || { cat "$work/files.txt"; echo "FAIL: pre-commit run --files fine.txt scanned more than fine.txt"; exit 1; }
echo "ok -- pre-commit run --files fine.txt passes: ndaguard-files scans the names it is given"
git rm -q committed.txt
git commit -q --no-verify -m "remove it"
pre-commit run --all-files >"$work/all.txt" 2>&1 || { cat "$work/all.txt"; echo "FAIL: --all-files failed on a clean tree"; exit 1; }
echo "ok -- pre-commit run --all-files passes on a clean tree"
