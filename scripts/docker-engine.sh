#!/usr/bin/env bash
# A Docker engine for docker-compose on a machine without systemd (docs/docker.md#docker-engine): Debian's dockerd
# (docker.io 20.10) started by hand, with its own socket, data root and exec root, so it never collides with
# another engine or with podman, and a stop that leaves the machine as it was.
#
#   eval "$(scripts/docker-engine.sh start)"   start dockerd (no-op when ours runs), wait until it answers, print
#                                              export DOCKER_HOST=unix://… for the docker CLI and docker-compose
#   scripts/docker-engine.sh env               print that export for the running engine
#   scripts/docker-engine.sh status            exit 0 when our engine answers
#   scripts/docker-engine.sh stop              stop dockerd, then remove what it leaves behind: its bridges (docker0
#                                              and compose's br-*), its iptables chains (DOCKER*) and the rules
#                                              jumping to them, mounts below its roots, /run/docker and
#                                              /etc/docker/key.json (when it created them), pidfile and socket
#   scripts/docker-engine.sh purge             stop, then delete the data root (loaded images and volumes)
#
# State: $PM_DOCKER_DIR (default ~/.cache/payment-manager/docker): data/ (images, volumes: kept across stop, so
# loaded images survive), exec/ (runtime state), docker.sock, dockerd.pid, dockerd.log.
# Progress goes to stderr; stdout carries only the export.
set -euo pipefail

ENGINE_DIR=${PM_DOCKER_DIR:-${PM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/payment-manager}/docker}
DATA_ROOT=$ENGINE_DIR/data
EXEC_ROOT=$ENGINE_DIR/exec
SOCKET=$ENGINE_DIR/docker.sock
PIDFILE=$ENGINE_DIR/dockerd.pid
# Paths outside ENGINE_DIR that dockerd creates with no flag to move them (its plugin socket directory /run/docker,
# its identity key /etc/docker/key.json);
# noted at start only when absent, removed by stop.
CREATED_LIST=$ENGINE_DIR/created-paths
LOGFILE=$ENGINE_DIR/dockerd.log
START_DEADLINE_SECONDS=${PM_DOCKER_START_TIMEOUT:-60}
STOP_DEADLINE_SECONDS=${PM_DOCKER_STOP_TIMEOUT:-60}
# Debian's CLI speaks the engine's API version; a newer /usr/local/bin/docker may refuse an old engine.
DOCKER=${PM_DOCKER:-$(if [[ -x /usr/bin/docker ]]; then echo /usr/bin/docker; else command -v docker || echo docker; fi)}

log() { printf '%s [docker-engine] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

engine_pid() { cat "$PIDFILE" 2>/dev/null || true; }
engine_alive() {
  local pid
  pid=$(engine_pid)
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null
}
answers() { "$DOCKER" -H "unix://$SOCKET" version --format '{{.Server.Version}}' >/dev/null 2>&1; }
print_env() { printf "export DOCKER_HOST='unix://%s'\n" "$SOCKET"; }

cmd_start() {
  if engine_alive && answers; then
    log "running (pid $(engine_pid), $SOCKET)"
    print_env
    return
  fi
  command -v dockerd >/dev/null || die "dockerd is missing (apt-get install docker.io; scripts/system-packages.sh does it)"
  [[ $(id -u) -eq 0 ]] || die "dockerd needs root"
  # A stale pidfile or socket from a killed engine would make dockerd refuse to start.
  engine_alive || cleanup
  mkdir -p "$DATA_ROOT" "$EXEC_ROOT"
  : >"$CREATED_LIST"
  [[ -e /run/docker ]] || echo /run/docker >>"$CREATED_LIST"
  # dockerd 20.10 writes its identity key there; the flag that moved it is gone from this version.
  [[ -e /etc/docker ]] || echo /etc/docker >>"$CREATED_LIST"
  [[ -e /etc/docker/key.json ]] || echo /etc/docker/key.json >>"$CREATED_LIST"
  log "starting dockerd $(dockerd --version | sed 's/^Docker version //') (data root $DATA_ROOT)"
  local started=$SECONDS
  # cgroupfs: there is no systemd to delegate cgroups. Own containerd below the exec root (dockerd starts it).
  setsid dockerd --host "unix://$SOCKET" --data-root "$DATA_ROOT" --exec-root "$EXEC_ROOT" --pidfile "$PIDFILE" \
    --exec-opt native.cgroupdriver=cgroupfs --log-level warn </dev/null >"$LOGFILE" 2>&1 &
  local deadline=$((SECONDS + START_DEADLINE_SECONDS))
  until answers; do
    if ! kill -0 "$!" 2>/dev/null; then
      tail -n 30 "$LOGFILE" >&2
      die "dockerd exited during start-up (log: $LOGFILE)"
    fi
    ((SECONDS < deadline)) || { tail -n 30 "$LOGFILE" >&2; die "dockerd did not answer within ${START_DEADLINE_SECONDS}s (log: $LOGFILE)"; }
    sleep 0.2
  done
  log "answering after $((SECONDS - started))s (pid $(engine_pid))"
  print_env
}

# Everything a stopped (or killed) dockerd leaves on the host. Safe to run when nothing is left.
cleanup() {
  local mount link table rule chain
  # Innermost first: overlay mounts of containers, then shm and netns bind mounts, then the roots themselves.
  while read -r mount; do
    umount "$mount" 2>/dev/null || umount -l "$mount" 2>/dev/null || log "could not unmount $mount"
  done < <(awk -v data="$DATA_ROOT" -v exec_root="$EXEC_ROOT" \
    'index($2, data) == 1 || index($2, exec_root) == 1 { print $2 }' /proc/mounts | sort -r)
  # docker0 and the bridges of networks compose created (br-<network id>); podman's bridges are podmanN/cni-*.
  for link in $(ip -o link show type bridge 2>/dev/null | awk -F': ' '{print $2}' | grep -E '^(docker0|br-[0-9a-f]{12})$' || true); do
    ip link delete "$link" && log "removed bridge $link"
  done
  if command -v iptables >/dev/null; then
    for table in filter nat; do
      # Rules in other chains that jump to ours or that name our bridges (FORWARD, POSTROUTING MASQUERADE, …).
      while read -r rule; do
        # shellcheck disable=SC2086 # the rule is a list of iptables arguments
        iptables -t "$table" ${rule/#-A/-D} 2>/dev/null || true
      done < <(iptables -t "$table" -S 2>/dev/null | grep '^-A' | grep -v '^-A DOCKER' |
        grep -E -- '-j DOCKER|docker0|br-[0-9a-f]{12}' || true)
      for chain in $(iptables -t "$table" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^DOCKER/ {print $2}'); do
        iptables -t "$table" -F "$chain" 2>/dev/null || true
      done
      for chain in $(iptables -t "$table" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^DOCKER/ {print $2}'); do
        iptables -t "$table" -X "$chain" 2>/dev/null && log "removed iptables chain $table/$chain"
      done
    done
  fi
  local created
  if [[ -f $CREATED_LIST ]]; then
    while read -r created; do
      [[ -n $created ]] && rm -rf "$created" && log "removed $created"
    done <"$CREATED_LIST"
    rm -f "$CREATED_LIST"
  fi
  rm -f "$PIDFILE" "$SOCKET"
  rm -rf "$EXEC_ROOT"
}

cmd_stop() {
  local pid
  pid=$(engine_pid)
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
    log "stopping dockerd (pid $pid)"
    kill -TERM "$pid"
    local deadline=$((SECONDS + STOP_DEADLINE_SECONDS))
    while kill -0 "$pid" 2>/dev/null; do
      if ((SECONDS >= deadline)); then
        log "dockerd still running after ${STOP_DEADLINE_SECONDS}s: SIGKILL"
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
        break
      fi
      sleep 0.2
    done
  fi
  cleanup
  log "stopped; bridges, iptables chains, mounts, pidfile and socket removed (images kept in $DATA_ROOT)"
}

case ${1:-} in
start) cmd_start ;;
stop) cmd_stop ;;
status) engine_alive && answers ;;
env) engine_alive || die "not running (scripts/docker-engine.sh start)"; print_env ;;
purge)
  cmd_stop
  rm -rf "$DATA_ROOT"
  log "removed $DATA_ROOT"
  ;;
-h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//' ;;
*) echo "usage: $0 start|stop|status|env|purge (see --help)" >&2; exit 2 ;;
esac
