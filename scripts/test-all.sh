#!/usr/bin/env bash
# The README's second command, and CI's test step (.ci/run): the whole test suite, nothing skipped.
#
#   scripts/test-all.sh [vitest arguments]     e.g. scripts/test-all.sh services/api/test/orders.test.ts
#
# Installs Node 24 into .tools and the npm dependencies when they are missing, then starts every service the suite
# needs that is not already running — PostgreSQL with pg_partman, WireMock, Apache Kafka (a single node and a 3-node
# cluster), the Citus cluster and a streaming replica pair (scripts/test-services.sh), a kube-apiserver with etcd
# (scripts/kube-apiserver.sh), the OpenTelemetry Collector with Tempo (scripts/observability-stack.sh; both built
# with Go on first use and cached in ~/.cache/payment-manager) and, as root, the images (npm run images) and a real
# single-node Kubernetes cluster with the platform deployed (scripts/cluster.sh) — runs `npm test`, and stops what it
# started, also on failure or Ctrl-C. Services you started yourself (eval "$(scripts/test-services.sh start)") are used and left running.
# Missing system packages (PostgreSQL 15, pg_partman, Java, Maven, kcat, …) are installed first with
# scripts/system-packages.sh (root or sudo; Go must be on the machine for the first builds). With dockerd and podman
# installed it also starts a Docker engine (scripts/docker-engine.sh) and loads the images of `npm run images` into
# it for the compose stack test (scripts/test/compose-stack.test.ts).
# PM_TEST_KEEP_SERVICES=1 leaves the services this script started running.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
RUN_STARTED=$SECONDS
log() { printf '%s [test-all +%4ss] %s\n' "$(date -u +%H:%M:%S)" "$((SECONDS - RUN_STARTED))" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
# shellcheck source=lib/node-setup.sh
source "$ROOT/scripts/lib/node-setup.sh"

# The service scripts this run started (stopped on exit, in reverse order) and their logs, shown when tests fail.
STARTED=()
SERVICE_LOGS=(.data/test-services/*.log .data/test-services/kafka-*/node*/server.log .data/observability-stack/*.log
  .data/kube-apiserver/*.log .data/local-cluster/*.log)
TESTS_RAN=0
on_exit() {
  local status=$? index service_log
  trap - EXIT INT TERM
  if ((status != 0 && TESTS_RAN)); then
    # The services' own logs often explain a failing test or a failed start-up.
    for service_log in "${SERVICE_LOGS[@]}"; do
      [[ -f $service_log ]] || continue
      log "last lines of $service_log:"
      tail -n 15 "$service_log" | cut -c1-300 >&2
    done
  fi
  if [[ ${PM_TEST_KEEP_SERVICES:-0} == 1 ]]; then
    ((${#STARTED[@]} == 0)) || log "left running (PM_TEST_KEEP_SERVICES=1): ${STARTED[*]}"
  else
    for ((index = ${#STARTED[@]} - 1; index >= 0; index--)); do
      "scripts/${STARTED[index]}.sh" stop || log "stopping ${STARTED[index]} failed"
    done
  fi
  if ((status == 0)); then log "passed in $((SECONDS - RUN_STARTED))s"; else log "FAILED (exit $status) after $((SECONDS - RUN_STARTED))s"; fi
  exit "$status"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

scripts/system-packages.sh
ensure_node_24
ensure_npm_dependencies

SERVICES=(test-services kube-apiserver observability-stack)
# The local Kubernetes cluster (scripts/cluster.sh) runs the images of `npm run images`; it needs root.
if [[ $(id -u) -eq 0 ]]; then
  log "==> npm run images (the images the compose stack and the cluster run; cached ones are reused)"
  npm run --silent images
  SERVICES+=(cluster)
else
  log "not root: the local Kubernetes cluster is not started (its tests say so)"
fi

# The export line of a running service's PM_TEST_* variables.
service_env() { if [[ $1 == cluster ]]; then scripts/cluster.sh test-env; else "scripts/$1.sh" env; fi; }

# Starts the services of each script that are not running, all at once (the Kafka JVMs take longest), and loads
# their PM_TEST_* exports into this shell.
EXPORTS_DIR=$(mktemp -d)
declare -A STARTING=()
for service in "${SERVICES[@]}"; do
  if "scripts/$service.sh" status >/dev/null 2>&1; then
    log "$service: already running, using it"
    service_env "$service" >"$EXPORTS_DIR/$service.env"
  else
    log "$service: starting (its log lines follow)"
    STARTED+=("$service")
    "scripts/$service.sh" start >"$EXPORTS_DIR/$service.env" &
    STARTING[$service]=$!
  fi
done
for service in "${!STARTING[@]}"; do
  wait "${STARTING[$service]}" || die "$service did not start (see the lines above)"
done
for service in "${SERVICES[@]}"; do
  # shellcheck disable=SC1090
  source "$EXPORTS_DIR/$service.env"
done
rm -rf "$EXPORTS_DIR"
log "services ready: $(env | grep -o '^PM_TEST_[A-Z_]*' | sort | tr '\n' ' ')"

# The compose stack test (scripts/test/compose-stack.test.ts) runs docker-compose.yml on a Docker engine holding the
# images `npm run images` built with podman. DOCKER_HOST is not exported: the test finds the engine's socket itself,
# and the testkit must not take this engine for one that can pull its service images.
if command -v dockerd >/dev/null && command -v podman >/dev/null; then
  if scripts/docker-engine.sh status; then
    log "docker-engine: already running, using it"
  else
    STARTED+=(docker-engine)
    scripts/docker-engine.sh start >/dev/null || die "the Docker engine did not start (see the lines above)"
  fi
  scripts/images.sh docker-load || die "loading the images into the Docker engine failed"
else
  log "docker-engine: dockerd or podman is missing; the compose stack test skips (and fails when CI=true)"
fi

log "==> npm test $*"
TESTS_RAN=1
npm test -- "$@"
