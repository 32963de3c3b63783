#!/usr/bin/env bash
# Restore drill (docs/data-tier.md#backups-and-the-restore-drill), for real, with the tooling CloudNativePG's Barman
# Cloud plugin runs: barman-cloud-wal-archive as archive_command, barman-cloud-backup, barman-cloud-restore and
# barman-cloud-wal-restore as restore_command, against an S3-compatible store (moto's server) on a free local port.
#
#   1. a PostgreSQL 15 primary archives its WAL to the store; a base backup is taken;
#   2. rows are written, the target time is noted, more rows are written, the WAL is archived;
#   3. the primary is stopped (lost); the backup is restored into a new data directory and recovered up to the
#      target time; the rows written before the target must be there, those after it must not.
#
# Prints one line `restore drill: OK …` (or FAILED) with the counts and the time taken; exit 0 only when every count
# matches. Needs root (the servers run as the postgres user), PostgreSQL 15 and scripts/barman-venv.sh's
# virtualenv (installed on first use). PM_DRILL_KEEP=1 keeps the work directory for inspection.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_BIN=/usr/lib/postgresql/15/bin
VENV=${PM_BARMAN_VENV:-/var/cache/payment-manager/barman-venv}
BUCKET=payments-drill
SERVER=payments
ROWS_BASE=100
ROWS_BEFORE=100
ROWS_AFTER=50
STARTED_NS=$(date +%s%N)

log() { printf '%s [restore-drill] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "$*"; echo "restore drill: FAILED: $*"; exit 1; }
as_pg() { if [[ $(id -un) == postgres ]]; then "$@"; else runuser -u postgres -- "$@"; fi; }
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
  local port
  for ((port = $1; port < $1 + 200; port++)); do
    if port_free "$port"; then echo "$port"; return; fi
  done
  return 1
}
# Polls `$@` until it succeeds or `deadline` seconds pass (no fixed sleeps: each try is cheap).
until_ok() {
  local deadline=$1 what=$2
  shift 2
  local end=$((SECONDS + deadline))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < end)) || die "$what did not happen within ${deadline}s"
    sleep 0.2
  done
}

[[ -x $PG_BIN/initdb ]] || die "PostgreSQL 15 server binaries missing in $PG_BIN (scripts/system-packages.sh installs them)"
[[ $(id -u) -eq 0 || $(id -un) == postgres ]] || die "needs root: the servers run as the postgres user"
[[ -x $VENV/bin/barman-cloud-backup && -x $VENV/bin/moto_server ]] || "$ROOT/scripts/barman-venv.sh" >&2

WORK=$(mktemp -d /tmp/pm-restore-drill.XXXXXX)
MOTO_PID=
cleanup() {
  for dir in "$WORK/primary" "$WORK/restored"; do
    if [[ -f $dir/postmaster.pid ]]; then as_pg "$PG_BIN/pg_ctl" -D "$dir" -m immediate stop >/dev/null 2>&1 || true; fi
  done
  if [[ -n $MOTO_PID ]]; then kill "$MOTO_PID" 2>/dev/null || true; fi
  if [[ ${PM_DRILL_KEEP:-0} == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

S3_PORT=$(free_port 5740)
log "S3-compatible store (moto) on 127.0.0.1:$S3_PORT"
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$S3_PORT" >"$WORK/moto.log" 2>&1 &
MOTO_PID=$!
ENDPOINT="http://127.0.0.1:$S3_PORT"
until_ok 30 "moto answering on $ENDPOINT" "$VENV/bin/python" -c "import urllib.request; urllib.request.urlopen('$ENDPOINT/moto-api/')"
# Test-only keys of the local moto server (it accepts any); a deployment takes them from a Secret.
export AWS_ACCESS_KEY_ID=drill AWS_SECRET_ACCESS_KEY=drill AWS_DEFAULT_REGION=us-east-1
"$VENV/bin/python" -c "import boto3; boto3.client('s3', endpoint_url='$ENDPOINT').create_bucket(Bucket='$BUCKET')"

# archive_command / restore_command run as the postgres user: small wrappers carry the store's settings.
mkdir -p "$WORK/bin"
for tool in wal-archive wal-restore backup restore; do
  cat >"$WORK/bin/$tool" <<SH
#!/bin/sh
export AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY AWS_DEFAULT_REGION=$AWS_DEFAULT_REGION
exec $VENV/bin/barman-cloud-$tool --endpoint-url $ENDPOINT "\$@"
SH
done
chmod 755 "$WORK" "$WORK/bin" "$WORK"/bin/*
chown -R postgres "$WORK"

PG_PORT=$(free_port 5750)
PRIMARY=$WORK/primary
log "PostgreSQL 15 primary on $PG_PORT, archive_command = barman-cloud-wal-archive"
as_pg "$PG_BIN/initdb" -D "$PRIMARY" -U postgres --auth=trust >/dev/null
cat >>"$PRIMARY/postgresql.conf" <<CONF
port = $PG_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$WORK'
wal_level = replica
archive_mode = on
archive_command = '$WORK/bin/wal-archive s3://$BUCKET/backups $SERVER %p'
fsync = off
CONF
as_pg "$PG_BIN/pg_ctl" -D "$PRIMARY" -l "$WORK/primary.log" -w start >/dev/null
psql_at() { as_pg "$PG_BIN/psql" -h "$WORK" -p "$1" -U postgres -d postgres -XAtq -v ON_ERROR_STOP=1 -c "$2"; }

psql_at "$PG_PORT" "CREATE TABLE drill (id bigserial PRIMARY KEY, phase text NOT NULL)"
psql_at "$PG_PORT" "INSERT INTO drill (phase) SELECT 'base' FROM generate_series(1, $ROWS_BASE)"
log "base backup with barman-cloud-backup"
as_pg "$WORK/bin/backup" -h "$WORK" -p "$PG_PORT" -U postgres "s3://$BUCKET/backups" "$SERVER" >&2

psql_at "$PG_PORT" "INSERT INTO drill (phase) SELECT 'before-target' FROM generate_series(1, $ROWS_BEFORE)"
# Taken after that commit returned and before the next began: every 'before' row committed earlier, every 'after'
# row later.
TARGET=$(psql_at "$PG_PORT" "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'")
psql_at "$PG_PORT" "INSERT INTO drill (phase) SELECT 'after-target' FROM generate_series(1, $ROWS_AFTER)"
LAST_WAL=$(psql_at "$PG_PORT" "SELECT pg_walfile_name(pg_switch_wal())")
archived() { [[ $(psql_at "$PG_PORT" "SELECT last_archived_wal >= '$LAST_WAL' FROM pg_stat_archiver") == t ]]; }
until_ok 30 "archiving of $LAST_WAL" archived
log "target time $TARGET; WAL up to $LAST_WAL archived; the primary is lost"
as_pg "$PG_BIN/pg_ctl" -D "$PRIMARY" -m immediate stop >/dev/null

RESTORED=$WORK/restored
RESTORED_PORT=$(free_port $((PG_PORT + 1)))
log "barman-cloud-restore into a new data directory, recovery to the target time on $RESTORED_PORT"
as_pg "$WORK/bin/restore" "s3://$BUCKET/backups" "$SERVER" latest "$RESTORED" >&2
cat >>"$RESTORED/postgresql.conf" <<CONF
port = $RESTORED_PORT
archive_mode = off
restore_command = '$WORK/bin/wal-restore s3://$BUCKET/backups $SERVER %f %p'
recovery_target_time = '$TARGET'
recovery_target_action = 'promote'
CONF
as_pg touch "$RESTORED/recovery.signal"
as_pg "$PG_BIN/pg_ctl" -D "$RESTORED" -l "$WORK/restored.log" -w -t 60 start >/dev/null
promoted() { [[ $(psql_at "$RESTORED_PORT" "SELECT pg_is_in_recovery()") == f ]]; }
until_ok 60 "recovery to $TARGET and promotion" promoted

counts=$(psql_at "$RESTORED_PORT" "SELECT count(*) FILTER (WHERE phase = 'base') || ' ' ||
  count(*) FILTER (WHERE phase = 'before-target') || ' ' || count(*) FILTER (WHERE phase = 'after-target') FROM drill")
read -r base before after <<<"$counts"
elapsed_ms=$((($(date +%s%N) - STARTED_NS) / 1000000))
elapsed=$((elapsed_ms / 1000)).$(((elapsed_ms % 1000) / 100))
summary="base=$base/$ROWS_BASE before-target=$before/$ROWS_BEFORE after-target=$after/0 target=$TARGET in ${elapsed}s"
[[ $base == "$ROWS_BASE" && $before == "$ROWS_BEFORE" && $after == 0 ]] || die "row counts differ: $summary"
echo "restore drill: OK $summary"
