#!/usr/bin/env bash
# Install Tweeling and start the twin of Dordrecht on the embedded store (DuckDB file in ./var),
# with a local Mosquitto MQTT broker for the sensor hub (installed from Debian when missing).
# Extra arguments go to `tweeling demo`, e.g. --port 8080 or --no-serve.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-python.sh
if [ -z "${TWEELING_MQTT_URL:-}" ]; then
  if TWEELING_MQTT_URL="$(scripts/mosquitto-server.sh start | tail -n 1)"; then
    export TWEELING_MQTT_URL
  else
    unset TWEELING_MQTT_URL
    echo "warning: no MQTT broker (Mosquitto could not be installed or started); the sensor hub runs" \
      "without MQTT — HTTP ingest and live push still work" >&2
  fi
fi
exec .venv/bin/tweeling demo "$@"
