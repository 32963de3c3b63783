#!/usr/bin/env bash
# The Secrets of the standalone stack's Kafka with TLS (PM_STANDALONE_KAFKA_TLS=true; docs/kafka.md#security), which
# no operator writes there: a CA and the brokers' certificate, the super user's and each service user's password.
# Names and keys as cdk8s/src/kafka-access.ts (those the app reads are Strimzi's, so the app's objects do not change).
#
#   scripts/kafka-secrets.sh [--namespace NS] [--kubeconfig FILE] [--print]
#
# Existing Secrets are left alone (the brokers formatted their users with those passwords); to renew everything
# delete them, run this again and restart the Kafka StatefulSet with fresh volumes. --print writes the manifests to
# stdout instead of applying them. Needs openssl and kubectl. Key material never touches the disk outside a private
# temporary directory that is removed at exit.
set -euo pipefail

namespace=payment-manager
kubeconfig=()
print=0
while (($#)); do
  case $1 in
    --namespace) namespace=${2:?--namespace needs a value}; shift 2 ;;
    --kubeconfig) kubeconfig=(--kubeconfig "${2:?--kubeconfig needs a value}"); shift 2 ;;
    --print) print=1; shift ;;
    -h | --help) sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

CLUSTER=payments
NODES=$CLUSTER-kafka
BOOTSTRAP=$CLUSTER-kafka-bootstrap
CA_SECRET=$CLUSTER-cluster-ca-cert
TLS_SECRET=$CLUSTER-kafka-tls
ADMIN_SECRET=$CLUSTER-kafka-admin
USER_SECRETS=(payment-manager-ingest payment-manager-api payment-manager-kafka-ops)

log() { printf '%s [kafka-secrets] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
kc() { kubectl "${kubeconfig[@]}" --namespace "$namespace" "$@"; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 700 "$work"

exists() { ((print == 0)) && kc get secret "$1" >/dev/null 2>&1; }

emit() {
  local name=$1
  shift
  if ((print)); then
    kc create secret generic "$name" "$@" --dry-run=client -o yaml
    echo ---
  else
    kc create secret generic "$name" "$@" >/dev/null
    log "created Secret $namespace/$name"
  fi
}

if exists "$CA_SECRET" && exists "$TLS_SECRET"; then
  log "Secrets $CA_SECRET and $TLS_SECRET exist; left alone"
else
  # One certificate for every broker: pods are <pod>.payments-kafka, clients start at payments-kafka-bootstrap.
  sans="DNS:*.$NODES,DNS:*.$NODES.$namespace.svc,DNS:*.$NODES.$namespace.svc.cluster.local"
  sans+=",DNS:$BOOTSTRAP,DNS:$BOOTSTRAP.$namespace.svc,DNS:$BOOTSTRAP.$namespace.svc.cluster.local"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -subj "/CN=$CLUSTER Kafka cluster CA" -keyout "$work/ca.key" -out "$work/ca.crt" \
    -addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign' 2>/dev/null
  # PKCS#8 (BEGIN PRIVATE KEY): what Kafka's PEM key store reads.
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$BOOTSTRAP" \
    -keyout "$work/tls.key" -out "$work/tls.csr" 2>/dev/null
  openssl x509 -req -in "$work/tls.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" -CAcreateserial -days 825 \
    -out "$work/server.crt" \
    -extfile <(printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n' "$sans") \
    2>/dev/null
  cat "$work/server.crt" "$work/ca.crt" >"$work/tls.crt"
  emit "$CA_SECRET" --from-file=ca.crt="$work/ca.crt"
  emit "$TLS_SECRET" --from-file=tls.crt="$work/tls.crt" --from-file=tls.key="$work/tls.key"
fi

for secret in "$ADMIN_SECRET" "${USER_SECRETS[@]}"; do
  if exists "$secret"; then
    log "Secret $secret exists; left alone"
    continue
  fi
  # Hex: safe inside the broker's JAAS settings and the name=password list of the kafka image.
  openssl rand -hex 24 | tr -d '\n' >"$work/password"
  emit "$secret" --from-file=password="$work/password"
done
