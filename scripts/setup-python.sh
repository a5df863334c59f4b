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
target="."
[ -n "$extras" ] && target=".[$extras]"
.venv/bin/python -m pip install -q --disable-pip-version-check -e "$target" >&2
