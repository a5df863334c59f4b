#!/usr/bin/env bash
# Start or stop a throw-away PostgreSQL 15 + PostGIS 3 server for the tests.
#   scripts/postgres-test-server.sh start   -> prints the connection URL on the last line
#   scripts/postgres-test-server.sh stop
# Installs the Debian packages when they are missing (needs root). The server runs as
# the postgres user (PostgreSQL refuses root), on 127.0.0.1 only, with trust auth.
set -euo pipefail

PORT="${TWEELING_PG_PORT:-54329}"
BASE="${TWEELING_PG_DIR:-/tmp/tweeling-pgtest}"
DATA="$BASE/data"
SOCK="$BASE/sock"
LOG="$BASE/server.log"
DB="tweeling_test"
BIN="/usr/lib/postgresql/15/bin"

as_postgres() { su postgres -s /bin/sh -c "$*"; }

install_packages() {
  if [ ! -x "$BIN/pg_ctl" ] || [ ! -f /usr/share/postgresql/15/extension/postgis.control ]; then
    echo "installing PostgreSQL 15 + PostGIS 3 (Debian packages)..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends postgresql-15 postgresql-15-postgis-3 >&2
  fi
}

start() {
  install_packages
  if [ -f "$DATA/postmaster.pid" ] && as_postgres "$BIN/pg_ctl -D $DATA status" >/dev/null 2>&1; then
    echo "postgresql://postgres@127.0.0.1:$PORT/$DB"
    return
  fi
  rm -rf "$BASE"
  mkdir -p "$SOCK"
  chown -R postgres:postgres "$BASE"
  as_postgres "$BIN/initdb -D $DATA --auth=trust --username=postgres -E UTF8 --locale=C.UTF-8" >/dev/null
  as_postgres "$BIN/pg_ctl -D $DATA -l $LOG -w -o \"-p $PORT -c listen_addresses=127.0.0.1 -k $SOCK -c fsync=off\" start" >/dev/null
  psql -h 127.0.0.1 -p "$PORT" -U postgres -qc "CREATE DATABASE $DB" >/dev/null
  psql -h 127.0.0.1 -p "$PORT" -U postgres -d "$DB" -qc "CREATE EXTENSION postgis" >/dev/null
  echo "postgresql://postgres@127.0.0.1:$PORT/$DB"
}

stop() {
  if [ -d "$DATA" ]; then
    as_postgres "$BIN/pg_ctl -D $DATA -m fast stop" >/dev/null 2>&1 || true
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
