#!/bin/sh
# Streaming replica of POSTGRES_PRIMARY_HOST (compose: postgres-replica of postgres, docs/data-tier.md): on an empty
# volume, a base backup of the primary with `pg_basebackup -R` (standby.signal + primary_conninfo), then a hot
# standby. Started by docker-entrypoint.sh when POSTGRES_PRIMARY_HOST is set; runs as the image's postgres user.
# Extra arguments go to postgres (the standalone Kubernetes stack points POSTGRES_PRIMARY_HOST at payments-rw).
set -eu
primary=${POSTGRES_PRIMARY_HOST:-postgres}
port=${POSTGRES_PRIMARY_PORT:-5432}
user=${POSTGRES_USER:-postgres}
export PGPASSWORD="$POSTGRES_PASSWORD"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  # The primary's healthcheck gates compose; in Kubernetes the replica may start first. No deadline: the
  # orchestrator's probes and restarts bound the wait.
  until pg_isready --quiet --host="$primary" --port="$port" --username="$user"; do sleep 1; done
  pg_basebackup --host="$primary" --port="$port" --username="$user" --pgdata="$PGDATA" \
    --write-recovery-conf --wal-method=stream --checkpoint=fast
  chmod 0700 "$PGDATA"
fi
exec postgres -c hot_standby=on "$@"
