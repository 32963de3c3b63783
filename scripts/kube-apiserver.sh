#!/usr/bin/env bash
# A real Kubernetes API server (kube-apiserver + etcd, no kubelet, no controllers) for the tests: the manifests
# are judged by the same validation, defaulting, structural schemas and CEL rules as on a kind cluster.
#
#   scripts/kube-apiserver.sh build     build kube-apiserver and etcd into the cache (scripts/kube-build.sh apiserver)
#   eval "$(scripts/kube-apiserver.sh start)"   build if needed, start both on free local ports, wait for /readyz,
#                                                and export PM_TEST_KUBE_APISERVER (a kubeconfig path)
#   scripts/kube-apiserver.sh env       print the export line of the running server
#   scripts/kube-apiserver.sh stop      stop both and delete their state
#   scripts/kube-apiserver.sh status    exit 0 when both run
#
# Both are built from the Go module proxy by scripts/kube-build.sh and cached outside the clone
# ($PM_KUBE_CACHE, default ~/.cache/payment-manager/kube), so later runs and CI's fresh clones reuse them.
# Progress goes to stderr; stdout carries only the export line.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN_DIR=$("$ROOT/scripts/kube-build.sh" dir)
STATE_DIR="$ROOT/.data/kube-apiserver"
ENV_FILE="$ROOT/.data/kube-apiserver.env"
READY_TIMEOUT=${PM_KUBE_READY_TIMEOUT:-180}

log() { printf '%s [kube-apiserver] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

cmd_build() { "$ROOT/scripts/kube-build.sh" apiserver; }

# shellcheck source=lib/detached.sh
source "$ROOT/scripts/lib/detached.sh"

# A CA, a serving certificate for 127.0.0.1/localhost, and the service-account signing key.
make_pki() {
  local pki="$STATE_DIR/pki"
  mkdir -p "$pki"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=payment-manager-test-ca' \
    -keyout "$pki/ca.key" -out "$pki/ca.crt" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj '/CN=kube-apiserver' \
    -keyout "$pki/apiserver.key" -out "$pki/apiserver.csr" 2>/dev/null
  openssl x509 -req -in "$pki/apiserver.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial -days 2 \
    -extfile <(printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n') \
    -out "$pki/apiserver.crt" 2>/dev/null
  openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
  openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
  # Admin access: a static bearer token in system:masters (what kind's admin client certificate grants).
  ADMIN_TOKEN=$(openssl rand -hex 24)
  printf '%s,payment-manager-admin,payment-manager-admin,"system:masters"\n' "$ADMIN_TOKEN" >"$pki/tokens.csv"
}

write_kubeconfig() {
  local server=$1 ca_data
  ca_data=$(base64 -w0 <"$STATE_DIR/pki/ca.crt")
  umask 077
  cat >"$STATE_DIR/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: test-apiserver
    cluster:
      server: $server
      certificate-authority-data: $ca_data
users:
  - name: admin
    user:
      token: $ADMIN_TOKEN
contexts:
  - name: test-apiserver
    context:
      cluster: test-apiserver
      user: admin
current-context: test-apiserver
EOF
}

readyz() {
  curl -fsS --max-time 3 --cacert "$STATE_DIR/pki/ca.crt" -H "Authorization: Bearer $ADMIN_TOKEN" "$1/readyz"
}

running() { [[ -f $ENV_FILE ]] && pid_alive etcd && pid_alive kube-apiserver; }

cmd_start() {
  if running; then
    log "already running (scripts/kube-apiserver.sh stop to restart)"
    return
  fi
  cmd_stop 2>/dev/null
  command -v openssl >/dev/null || die "openssl is missing"
  cmd_build
  mkdir -p "$STATE_DIR"
  make_pki
  local etcd_port etcd_peer_port api_port server deadline next_report
  etcd_port=$(free_port)
  etcd_peer_port=$(free_port)
  api_port=$(free_port)
  log "starting etcd on 127.0.0.1:$etcd_port"
  # No fsync: the data is thrown away after the run, and fsync on a shared disk only slows the tests.
  start_detached etcd "$BIN_DIR/etcd" --name test --data-dir "$STATE_DIR/etcd" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer_port" \
    --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer_port" \
    --initial-cluster "test=http://127.0.0.1:$etcd_peer_port" \
    --unsafe-no-fsync --log-level warn
  log "starting kube-apiserver $("$BIN_DIR/kube-apiserver" --version | cut -d" " -f2) on https://127.0.0.1:$api_port"
  start_detached kube-apiserver "$BIN_DIR/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$etcd_port" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$api_port" \
    --tls-cert-file "$STATE_DIR/pki/apiserver.crt" --tls-private-key-file "$STATE_DIR/pki/apiserver.key" \
    --client-ca-file "$STATE_DIR/pki/ca.crt" \
    --token-auth-file "$STATE_DIR/pki/tokens.csv" \
    --authorization-mode RBAC \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$STATE_DIR/pki/sa.pub" \
    --service-account-signing-key-file "$STATE_DIR/pki/sa.key" \
    --service-cluster-ip-range 10.96.0.0/16 \
    --allow-privileged=true \
    --cert-dir "$STATE_DIR/pki/generated"
  server="https://127.0.0.1:$api_port"
  deadline=$((SECONDS + READY_TIMEOUT))
  next_report=$((SECONDS + 10))
  until readyz "$server" >/dev/null 2>&1; do
    pid_alive etcd || { tail -n 30 "$STATE_DIR/etcd.log" >&2; die "etcd exited during start-up"; }
    pid_alive kube-apiserver || { tail -n 30 "$STATE_DIR/kube-apiserver.log" >&2; die "kube-apiserver exited during start-up"; }
    if ((SECONDS >= deadline)); then
      tail -n 30 "$STATE_DIR/kube-apiserver.log" >&2
      die "kube-apiserver's /readyz did not answer ok within ${READY_TIMEOUT}s"
    fi
    if ((SECONDS >= next_report)); then
      log "waiting for /readyz ($((deadline - SECONDS))s left)"
      next_report=$((SECONDS + 10))
    fi
    sleep 0.5
  done
  write_kubeconfig "$server"
  log "ready: $server (kubeconfig $STATE_DIR/kubeconfig)"
  echo "export PM_TEST_KUBE_APISERVER='$STATE_DIR/kubeconfig'" >"$ENV_FILE"
}

cmd_stop() {
  stop_detached kube-apiserver
  stop_detached etcd
  rm -rf "$STATE_DIR/etcd" "$STATE_DIR/pki" "$STATE_DIR/kubeconfig"
  rm -f "$ENV_FILE"
}

case ${1:-} in
  build) cmd_build ;;
  start) start_for_eval "$ENV_FILE" cmd_start ;;
  stop) cmd_stop ;;
  status) running || exit 1 ;;
  env) [[ -f $ENV_FILE ]] || die "not running (eval \"\$(scripts/kube-apiserver.sh start)\")"; cat "$ENV_FILE" ;;
  *) echo "usage: $0 build|start|stop|env|status" >&2; exit 2 ;;
esac
