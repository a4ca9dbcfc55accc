#!/usr/bin/env bash
# ndaguard, Kingfisher and gitleaks on the rails/rails history and tree: wall time, user and
# system CPU, peak RSS (medians of RUNS runs) and findings, plus ndaguard's rescan with --cache
# the rescan after one new commit, start-up (a one-commit history) and the floor of reading
# every object once with git cat-file.
#
#   benches/rails.sh MIRROR_GIT_DIR [RUNS] [WORKDIR]
#
# MIRROR_GIT_DIR is a bare mirror of rails/rails (DEVELOPERS.md says where to get its snapshot).
# The checkout is built in WORKDIR (default: a temp dir; pass one to keep it between runs) with
# ../shared/bench/make_checkouts.sh, so that its object store holds only what branches and tags
# reach and every scanner sees the same history (see that script's header). The peers come from
# ../shared/tools/peers.sh; Kingfisher runs with --no-validate --no-update-check. Runs are
# interleaved (each round runs every scanner once), so a change in the machine's load hits all
# of them alike. Needs GNU time, jq and several GB of disk.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
mirror="${1:?usage: benches/rails.sh MIRROR_GIT_DIR [RUNS] [WORKDIR]}"
runs="${2:-3}"
work="${3:-}"
tmpwork=
if [ -z "$work" ]; then
  work="$(mktemp -d)"
  tmpwork="$work"
fi
out="$(mktemp -d)"
trap 'rm -rf "$out" $tmpwork' EXIT
repo="$work/rails"
if [ ! -d "$repo/.git" ]; then
  "$here/../shared/bench/make_checkouts.sh" "$work" rails="$mirror"
fi
peers="$("$here/../shared/tools/peers.sh" | tail -1)"
gitleaks="$peers/gitleaks"
kingfisher="$peers/kingfisher"
(cd "$here" && cargo build --release --locked --quiet)
ndaguard="$here/target/release/ndaguard"
cache="$out/cache"

# A one-commit repository: start-up and the smallest history scan.
tiny="$out/tiny"
git init -q "$tiny"
echo "nothing here" >"$tiny/README"
git -C "$tiny" add README
git -C "$tiny" -c user.name=bench -c user.email=bench@example.test commit -qm one
# The rails history plus one new commit, in a bare repository that borrows rails' objects
# (alternates: nothing is copied, and the benchmark checkout itself is left alone) and has the
# same refs, one branch moved by a commit: the nightly rescan after a push.
plus="$out/rails-plus.git"
git init -q --bare "$plus"
echo "$repo/.git/objects" >"$plus/objects/info/alternates"
git -C "$repo" for-each-ref --format='create %(refname) %(objectname)' | git -C "$plus" update-ref --stdin
branch="$(git -C "$repo" symbolic-ref HEAD)"
git -C "$plus" symbolic-ref HEAD "$branch"
echo "one more line" >"$out/new-file"
blob="$(git -C "$plus" hash-object -w "$out/new-file")"
tree="$( (git -C "$plus" ls-tree HEAD; printf '100644 blob %s\tbench-new-file\n' "$blob") | git -C "$plus" mktree)"
new="$(git -C "$plus" -c user.name=bench -c user.email=bench@example.test commit-tree "$tree" -p HEAD -m "one more")"
git -C "$plus" update-ref "$branch" "$new"

# Each entry: NAME@FINDINGS_COMMAND@COMMAND (`@`: jq filters hold `|`) (the command's output goes to $out/NAME.json).
scans=(
  "nd-history@jq '.findings|length' $out/nd-history.json@$ndaguard scan --history --no-progress -f json -o $out/nd-history.json $repo"
  "nd-history-cached@jq '.findings|length' $out/nd-history-cached.json@$ndaguard scan --history --no-progress --cache $cache -f json -o $out/nd-history-cached.json $repo"
  "nd-plus-one-commit-cached@jq '.findings|length' $out/nd-plus-one-commit-cached.json@$ndaguard scan --history --no-progress --cache $cache-plus -f json -o $out/nd-plus-one-commit-cached.json $plus"
  "nd-start-up@jq '.findings|length' $out/nd-start-up.json@$ndaguard scan --history --no-progress -f json -o $out/nd-start-up.json $tiny"
  "kf-history@jq '.findings|length' $out/kf-history.json@$kingfisher scan $repo --git-history full --no-validate --no-update-check --format json --output $out/kf-history.json"
  "gl-history@jq 'length' $out/gl-history.json@$gitleaks git $repo --no-banner --report-format json --report-path $out/gl-history.json --exit-code 0"
  "nd-tree@jq '.findings|length' $out/nd-tree.json@$ndaguard scan --no-progress -f json -o $out/nd-tree.json $repo"
  "kf-tree@jq '.findings|length' $out/kf-tree.json@$kingfisher scan $repo --git-history none --no-validate --no-update-check --format json --output $out/kf-tree.json"
  "gl-tree@jq 'length' $out/gl-tree.json@$gitleaks dir $repo --no-banner --report-format json --report-path $out/gl-tree.json --exit-code 0"
  "cat-file@echo -@git -C $repo cat-file --batch-all-objects --batch"
)
# The first cached run fills the cache (and is not timed); the timed ones are rescans. The
# one-commit rescans each start from a copy of that cache (as a nightly job restores it).
$ndaguard scan --history --no-progress --cache "$cache" -f json -o /dev/null "$repo" || true

for round in $(seq "$runs"); do
  for s in "${scans[@]}"; do
    IFS='@' read -r name _ cmd <<<"$s"
    if [ "$name" = nd-plus-one-commit-cached ]; then
      rm -rf "$cache-plus"
      cp -r "$cache" "$cache-plus"
    fi
    # shellcheck disable=SC2086
    /usr/bin/time -f "%e %U %S %M" -o "$out/time" $cmd >/dev/null 2>"$out/$name.err" || true
    echo "$name $(tail -1 "$out/time")" >>"$out/times"
  done
  echo "round $round of $runs done" >&2
done

echo "rails: $(git -C "$repo" rev-list --count --all) commits; runs: $runs, interleaved; cores: $(nproc); load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| scan | wall (median) | user CPU | system CPU | peak RSS | findings |"
echo "|---|---|---|---|---|---|"
for s in "${scans[@]}"; do
  IFS='@' read -r name count _ <<<"$s"
  med() { awk -v n="$name" -v c="$1" '$1==n {print $c}' "$out/times" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
  n="$(eval "$count" 2>/dev/null || echo '?')"
  printf '| %s | %s s | %s s | %s s | %.0f MiB | %s |\n' "$name" "$(med 2)" "$(med 3)" "$(med 4)" "$(( $(med 5) / 1024 ))" "$n"
done
