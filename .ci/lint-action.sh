#!/usr/bin/env bash
# Lints action.yml and .pre-commit-hooks.yaml against their schemas, and validates the SARIF that
# the release binary writes for this repository against the official SARIF 2.1.0 schema.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${TMPDIR:-/tmp}/ndaguard-ci-venv"
if [ ! -x "$venv/bin/check-jsonschema" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet check-jsonschema==0.39.0 pre-commit==4.7.0
fi
"$venv/bin/check-jsonschema" --builtin-schema vendor.github-actions action.yml
# The hook manifest must load in pre-commit itself.
"$venv/bin/python" - <<'PY'
from pre_commit.clientlib import load_manifest
hooks = load_manifest(".pre-commit-hooks.yaml")
assert {h["id"] for h in hooks} >= {"ndaguard", "ndaguard-system"}, hooks
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
