#!/usr/bin/env bash
# Deletes the kind cluster created by cluster-up.sh (all data in it is lost).
set -euo pipefail
command -v kind >/dev/null || { echo "cluster:down needs 'kind' on PATH" >&2; exit 1; }
kind delete cluster --name payment-manager
