#!/usr/bin/env bash
# Keeps the cargo-fuzz targets building and runs each briefly when a nightly toolchain and
# cargo-fuzz are available. The same entry points also run on stable in `cargo test`
# (tests/fuzz_smoke.rs), so this step only adds libFuzzer's coverage guidance.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
if ! rustup toolchain list 2>/dev/null | grep -q nightly; then
  echo "no nightly toolchain: cargo-fuzz smoke run SKIPPED (tests/fuzz_smoke.rs ran on stable)"
  exit 0
fi
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
for t in rule_file config registry engine git_object; do
  cargo +nightly fuzz run -O "$t" -- -max_total_time="${FUZZ_SECONDS:-10}" -max_len=8192 -rss_limit_mb=2048
done
