#!/usr/bin/env bash
# Makes ndaguard-VERSION-completions-man.tar.gz in DIST from the Linux x86-64 release archive
# there: shell completions (bash, zsh, fish, elvish, PowerShell) and the manual pages, which the
# binary writes itself (`ndaguard completions SHELL`, `ndaguard man --dir`).
# Usage: release-extras.sh VERSION DIST   (run by release.yml; .ci/package.sh tries it)
set -euo pipefail
version="$1"
dist="$2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
tar -xzf "$dist/ndaguard-$version-x86_64-unknown-linux-musl.tar.gz" -C "$work"
bin="$work/ndaguard-$version-x86_64-unknown-linux-musl/ndaguard"
name="ndaguard-$version-completions-man"
mkdir -p "$work/$name/completions" "$work/$name/man"
"$bin" completions bash > "$work/$name/completions/ndaguard.bash"
"$bin" completions zsh > "$work/$name/completions/_ndaguard"
"$bin" completions fish > "$work/$name/completions/ndaguard.fish"
"$bin" completions elvish > "$work/$name/completions/ndaguard.elv"
"$bin" completions powershell > "$work/$name/completions/_ndaguard.ps1"
"$bin" man --dir "$work/$name/man"
for f in "$work/$name"/completions/* "$work/$name/man/ndaguard.1"; do
  [ -s "$f" ] || { echo "empty: $f"; exit 1; }
done
tar -C "$work" -czf "$dist/$name.tar.gz" "$name"
tar -tzf "$dist/$name.tar.gz"
