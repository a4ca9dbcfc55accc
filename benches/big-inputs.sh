#!/usr/bin/env bash
# Peak memory and time on big inputs (issue: reliability). Builds throwaway inputs in a temp
# directory (several GB of disk): a tree of 500,000 small files, a 2 GB file of one line, a 50 MB
# minified JavaScript file, 200 MB of NUL bytes, and a git history holding a 1 GB blob.
#
#   benches/big-inputs.sh [WORKDIR]
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$(mktemp -d)}"
(cd "$here" && cargo build --release --locked --quiet)
nd="$here/target/release/ndaguard"
run() {
  local name="$1"; shift
  /usr/bin/time -f "%e %M" -o "$work/time" "$nd" "$@" --no-progress -f json -o "$work/out.json" >/dev/null 2>&1 || true
  read -r t m < "$work/time"
  printf '| %-44s | %7s s | %6d MB | %s |\n' "$name" "$t" "$((m / 1024))" \
    "$(jq -c '{scanned: .summary.files_scanned, skipped: .summary.skipped_by_reason, findings: .summary.findings}' "$work/out.json")"
}
mkdir -p "$work"
echo "| input | wall | peak RSS | summary |"
echo "|---|---|---|---|"
if [ ! -d "$work/many" ]; then
  python3 - "$work/many" <<'PY'
import os, sys
root = sys.argv[1]
for d in range(500):
    p = os.path.join(root, f"d{d:03}")
    os.makedirs(p)
    for f in range(1000):
        with open(os.path.join(p, f"f{f:04}.py"), "w") as fh:
            fh.write(f"x_{d}_{f} = compute({d}, {f})\n")
PY
fi
run "tree of 500,000 files" scan "$work/many"
if [ ! -f "$work/big/one-line.txt" ]; then
  mkdir -p "$work/big"
  python3 -c "
import sys
with open('$work/big/one-line.txt', 'w') as f:
    chunk = 'abcdefghij' * 100000
    for _ in range(2048): f.write(chunk)
    f.write('\n')"
fi
run "2 GB file of one line (--max-file-size none)" scan "$work/big" --max-file-size none
run "2 GB file of one line (default limit)" scan "$work/big"
if [ ! -f "$work/min/app.min.js" ]; then
  mkdir -p "$work/min"
  python3 -c "
import random
r = random.Random(1)
parts = []
n = 0
while n < 50_000_000:
    s = 'function %s(%s){return %s.%s(%d)}' % (''.join(r.choice('abcdefgh') for _ in range(3)), 'a,b', 'a', 'map', r.randrange(10**6))
    parts.append(s); n += len(s)
open('$work/min/app.min.js', 'w').write(';'.join(parts))"
fi
run "50 MB minified JavaScript (--max-file-size 64M)" scan "$work/min" --max-file-size 64M
if [ ! -f "$work/nul/zeros.bin" ]; then mkdir -p "$work/nul"; head -c 200000000 /dev/zero > "$work/nul/zeros.bin"; fi
run "200 MB of NUL bytes (--max-file-size none)" scan "$work/nul" --max-file-size none
if [ ! -d "$work/hist/.git" ]; then
  mkdir -p "$work/hist" && git -C "$work/hist" init -q
  { head -c 750000000 /dev/urandom | base64 -w 0 > "$work/hist/huge.txt"; } || true
  echo "small" > "$work/hist/small.txt"
  git -C "$work/hist" add -A && git -C "$work/hist" -c user.name=b -c user.email=b@example.invalid commit -q -m huge
fi
run "history with a 1 GB blob (default limit)" scan --history "$work/hist"
