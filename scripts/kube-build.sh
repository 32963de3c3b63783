#!/usr/bin/env bash
# Builds the Kubernetes binaries the project runs, from the Go module proxy (no registry, no GitHub download), into a
# cache outside the clone so that later runs and CI's fresh clones reuse them.
#
#   scripts/kube-build.sh apiserver   etcd + kube-apiserver (the API-server tests, scripts/kube-apiserver.sh)
#   scripts/kube-build.sh node        also kubelet, kube-controller-manager, kube-scheduler, kube-proxy, kubectl,
#                                     CoreDNS, Traefik (the local cluster's Gateway) and the pause binary
#   scripts/kube-build.sh dir         print the directory the binaries are in
#
# k8s.io/kubernetes is consumed as a module whose k8s.io/* staging modules are pinned by `replace` directives (they
# are published as k8s.io/<name> v0.<minor>.<patch>); every command of it is built in one `go build`, so the shared
# packages compile once. Everything is built with the same flags so that the Go build cache is shared.
# Progress goes to stderr; already built binaries are skipped.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Keep in step with deploy/kind/cluster.yaml's node image (kindest/node:v1.36.1).
KUBE_VERSION=1.36.1
# The etcd release k8s.io/kubernetes v1.36.1 requires in its go.mod (go.etcd.io/etcd/server/v3 v3.6.8).
ETCD_VERSION=3.6.8
# CoreDNS and Traefik releases that build with the machine's Go (1.26) from the Go module proxy.
COREDNS_VERSION=1.12.4
TRAEFIK_VERSION=3.7.13
CACHE=${PM_KUBE_CACHE:-$HOME/.cache/payment-manager/kube}
BIN_DIR="$CACHE/bin-v$KUBE_VERSION-etcd-v$ETCD_VERSION"

log() { printf '%s [kube-build] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Go's own caches stay where the machine keeps them (GOMODCACHE, GOCACHE); GOFLAGS from the environment
# (e.g. -mod=vendor) must not change how these throw-away modules resolve.
go_in() {
  local dir=$1
  shift
  (cd "$dir" && GOFLAGS=-mod=mod GOTOOLCHAIN=local nice -n 10 go "$@")
}

# A throw-away module that requires $2 and imports the packages after it, so `go mod tidy` keeps their dependencies.
write_build_module() {
  local dir=$1 requirement=$2
  shift 2
  mkdir -p "$dir"
  printf 'module payment-manager.local/%s\n\ngo 1.24\n\nrequire %s\n' "$(basename "$dir")" "$requirement" >"$dir/go.mod"
  {
    printf '//go:build tools\n\n// Pins the commands this module exists to build.\npackage tools\n\nimport (\n'
    printf '\t_ "%s"\n' "$@"
    printf ')\n'
  } >"$dir/tools.go"
}

# Builds the given k8s.io/kubernetes commands (cmd/<name>) that are not in BIN_DIR yet, in one go build.
build_kubernetes() {
  local missing=() name src="$CACHE/src/kubernetes-v$KUBE_VERSION" staging_version="v0.${KUBE_VERSION#1.}" upstream_mod
  for name in "$@"; do [[ -x $BIN_DIR/$name ]] || missing+=("$name"); done
  ((${#missing[@]})) || return 0
  mkdir -p "$src"
  log "resolving k8s.io/kubernetes v$KUBE_VERSION through the Go module proxy"
  upstream_mod=$(cd "$src" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@v$KUBE_VERSION" |
    sed -n 's/^\s*"GoMod": "\(.*\)",\?$/\1/p')
  [[ -f $upstream_mod ]] || die "go mod download did not give k8s.io/kubernetes's go.mod"
  # Every command of the set is imported, whichever are missing now, so the module (and its go.sum) stays the same.
  write_build_module "$src" "k8s.io/kubernetes v$KUBE_VERSION" \
    k8s.io/kubernetes/cmd/{kube-apiserver,kubelet,kube-controller-manager,kube-scheduler,kube-proxy,kubectl}
  sed -i "s/^go 1.24$/go $(sed -n 's/^go //p' "$upstream_mod")/" "$src/go.mod"
  {
    echo 'replace ('
    # Every staging module Kubernetes requires as v0.0.0 (it replaces them with ./staging/src/... in its own
    # go.mod, which a dependent module does not inherit) → its published release.
    sed -n 's/^\s*\(k8s\.io\/[a-z0-9-]*\) v0\.0\.0$/\1/p' "$upstream_mod" | while read -r module; do
      echo "	$module => $module $staging_version"
    done
    echo ')'
  } >>"$src/go.mod"
  log "resolving the dependencies of ${missing[*]}"
  go_in "$src" mod tidy
  log "compiling ${missing[*]} v$KUBE_VERSION (nice 10; kube-apiserver alone takes ~20 min on a cold Go cache)"
  local out="$BIN_DIR/.partial-kubernetes" packages=()
  rm -rf "$out"
  mkdir -p "$out"
  for name in "${missing[@]}"; do packages+=("k8s.io/kubernetes/cmd/$name"); done
  go_in "$src" build -trimpath -ldflags "-s -w \
    -X k8s.io/component-base/version.gitVersion=v$KUBE_VERSION \
    -X k8s.io/component-base/version.gitMajor=1 \
    -X k8s.io/component-base/version.gitMinor=${KUBE_VERSION#1.} \
    -X k8s.io/client-go/pkg/version.gitVersion=v$KUBE_VERSION" \
    -o "$out/" "${packages[@]}"
  mv "$out"/* "$BIN_DIR/"
  rmdir "$out"
}

# build_go_command NAME MODULE@VERSION PACKAGE: one command of a released Go module, through a throw-away module.
build_go_command() {
  local name=$1 requirement=$2 package=$3 src
  [[ -x $BIN_DIR/$name ]] && return 0
  src="$CACHE/src/$name-${requirement##*@}"
  write_build_module "$src" "${requirement/@/ }" "$package"
  log "resolving $requirement"
  go_in "$src" mod tidy
  log "compiling $name from $requirement (nice 10)"
  go_in "$src" build -trimpath -ldflags "-s -w" -o "$BIN_DIR/$name.partial" "$package"
  mv "$BIN_DIR/$name.partial" "$BIN_DIR/$name"
}

# The pod sandbox's pause process, from the pause.c that k8s.io/kubernetes ships (kind's node image carries the same
# binary in registry.k8s.io/pause, which we cannot reach).
build_pause() {
  [[ -x $BIN_DIR/pause ]] && return 0
  local dir
  dir=$(cd "$ROOT" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@v$KUBE_VERSION" |
    sed -n 's/^\s*"Dir": "\(.*\)",\?$/\1/p')
  [[ -f $dir/build/pause/linux/pause.c ]] || die "pause.c not found in k8s.io/kubernetes v$KUBE_VERSION"
  command -v gcc >/dev/null || die "gcc is missing (it builds the pause binary)"
  log "compiling pause (gcc -static)"
  gcc -Os -static -Wall -Werror -DVERSION="v$KUBE_VERSION" -o "$BIN_DIR/pause.partial" "$dir/build/pause/linux/pause.c"
  mv "$BIN_DIR/pause.partial" "$BIN_DIR/pause"
}

cmd_build() {
  command -v go >/dev/null || die "Go is missing (it builds the Kubernetes binaries from the Go module proxy)"
  mkdir -p "$BIN_DIR"
  local started=$SECONDS
  build_go_command etcd "go.etcd.io/etcd/server/v3@v$ETCD_VERSION" go.etcd.io/etcd/server/v3
  if [[ $1 == apiserver ]]; then
    build_kubernetes kube-apiserver
  else
    build_kubernetes kube-apiserver kubelet kube-controller-manager kube-scheduler kube-proxy kubectl
    build_go_command coredns "github.com/coredns/coredns@v$COREDNS_VERSION" github.com/coredns/coredns
    build_go_command traefik "github.com/traefik/traefik/v3@v$TRAEFIK_VERSION" github.com/traefik/traefik/v3/cmd/traefik
    build_pause
  fi
  log "$1 binaries ready in $BIN_DIR ($((SECONDS - started))s)"
}

case ${1:-} in
  apiserver | node) cmd_build "$1" ;;
  dir) echo "$BIN_DIR" ;;
  *) echo "usage: $0 apiserver|node|dir" >&2; exit 2 ;;
esac
