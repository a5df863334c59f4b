#!/usr/bin/env bash
# Install Debian's Chromium for the browser tests and the viewer benchmark, and print its path.
#   scripts/setup-browser.sh   -> prints the chromium executable on the last line
# Playwright (a Python test dependency, see pyproject.toml) drives this Chromium through
# `executable_path`; we never run `playwright install` (it downloads a browser build of its own).
# Needs root the first time (apt-get); does nothing more once /usr/bin/chromium exists.
set -euo pipefail

CHROMIUM="${TWEELING_CHROMIUM:-/usr/bin/chromium}"

if [ ! -x "$CHROMIUM" ]; then
  echo "installing Chromium (Debian package)..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  # fonts-liberation: readable labels in screenshots; the rest comes with the package.
  apt-get install -y -qq --no-install-recommends chromium fonts-liberation >&2
fi

if [ ! -x "$CHROMIUM" ]; then
  echo "chromium is still missing at $CHROMIUM" >&2
  exit 1
fi
echo "$CHROMIUM"
