#!/usr/bin/env bash
# Installs ndaguard for the GitHub Action (action.yml), in two steps:
#
#   install.sh plan     decides how: `release` when this commit of the action has the SHA-256 sums
#                       of its own version's release (action/sha256sums/vVERSION.txt) with an
#                       entry for this runner's archive, else `source`; writes the step outputs
#                       version, target, asset, method, dir and cache-key.
#   install.sh install  `release`: downloads the archive, checks it against the committed sum
#                       (fails closed: a wrong sum or a missing asset stops the job), unpacks it;
#                       `source`: uses the binary restored from the cache, or builds it with
#                       `cargo install --locked --path`. Writes the step output `bin`.
#
# Environment: ACTION_PATH (the action's checkout), RUNNER_OS, RUNNER_ARCH, RUNNER_TEMP,
# GITHUB_OUTPUT, INSTALL (auto | release | source), and for `install` METHOD, VERSION, TARGET,
# ASSET, DIR from the plan. NDAGUARD_RELEASE_URL replaces the releases' base URL (tests).
set -euo pipefail

die() { echo "::error::$*" >&2; exit 1; }
out() { echo "$1=$2" >> "$GITHUB_OUTPUT"; }
sha256() { if command -v sha256sum >/dev/null; then sha256sum "$1"; else shasum -a 256 "$1"; fi | cut -d' ' -f1; }

: "${ACTION_PATH:?}" "${RUNNER_OS:?}" "${RUNNER_ARCH:?}" "${RUNNER_TEMP:?}" "${GITHUB_OUTPUT:?}"
release_url="${NDAGUARD_RELEASE_URL:-https://github.com/ndaguard/ndaguard/releases/download}"
exe=""; [ "$RUNNER_OS" = Windows ] && exe=".exe"

case "${1:-}" in
plan)
  version="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$ACTION_PATH/Cargo.toml" | head -n 1)"
  [ -n "$version" ] || die "no version in $ACTION_PATH/Cargo.toml"
  case "$RUNNER_OS/$RUNNER_ARCH" in
    Linux/X64) target=x86_64-unknown-linux-musl ;;
    Linux/ARM64) target=aarch64-unknown-linux-musl ;;
    macOS/X64) target=x86_64-apple-darwin ;;
    macOS/ARM64) target=aarch64-apple-darwin ;;
    Windows/X64) target=x86_64-pc-windows-msvc ;;
    *) target="" ;;
  esac
  ext=tar.gz; [ "$RUNNER_OS" = Windows ] && ext=zip
  asset="ndaguard-$version-$target.$ext"
  sums="$ACTION_PATH/action/sha256sums/v$version.txt"
  method=source
  if [ "${INSTALL:-auto}" != source ] && [ -n "$target" ] && [ -f "$sums" ] && grep -qE "^[0-9a-f]{64} [ *]$asset\$" "$sums"; then
    method=release
  elif [ "${INSTALL:-auto}" = release ]; then
    die "install: release, but this commit of the action has no release checksum for $asset (action/sha256sums/v$version.txt)"
  fi
  dir="$RUNNER_TEMP/ndaguard-$version-$method"
  # The source build's cache key: the version, the lock file and the sources (hashFiles() cannot
  # read files outside the workspace, where a `uses:` action lives).
  lock="$(sha256 "$ACTION_PATH/Cargo.lock" | cut -c1-16)"
  src="$(cd "$ACTION_PATH" && find src rules build.rs Cargo.toml -type f | LC_ALL=C sort | while read -r f; do echo "$f $(sha256 "$f")"; done | sha256 /dev/stdin | cut -c1-16)"
  out version "$version"; out target "$target"; out asset "$asset"; out method "$method"; out dir "$dir"
  out cache-key "ndaguard-$RUNNER_OS-$RUNNER_ARCH-$version-lock-$lock-src-$src"
  echo "ndaguard $version for $RUNNER_OS/$RUNNER_ARCH: $method${target:+ ($target)}"
  ;;
install)
  : "${METHOD:?}" "${VERSION:?}" "${DIR:?}"
  bin="$DIR/bin/ndaguard$exe"
  if [ "$METHOD" = release ]; then
    : "${ASSET:?}"
    sums="$ACTION_PATH/action/sha256sums/v$VERSION.txt"
    want="$(grep -E " [ *]$ASSET\$" "$sums" | head -n 1 | cut -c1-64)"
    [ ${#want} -eq 64 ] || die "no checksum for $ASSET in $sums"
    url="$release_url/v$VERSION/$ASSET"
    tmp="$RUNNER_TEMP/ndaguard-download"
    rm -rf "$tmp"; mkdir -p "$tmp"
    if ! curl --fail --silent --show-error --location --retry 3 --output "$tmp/$ASSET" "$url"; then
      die "could not download $url, which this action's checksums say exists; refusing to go on. Set \`install: source\` to build ndaguard from the action's source instead."
    fi
    got="$(sha256 "$tmp/$ASSET")"
    if [ "$got" != "$want" ]; then
      rm -rf "$tmp"
      die "checksum mismatch for $ASSET: expected $want (action/sha256sums/v$VERSION.txt), got $got. The download was deleted; nothing was run."
    fi
    echo "ok: $ASSET sha256 $got matches the action's committed checksum"
    case "$ASSET" in
      *.zip) if command -v unzip >/dev/null; then unzip -q "$tmp/$ASSET" -d "$tmp"; else 7z x -bd -o"$tmp" "$tmp/$ASSET" >/dev/null; fi ;;
      *) tar -xzf "$tmp/$ASSET" -C "$tmp" ;;
    esac
    mkdir -p "$DIR/bin"
    mv "$tmp/${ASSET%.tar.gz}/ndaguard$exe" "$bin" 2>/dev/null || mv "$tmp/${ASSET%.zip}/ndaguard$exe" "$bin" \
      || die "$ASSET does not hold ndaguard$exe"
    chmod +x "$bin"
    rm -rf "$tmp"
  elif [ -x "$bin" ]; then
    echo "ndaguard $VERSION restored from the cache"
  else
    command -v cargo >/dev/null || die "ndaguard $VERSION has no release binary for this runner and cargo is not installed to build it"
    cargo install --locked --path "$ACTION_PATH" --root "$DIR"
  fi
  have="$("$bin" --version)"
  [ "$have" = "ndaguard $VERSION" ] || die "$bin says '$have', expected ndaguard $VERSION"
  out bin "$bin"
  echo "$have: $bin"
  ;;
*)
  echo "usage: install.sh plan|install" >&2
  exit 2
  ;;
esac
