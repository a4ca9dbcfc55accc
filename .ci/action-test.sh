#!/usr/bin/env bash
# Tests the parts of the GitHub Action (action.yml) that run locally:
#   A. action/install.sh against a real HTTP server on 127.0.0.1 serving a fake release (archives
#      of this build's binary, checksums committed in a copy of the action): a good sum installs,
#      a tampered archive and a missing asset fail closed, no sums means a source build whose
#      cache key follows the version and Cargo.lock;
#   B. action/range.sh on shallow clones of a local origin: a pull request's merge base is fetched
#      by deepening and `ndaguard ci github` then scans only what the pull request adds; when the
#      merge base cannot be had, the step fails naming `fetch-depth: 0`;
#   C. the plan step's upload decision (fork pull requests, Dependabot) and the last step's gate,
#      run from action.yml's own scripts.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
bin="$here/target/release/ndaguard"
[ -x "$bin" ] || { echo "build the release binary first (cargo build --release --locked)"; exit 1; }
command -v unzip >/dev/null || { apt-get update -qq && apt-get install -y -qq unzip; }
version="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$here/Cargo.toml" | head -n 1)"
work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
passed=0
ok() { echo "ok -- $*"; passed=$((passed + 1)); }

# ---------------------------------------------------------------- A. download and verify
# A copy of the action as `uses:` would see it (no .git), with the release's sums committed.
act="$work/action-copy"
mkdir -p "$act"
(cd "$here" && tar cf - Cargo.toml Cargo.lock build.rs src rules action) | (cd "$act" && tar xf -)
rm -f "$act"/action/sha256sums/*.txt
mkdir -p "$act/action/sha256sums"
mkdir -p "$work/releases/v$version" "$work/build"
for target in x86_64-unknown-linux-musl x86_64-pc-windows-msvc; do
  name="ndaguard-$version-$target"
  mkdir -p "$work/build/$name"
  if [ "$target" = x86_64-pc-windows-msvc ]; then
    cp "$bin" "$work/build/$name/ndaguard.exe"
    (cd "$work/build" && python3 -m zipfile -c "$work/releases/v$version/$name.zip" "$name")
  else
    cp "$bin" "$work/build/$name/ndaguard"
    tar -C "$work/build" -czf "$work/releases/v$version/$name.tar.gz" "$name"
  fi
done
(cd "$work/releases/v$version" && sha256sum -- ndaguard-* > "$act/action/sha256sums/v$version.txt")
# The aarch64 archive is listed in the sums but not served: a missing asset.
echo "$(printf 'x%.0s' {1..64} | tr x 0)  ndaguard-$version-aarch64-unknown-linux-musl.tar.gz" >> "$act/action/sha256sums/v$version.txt"
cat "$act/action/sha256sums/v$version.txt"

python3 "$here/.ci/serve.py" "$work/releases" "$work/port" 300 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
[ -s "$work/port" ] || fail "the local HTTP server did not start"
export NDAGUARD_RELEASE_URL="http://127.0.0.1:$(cat "$work/port")"

# Runs install.sh plan and install as the action does; prints the outputs to $out.
run_action_install() { # OS ARCH [INSTALL]
  local os="$1" arch="$2" install="${3:-auto}" temp="$work/runner-$1-$2-${3:-auto}"
  rm -rf "$temp"; mkdir -p "$temp"
  out="$temp/output"; : > "$out"
  env ACTION_PATH="$act" RUNNER_OS="$os" RUNNER_ARCH="$arch" RUNNER_TEMP="$temp" GITHUB_OUTPUT="$out" INSTALL="$install" \
    bash "$act/action/install.sh" plan || return $?
  get() { sed -n "s/^$1=//p" "$out" | tail -n 1; }
  env ACTION_PATH="$act" RUNNER_OS="$os" RUNNER_ARCH="$arch" RUNNER_TEMP="$temp" GITHUB_OUTPUT="$out" \
    METHOD="$(get method)" VERSION="$(get version)" TARGET="$(get target)" ASSET="$(get asset)" DIR="$(get dir)" \
    bash "$act/action/install.sh" install
}
get() { sed -n "s/^$1=//p" "$out" | tail -n 1; }

# A1. Good sum: downloads, verifies, unpacks, runs.
run_action_install Linux X64 > "$work/a1.txt" 2>&1 || { cat "$work/a1.txt"; fail "the good release did not install"; }
[ "$(get method)" = release ] || fail "method is $(get method), expected release"
[ "$("$(get bin)" --version)" = "ndaguard $version" ] || fail "the installed binary does not run"
grep -q "matches the action's committed checksum" "$work/a1.txt" || fail "no checksum confirmation"
grep -q "GET /v$version/ndaguard-$version-x86_64-unknown-linux-musl.tar.gz HTTP/1.[01]\" 200" "$work/server.log" || fail "the server never served the archive"
ok "good sum: the release archive was downloaded from the local server, verified and installed"

# A2. Windows asset (.zip).
run_action_install Windows X64 > "$work/a2.txt" 2>&1 || { cat "$work/a2.txt"; fail "the zip release did not install"; }
[ "$(get asset)" = "ndaguard-$version-x86_64-pc-windows-msvc.zip" ] || fail "wrong Windows asset $(get asset)"
[ -x "$(get bin)" ] && [[ "$(get bin)" == *ndaguard.exe ]] || fail "no ndaguard.exe installed"
ok "the Windows .zip asset installs the same way"

# A3. Bad sum: the served archive is not the one the sums name (a tampered release).
good="$work/releases/v$version/ndaguard-$version-x86_64-unknown-linux-musl.tar.gz"
cp "$good" "$work/good.tar.gz"
printf 'tampered' >> "$good"
if run_action_install Linux X64 > "$work/a3.txt" 2>&1; then cat "$work/a3.txt"; fail "a tampered archive was accepted"; fi
cat "$work/a3.txt"
grep -q "::error::checksum mismatch for ndaguard-$version-x86_64-unknown-linux-musl.tar.gz" "$work/a3.txt" || fail "no checksum error"
[ -z "$(get bin)" ] || fail "a bin output was set after a bad sum"
[ ! -e "$work/runner-Linux-X64-auto/ndaguard-$version-release/bin/ndaguard" ] || fail "the tampered binary was installed"
[ ! -e "$work/runner-Linux-X64-auto/ndaguard-download" ] || fail "the tampered download was left behind"
cp "$work/good.tar.gz" "$good"
ok "bad sum: the step fails closed, nothing installed"

# A4. Missing asset: the sums list it, the server does not have it.
if run_action_install Linux ARM64 > "$work/a4.txt" 2>&1; then cat "$work/a4.txt"; fail "a missing asset did not fail"; fi
cat "$work/a4.txt"
grep -q "::error::could not download .*/v$version/ndaguard-$version-aarch64-unknown-linux-musl.tar.gz" "$work/a4.txt" || fail "no download error"
grep -q "install: source" "$work/a4.txt" || fail "the error does not say how to build instead"
ok "missing asset: the step fails, naming the URL and \`install: source\`"

# A5. No release for this version at this commit: a source build, with a cache key from the
# version and Cargo.lock (a cached binary is used without cargo).
mv "$act/action/sha256sums/v$version.txt" "$work/sums.txt"
temp="$work/runner-Linux-X64-auto"
rm -rf "$temp"; mkdir -p "$temp"; out="$temp/output"; : > "$out"
env ACTION_PATH="$act" RUNNER_OS=Linux RUNNER_ARCH=X64 RUNNER_TEMP="$temp" GITHUB_OUTPUT="$out" bash "$act/action/install.sh" plan
[ "$(get method)" = source ] || fail "without sums the method is $(get method)"
key1="$(get cache-key)"
[[ "$key1" == ndaguard-Linux-X64-$version-lock-*-src-* ]] || fail "cache key '$key1'"
echo "# changed" >> "$act/Cargo.lock"
: > "$out"
env ACTION_PATH="$act" RUNNER_OS=Linux RUNNER_ARCH=X64 RUNNER_TEMP="$temp" GITHUB_OUTPUT="$out" bash "$act/action/install.sh" plan >/dev/null
[ "$(get cache-key)" != "$key1" ] || fail "the cache key ignores Cargo.lock"
mkdir -p "$(get dir)/bin" && cp "$bin" "$(get dir)/bin/ndaguard"
env PATH=/usr/bin:/bin ACTION_PATH="$act" RUNNER_OS=Linux RUNNER_ARCH=X64 RUNNER_TEMP="$temp" GITHUB_OUTPUT="$out" \
  METHOD=source VERSION="$version" DIR="$(get dir)" bash "$act/action/install.sh" install > "$work/a5.txt" 2>&1 || { cat "$work/a5.txt"; fail "the cached build was not used"; }
grep -q "restored from the cache" "$work/a5.txt" || fail "no cache message"
if env ACTION_PATH="$act" RUNNER_OS=Linux RUNNER_ARCH=X64 RUNNER_TEMP="$temp" GITHUB_OUTPUT="$out" INSTALL=release \
  bash "$act/action/install.sh" plan > "$work/a5b.txt" 2>&1; then fail "install: release without sums did not fail"; fi
ok "no release sums: source build with a cache key of version, Cargo.lock and sources; install: release refuses"
kill "$server_pid" 2>/dev/null || true
server_pid=""

# ---------------------------------------------------------------- B. ranges in shallow clones
export GIT_AUTHOR_NAME=ci GIT_AUTHOR_EMAIL=ci@example.invalid GIT_COMMITTER_NAME=ci GIT_COMMITTER_EMAIL=ci@example.invalid
origin="$work/origin"
git init -q -b main "$origin"
old_token="$(python3 "$here/.ci/fake-token.py" 11)"
new_token="$(python3 "$here/.ci/fake-token.py" 12)"
commit() { git -C "$origin" add -A && git -C "$origin" commit -q -m "$1"; }
for i in $(seq 1 150); do
  echo "line $i" >> "$origin/notes.txt"
  [ "$i" = 3 ] && echo "token = $old_token" > "$origin/old.txt"   # an old secret, still in the tree
  commit "main $i"
  [ "$i" = 120 ] && git -C "$origin" branch feature
done
git -C "$origin" checkout -q feature
echo "a" > "$origin/feature.txt"; commit "feature 1"
echo "token = $new_token" > "$origin/new.txt"; commit "feature 2"
echo "b" >> "$origin/feature.txt"; commit "feature 3"
git -C "$origin" checkout -q main
base="$(git -C "$origin" rev-parse main)"
head="$(git -C "$origin" rev-parse feature)"
git -C "$origin" merge -q --no-ff -m "merge" feature
git -C "$origin" update-ref refs/pull/1/merge HEAD
git -C "$origin" reset -q --hard "$base"
git -C "$origin" config uploadpack.allowAnySHA1InWant true   # as GitHub serves commits by id
printf '{"pull_request":{"base":{"sha":"%s"},"head":{"sha":"%s"},"commits":3}}' "$base" "$head" > "$work/pr.json"

# A clone as actions/checkout makes it for a pull request with the default fetch-depth: 1.
shallow_pr_clone() {
  rm -rf "$1"
  git init -q "$1"
  git -C "$1" remote add origin "file://$origin"
  git -C "$1" fetch -q --no-tags --depth=1 origin +refs/pull/1/merge:refs/remotes/pull/1/merge
  git -C "$1" checkout -q refs/remotes/pull/1/merge
}
run_ci() { # CLONE EVENT PAYLOAD
  (cd "$1" && env GITHUB_EVENT_NAME="$2" GITHUB_EVENT_PATH="$3" GITHUB_OUTPUT=/dev/null GITHUB_STEP_SUMMARY=/dev/null \
    "$bin" ci github --sarif-file "$work/gate.sarif" --now 2026-01-01T00:00:00Z)
}

# B0. Without the step, the shallow clone turns the pull request into a tree scan (the old
# secret fails the pull request): what the step exists to prevent.
shallow_pr_clone "$work/c0"
run_ci "$work/c0" pull_request "$work/pr.json" > "$work/b0.txt" 2>&1 || true
grep -q "scanned the tree" "$work/b0.txt" || { cat "$work/b0.txt"; fail "expected the tree fallback without the fetch step"; }

# B1. With the step: the merge base is fetched and only the pull request's secret is reported.
shallow_pr_clone "$work/c1"
env REPO_PATH="$work/c1" EVENT_NAME=pull_request PR_BASE="$base" PR_HEAD="$head" PR_COMMITS=3 \
  bash "$here/action/range.sh" > "$work/b1.txt" 2>&1 || { cat "$work/b1.txt"; fail "range.sh failed on a reachable merge base"; }
cat "$work/b1.txt"
[ "$(git -C "$work/c1" merge-base "$base" "$head")" = "$(git -C "$origin" merge-base "$base" "$head")" ] || fail "wrong merge base"
[ "$(git -C "$work/c1" rev-parse --is-shallow-repository)" = true ] || fail "the clone was unshallowed instead of deepened"
set +e; run_ci "$work/c1" pull_request "$work/pr.json" > "$work/b1-scan.txt" 2>&1; rc=$?; set -e
cat "$work/b1-scan.txt"
[ "$rc" = 1 ] || fail "ci github exited $rc, expected 1 (the pull request's secret)"
grep -q "^| new.txt:1:9  github-pat-classic" "$work/b1-scan.txt" || fail "the pull request's secret was not reported"
if grep -q "old.txt" "$work/b1-scan.txt"; then fail "the old secret was reported: the range was widened"; fi
if grep -q "scanned the tree" "$work/b1-scan.txt"; then fail "ci github fell back to the tree"; fi
ok "shallow pull request: deepened to the merge base, and only what the pull request adds was scanned"

# B2. A push to main: before..after in a depth-1 clone of main.
rm -rf "$work/c2"
git clone -q --no-tags --depth=1 "file://$origin" "$work/c2"
before="$(git -C "$origin" rev-parse main~5)"
env REPO_PATH="$work/c2" EVENT_NAME=push PUSH_BEFORE="$before" PUSH_AFTER="$base" bash "$here/action/range.sh" > "$work/b2.txt" 2>&1 \
  || { cat "$work/b2.txt"; fail "range.sh failed on a push"; }
git -C "$work/c2" cat-file -e "$before^{commit}" || fail "the push's before commit was not fetched"
printf '{"before":"%s","after":"%s","repository":{"default_branch":"main"}}' "$before" "$base" > "$work/push.json"
set +e; run_ci "$work/c2" push "$work/push.json" > "$work/b2-scan.txt" 2>&1; rc=$?; set -e
[ "$rc" = 0 ] || { cat "$work/b2-scan.txt"; fail "the push range (no new secret) exited $rc"; }
if grep -q "scanned the tree\|old.txt" "$work/b2-scan.txt"; then cat "$work/b2-scan.txt"; fail "the push was widened to the tree"; fi
ok "shallow push: the before commit was fetched and the push range scanned"

# B3. The merge base is out of reach (deepening limited to nothing): fail, naming fetch-depth: 0.
shallow_pr_clone "$work/c3"
if env REPO_PATH="$work/c3" EVENT_NAME=pull_request PR_BASE="$base" PR_HEAD="$head" PR_COMMITS=0 NDAGUARD_DEEPEN_ROUNDS=0 \
  bash "$here/action/range.sh" > "$work/b3.txt" 2>&1; then cat "$work/b3.txt"; fail "range.sh passed without a merge base"; fi
cat "$work/b3.txt"
grep -q "::error::.*fetch-depth: 0" "$work/b3.txt" || fail "the error does not name fetch-depth: 0"
ok "merge base out of reach: the step fails naming fetch-depth: 0"

# B4. The fetch is refused (as for a private repository without credentials).
shallow_pr_clone "$work/c4"
git -C "$work/c4" remote set-url origin "file://$work/no-such-repository"
if env REPO_PATH="$work/c4" EVENT_NAME=pull_request PR_BASE="$base" PR_HEAD="$head" PR_COMMITS=3 \
  bash "$here/action/range.sh" > "$work/b4.txt" 2>&1; then fail "range.sh passed without a remote"; fi
grep -q "::error::could not fetch .*fetch-depth: 0" "$work/b4.txt" || { cat "$work/b4.txt"; fail "the error does not name fetch-depth: 0"; }
ok "fetch refused: the step fails naming fetch-depth: 0"

# B5. history: true on a schedule needs the whole history.
if env REPO_PATH="$work/c2" EVENT_NAME=schedule HISTORY=true bash "$here/action/range.sh" > "$work/b5.txt" 2>&1; then
  fail "a shallow clone passed for history: true"
fi
grep -q "fetch-depth: 0" "$work/b5.txt" || fail "the history error does not name fetch-depth: 0"
ok "history: true in a shallow clone fails naming fetch-depth: 0"

# ---------------------------------------------------------------- C. action.yml's own scripts
. "$here/.ci/tools.sh"
step_script() { # STEP-NAME-PREFIX
  "$CI_VENV/bin/python" - "$here/action.yml" "$1" <<'PY'
import sys, yaml
steps = yaml.safe_load(open(sys.argv[1]))["runs"]["steps"]
match = [s for s in steps if s.get("name", "").startswith(sys.argv[2])]
assert len(match) == 1, (sys.argv[2], [s.get("name") for s in steps])
print(match[0]["run"])
PY
}
step_script "Plan" > "$work/plan.sh"
step_script "Fail per fail-on" > "$work/gate.sh"
upload_for() { # EVENT HEAD_REPO ACTOR UPLOAD -> upload=...
  : > "$work/plan.out"
  env ACTION_PATH="$here" RUNNER_OS=Linux RUNNER_ARCH=X64 RUNNER_TEMP="$work" GITHUB_OUTPUT="$work/plan.out" INSTALL=auto \
    EVENT_NAME="$1" HEAD_REPO="$2" REPOSITORY=owner/repo ACTOR="$3" UPLOAD="$4" bash "$work/plan.sh" > "$work/plan.txt" 2>&1
  sed -n 's/^upload=//p' "$work/plan.out"
}
[ "$(upload_for pull_request owner/repo someone true)" = true ] || fail "a same-repository pull request does not upload"
[ "$(upload_for pull_request fork/repo someone true)" = false ] || fail "a fork pull request uploads"
grep -q "::notice.*fork" "$work/plan.txt" || fail "no notice for the fork"
[ "$(upload_for pull_request owner/repo 'dependabot[bot]' true)" = false ] || fail "Dependabot uploads"
[ "$(upload_for push '' someone true)" = true ] || fail "a push does not upload"
[ "$(upload_for pull_request_target owner/repo someone true)" = false ] || fail "pull_request_target uploads"
[ "$(upload_for push '' someone false)" = false ] || fail "upload-sarif: false uploads"
ok "plan: no upload for fork pull requests, Dependabot, pull_request_target or upload-sarif: false"
gate() { env RC="$1" REPORT_STATUS="$2" bash "$work/gate.sh" >/dev/null 2>&1; echo $?; }
[ "$(gate 0 0)" = 0 ] && [ "$(gate 1 0)" = 1 ] && [ "$(gate 0 2)" = 2 ] && [ "$(gate '' '')" = 2 ] || fail "the gate step's exit codes"
"$CI_VENV/bin/python" - "$here/action.yml" <<'PY'
import sys, yaml
steps = yaml.safe_load(open(sys.argv[1]))["runs"]["steps"]
uploads = [s for s in steps if "upload-sarif@" in s.get("uses", "")]
assert len(uploads) == 2 and all(s.get("continue-on-error") is True for s in uploads), uploads
assert {s["with"]["category"] for s in uploads} == {"${{ inputs.category }}/tree", "${{ inputs.category }}/history"}
assert all("# v4." in open(sys.argv[1]).read().split(s["uses"])[1].splitlines()[0] for s in uploads)
gate = steps[-1]
assert gate["name"] == "Fail per fail-on" and gate["if"] == "${{ !cancelled() }}", gate
PY
ok "gate: runs after the uploads whatever they did (uploads continue on error), exits with the scan's code"

echo "$passed passed, 0 failed"
