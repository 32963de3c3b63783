#!/bin/sh
# First start of a primary: the login roles of docs/data-tier.md#roles — the API's read/write role and the
# read-only role — with passwords from the environment (Kubernetes: the role Secrets; CloudNativePG does the same
# with managed.roles). The migrations grant their privileges. Unset passwords (docker compose, one role) skip a role.
set -eu
create_role() {
  role=$1 password=$2
  [ -n "$password" ] || { echo "020-service-roles: no password for $role, not created"; return 0; }
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" -v role="$role" -v pw="$password" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'role', :'pw')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
SQL
}
create_role payments_app "${PG_APP_ROLE_PASSWORD:-}"
create_role payments_read "${PG_READ_ROLE_PASSWORD:-}"
