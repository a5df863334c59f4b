#!/usr/bin/env bash
# Install Tweeling and start the twin of Dordrecht on the embedded store (DuckDB file in ./var).
# Extra arguments go to `tweeling demo`, e.g. --port 8080 or --no-serve.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-python.sh
exec .venv/bin/tweeling demo "$@"
