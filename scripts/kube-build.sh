#!/usr/bin/env bash
# Builds the Kubernetes binaries the project runs, from the Go module proxy (no registry, no GitHub download), into a
# cache outside the clone so that later runs and CI's fresh clones reuse them.
#
#   scripts/kube-build.sh apiserver   etcd + kube-apiserver (the API-server tests, scripts/kube-apiserver.sh)
#   scripts/kube-build.sh node        also kubelet, kube-controller-manager, kube-scheduler, kube-proxy, kubectl,
#                                     CoreDNS, Traefik (the local cluster's Gateway), Prometheus and the pause binary
#   scripts/kube-build.sh dir         print the directory the binaries are in
#
# k8s.io/kubernetes is consumed as a module whose k8s.io/* staging modules are pinned by `replace` directives (they
# are published as k8s.io/<name> v0.<minor>.<patch>); every command of it is built in one `go build`, so the shared
# packages compile once. Everything is built with the same flags so that the Go build cache is shared.
# Progress goes to stderr; already built binaries are skipped.
set -euo pipefail

# Keep in step with deploy/kind/cluster.yaml's node image (kindest/node:v1.36.1).
KUBE_VERSION=1.36.1
# The etcd release k8s.io/kubernetes v1.36.1 requires in its go.mod (go.etcd.io/etcd/server/v3 v3.6.8).
ETCD_VERSION=3.6.8
# CoreDNS and Traefik releases that build with the machine's Go (1.26) from the Go module proxy.
COREDNS_VERSION=1.12.4
TRAEFIK_VERSION=3.7.13
# Prometheus v3.5.0 (the release compose and the operators stack run) is the Go module's v0.305.0. Debian's package
# is built without Kubernetes service discovery, which the cluster's scrape configuration uses.
PROMETHEUS_MODULE_VERSION=v0.305.0
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

# Traefik, the Gateway API implementation of the local cluster. Its own go.mod `replace` directives do not apply to
# a module that depends on it, so they are copied (local paths resolved into its module directory). lego's DNS-01
# challenge providers are left out: seven of their cloud SDKs (Akamai v13, OCI v1065, Huawei, Sakura, UCloud,
# Yandex DNS at the versions lego pins) are not served by our Go module proxy. The local lego copy keeps everything
# else and answers every DNS provider name with an error; the Gateway here serves plain HTTP and never uses ACME.
build_traefik() {
  [[ -x $BIN_DIR/traefik ]] && return 0
  local src="$CACHE/src/traefik-v$TRAEFIK_VERSION" traefik_dir lego_version lego_dir
  write_build_module "$src" "github.com/traefik/traefik/v3 v$TRAEFIK_VERSION" github.com/traefik/traefik/v3/cmd/traefik
  log "resolving github.com/traefik/traefik/v3@v$TRAEFIK_VERSION"
  traefik_dir=$(module_dir "$src" "github.com/traefik/traefik/v3@v$TRAEFIK_VERSION")
  lego_version=$(sed -n 's/^\s*github.com\/go-acme\/lego\/v5 \(v[0-9.]*\).*/\1/p' "$traefik_dir/go.mod" | head -n 1)
  [[ -n $lego_version ]] || die "Traefik v$TRAEFIK_VERSION's go.mod names no github.com/go-acme/lego/v5 version"
  lego_dir=$(module_dir "$src" "github.com/go-acme/lego/v5@$lego_version")
  rm -rf "$src/lego"
  cp -r "$lego_dir" "$src/lego"
  chmod -R u+w "$src/lego"
  rm -f "$src/lego/providers/dns/"*.go
  cat >"$src/lego/providers/dns/dns_providers.go" <<'EOF'
// Package dns: lego's DNS-01 providers, left out of the payment-manager local Traefik build (scripts/kube-build.sh).
package dns

import (
	"fmt"

	"github.com/go-acme/lego/v5/challenge"
)

// NewDNSChallengeProviderByName refuses every name: no DNS provider is compiled into this build.
func NewDNSChallengeProviderByName(name string) (challenge.Provider, error) {
	return nil, fmt.Errorf("DNS provider %q is not part of this Traefik build (payment-manager local build)", name)
}
EOF
  # Its extension-point module (empty structs in Traefik's open-source build) lives beside its go.mod, outside the
  # module zip, and is not served on its own: an equivalent one is written here.
  mkdir -p "$src/dynamic-ext"
  printf 'module github.com/traefik/traefik/dynamic/ext\n\ngo 1.24\n' >"$src/dynamic-ext/go.mod"
  cat >"$src/dynamic-ext/ext.go" <<'EOF'
// Package ext: the extension points of Traefik's dynamic configuration, empty as in its open-source build.
package ext

// HTTP extends dynamic.HTTPConfiguration.
type HTTP struct{}

// Router extends dynamic.Router.
type Router struct{}

// RouterIng extends the router annotations of the Ingress provider.
type RouterIng struct{}

// ToRouter converts the annotation extension into the router extension.
func (RouterIng) ToRouter() Router { return Router{} }
EOF
  {
    echo
    # Traefik's own replace directives, but for the two above and its go-http-auth fork, whose pinned 2026 commit is
    # not served: the fork's 2020 commit (the one Traefik v2 pinned) is, with the API Traefik calls. Only the
    # BasicAuth/DigestAuth middlewares use it; our Gateway configures neither.
    sed -n '/^replace (/,/^)/p; /^replace [^(]/p' "$traefik_dir/go.mod" | grep -vE 'dynamic/ext|abbot/go-http-auth'
    echo "replace github.com/traefik/traefik/dynamic/ext => ./dynamic-ext"
    echo "replace github.com/abbot/go-http-auth => github.com/containous/go-http-auth v0.4.1-0.20200324110947-a37a7636d23e"
    echo "replace github.com/go-acme/lego/v5 => ./lego"
  } >>"$src/go.mod"
  go_in "$src" mod tidy
  log "compiling traefik v$TRAEFIK_VERSION (nice 10)"
  go_in "$src" build -trimpath -ldflags "-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=v$TRAEFIK_VERSION" \
    -o "$BIN_DIR/traefik.partial" github.com/traefik/traefik/v3/cmd/traefik
  mv "$BIN_DIR/traefik.partial" "$BIN_DIR/traefik"
}

# module_dir BUILD_MODULE_DIR MODULE@VERSION: the module's directory in the Go module cache (downloaded if needed).
# Run inside one of our build modules: `go` would otherwise take whatever go.mod lies above the working directory.
module_dir() {
  go_in "$1" mod download -json "$2" | sed -n 's/^\s*"Dir": "\(.*\)",\?$/\1/p'
}

# The pod sandbox's pause process, from the pause.c that k8s.io/kubernetes ships (kind's node image carries the same
# binary in registry.k8s.io/pause, which we cannot reach).
build_pause() {
  [[ -x $BIN_DIR/pause ]] && return 0
  local dir
  dir=$(module_dir "$CACHE/src/kubernetes-v$KUBE_VERSION" "k8s.io/kubernetes@v$KUBE_VERSION")
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
    build_traefik
    build_go_command prometheus "github.com/prometheus/prometheus@$PROMETHEUS_MODULE_VERSION" \
      github.com/prometheus/prometheus/cmd/prometheus
    build_pause
  fi
  log "$1 binaries ready in $BIN_DIR ($((SECONDS - started))s)"
}

case ${1:-} in
  apiserver | node) cmd_build "$1" ;;
  dir) echo "$BIN_DIR" ;;
  *) echo "usage: $0 apiserver|node|dir" >&2; exit 2 ;;
esac
