#!/usr/bin/env bash
# Packaging checks: the versions agree (Cargo.toml, the pre-commit glue in pyproject.toml, the
# CHANGELOG), `cargo publish --dry-run --locked` passes, and the `ndaguard-bin` wheel builds with
# maturin (reusing the release build in target/) and works from a fresh venv with no Rust
# toolchain on PATH. The wheel is left in $NDAGUARD_WHEEL_DIR for .ci/precommit-e2e.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
. .ci/tools.sh
dist="${NDAGUARD_WHEEL_DIR:-${TMPDIR:-/tmp}/ndaguard-ci-dist}"

version="$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)"
glue="$(sed -n 's/^version = "\([^"]*\)".*/\1/p' pyproject.toml | head -n 1)"
[ "$glue" = "$version" ] || { echo "FAIL: pyproject.toml's version $glue is not Cargo.toml's $version"; exit 1; }
grep -qF "dependencies = [\"ndaguard-bin==$version\"]" pyproject.toml \
  || { echo "FAIL: pyproject.toml must depend on ndaguard-bin==$version"; exit 1; }
grep -qE "^## \[(Unreleased|$version)\]" CHANGELOG.md || { echo "FAIL: CHANGELOG.md has no section for $version"; exit 1; }
echo "ok -- version $version in Cargo.toml, pyproject.toml and CHANGELOG.md"

# What crates.io would get, built from the packaged sources alone.
cargo publish --dry-run --locked ${NDAGUARD_ALLOW_DIRTY:+--allow-dirty}

rm -rf "$dist"
mkdir -p "$dist"
(cd python/ndaguard-bin && "$CI_VENV/bin/maturin" build --release --locked --compatibility linux --out "$dist")
wheel="$(ls "$dist"/ndaguard_bin-"$version"-*.whl)"
echo "ok -- built $(basename "$wheel") ($(du -k "$wheel" | cut -f1) KiB)"

# Install it as a user would, in a fresh venv, from the wheel alone (no index, no cargo on PATH).
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
start=$(date +%s%N)
"$work/venv/bin/pip" install --quiet --disable-pip-version-check --no-index --find-links "$dist" "ndaguard-bin==$version"
echo "ok -- pip install ndaguard-bin from the wheel: $(( ($(date +%s%N) - start) / 1000000 )) ms"
got="$(env PATH="$work/venv/bin:/usr/bin:/bin" ndaguard --version)"
[ "$got" = "ndaguard $version" ] || { echo "FAIL: the wheel's ndaguard --version says '$got'"; exit 1; }
# A generated GitHub token (valid checksum, not a real credential) must be found, and redacted.
key="$(python3 .ci/fake-token.py 16)"
printf 'token = %s\n' "$key" > "$work/config.ini"
set +e
env PATH="$work/venv/bin:/usr/bin:/bin" ndaguard scan "$work/config.ini" --no-progress > "$work/out.txt" 2>&1
rc=$?
set -e
cat "$work/out.txt"
[ "$rc" -eq 1 ] || { echo "FAIL: the wheel's ndaguard exited $rc on a file with a key (expected 1)"; exit 1; }
if grep -qF "$key" "$work/out.txt"; then echo "FAIL: the report printed the key"; exit 1; fi
echo "ok -- the wheel's ndaguard ($got) installs without Rust and finds a planted key"

# The release's completions and manual pages archive (.github/release-extras.sh), made from a
# release-shaped archive of this build.
name="ndaguard-$version-x86_64-unknown-linux-musl"
mkdir -p "$work/rel/$name"
cp target/release/ndaguard LICENSE README.md CHANGELOG.md "$work/rel/$name/"
tar -C "$work/rel" -czf "$work/rel/$name.tar.gz" "$name"
bash .github/release-extras.sh "$version" "$work/rel" > "$work/extras.txt"
for f in completions/ndaguard.bash completions/_ndaguard completions/ndaguard.fish man/ndaguard.1 man/ndaguard-scan.1; do
  grep -qx "ndaguard-$version-completions-man/$f" "$work/extras.txt" || { cat "$work/extras.txt"; echo "FAIL: the extras archive lacks $f"; exit 1; }
done
echo "ok -- release extras: $(wc -l < "$work/extras.txt") entries (completions for 5 shells, manual pages)"
