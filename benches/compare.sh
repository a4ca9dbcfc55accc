#!/usr/bin/env bash
# Side-by-side comparison of ndaguard, gitleaks and Kingfisher on the same inputs: wall time and
# peak RSS (median of N runs) and the number of findings.
#
#   benches/compare.sh CORPUS_DIR [RUNS]
#
# CORPUS_DIR is what ../shared/bench/make-corpus.sh built: CORPUS_DIR/tree (a source tree) and
# CORPUS_DIR/history (a git repository). The peers come from ../shared/tools/peers.sh.
# Optional: REGISTRY=path/to/registry.toml adds an ndaguard run with that registry.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
corpus="${1:?usage: benches/compare.sh CORPUS_DIR [RUNS]}"
runs="${2:-5}"
peers="$("$here/../shared/tools/peers.sh" | tail -1)"
gitleaks="$peers/gitleaks"
kingfisher="$peers/kingfisher"
(cd "$here" && cargo build --release --locked --quiet)
ndaguard="$here/target/release/ndaguard"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

# measure NAME COUNT_CMD -- CMD...: runs CMD $runs times, prints median wall s, median peak MB and
# the findings counted by COUNT_CMD on the last report.
measure() {
  local name="$1" count="$2"; shift 3
  local times=() mems=()
  for _ in $(seq "$runs"); do
    /usr/bin/time -f "%e %M" -o "$out/time" "$@" >/dev/null 2>"$out/stderr" || true
    read -r t m < <(tail -1 "$out/time")
    times+=("$t"); mems+=("$m")
  done
  local mt mm n
  mt="$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"
  mm="$(printf '%s\n' "${mems[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.0f", a[int((NR+1)/2)]/1024}')"
  n="$(eval "$count" 2>/dev/null || echo '?')"
  printf '| %-34s | %8s s | %6s MB | %8s |\n' "$name" "$mt" "$mm" "$n"
}

echo "Corpus: $corpus (runs: $runs, cores: $(nproc))"
echo
echo "| scanner | wall (median) | peak RSS | findings |"
echo "|---|---|---|---|"
if [ -d "$corpus/tree" ]; then
  measure "ndaguard scan (tree)" "jq '.findings|length' $out/nd.json" -- "$ndaguard" scan "$corpus/tree" --no-progress -f json -o "$out/nd.json"
  if [ -n "${REGISTRY:-}" ]; then
    measure "ndaguard scan (tree) + registry" "jq '.findings|length' $out/ndr.json" -- "$ndaguard" scan "$corpus/tree" --no-progress --registry "$REGISTRY" -f json -o "$out/ndr.json"
  fi
  measure "gitleaks dir (tree)" "jq 'length' $out/gl.json" -- "$gitleaks" dir "$corpus/tree" --no-banner --report-format json --report-path "$out/gl.json" --exit-code 0
  measure "kingfisher scan (tree)" "jq '.findings|length' $out/kf.json" -- "$kingfisher" scan "$corpus/tree" --git-history none --no-validate --no-update-check --format json --output "$out/kf.json"
fi
if [ -d "$corpus/history/.git" ] || [ -f "$corpus/history/HEAD" ]; then
  measure "ndaguard scan --history" "jq '.findings|length' $out/ndh.json" -- "$ndaguard" scan --history "$corpus/history" --no-progress -f json -o "$out/ndh.json"
  measure "gitleaks git (history)" "jq 'length' $out/glh.json" -- "$gitleaks" git "$corpus/history" --no-banner --report-format json --report-path "$out/glh.json" --exit-code 0
  measure "kingfisher scan (history)" "jq '.findings|length' $out/kfh.json" -- "$kingfisher" scan "$corpus/history" --git-history full --no-validate --no-update-check --format json --output "$out/kfh.json"
fi
