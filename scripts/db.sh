#!/usr/bin/env bash
# Runs PhoneHub's own Postgres cluster under .data/pg (never a system service).
# Usage: scripts/db.sh start|stop|status|url
# Postgres refuses to run as root, so as root the cluster belongs to the `postgres` user.
set -euo pipefail
cd "$(dirname "$0")/.."

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
DATA_ROOT=$(pwd)/.data
PGDATA=$DATA_ROOT/pg
# One port per checkout (55432 + 0..999 from its path), so two clones (say a CI run beside a
# developer's cluster) never collide.
PGPORT=${PHONEHUB_PG_PORT:-$((55432 + $(pwd | cksum | cut -d' ' -f1) % 1000))}
SOCK=$DATA_ROOT/sock

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# The server process (user postgres) must be able to reach .data/: grant traverse (o+x) on any
# ancestor directory that denies it, e.g. a checkout under a mode-700 temporary directory.
grant_traverse() {
  [ "$(id -u)" = 0 ] || return 0
  local dir=$DATA_ROOT
  while [ "$dir" != "/" ]; do
    if ! runuser -u postgres -- test -x "$dir" 2>/dev/null; then
      echo "db: granting traverse permission on $dir to other users (for the postgres user)"
      chmod o+x "$dir"
    fi
    dir=$(dirname "$dir")
  done
}

start() {
  mkdir -p "$DATA_ROOT"
  chmod 755 "$DATA_ROOT"
  grant_traverse
  if [ ! -f "$PGDATA/PG_VERSION" ]; then
    mkdir -p "$PGDATA" "$SOCK"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$PGDATA" "$SOCK"; fi
    as_pg "$PGBIN/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    {
      echo "listen_addresses = '127.0.0.1'"
      echo "port = $PGPORT"
      echo "unix_socket_directories = '$SOCK'"
      echo "max_connections = 300"
      echo "fsync = off"
      echo "synchronous_commit = off"
      echo "full_page_writes = off"
    } | as_pg tee -a "$PGDATA/postgresql.conf" >/dev/null
  fi
  if as_pg "$PGBIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
    return 0
  fi
  as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -o "-p $PGPORT" -w -t 60 start >/dev/null
}

case "${1:-start}" in
  start) start; echo "postgres running on 127.0.0.1:$PGPORT" ;;
  stop) as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m fast stop >/dev/null 2>&1 || true ;;
  status) as_pg "$PGBIN/pg_ctl" -D "$PGDATA" status ;;
  url) echo "postgres://postgres@127.0.0.1:$PGPORT/${2:-phonehub}" ;;
  *) echo "usage: $0 start|stop|status|url [db]" >&2; exit 2 ;;
esac
