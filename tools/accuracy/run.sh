#!/usr/bin/env bash
# Generates the labeled accuracy corpus (seeded), runs ndaguard, gitleaks and Kingfisher on it,
# and scores each against the labels.   tools/accuracy/run.sh [OUT_DIR] [SEED]
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:-$(mktemp -d)}"
seed="${2:-2026}"
rm -rf "$out/corpus"
python3 "$here/tools/accuracy/gen.py" "$out" "$seed"
(cd "$here" && cargo build --release --locked --quiet)
peers="$("$here/../shared/tools/peers.sh" | tail -1)"
cd "$out"
"$here/target/release/ndaguard" scan corpus --no-progress -f json -o nd.json || true
"$peers/gitleaks" dir corpus --no-banner --report-format json --report-path gl.json --exit-code 0 >/dev/null 2>&1
"$peers/kingfisher" scan corpus --git-history none --no-validate --no-update-check --format json --output kf.json >/dev/null 2>&1 || true
python3 "$here/tools/accuracy/score.py" labels.json ndaguard=nd.json gitleaks=gl.json kingfisher=kf.json
