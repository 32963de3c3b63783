# shellcheck shell=bash
# Background services of the test scripts, each in its own session so that `stop_detached` ends it with all its
# children, and the free local ports they listen on. The caller sets STATE_DIR (pid and log files) and defines log().

pid_alive() { [[ -f "$STATE_DIR/$1.pid" ]] && kill -0 "$(cat "$STATE_DIR/$1.pid")" 2>/dev/null; }

start_detached() {
  local name=$1
  shift
  # Emptied here, not by the background redirection below: a caller polling the log for a start-up line must never
  # read the previous run's (test-services.sh once exported a dead kafka-mock bootstrap list that way).
  : >"$STATE_DIR/$name.log"
  setsid "$@" </dev/null >"$STATE_DIR/$name.log" 2>&1 &
  echo $! >"$STATE_DIR/$name.pid"
}

stop_detached() {
  local name=$1 pid
  [[ -f "$STATE_DIR/$name.pid" ]] || return 0
  pid=$(cat "$STATE_DIR/$name.pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    log "stopped $name (pid $pid)"
  fi
  rm -f "$STATE_DIR/$name.pid"
}

# A loopback port nothing listens on right now.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# `eval "$(script start)"` runs whatever the start prints on stdout, so the start command runs with its stdout on
# stderr and only the env file it wrote is printed afterwards (pg_ctlcluster's "Removed stale pid file." once failed
# CI as "Removed: command not found"). No extra descriptor may stay open meanwhile: the daemons it starts would
# inherit it and keep the caller's $(...) waiting forever.
start_for_eval() {
  local env_file=$1
  shift
  "$@" >&2
  cat "$env_file"
}
