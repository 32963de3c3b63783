#!/usr/bin/env bash
# The README's first command: the API in sync mode on http://localhost:3000 with its embedded defaults (an embedded
# PostgreSQL, a built-in provider stub, development API keys; webhook signatures off, visibly, unless WEBHOOK_SECRET
# is set). Installs Node 24 into .tools and the npm dependencies
# when they are missing, then runs `npm run dev`; arguments and environment variables pass through (PORT, PG_URL, …).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
log() { printf '[dev] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
# shellcheck source=lib/node-setup.sh
source "$ROOT/scripts/lib/node-setup.sh"

ensure_node_24
ensure_npm_dependencies
cd "$ROOT"
exec node services/api/src/dev.ts "$@"
