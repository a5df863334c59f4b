#!/usr/bin/env bash
# Start or stop a throw-away Mosquitto 2 MQTT broker for the sensor hub and its tests.
#   scripts/mosquitto-server.sh start    -> prints the broker URL (mqtt://127.0.0.1:PORT) on the last line
#   scripts/mosquitto-server.sh status   -> prints the URL when running, exits 1 otherwise
#   scripts/mosquitto-server.sh stop
# Installs the Debian package when mosquitto is missing (needs root). The broker listens on
# 127.0.0.1 only, anonymous, without persistence, and with queue limits raised so that a burst of
# QoS 1 messages is queued instead of dropped (the defaults of 1,000 queued and 20 in flight drop
# messages under load). Started as root, it drops to the mosquitto user when that user can write
# the state folder (not so under a private folder such as pytest's), else it stays root.
set -euo pipefail

PORT="${TWEELING_MQTT_PORT:-18830}"
BASE="${TWEELING_MQTT_DIR:-/tmp/tweeling-mosquitto}"
CONF="$BASE/mosquitto.conf"
PIDFILE="$BASE/mosquitto.pid"
LOG="$BASE/mosquitto.log"
URL="mqtt://127.0.0.1:$PORT"

install_packages() {
  if ! command -v mosquitto >/dev/null 2>&1 && [ ! -x /usr/sbin/mosquitto ]; then
    echo "installing Mosquitto (Debian package)..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends mosquitto >&2
  fi
}

mosquitto_bin() { command -v mosquitto 2>/dev/null || echo /usr/sbin/mosquitto; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }

running() {
  [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null && port_open
}

write_config() {
  local user="$1"
  cat >"$CONF" <<EOF
# Written by scripts/mosquitto-server.sh: a local broker for the Tweeling sensor hub.
listener $PORT 127.0.0.1
user $user
allow_anonymous true
persistence false
pid_file $PIDFILE
log_dest file $LOG
log_type error
log_type warning
log_type notice
connection_messages true
# Queue (rather than drop) bursts of QoS 1 messages for slow or batching subscribers.
max_queued_messages 1000000
max_queued_bytes 0
# No per-client limit on QoS 1/2 messages in flight: the MQTT bridge acknowledges a whole batch
# after its commit, so it must be able to hold thousands of unacknowledged messages.
max_inflight_messages 0
max_inflight_bytes 0
# Small messages at a high rate: send each at once instead of waiting to coalesce packets.
set_tcp_nodelay true
EOF
}

start() {
  install_packages
  if running; then
    echo "$URL"
    return
  fi
  if [ -f "$PIDFILE" ]; then
    kill "$(cat "$PIDFILE")" 2>/dev/null || true
  fi
  rm -rf "$BASE"
  mkdir -p "$BASE"
  local user
  user="$(id -un)"
  if [ "$user" = root ] && id mosquitto >/dev/null 2>&1; then
    chown mosquitto: "$BASE"
    if runuser -u mosquitto -- test -w "$BASE"; then
      user=mosquitto
    else
      chown root: "$BASE"
    fi
  fi
  write_config "$user"
  "$(mosquitto_bin)" -c "$CONF" -d
  for _ in $(seq 1 100); do
    if running; then
      echo "$URL"
      return
    fi
    sleep 0.1
  done
  echo "mosquitto did not start on port $PORT; its log ($LOG):" >&2
  cat "$LOG" >&2 2>/dev/null || true
  exit 1
}

status() {
  if running; then
    echo "$URL"
  else
    echo "mosquitto is not running on port $PORT" >&2
    exit 1
  fi
}

stop() {
  if [ -f "$PIDFILE" ]; then
    pid="$(cat "$PIDFILE")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    rm -f "$PIDFILE"
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
