#!/usr/bin/env bash
# The scale-out data tier for tests (docs/data-tier.md), on local ports, without Docker:
#   - a Citus 13 cluster (coordinator + 2 workers) from ../shared/tools/citus (CITUS_SH overrides the path);
#   - a PostgreSQL 15 primary and a real streaming replica made with `pg_basebackup -R`.
# Both run as the `postgres` system user with trust auth on 127.0.0.1 only: test clusters, not deployments.
#
#   scripts/data-tier-services.sh start           start both; print PM_TEST_CITUS_URL, PM_TEST_PG_PRIMARY_URL,
#                                                 PM_TEST_PG_REPLICA_URL and PM_TEST_PG_REPLICA_DIR as export lines
#   scripts/data-tier-services.sh stop            stop both
#   scripts/data-tier-services.sh replica-stop    stop the replica only (tests: reads must survive it)
#   scripts/data-tier-services.sh replica-start   start it again
#
# A part that cannot start here (not root, no Citus build, no PostgreSQL 15) is skipped with a message; the suites
# that need it are then skipped with the variable's name. Progress goes to stderr, exports to stdout.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DATA_DIR="$ROOT/.data/data-tier"
CITUS_SH=${CITUS_SH:-$ROOT/../shared/tools/citus/citus.sh}
PG_BIN=/usr/lib/postgresql/15/bin

log() { printf '%s [data-tier] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
as_pg() { if [[ $(id -un) == postgres ]]; then "$@"; else runuser -u postgres -- "$@"; fi; }
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# First port P >= $1 with P .. P+$2-1 all free, so parallel checkouts on one machine do not collide.
free_port_range() {
  local port=$1 count=$2 i
  for ((; port < $1 + 200; port += count)); do
    for ((i = 0; i < count; i++)); do port_free $((port + i)) || continue 2; done
    echo "$port"
    return
  done
  return 1
}

can_run_servers() {
  [[ -x $PG_BIN/initdb ]] || { log "skipped: PostgreSQL 15 server binaries missing (apt-get install postgresql-15)"; return 1; }
  [[ $(id -u) -eq 0 || $(id -un) == postgres ]] || { log "skipped: needs root (servers run as the postgres user)"; return 1; }
}

start_citus() {
  [[ -x $CITUS_SH ]] || { log "Citus skipped: $CITUS_SH not found"; return 0; }
  local port url
  port=$(free_port_range 5701 3)
  log "starting Citus: coordinator on $port, workers on $((port + 1)) and $((port + 2))"
  rm -rf "$DATA_DIR/citus"
  mkdir -p "$DATA_DIR"
  url=$("$CITUS_SH" start "$DATA_DIR/citus" "$port" 2)
  # Fewer shards than Citus' default 32: the same routing and co-location, less work on a two-core machine.
  as_pg "$PG_BIN/psql" -h 127.0.0.1 -p "$port" -U postgres -XAtqc 'ALTER SYSTEM SET citus.shard_count = 8' \
    -c 'SELECT pg_reload_conf()' >/dev/null
  echo "export PM_TEST_CITUS_URL='$url'"
}

start_replica_pair() {
  local port primary="$DATA_DIR/primary" replica="$DATA_DIR/replica"
  port=$(free_port_range 5721 2)
  rm -rf "$primary" "$replica"
  mkdir -p "$DATA_DIR"
  chown postgres "$DATA_DIR"
  log "starting PostgreSQL 15 primary on $port"
  as_pg "$PG_BIN/initdb" -D "$primary" -U postgres --auth=trust >/dev/null
  cat >>"$primary/postgresql.conf" <<CONF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$DATA_DIR'
wal_level = replica
max_wal_senders = 5
hot_standby = on
fsync = off
CONF
  echo 'host replication postgres 127.0.0.1/32 trust' >>"$primary/pg_hba.conf"
  as_pg "$PG_BIN/pg_ctl" -D "$primary" -l "$DATA_DIR/primary.log" -w start >/dev/null
  log "making the streaming replica with pg_basebackup -R on $((port + 1))"
  as_pg "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$port" -U postgres -D "$replica" -R -X stream -c fast >&2
  sed -i "s/^port = $port\$/port = $((port + 1))/" "$replica/postgresql.conf"
  as_pg "$PG_BIN/pg_ctl" -D "$replica" -l "$DATA_DIR/replica.log" -w start >/dev/null
  echo "export PM_TEST_PG_PRIMARY_URL='postgres://postgres@127.0.0.1:$port/postgres'"
  echo "export PM_TEST_PG_REPLICA_URL='postgres://postgres@127.0.0.1:$((port + 1))/postgres'"
  echo "export PM_TEST_PG_REPLICA_DIR='$replica'"
}

stop_node() {
  if [[ -d $1 ]]; then as_pg "$PG_BIN/pg_ctl" -D "$1" -m fast -w stop >/dev/null 2>&1 || true; fi
}

cmd_start() {
  can_run_servers || return 0
  start_citus
  start_replica_pair
}

cmd_stop() {
  [[ -d $DATA_DIR/citus && -x $CITUS_SH ]] && "$CITUS_SH" stop "$DATA_DIR/citus"
  stop_node "$DATA_DIR/replica"
  stop_node "$DATA_DIR/primary"
  log "stopped"
}

case ${1:-} in
  start) cmd_start ;;
  stop) cmd_stop ;;
  replica-stop) stop_node "$DATA_DIR/replica" ;;
  replica-start) as_pg "$PG_BIN/pg_ctl" -D "$DATA_DIR/replica" -l "$DATA_DIR/replica.log" -w start >/dev/null ;;
  *) sed -n '2,14p' "$0" >&2; exit 2 ;;
esac
