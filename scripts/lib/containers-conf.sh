# shellcheck shell=bash
# Podman/buildah settings without which no container starts on our machines (docs/docker.md#podman-settings):
# no CAP_SYS_RESOURCE, so podman's default nofile limit (1048576) is above the hard limit and runc's setrlimit fails;
# crun refuses the hybrid cgroup layout (hugetlb on cgroup2), runc does not. Idempotent: only a file without both
# settings is touched, and only the keys this function owns are written. The caller defines log().

CONTAINERS_CONF=${PM_CONTAINERS_CONF:-/etc/containers/containers.conf}

ensure_containers_conf() {
  local nofile hard
  # The hard limit of this machine, not a fixed number: a larger machine keeps its headroom.
  hard=$(ulimit -Hn)
  [[ $hard == unlimited ]] && hard=1048576
  nofile=$((hard < 1048576 ? hard : 1048576))
  if [[ -f $CONTAINERS_CONF ]] && grep -q '^default_ulimits' "$CONTAINERS_CONF" && grep -q '^runtime *= *"runc"' "$CONTAINERS_CONF"; then
    return 0
  fi
  [[ -w $(dirname "$CONTAINERS_CONF") || -w $CONTAINERS_CONF ]] || {
    log "cannot write $CONTAINERS_CONF (run as root): podman needs default_ulimits and runtime = \"runc\" there"
    return 1
  }
  if [[ -f $CONTAINERS_CONF ]] && grep -q '^\[containers\]\|^\[engine\]' "$CONTAINERS_CONF"; then
    log "$CONTAINERS_CONF exists with other settings: add default_ulimits = [\"nofile=$nofile:$nofile\"] under [containers] and runtime = \"runc\" under [engine] by hand"
    return 1
  fi
  mkdir -p "$(dirname "$CONTAINERS_CONF")"
  cat >"$CONTAINERS_CONF" <<CONF
# Written by payment-manager scripts/lib/containers-conf.sh (docs/docker.md#podman-settings).
[containers]
# No CAP_SYS_RESOURCE here: the default nofile of 1048576 exceeds the hard limit and runc's setrlimit fails.
default_ulimits = ["nofile=$nofile:$nofile", "nproc=32768:32768"]

[engine]
# crun refuses hybrid cgroups (hugetlb on cgroup2); runc runs them.
runtime = "runc"
CONF
  log "wrote $CONTAINERS_CONF (nofile=$nofile, runtime runc)"
}
