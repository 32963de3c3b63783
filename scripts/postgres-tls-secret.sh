#!/usr/bin/env bash
# The standalone stack's PostgreSQL TLS Secret (PM_POSTGRES_TLS_SECRET; docs/data-tier.md#tls), which no operator
# makes there: a new CA (`ca.crt`) and a server certificate for payments-rw and payments-ro (`tls.crt`, `tls.key`),
# the Service names the API's URLs verify with sslmode=verify-full.
#
#   scripts/postgres-tls-secret.sh [--namespace NS] [--name SECRET] [--kubeconfig FILE]
#
# An existing Secret is left alone (the API trusts its CA). Needs openssl and kubectl. Key material never touches the
# disk outside a private temporary directory that is removed at exit.
set -euo pipefail

namespace=payment-manager
name=payments-postgres-tls
kubeconfig=()
while (($#)); do
  case $1 in
    --namespace) namespace=${2:?--namespace needs a value}; shift 2 ;;
    --name) name=${2:?--name needs a value}; shift 2 ;;
    --kubeconfig) kubeconfig=(--kubeconfig "${2:?--kubeconfig needs a value}"); shift 2 ;;
    -h | --help) sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

log() { printf '%s [postgres-tls] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
kc() { kubectl "${kubeconfig[@]}" --namespace "$namespace" "$@"; }

if kc get secret "$name" >/dev/null 2>&1; then
  log "Secret $namespace/$name exists; left alone"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 700 "$work"

sans=''
for service in payments-rw payments-ro; do
  sans+="${sans:+,}DNS:$service,DNS:$service.$namespace.svc,DNS:$service.$namespace.svc.cluster.local"
done
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
  -subj '/CN=payments PostgreSQL CA' -keyout "$work/ca.key" -out "$work/ca.crt" \
  -addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign' 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj '/CN=payments-rw' \
  -keyout "$work/tls.key" -out "$work/tls.csr" 2>/dev/null
openssl x509 -req -in "$work/tls.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" -CAcreateserial -days 825 \
  -out "$work/tls.crt" \
  -extfile <(printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' "$sans") \
  2>/dev/null
kc create secret generic "$name" --from-file=ca.crt="$work/ca.crt" --from-file=tls.crt="$work/tls.crt" \
  --from-file=tls.key="$work/tls.key" >/dev/null
log "created Secret $namespace/$name (CA and a certificate for payments-rw, payments-ro)"
