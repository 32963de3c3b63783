#!/bin/sh
# Streaming replica of the primary (docs/data-tier.md): on an empty volume, a base backup of the primary with
# `pg_basebackup -R` (standby.signal + primary_conninfo), then a hot standby. Runs as the image's postgres user.
# Compose's replica follows `postgres`; the standalone Kubernetes stack sets PRIMARY_HOST to the read-write Service.
# Extra arguments are passed to postgres.
set -eu
export PGPASSWORD="$POSTGRES_PASSWORD"
PRIMARY_HOST="${PRIMARY_HOST:-postgres}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until pg_isready --quiet --host="$PRIMARY_HOST" --username="$POSTGRES_USER"; do sleep 1; done
  pg_basebackup --host="$PRIMARY_HOST" --username="$POSTGRES_USER" --pgdata="$PGDATA" \
    --write-recovery-conf --wal-method=stream --checkpoint=fast
  chmod 0700 "$PGDATA"
fi
exec postgres -c hot_standby=on "$@"
