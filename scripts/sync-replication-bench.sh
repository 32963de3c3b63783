#!/usr/bin/env bash
# What synchronous replication costs the consumers (docs/data-tier.md#synchronous-replication): starts its own
# PostgreSQL 15 primary and `pg_basebackup -R` standby on free ports (never the shared pair of
# scripts/data-tier-services.sh), runs `npm run bench:drain` against the primary with asynchronous replication, then
# again with synchronous_standby_names = 'ANY 1 (*)', and stops both. fsync stays on: a commit then waits for the
# standby's flush as in production. Needs root, PostgreSQL 15 and KAFKA_BROKERS (else bench:drain starts a broker).
#   scripts/sync-replication-bench.sh [bench:drain options, default --webhooks 5000 --baseline-webhooks 2000]
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_BIN=/usr/lib/postgresql/15/bin
log() { printf '%s [sync-bench] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
as_pg() { if [[ $(id -un) == postgres ]]; then "$@"; else runuser -u postgres -- "$@"; fi; }
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port=5760
until port_free "$port" && port_free $((port + 1)); do port=$((port + 2)); done

DIR=$(mktemp -d /tmp/pm-sync-bench.XXXXXX)
chmod 755 "$DIR"
chown postgres "$DIR"
cleanup() {
  for node in replica primary; do
    if [[ -f $DIR/$node/postmaster.pid ]]; then as_pg "$PG_BIN/pg_ctl" -D "$DIR/$node" -m fast stop >/dev/null || true; fi
  done
  rm -rf "$DIR"
}
trap cleanup EXIT

log "primary on $port, standby on $((port + 1))"
as_pg "$PG_BIN/initdb" -D "$DIR/primary" -U postgres --auth=trust >/dev/null
cat >>"$DIR/primary/postgresql.conf" <<CONF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$DIR'
wal_level = replica
max_wal_senders = 5
max_connections = 200
CONF
echo 'host replication postgres 127.0.0.1/32 trust' >>"$DIR/primary/pg_hba.conf"
as_pg "$PG_BIN/pg_ctl" -D "$DIR/primary" -l "$DIR/primary.log" -w start >/dev/null
as_pg "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$port" -U postgres -D "$DIR/replica" -R -X stream -c fast
sed -i "s/^port = $port\$/port = $((port + 1))/" "$DIR/replica/postgresql.conf"
as_pg "$PG_BIN/pg_ctl" -D "$DIR/replica" -l "$DIR/replica.log" -w start >/dev/null
psql_primary() { as_pg "$PG_BIN/psql" -h "$DIR" -p "$port" -U postgres -XAtq -v ON_ERROR_STOP=1 "$@"; }

args=("$@")
((${#args[@]})) || args=(--webhooks 5000 --baseline-webhooks 2000)
cd "$ROOT"
export PM_BENCH_PG_URL="postgres://postgres@127.0.0.1:$port/postgres"
log "asynchronous replication"
npm run --silent bench:drain -- "${args[@]}"
psql_primary -c "ALTER SYSTEM SET synchronous_standby_names = 'ANY 1 (*)'" -c 'SELECT pg_reload_conf()' >/dev/null
state() { [[ $(psql_primary -c 'SELECT sync_state FROM pg_stat_replication') == quorum ]]; }
for _ in $(seq 1 50); do state && break; sleep 0.1; done
state || { log "the standby did not become synchronous"; exit 1; }
log "synchronous replication (ANY 1 (*), standby in state quorum)"
npm run --silent bench:drain -- "${args[@]}"
