# shellcheck shell=bash
# Node 24 and the npm dependencies for the scripts a newcomer runs first (scripts/dev.sh, scripts/test-all.sh) and
# for CI. The caller sets ROOT and defines log() and die().

# Puts a Node 24 first on PATH: the machine's own when it is 24, else one installed into .tools (≈ 10 s, once).
ensure_node_24() {
  local tools_bin="$ROOT/.tools/node_modules/.bin"
  if [[ $("$tools_bin/node" --version 2>/dev/null) == v24.* ]]; then
    export PATH="$tools_bin:$PATH"
  elif [[ $(node --version 2>/dev/null) != v24.* ]]; then
    command -v npm >/dev/null || die "Node 24 is needed and npm is missing to install it (apt-get install npm)"
    log "installing Node 24 into .tools (this machine has $(node --version 2>/dev/null || echo 'no Node'))"
    npm install --prefix "$ROOT/.tools" --no-audit --no-fund --loglevel=error node@24 >/dev/null
    export PATH="$tools_bin:$PATH"
  fi
  log "node $(node --version), npm $(npm --version)"
}

# `npm ci` when node_modules is missing or older than package-lock.json (npm ci rewrites its .package-lock.json).
ensure_npm_dependencies() {
  local installed="$ROOT/node_modules/.package-lock.json"
  if [[ ! -f $installed || $ROOT/package-lock.json -nt $installed ]]; then
    log "installing the npm dependencies (npm ci)"
    (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}
