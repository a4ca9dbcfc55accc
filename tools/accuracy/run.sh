#!/usr/bin/env bash
# Generates the labeled accuracy corpora (seeded): the mixed corpus of gen.py and the credential
# files of credentials.py; runs ndaguard, gitleaks and Kingfisher on each and scores each scanner
# against the labels.   tools/accuracy/run.sh [OUT_DIR] [SEED] [CREDENTIALS_SEED]
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:-$(mktemp -d)}"
seed="${2:-2026}"
cred_seed="${3:-13}"
(cd "$here" && cargo build --release --locked --quiet)
peers="$("$here/../shared/tools/peers.sh" | tail -1)"

# score DIR: scans DIR/corpus with the three scanners and scores them against DIR/labels.json.
score() {
    cd "$1"
    "$here/target/release/ndaguard" scan corpus --no-progress -f json -o nd.json || true
    "$peers/gitleaks" dir corpus --no-banner --report-format json --report-path gl.json --exit-code 0 >/dev/null 2>&1
    "$peers/kingfisher" scan corpus --git-history none --no-validate --no-update-check --format json --output kf.json >/dev/null 2>&1 || true
    python3 "$here/tools/accuracy/score.py" labels.json ndaguard=nd.json gitleaks=gl.json kingfisher=kf.json
}

rm -rf "$out/corpus" "$out/credentials"
python3 "$here/tools/accuracy/gen.py" "$out" "$seed"
echo "## Mixed corpus (gen.py, seed $seed)"
score "$out"
mkdir -p "$out/credentials"
python3 "$here/tools/accuracy/credentials.py" "$out/credentials" "$cred_seed"
echo
echo "## Credential files (credentials.py, seed $cred_seed)"
score "$out/credentials"
