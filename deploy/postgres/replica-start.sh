#!/bin/sh
# Compose streaming replica of `postgres` (docs/data-tier.md): on an empty volume, a base backup of the primary with
# `pg_basebackup -R` (standby.signal + primary_conninfo), then a hot standby. Runs as the image's postgres user.
set -eu
export PGPASSWORD="$POSTGRES_PASSWORD"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until pg_isready --quiet --host=postgres --username="$POSTGRES_USER"; do sleep 1; done
  pg_basebackup --host=postgres --username="$POSTGRES_USER" --pgdata="$PGDATA" \
    --write-recovery-conf --wal-method=stream --checkpoint=fast
  chmod 0700 "$PGDATA"
fi
exec postgres -c hot_standby=on
