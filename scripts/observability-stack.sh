#!/usr/bin/env bash
# The project's trace pipeline on local ports, for tests on a machine without Docker: the OpenTelemetry
# Collector (built with ocb from deploy/otel-collector/builder-config.yaml) running deploy/otel-collector/config.yaml,
# and Grafana Tempo running deploy/tempo/tempo.yaml. Both configs are used as they are; only what differs on
# this machine (listen addresses, data directory, targets) is injected with --set / flags / env variables.
#
#   scripts/observability-stack.sh build                   build both into the cache (no-op when cached)
#   eval "$(scripts/observability-stack.sh start)"         build if needed, start both, export PM_TEST_*
#   scripts/observability-stack.sh env                     print the exports of the running pair
#   scripts/observability-stack.sh stop                    stop what `start` started
#   scripts/observability-stack.sh status                  exit 0 when both run
#   scripts/observability-stack.sh collector-binary|tempo-binary   the cached binary's path (built or not)
#
# Binaries are cached under $PM_OTEL_CACHE_DIR (default ~/.cache/payment-manager/otel), keyed by version and
# manifest, so a fresh clone on the same machine reuses them. Progress goes to stderr; stdout carries only exports.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE_DIR="$ROOT/.data/observability-stack"
ENV_FILE="$ROOT/.data/observability-stack.env"
CACHE_DIR=${PM_OTEL_CACHE_DIR:-$HOME/.cache/payment-manager/otel}
MANIFEST="$ROOT/deploy/otel-collector/builder-config.yaml"
COLLECTOR_SUMS="$ROOT/deploy/otel-collector/builder-go.sum"
COLLECTOR_CONFIG="$ROOT/deploy/otel-collector/config.yaml"
TEMPO_CONFIG="$ROOT/deploy/tempo/tempo.yaml"

# ocb of the Collector release the manifest pins (docker-compose.yml runs the same release as an image).
OCB_MODULE=go.opentelemetry.io/collector/cmd/builder
OCB_VERSION=v0.137.0
OCB_SUM='h1:MXaYRp4NAXvo2aDLLOv3KnlWQmpzzyQClugQhboffBQ='
# Tempo's v2 tags are not valid Go module versions (its module path has no /v2), so the Go module proxy serves
# Tempo only as pseudo-versions. The one here is main of 2025-05-29 (87c2dc380cec, just after 2.8.0-rc.0); no
# pseudo-version of the 2.9.0 tag that compose runs is on our proxy. deploy/tempo/tempo.yaml runs on it unchanged.
TEMPO_MODULE=github.com/grafana/tempo
TEMPO_VERSION=v1.5.1-0.20250529124718-87c2dc380cec
TEMPO_SUM='h1:wnzJov9RhSHGaTYGzTygL4qq986fLen8xSqnQgaMd28='
# Seconds each build may take before the script gives up (cold Tempo: ~1.6 GB of modules, 31 min on a busy machine).
BUILD_BUDGET_SECONDS=${PM_OTEL_BUILD_BUDGET_SECONDS:-3600}
READY_BUDGET_SECONDS=90

log() { printf '%s [observability-stack] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Go runs with module and build caches of its own: a cold cache is a cold build, and nothing of GOPATH is touched.
GO_ENV=(env GOMODCACHE="$CACHE_DIR/gomod" GOCACHE="$CACHE_DIR/gocache" GOFLAGS=-modcacherw GOTOOLCHAIN=local)

# Downloads a module whose sum the checksum database does not know (our proxy lacks these entries) and checks
# it against the sum pinned above instead; prints the module's directory.
download_pinned_module() {
  local module=$1 version=$2 sum=$3 json dir got
  json=$("${GO_ENV[@]}" GONOSUMDB="$module" go mod download -json "$module@$version") ||
    die "go mod download $module@$version failed: $json"
  dir=$(sed -n 's/^\t"Dir": "\(.*\)",$/\1/p' <<<"$json")
  got=$(sed -n 's/^\t"Sum": "\(.*\)",$/\1/p' <<<"$json")
  [[ -n $dir && -d $dir ]] || die "go mod download $module@$version gave no directory: $json"
  [[ $got == "$sum" ]] || die "$module@$version has sum $got, expected $sum"
  printf '%s\n' "$dir"
}

# Runs a build command with `nice` in the background, reporting progress every 30 s, within the budget.
run_build() {
  local name=$1 log_file=$2
  shift 2
  local started=$SECONDS pid
  nice -n 10 "${GO_ENV[@]}" "$@" >"$log_file" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS - started >= BUILD_BUDGET_SECONDS)); then
      kill -TERM "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
      die "$name: still building after ${BUILD_BUDGET_SECONDS}s (log: $log_file)"
    fi
    sleep 2
    if (((SECONDS - started) % 30 < 2)); then
      log "$name: building for $((SECONDS - started))s, $(grep -c 'downloading' "$log_file" || true) modules downloaded"
    fi
  done
  if ! wait "$pid"; then
    tail -n 30 "$log_file" >&2
    die "$name: build failed (log: $log_file)"
  fi
  log "$name: built in $((SECONDS - started))s"
}

collector_binary() {
  # The hash of manifest and sums in the name: a change is a new build, an unchanged one is reused.
  printf '%s/bin/otelcol-payment-manager-%s\n' "$CACHE_DIR" "$(cat "$MANIFEST" "$COLLECTOR_SUMS" | sha256sum | cut -c1-12)"
}

tempo_binary() { printf '%s/bin/tempo-%s\n' "$CACHE_DIR" "$TEMPO_VERSION"; }

build_ocb() {
  local binary="$CACHE_DIR/bin/ocb-$OCB_VERSION" dir
  [[ -x $binary ]] && { printf '%s\n' "$binary"; return; }
  dir=$(download_pinned_module "$OCB_MODULE" "$OCB_VERSION" "$OCB_SUM")
  (cd "$dir" && run_build "ocb $OCB_VERSION" "$CACHE_DIR/logs/ocb.log" go build -trimpath -o "$binary.tmp" .)
  mv "$binary.tmp" "$binary"
  printf '%s\n' "$binary"
}

build_collector() {
  local binary ocb work
  binary=$(collector_binary)
  if [[ -x $binary ]]; then
    log "collector: cached $binary"
    return
  fi
  ocb=$(build_ocb)
  # ocb writes its Go sources and the binary to the manifest's relative output_path, i.e. below this directory.
  work="$CACHE_DIR/build/collector"
  rm -rf "$work"
  mkdir -p "$work/otelcol-payment-manager"
  # The checksum database behind our proxy lacks most Collector modules, so the committed go.sum is the
  # reference instead: go verifies every module listed there, and a module not listed fails the build below.
  cp "$COLLECTOR_SUMS" "$work/otelcol-payment-manager/go.sum"
  (cd "$work" && run_build "collector (ocb)" "$CACHE_DIR/logs/collector.log" env GOSUMDB=off "$ocb" --config="$MANIFEST")
  local unpinned
  unpinned=$(comm -13 <(sort -u "$COLLECTOR_SUMS") <(sort -u "$work/otelcol-payment-manager/go.sum"))
  [[ -z $unpinned ]] || die "the collector build used modules missing from ${COLLECTOR_SUMS#"$ROOT/"}:
$unpinned"
  mv "$work/otelcol-payment-manager/otelcol-payment-manager" "$binary"
  rm -rf "$work"
}

build_tempo() {
  local binary dir
  binary=$(tempo_binary)
  if [[ -x $binary ]]; then
    log "tempo: cached $binary"
    return
  fi
  dir=$(download_pinned_module "$TEMPO_MODULE" "$TEMPO_VERSION" "$TEMPO_SUM")
  # Built inside the downloaded module, so Tempo's own go.mod (with its replace directives) and go.sum apply.
  (cd "$dir" && run_build "tempo" "$CACHE_DIR/logs/tempo.log" go build -trimpath -o "$binary.tmp" ./cmd/tempo)
  mv "$binary.tmp" "$binary"
}

cmd_build() {
  command -v go >/dev/null || die "go is missing (the Go toolchain builds the Collector and Tempo)"
  mkdir -p "$CACHE_DIR/bin" "$CACHE_DIR/logs"
  build_collector
  build_tempo
}

# shellcheck source=lib/detached.sh
source "$ROOT/scripts/lib/detached.sh"

# Ports the kernel hands out for port 0 are free now; the processes bind them right after.
free_ports() {
  node -e "
    const net = require('node:net');
    const servers = Array.from({ length: Number(process.argv[1]) }, () => net.createServer().listen(0, '127.0.0.1'));
    Promise.all(servers.map((s) => new Promise((ok) => s.on('listening', ok)))).then(() => {
      console.log(servers.map((s) => s.address().port).join(' '));
      for (const s of servers) s.close();
    });" "$1"
}

wait_ready() {
  local name=$1 url=$2 deadline=$((SECONDS + READY_BUDGET_SECONDS)) next_report=$((SECONDS + 10))
  until curl -fsS -o /dev/null "$url" 2>/dev/null; do
    pid_alive "$name" || { tail -n 30 "$STATE_DIR/$name.log" >&2; die "$name exited during start-up"; }
    ((SECONDS < deadline)) || { tail -n 30 "$STATE_DIR/$name.log" >&2; die "$name not ready at $url within ${READY_BUDGET_SECONDS}s"; }
    if ((SECONDS >= next_report)); then
      log "$name: waiting for $url ($(curl -sS "$url" 2>&1 | head -c 120 | tr '\n' ' '))"
      next_report=$((SECONDS + 10))
    fi
    sleep 0.3
  done
  log "$name ready: $url"
}

start_tempo() {
  local http=$1 grpc=$2 otlp_grpc=$3 otlp_http=$4 memberlist=$5 remote_write=$6
  mkdir -p "$STATE_DIR/tempo"
  log "starting Tempo: HTTP API port $http, OTLP gRPC 127.0.0.1:$otlp_grpc"
  start_detached tempo env \
    TEMPO_OTLP_GRPC_LISTEN="127.0.0.1:$otlp_grpc" \
    TEMPO_OTLP_HTTP_LISTEN="127.0.0.1:$otlp_http" \
    TEMPO_DATA_DIR="$STATE_DIR/tempo" \
    TEMPO_REMOTE_WRITE_URL="http://127.0.0.1:$remote_write/api/v1/write" \
    "$(tempo_binary)" -config.file="$TEMPO_CONFIG" -config.expand-env=true \
    -server.http-listen-port="$http" -server.grpc-listen-port="$grpc" -memberlist.bind-port="$memberlist" \
    -reporting.enabled=false
}

start_collector() {
  local otlp_grpc=$1 otlp_http=$2 health=$3 tempo_otlp_grpc=$4 loki=$5
  log "starting the Collector: OTLP HTTP 127.0.0.1:$otlp_http, health 127.0.0.1:$health"
  # No Loki runs here: the logs pipeline points at a port nobody listens on, and its export errors are expected.
  start_detached collector env \
    TEMPO_OTLP_GRPC_ENDPOINT="127.0.0.1:$tempo_otlp_grpc" \
    LOKI_OTLP_ENDPOINT="http://127.0.0.1:$loki/otlp" \
    "$(collector_binary)" --config="$COLLECTOR_CONFIG" \
    --set="receivers::otlp::protocols::grpc::endpoint=127.0.0.1:$otlp_grpc" \
    --set="receivers::otlp::protocols::http::endpoint=127.0.0.1:$otlp_http" \
    --set="extensions::health_check::endpoint=127.0.0.1:$health" \
    --set="service::telemetry::metrics::level=none"
}

print_env() {
  [[ -f $ENV_FILE ]] || die "no running observability stack (run: eval \"\$(scripts/observability-stack.sh start)\")"
  cat "$ENV_FILE"
}

running() { [[ -f $ENV_FILE ]] && pid_alive collector && pid_alive tempo; }

cmd_start() {
  if running; then
    log "already running (scripts/observability-stack.sh stop to restart)"
    return
  fi
  cmd_stop 2>/dev/null
  cmd_build
  mkdir -p "$STATE_DIR"
  local tempo_http tempo_grpc tempo_otlp_grpc tempo_otlp_http memberlist otlp_grpc otlp_http health unused
  read -r tempo_http tempo_grpc tempo_otlp_grpc tempo_otlp_http memberlist otlp_grpc otlp_http health unused \
    <<<"$(free_ports 9)"
  start_tempo "$tempo_http" "$tempo_grpc" "$tempo_otlp_grpc" "$tempo_otlp_http" "$memberlist" "$unused"
  start_collector "$otlp_grpc" "$otlp_http" "$health" "$tempo_otlp_grpc" "$unused"
  wait_ready collector "http://127.0.0.1:$health/"
  wait_ready tempo "http://127.0.0.1:$tempo_http/ready"
  umask 077
  cat >"$ENV_FILE" <<EOF
export PM_TEST_OTLP_ENDPOINT='http://127.0.0.1:$otlp_http'
export PM_TEST_TEMPO_URL='http://127.0.0.1:$tempo_http'
export PM_TEST_OTELCOL_BIN='$(collector_binary)'
EOF
}

cmd_stop() {
  stop_detached collector
  stop_detached tempo
  rm -rf "$STATE_DIR/tempo"
  rm -f "$ENV_FILE"
}

case ${1:-} in
  build) cmd_build ;;
  start) start_for_eval "$ENV_FILE" cmd_start ;;
  stop) cmd_stop ;;
  status) running || exit 1 ;;
  env) print_env ;;
  # Where `build` puts (or put) each binary; scripts/images.sh stages them into the collector and Tempo images.
  collector-binary) collector_binary ;;
  tempo-binary) tempo_binary ;;
  *) echo "usage: $0 build|start|stop|env|status|collector-binary|tempo-binary" >&2; exit 2 ;;
esac
