#!/bin/sh
# First start of the compose primary: let the streaming replica (postgres-replica) connect for replication with
# the same credentials as everyone else (scram over the compose network).
set -eu
echo "host replication all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
