#!/usr/bin/env bash
# One command, two back-ends: `npm run cluster:up` creates a Kubernetes cluster with the platform deployed on it.
#
#   kind    (users with Docker and registry access) the kind cluster of deploy/kind with the operators
#           (Strimzi, CloudNativePG, Envoy Gateway); then `skaffold dev -p kind` builds and deploys the platform
#   local   (machines without a registry, CI) a real single-node cluster on this machine (scripts/local-cluster.sh),
#           the images of `npm run images` loaded into its containerd, and the standalone stack (PM_STACK=standalone:
#           Kafka, PostgreSQL and the Traefik Gateway without operators) deployed from the cdk8s app
#
# PM_CLUSTER=kind|local chooses; by default kind when `kind` is on PATH and a Docker engine answers, else local.
#
#   scripts/cluster.sh up        create (or reuse) the cluster and deploy; prints the exports for the tools
#   scripts/cluster.sh env       print the exports (KUBECONFIG, PM_STACK, PM_GATEWAY_URL) of the local cluster
#   scripts/cluster.sh down      remove the cluster and everything it made
#
# For scripts/test-all.sh, like its other services (always the local back-end):
#   scripts/cluster.sh start | stop | status    up / down / exit 0 when the cluster runs with the platform applied
#   scripts/cluster.sh test-env                 print `export PM_TEST_CLUSTER_ENV=<the env file>`
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
ENV_FILE="$ROOT/.data/cluster.env"
# Node port of the Gateway's Service (cdk8s/src/config.ts KIND_GATEWAY_NODE_PORT).
GATEWAY_NODE_PORT=30080

log() { printf '%s [cluster] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

backend() {
  case ${PM_CLUSTER:-} in
    kind | local) echo "$PM_CLUSTER" ;;
    '') if command -v kind >/dev/null && docker info >/dev/null 2>&1; then echo kind; else echo local; fi ;;
    *) die "PM_CLUSTER must be kind or local, got \"$PM_CLUSTER\"" ;;
  esac
}

local_up() {
  local started=$SECONDS node_ip images exports
  # Not `eval "$(…)"`: that would go on after a failed start.
  exports=$(scripts/local-cluster.sh up)
  eval "$exports"
  export PM_STACK=standalone
  # A test cluster without a secret store: the platform's Secrets carry the development values of deploy/env
  # (docs/security.md), which the tests and cluster:check sign and authenticate with.
  export PM_SECRETS=dev
  # Two cores: the CPU requests of a third PostgreSQL instance would leave no room for a rolling update's extra pod.
  export PM_POSTGRES_INSTANCES=2
  # No cert-manager here: the Gateway serves plain HTTP (docs/kubernetes.md, "Security").
  export PM_GATEWAY_TLS=off
  # Kafka as on the operators stack: TLS + SCRAM-SHA-512 + ACLs, its CA, certificate and passwords made here.
  export PM_STANDALONE_KAFKA_TLS=true
  # PostgreSQL with TLS too, the API verifying it (verify-full) against the CA made here.
  export PM_POSTGRES_TLS_SECRET=payments-postgres-tls
  mapfile -t images < <(node cdk8s/cluster/deploy.ts --images)
  log "loading ${#images[@]} images into the node"
  scripts/local-cluster.sh load "${images[@]}"
  local namespace kube_path
  namespace=$(node -e "import('./cdk8s/src/config.ts').then((m) => console.log(m.loadPlatformConfig().namespace))")
  # The kubectl built with the cluster (scripts/kube-build.sh), not whichever one the machine may have.
  kube_path="$(scripts/kube-build.sh dir):$PATH"
  PATH=$kube_path kubectl get namespace "$namespace" >/dev/null 2>&1 ||
    PATH=$kube_path kubectl create namespace "$namespace" >/dev/null
  PATH=$kube_path scripts/kafka-secrets.sh --namespace "$namespace"
  PATH=$kube_path scripts/postgres-tls-secret.sh --namespace "$namespace" --name "$PM_POSTGRES_TLS_SECRET"
  node cdk8s/cluster/deploy.ts >&2
  node_ip=$(sed -n 's|.*server: https://\([0-9.]*\):.*|\1|p' "$KUBECONFIG" | head -n 1)
  {
    echo "export KUBECONFIG='$KUBECONFIG'"
    echo "export PM_STACK=standalone"
    echo "export PM_SECRETS=dev"
    echo "export PM_POSTGRES_INSTANCES=2"
    echo "export PM_GATEWAY_TLS=off"
    echo "export PM_STANDALONE_KAFKA_TLS=true"
    echo "export PM_POSTGRES_TLS_SECRET=$PM_POSTGRES_TLS_SECRET"
    echo "export PM_GATEWAY_URL='http://$node_ip:$GATEWAY_NODE_PORT'"
    # The deployment carries the development keys of deploy/env/api.env; this is its reader key.
    echo "export PM_API_KEY=pm_dev_reader_local_only"
  } >"$ENV_FILE"
  log "cluster up and platform applied in $((SECONDS - started))s; next: eval \"\$(scripts/cluster.sh env)\" && npm run cluster:check"
  cat "$ENV_FILE"
}

test_env() { echo "export PM_TEST_CLUSTER_ENV='$ENV_FILE'"; }

case ${1:-} in
  start)
    PM_CLUSTER=local local_up >&2
    test_env
    ;;
  stop)
    scripts/local-cluster.sh down
    rm -f "$ENV_FILE"
    ;;
  status) [[ -f $ENV_FILE ]] && scripts/local-cluster.sh status ;;
  test-env) test_env ;;
  up)
    if [[ $(backend) == kind ]]; then
      bash deploy/kind/cluster-up.sh
    else
      local_up
    fi
    ;;
  env) [[ -f $ENV_FILE ]] || die "no local cluster (npm run cluster:up)"; cat "$ENV_FILE" ;;
  down)
    if [[ $(backend) == kind ]]; then
      bash deploy/kind/cluster-down.sh
    else
      scripts/local-cluster.sh down
      rm -f "$ENV_FILE"
    fi
    ;;
  *) echo "usage: $0 up|env|down  (PM_CLUSTER=kind|local), or start|stop|status|test-env" >&2; exit 2 ;;
esac
