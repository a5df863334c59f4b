#!/usr/bin/env bash
# Install what the tests need (Python packages, PostgreSQL 15 + PostGIS 3, Mosquitto and Chromium from
# Debian), build the 3D viewer, and run every check: ruff (lint + format), mypy, import-linter
# (layering) and pytest, with the store suite on the embedded DuckDB store and on PostGIS and the
# viewer tests in headless Chromium. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-python.sh dev
TWEELING_CHROMIUM="$(scripts/setup-browser.sh | tail -n 1)"
export TWEELING_CHROMIUM

TWEELING_TEST_POSTGRES_URL="$(scripts/postgres-test-server.sh start | tail -n 1)"
export TWEELING_TEST_POSTGRES_URL
trap 'scripts/postgres-test-server.sh stop; scripts/mosquitto-server.sh stop' EXIT
TWEELING_TEST_MQTT_URL="$(scripts/mosquitto-server.sh start | tail -n 1)"
export TWEELING_TEST_MQTT_URL

echo "== ruff" && .venv/bin/ruff check . && .venv/bin/ruff format --check .
echo "== mypy" && .venv/bin/mypy
echo "== import-linter" && .venv/bin/lint-imports
echo "== viewer build" && .venv/bin/tweeling viewer build
echo "== pytest" && .venv/bin/python -m pytest "$@"
