#!/usr/bin/env bash
# Creates the kind cluster and installs the operators (Strimzi, CloudNativePG, Envoy Gateway) with pinned
# chart versions, then synthesizes the manifests. Afterwards: `skaffold dev -p kind` (docs/kubernetes.md).
# Needs: docker (or podman), kind, kubectl, helm, skaffold on PATH.
set -euo pipefail
cd "$(dirname "$0")/../.."

CLUSTER=payment-manager
for tool in kind kubectl helm skaffold; do
  command -v "$tool" >/dev/null || { echo "cluster:up needs '$tool' on PATH (see docs/kubernetes.md)" >&2; exit 1; }
done

if kind get clusters | grep -qx "$CLUSTER"; then
  echo "kind cluster '$CLUSTER' already exists"
else
  kind create cluster --config deploy/kind/cluster.yaml --wait 120s
fi
kubectl config use-context "kind-$CLUSTER"

# The operators module of skaffold.yaml: helm releases with pinned versions, --wait until they are ready.
skaffold deploy --module operators --kube-context "kind-$CLUSTER"
kubectl -n envoy-gateway-system rollout status deployment/envoy-gateway --timeout=180s

# A laptop cluster without a secret store: the development Secrets (docs/security.md), as skaffold's kind profile.
PM_SECRETS=dev node cdk8s/main.ts
echo "cluster ready: run 'skaffold dev -p kind' (API on localhost:3000, Grafana on localhost:3100, webhooks on http://localhost/webhooks/...), then 'npm run cluster:check'"
