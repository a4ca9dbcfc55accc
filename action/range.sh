#!/usr/bin/env bash
# Makes sure the commits that `ndaguard ci github` will scan are in the clone, for the GitHub
# Action (action.yml). A pull request's range is base..head; a push's, before..after. In a
# shallow clone (actions/checkout's default fetch-depth: 1) it fetches both ends and deepens,
# doubling the depth, until their merge base is present, so that the scan covers what the range
# adds and nothing older. If that fails (the fetch is refused, or the merge base is deeper than
# the limit), it stops the job with a message naming `fetch-depth: 0`: a range is never widened
# into a scan of the whole tree behind the user's back. With `history: true` on a scheduled or
# manual run, a shallow clone is an error too (the history would be cut short).
#
# Environment: REPO_PATH, EVENT_NAME, PR_BASE, PR_HEAD, PR_COMMITS, PUSH_BEFORE, PUSH_AFTER,
# HISTORY; NDAGUARD_DEEPEN_ROUNDS (default 8: up to 50·(2^8-1) = 12,750 commits beyond the ends).
set -euo pipefail

die() {
  echo "::error::$*" >&2
  exit 1
}
cd "${REPO_PATH:-.}"
zero=0000000000000000000000000000000000000000
base=""
head=""
case "${EVENT_NAME:-}" in
  pull_request | pull_request_target)
    base="${PR_BASE:-}"
    head="${PR_HEAD:-}"
    ;;
  push)
    if [ -n "${PUSH_BEFORE:-}" ] && [ "${PUSH_BEFORE}" != "$zero" ] && [ "${PUSH_AFTER:-$zero}" != "$zero" ]; then
      base="$PUSH_BEFORE"
      head="$PUSH_AFTER"
    fi
    ;;
  schedule | workflow_dispatch)
    if [ "${HISTORY:-false}" = true ] && [ "$(git rev-parse --is-shallow-repository)" = true ]; then
      die "history: true needs the whole history, and this clone is shallow. Check out with \`fetch-depth: 0\` (actions/checkout)."
    fi
    ;;
esac
if [ -z "$base" ] || [ -z "$head" ]; then
  echo "nothing to fetch for ${EVENT_NAME:-this event}"
  exit 0
fi
for sha in "$base" "$head"; do
  [[ "$sha" =~ ^[0-9a-f]{40}$ ]] || die "not a commit id: '$sha'"
done

have() { git cat-file -e "$1^{commit}" 2>/dev/null; }
merge_base() { git merge-base "$base" "$head" >/dev/null 2>&1; }
advice="Check out with \`fetch-depth: 0\` (actions/checkout) so that the range $base..$head is in the clone"
shallow="$(git rev-parse --is-shallow-repository)"
if have "$base" && have "$head" && merge_base; then
  echo "the range's ends and their merge base $(git merge-base "$base" "$head") are in the clone"
  exit 0
fi
if [ "$shallow" != true ]; then
  if ! have "$base" || ! have "$head"; then
    git fetch --no-tags --quiet origin "$base" "$head" || die "could not fetch $base and $head from origin. $advice."
  fi
  # A complete clone has every ancestor: no merge base means unrelated histories, which
  # base..head handles (every commit of head is new).
  exit 0
fi

# Shallow: fetch both ends with enough depth for the PR's own commits, then deepen.
depth=$(( ${PR_COMMITS:-0} + 2 ))
[ "$depth" -ge 2 ] || depth=2
git fetch --no-tags --quiet --depth="$depth" origin "$base" "$head" \
  || die "could not fetch $base and $head from origin (a private repository needs the checkout's credentials). $advice."
step=50
rounds="${NDAGUARD_DEEPEN_ROUNDS:-8}"
round=0
while ! merge_base; do
  if [ "$(git rev-parse --is-shallow-repository)" != true ]; then
    echo "the whole history is in the clone; $base and $head have no common ancestor"
    exit 0
  fi
  if [ "$round" -ge "$rounds" ]; then
    die "the merge base of $base and $head was not found after deepening $rounds times. $advice."
  fi
  echo "no merge base yet: deepening by $step commits"
  git fetch --no-tags --quiet --deepen="$step" origin "$base" "$head" || die "could not deepen the clone. $advice."
  step=$(( step * 2 ))
  round=$(( round + 1 ))
done
echo "merge base $(git merge-base "$base" "$head") of $base and $head is in the clone"
