#!/usr/bin/env bash
# Real services for the test suite on a machine without Docker: PostgreSQL 15 (started if it does not answer),
# WireMock with deploy/wiremock, and real Apache Kafka (scripts/kafka.sh): a single KRaft node for every Kafka test,
# a 3-node cluster for the replication and fault tests and a secure node (TLS, SCRAM-SHA-512 users, ACLs:
# docs/kafka.md#security, PM_TEST_KAFKA_SECURE_*). PM_TEST_KAFKA=mock uses librdkafka's mock cluster
# (kcat) instead of the single node, for a machine without Java or Maven.
#
#   eval "$(scripts/test-services.sh start)"   start (or reuse) them and export PM_TEST_* into this shell
#   scripts/test-services.sh env               print the exports of the running set
#   scripts/test-services.sh stop              stop what `start` started
#   scripts/test-services.sh status            exit 0 when the set runs (scripts/test-all.sh starts it otherwise)
#
# `npm test` also finds a running set without the exports: `start` writes them to .data/test-services.env.
# Progress goes to stderr; stdout carries only the export lines.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE_DIR="$ROOT/.data/test-services"
ENV_FILE="$ROOT/.data/test-services.env"
PG_ADMIN_URL_DEFAULT='postgres://postgres@127.0.0.1:5432/postgres'
PG_CLUSTER_VERSION=15
PG_CLUSTER_NAME=main

log() { printf '%s [test-services] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# shellcheck source=lib/detached.sh
source "$ROOT/scripts/lib/detached.sh"

# Polls a command until it succeeds or `seconds` pass.
wait_for() {
  local seconds=$1
  shift
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

pg_answers() { psql "$1" -XAtqc 'SELECT 1' >/dev/null 2>&1; }

ensure_postgres() {
  local url=${PM_TEST_PG_URL:-$PG_ADMIN_URL_DEFAULT}
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    command -v pg_ctlcluster >/dev/null || die "PostgreSQL does not answer on 127.0.0.1:5432 and pg_ctlcluster is missing (apt-get install postgresql-15)"
    log "starting PostgreSQL cluster $PG_CLUSTER_VERSION/$PG_CLUSTER_NAME"
    pg_ctlcluster --skip-systemctl-redirect "$PG_CLUSTER_VERSION" "$PG_CLUSTER_NAME" start
    echo "$PG_CLUSTER_VERSION $PG_CLUSTER_NAME" >"$STATE_DIR/postgres.started"
    wait_for 60 pg_isready -q -h 127.0.0.1 -p 5432 || die "PostgreSQL did not become ready within 60s"
  fi
  if ! pg_answers "$url"; then
    # A freshly installed Debian cluster asks TCP clients for a password: give the tests their own superuser
    # (superuser because migrations create the pg_partman extension and tests create databases).
    [[ -z ${PM_TEST_PG_URL:-} ]] || die "PM_TEST_PG_URL is set but PostgreSQL refuses it"
    [[ $(id -u) -eq 0 ]] || die "$PG_ADMIN_URL_DEFAULT is refused (password auth?); set PM_TEST_PG_URL to a superuser URL"
    # One password per machine, kept outside the clone: every checkout (and CI) then shares the role, instead of
    # each `start` resetting it under the others' feet.
    local password password_file=${XDG_CACHE_HOME:-$HOME/.cache}/payment-manager/pm_test.password
    if [[ ! -s $password_file ]]; then
      mkdir -p "$(dirname "$password_file")"
      (umask 077 && node -e "console.log(require('node:crypto').randomBytes(18).toString('hex'))" >"$password_file")
    fi
    password=$(cat "$password_file")
    runuser -u postgres -- psql -XAtq -v ON_ERROR_STOP=1 -v pw="$password" -d postgres <<'SQL' >/dev/null
SELECT format('CREATE ROLE pm_test LOGIN SUPERUSER PASSWORD %L', :'pw') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pm_test') \gexec
ALTER ROLE pm_test PASSWORD :'pw';
SQL
    url="postgres://pm_test:$password@127.0.0.1:5432/postgres"
    pg_answers "$url" || die "PostgreSQL refuses the pm_test role too; check pg_hba.conf"
    log "PostgreSQL wants passwords on TCP: created superuser pm_test for the tests"
  fi
  PG_URL_FOR_TESTS=$url
}

start_wiremock() {
  local port url deadline
  port=$(free_port)
  url="http://127.0.0.1:$port"
  log "starting WireMock on port $port with deploy/wiremock"
  (cd "$ROOT" && start_detached wiremock npx --no-install wiremock --port "$port" --bind-address 127.0.0.1 \
    --root-dir deploy/wiremock --global-response-templating --disable-gzip)
  deadline=$((SECONDS + 90))
  until curl -fsS "$url/__admin/health" >/dev/null 2>&1; do
    pid_alive wiremock || { tail -n 30 "$STATE_DIR/wiremock.log" >&2; die "WireMock exited during start-up"; }
    ((SECONDS < deadline)) || { tail -n 30 "$STATE_DIR/wiremock.log" >&2; die "WireMock admin API did not answer within 90s"; }
    sleep 0.3
  done
  log "WireMock ready: $(curl -fsS "$url/__admin/mappings" | grep -c '"name"') stubs loaded"
  WIREMOCK_URL_FOR_TESTS=$url
}

start_kafka() {
  log "starting Apache Kafka: a single node and a 3-node cluster (scripts/kafka.sh)"
  # Both clusters start in parallel; each waits for its own nodes with a deadline and reports progress.
  "$ROOT/scripts/kafka.sh" start --nodes 1 --dir "$STATE_DIR/kafka-1node" >"$STATE_DIR/kafka-1node.brokers" &
  local single=$!
  "$ROOT/scripts/kafka.sh" start --nodes 3 --dir "$STATE_DIR/kafka-3node" >"$STATE_DIR/kafka-3node.brokers" &
  local cluster=$!
  # The production security (TLS + SCRAM-SHA-512 + ACLs) on a node of its own: docs/kafka.md#security.
  "$ROOT/scripts/kafka.sh" start --secure --dir "$STATE_DIR/kafka-secure" >"$STATE_DIR/kafka-secure.brokers" &
  local secure=$!
  wait "$single" || die "the single Kafka node did not start"
  wait "$cluster" || die "the 3-node Kafka cluster did not start"
  wait "$secure" || die "the secure Kafka node did not start"
}

# PM_TEST_KAFKA_SECURE_*: the secure node's address, CA and the passwords of its users admin, ingest and api.
secure_kafka_exports() {
  local dir=$STATE_DIR/kafka-secure user
  echo "export PM_TEST_KAFKA_SECURE_BROKERS='$(cat "$STATE_DIR/kafka-secure.brokers")'"
  echo "export PM_TEST_KAFKA_SECURE_CA_FILE='$dir/tls/ca.crt'"
  for user in admin ingest api; do
    echo "export PM_TEST_KAFKA_SECURE_${user^^}_PASSWORD='$(sed -n "s/^$user=//p" "$dir/users")'"
  done
}

start_kafka_mock() {
  local deadline bootstrap=''
  log "starting librdkafka mock cluster (3 brokers) with kcat"
  # Exactly the command of the infrastructure notes; `sleep` keeps kcat's producer (and so the cluster) alive.
  start_detached kafka-mock bash -c 'sleep 100000 | kcat -b x:1 -X test.mock.num.brokers=3 -d mock -P -t keepalive'
  deadline=$((SECONDS + 30))
  until bootstrap=$(grep -o -m1 'bootstrap.servers=[0-9.:,]*' "$STATE_DIR/kafka-mock.log" 2>/dev/null | cut -d= -f2) &&
    [[ -n $bootstrap ]]; do
    pid_alive kafka-mock || { tail -n 30 "$STATE_DIR/kafka-mock.log" >&2; die "kcat exited during start-up"; }
    ((SECONDS < deadline)) || die "no bootstrap.servers line in the kcat log within 30s"
    sleep 0.2
  done
  log "Kafka mock cluster ready: $bootstrap"
  KAFKA_BROKERS_FOR_TESTS=$bootstrap
}

print_env() {
  [[ -f $ENV_FILE ]] || die "no running test services (run: eval \"\$(scripts/test-services.sh start)\")"
  cat "$ENV_FILE"
}

kafka_running() {
  if [[ ${PM_TEST_KAFKA:-real} == mock ]]; then
    pid_alive kafka-mock
  else
    "$ROOT/scripts/kafka.sh" status --dir "$STATE_DIR/kafka-1node" 2>/dev/null | grep -q running
  fi
}

running() {
  [[ -f $ENV_FILE ]] && pid_alive wiremock && kafka_running
}

secure_kafka_running() {
  "$ROOT/scripts/kafka.sh" status --dir "$STATE_DIR/kafka-secure" 2>/dev/null | grep -q running
}

# A set started before the secure node existed gets it added, without restarting what the others are using.
add_secure_kafka() {
  log "adding the secure Kafka node to the running set (scripts/kafka.sh start --secure)"
  "$ROOT/scripts/kafka.sh" start --secure --dir "$STATE_DIR/kafka-secure" >"$STATE_DIR/kafka-secure.brokers" ||
    die "the secure Kafka node did not start"
  local updated
  updated=$(grep -v '^export PM_TEST_KAFKA_SECURE_' "$ENV_FILE"; secure_kafka_exports)
  (umask 077 && printf '%s\n' "$updated" >"$ENV_FILE")
}

cmd_start() {
  mkdir -p "$STATE_DIR"
  if running; then
    [[ ${PM_TEST_KAFKA:-real} == mock ]] || secure_kafka_running || add_secure_kafka
    log "already running (scripts/test-services.sh stop to restart)"
    return
  fi
  cmd_stop 2>/dev/null
  mkdir -p "$STATE_DIR"
  command -v java >/dev/null || die "java is missing (apt-get install openjdk-17-jre-headless)"
  ensure_postgres
  KAFKA_CLUSTER_FOR_TESTS=''
  SECURE_KAFKA_EXPORTS=''
  if [[ ${PM_TEST_KAFKA:-real} == mock ]]; then
    command -v kcat >/dev/null || die "kcat is missing (apt-get install kcat)"
    start_wiremock
    start_kafka_mock
  else
    # Kafka's JVMs take longest: they start while WireMock does.
    "$ROOT/scripts/kafka.sh" fetch >/dev/null
    start_kafka &
    local kafka_start=$!
    start_wiremock
    wait "$kafka_start" || die "Kafka did not start"
    KAFKA_BROKERS_FOR_TESTS=$(cat "$STATE_DIR/kafka-1node.brokers")
    KAFKA_CLUSTER_FOR_TESTS=$STATE_DIR/kafka-3node
    SECURE_KAFKA_EXPORTS=$(secure_kafka_exports)
  fi
  # Citus cluster and a streaming replica pair (docs/data-tier.md); prints its own export lines.
  DATA_TIER_EXPORTS=$("$ROOT/scripts/data-tier-services.sh" start)
  umask 077
  cat >"$ENV_FILE" <<EOF
export PM_TEST_PG_URL='$PG_URL_FOR_TESTS'
export PM_TEST_WIREMOCK_URL='$WIREMOCK_URL_FOR_TESTS'
export PM_TEST_KAFKA_BROKERS='$KAFKA_BROKERS_FOR_TESTS'
export PM_TEST_KAFKA_CLUSTER='$KAFKA_CLUSTER_FOR_TESTS'
$SECURE_KAFKA_EXPORTS
$DATA_TIER_EXPORTS
EOF
}

cmd_stop() {
  stop_detached wiremock
  stop_detached kafka-mock
  "$ROOT/scripts/kafka.sh" stop --dir "$STATE_DIR/kafka-1node"
  "$ROOT/scripts/kafka.sh" stop --dir "$STATE_DIR/kafka-3node"
  "$ROOT/scripts/kafka.sh" stop --dir "$STATE_DIR/kafka-secure"
  "$ROOT/scripts/data-tier-services.sh" stop
  if [[ -f "$STATE_DIR/postgres.started" ]]; then
    read -r version name <"$STATE_DIR/postgres.started"
    pg_ctlcluster --skip-systemctl-redirect "$version" "$name" stop && log "stopped PostgreSQL $version/$name"
    rm -f "$STATE_DIR/postgres.started"
  fi
  rm -f "$ENV_FILE"
}

case ${1:-} in
  start) start_for_eval "$ENV_FILE" cmd_start ;;
  stop) cmd_stop ;;
  status) running || exit 1 ;;
  env) print_env ;;
  *) echo "usage: $0 start|stop|env|status" >&2; exit 2 ;;
esac
