#!/usr/bin/env bash
# The Debian packages the test suite and CI need, installed when missing (as root, or with sudo): PostgreSQL 15 with
# pg_partman, kcat, Java and Maven (Apache Kafka, WireMock), curl, unzip, docker-compose, shellcheck, python3-venv, and
# for the images and the compose stack (docs/docker.md#images): podman, buildah, mmdebstrap, docker.io, runc and
# binutils. Also writes the podman settings this kind of machine needs (scripts/lib/containers-conf.sh).
# Go (kube-apiserver, Collector and Tempo builds) is expected on the machine. Run by scripts/test-all.sh and .ci/run.
set -euo pipefail

log() { printf '%s [system-packages] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
apt_get() {
  local as_root=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { log "not root and no sudo: run apt-get $* as root"; exit 1; }
    as_root=(sudo)
  fi
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "$@"
}

missing=()
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
# unzip: cdk8s/test extracts the Helm binary that an npm package ships (to render charts/payment-manager).
# docker-compose: Debian's 1.29 parses docker-compose.yml (`config --quiet`) in scripts/test; no engine needed.
# The shellcheck package: .ci/run lints our shell scripts with it.
# python3-venv: the schemathesis fuzzer (PyPI) lives in a cached virtualenv (scripts/schemathesis-venv.sh).
# podman, buildah: npm run images builds with them; mmdebstrap: the Debian base image without a registry; docker.io
# (dockerd 20.10) and runc: the engine docker-compose runs the stack on (scripts/docker-engine.sh); binutils: strip.
IMAGE_PACKAGES=(podman buildah mmdebstrap docker.io runc binutils)
# The local Kubernetes cluster (scripts/local-cluster.sh): its container runtime, pod network and Service proxying.
CLUSTER_PACKAGES=(containerd containernetworking-plugins iptables conntrack iproute2)
for package in postgresql-15 postgresql-15-partman kcat curl unzip docker-compose shellcheck python3-venv \
  "${IMAGE_PACKAGES[@]}" "${CLUSTER_PACKAGES[@]}"; do
  installed "$package" || missing+=("$package")
done
command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
# Maven resolves Apache Kafka's broker from Maven Central (scripts/kafka.sh; cached in ~/.cache/payment-manager).
command -v mvn >/dev/null || missing+=(maven)
command -v npm >/dev/null || missing+=(npm)
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  apt_get update -qq
  apt_get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  log "all present (postgresql-15, postgresql-15-partman, kcat, curl, unzip, docker-compose, shellcheck, python3-venv, ${IMAGE_PACKAGES[*]}, ${CLUSTER_PACKAGES[*]}, java, maven, npm)"
fi

# Podman's default ulimits and crun fail on these machines (no CAP_SYS_RESOURCE, hybrid cgroups).
# shellcheck source=lib/containers-conf.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/containers-conf.sh"
ensure_containers_conf

# The Citus build in ../shared/tools/citus (scripts/data-tier-services.sh) needs PostgreSQL 15.20 or newer.
if dpkg --compare-versions "$(dpkg-query -W -f='${Version}' postgresql-15)" lt 15.20; then
  log "upgrading postgresql-15 to 15.20+ for Citus"
  apt_get update -qq
  apt_get install -y -qq --only-upgrade postgresql-15 >/dev/null
fi
command -v go >/dev/null || log "warning: go is missing; kube-apiserver, the Collector and Tempo are built with it on first use"

# The restore drill's barman-cloud and S3 server (PyPI) in a virtualenv cached outside the clone (re-installed only
# when a pinned version changes): scripts/restore-drill.sh, docs/data-tier.md#backups-and-the-restore-drill.
"$(dirname "${BASH_SOURCE[0]}")/barman-venv.sh" >&2
