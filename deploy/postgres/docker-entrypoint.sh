#!/bin/bash
# Entrypoint of payment-manager/postgres (deploy/postgres/Dockerfile): the subset of the official postgres image's
# docker-entrypoint.sh that deploy/env/postgres.env relies on — POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB,
# POSTGRES_INITDB_ARGS and /docker-entrypoint-initdb.d — plus the streaming replica mode (POSTGRES_PRIMARY_HOST).
set -euo pipefail

log() { printf '%s [postgres-entrypoint] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# `docker run image -c x=y` means `postgres -c x=y`, as with the official image.
if [[ ${1:-} == -* ]]; then set -- postgres "$@"; fi
[[ ${1:-} == postgres ]] || exec "$@"

if [[ -n ${POSTGRES_PRIMARY_HOST:-} ]]; then
  exec replica-start.sh "${@:2}"
fi

export POSTGRES_USER=${POSTGRES_USER:-postgres}
export POSTGRES_DB=${POSTGRES_DB:-$POSTGRES_USER}
SOCKET_DIR=${PGHOST:-/tmp}

if [[ ! -s $PGDATA/PG_VERSION ]]; then
  [[ -n ${POSTGRES_PASSWORD:-} ]] || { log "POSTGRES_PASSWORD is empty: set it (compose: deploy/env/postgres.env)"; exit 1; }
  log "initialising $PGDATA for user $POSTGRES_USER, database $POSTGRES_DB"
  mkdir -p "$PGDATA"
  chmod 0700 "$PGDATA"
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS holds several flags, as with the official image.
  initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 ${POSTGRES_INITDB_ARGS:-} >/dev/null
  rm -f "$pwfile"
  # Reached over the network like the official image; the socket where a read-only root file system allows it.
  {
    echo "listen_addresses = '*'"
    echo "unix_socket_directories = '$SOCKET_DIR'"
  } >>"$PGDATA/postgresql.conf"
  echo 'host all all all scram-sha-256' >>"$PGDATA/pg_hba.conf"

  # A server on the socket only, so nobody connects to a half-initialised database over TCP.
  pg_ctl -D "$PGDATA" -w -o "-c listen_addresses='' -c unix_socket_directories=$SOCKET_DIR" start >/dev/null
  psql_run=(psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet --host="$SOCKET_DIR" --username="$POSTGRES_USER")
  if [[ $POSTGRES_DB != postgres ]]; then
    "${psql_run[@]}" --dbname=postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
  fi
  for file in /docker-entrypoint-initdb.d/*; do
    [[ -f $file ]] || continue
    case $file in
    *.sh) log "running $file"; if [[ -x $file ]]; then "$file"; else # shellcheck disable=SC1090
      . "$file"; fi ;;
    *.sql) log "running $file"; "${psql_run[@]}" --dbname="$POSTGRES_DB" -f "$file" ;;
    *) log "ignoring $file" ;;
    esac
  done
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  log "initialised; starting the server"
fi

exec "$@"
