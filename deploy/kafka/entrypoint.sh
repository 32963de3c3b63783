#!/bin/bash
# Entrypoint of payment-manager/kafka (deploy/kafka/Dockerfile).
#   entrypoint.sh start         write server.properties from the environment, format empty storage, run the broker
#   entrypoint.sh healthcheck   exit 0 once the broker answers a Kafka ApiVersions request on its first listener
#
# Every KAFKA_* variable except the ones below becomes a property: KAFKA_ stripped, lower-cased, `_` → `.`,
# `__` → `_`, `___` → `-` (the apache/kafka image's rule), so KAFKA_CONTROLLER_QUORUM_VOTERS=1@kafka:9093 gives
# controller.quorum.voters=1@kafka:9093. In values, {node_id} and {hostname} are replaced, e.g.
# KAFKA_ADVERTISED_LISTENERS=INTERNAL://{hostname}.kafka-headless:29092 for a StatefulSet.
#   KAFKA_CLUSTER_ID (or CLUSTER_ID)  required: formats an empty log dir on first start (base64 UUID)
#   KAFKA_NODE_ID                     node.id; or KAFKA_NODE_ID_FROM_HOSTNAME=true: the ordinal of the pod name
#                                     (kafka-2 → 2) plus KAFKA_NODE_ID_OFFSET (default 0)
#   KAFKA_PROCESS_ROLES               default broker,controller
#   KAFKA_HEAP_OPTS, KAFKA_OPTS       JVM flags
#   KAFKA_CONFIG_DIR                  where server.properties is written (default /tmp/kafka: writable under a
#                                     read-only root file system when /tmp is a tmpfs or emptyDir)
#   KAFKA_HEALTHCHECK_PORT            port the healthcheck probes (default: the first non-controller listener)
#   SCRAM_SHA_512_USERS               name=password,… : SCRAM-SHA-512 users created when the storage is formatted
#                                     (kafka-storage format --add-scram; later changes need the Admin API)
# Values may hold several lines (PEM certificates and keys for ssl.keystore.key, ssl.keystore.certificate.chain,
# ssl.truststore.certificates with the PEM store type): they are written as one line with \n escapes.
set -euo pipefail

log() { printf '[%s] entrypoint: %s\n' "$(date -u '+%Y-%m-%d %H:%M:%S')" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

LIBS=${KAFKA_LIBS_DIR:-/opt/kafka/libs}
LOG4J_CONFIG=${KAFKA_LOG4J_CONFIG:-/opt/kafka/config/log4j2.properties}
CONFIG_DIR=${KAFKA_CONFIG_DIR:-/tmp/kafka}
NOT_PROPERTIES=' KAFKA_CLUSTER_ID KAFKA_NODE_ID_FROM_HOSTNAME KAFKA_NODE_ID_OFFSET KAFKA_HEAP_OPTS KAFKA_OPTS KAFKA_CONFIG_DIR KAFKA_HEALTHCHECK_PORT KAFKA_VERSION KAFKA_LIBS_DIR KAFKA_LOG4J_CONFIG '
HOST=${HOSTNAME:-$(cat /proc/sys/kernel/hostname)}

property_name() {
  local key=${1#KAFKA_}
  key=${key,,}
  key=${key//___/-}
  key=${key//__/@}
  key=${key//_/.}
  printf '%s\n' "${key//@/_}"
}

healthcheck() {
  local port=${KAFKA_HEALTHCHECK_PORT:-} listener controllers=",${KAFKA_CONTROLLER_LISTENER_NAMES:-CONTROLLER},"
  if [[ -z $port ]]; then
    IFS=, read -ra listeners <<<"${KAFKA_LISTENERS:-PLAINTEXT://:9092}"
    for listener in "${listeners[@]}"; do
      [[ $controllers == *",${listener%%://*},"* ]] && continue
      port=${listener##*:}
      break
    done
  fi
  [[ -n $port ]] || die "no broker listener in KAFKA_LISTENERS to probe"
  # ApiVersions v0, correlation id 1, client id "hc": the answer must echo the id with error code 0. Bash only: the
  # image has no Kafka CLI tools (kafka-tools is not a broker dependency) and no curl.
  exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
  printf '\x00\x00\x00\x0c\x00\x12\x00\x00\x00\x00\x00\x01\x00\x02hc' >&3
  local answer
  answer=$(timeout 10 head -c 10 <&3 | od -An -tx1 | tr -d ' \n')
  exec 3<&-
  [[ ${answer:8:12} == 000000010000 ]]
}

start() {
  local cluster_id=${KAFKA_CLUSTER_ID:-${CLUSTER_ID:-}}
  [[ -n $cluster_id ]] || die "KAFKA_CLUSTER_ID (or CLUSTER_ID) is not set: a base64 UUID such as 'kafka-storage random-uuid' prints"
  if [[ ${KAFKA_NODE_ID_FROM_HOSTNAME:-false} == true ]]; then
    local ordinal=${HOST##*-}
    [[ $HOST == *-* && $ordinal =~ ^[0-9]+$ ]] ||
      die "KAFKA_NODE_ID_FROM_HOSTNAME=true needs a host name ending in -<ordinal> (a StatefulSet pod), got '$HOST'"
    export KAFKA_NODE_ID=$((ordinal + ${KAFKA_NODE_ID_OFFSET:-0}))
  fi
  [[ ${KAFKA_NODE_ID:-} =~ ^[0-9]+$ ]] || die "KAFKA_NODE_ID must be a number (or set KAFKA_NODE_ID_FROM_HOSTNAME=true), got '${KAFKA_NODE_ID:-}'"
  export KAFKA_PROCESS_ROLES=${KAFKA_PROCESS_ROLES:-broker,controller}
  [[ -n ${KAFKA_CONTROLLER_QUORUM_VOTERS:-} || -n ${KAFKA_CONTROLLER_QUORUM_BOOTSTRAP_SERVERS:-} ]] ||
    die "KAFKA_CONTROLLER_QUORUM_VOTERS is not set (e.g. 1@kafka:9093, or 0@kafka-0.kafka:9093,1@kafka-1.kafka:9093,...)"

  mkdir -p "$CONFIG_DIR"
  local props=$CONFIG_DIR/server.properties name value
  {
    echo "# Written by entrypoint.sh from the KAFKA_* environment of $HOST"
    for name in $(compgen -e | grep '^KAFKA_' | sort); do
      [[ $NOT_PROPERTIES == *" $name "* ]] && continue
      value=${!name}
      value=${value//\{node_id\}/$KAFKA_NODE_ID}
      value=${value//\{hostname\}/$HOST}
      # java.util.Properties reads \n back as a newline; a backslash of the value itself is escaped first.
      value=${value//\\/\\\\}
      value=${value//$'\n'/\\n}
      printf '%s=%s\n' "$(property_name "$name")" "$value"
    done
  } >"$props"
  local log_dir
  log_dir=$(sed -n 's/^log\.dirs=\([^,]*\).*/\1/p' "$props")
  log_dir=${log_dir:-/var/lib/kafka/data}
  local jvm=(java -XX:-UsePerfData -Djava.io.tmpdir=/tmp -Djava.awt.headless=true
    -Dlog4j2.configurationFile="$LOG4J_CONFIG" -cp "$LIBS/*")
  if [[ ! -f $log_dir/meta.properties ]]; then
    local scram=() users=() user
    if [[ -n ${SCRAM_SHA_512_USERS:-} ]]; then
      IFS=, read -ra users <<<"$SCRAM_SHA_512_USERS"
      for user in "${users[@]}"; do
        [[ $user == ?*=?* ]] || die "SCRAM_SHA_512_USERS holds an entry that is not name=password"
        scram+=(--add-scram "SCRAM-SHA-512=[name=${user%%=*},password=${user#*=}]")
      done
    fi
    log "formatting $log_dir for cluster $cluster_id, node $KAFKA_NODE_ID (${#users[@]} SCRAM users)"
    "${jvm[@]}" -Xmx256m -XX:TieredStopAtLevel=1 kafka.tools.StorageTool format \
      --cluster-id="$cluster_id" --config "$props" --ignore-formatted "${scram[@]}" >&2 || die "formatting $log_dir failed"
  fi
  log "starting node $KAFKA_NODE_ID ($KAFKA_PROCESS_ROLES) of cluster $cluster_id"
  # shellcheck disable=SC2086 # the *_OPTS variables hold several JVM flags
  exec "${jvm[@]}" ${KAFKA_HEAP_OPTS:-} -XX:+UseG1GC -XX:MaxGCPauseMillis=20 ${KAFKA_OPTS:-} kafka.Kafka "$props"
}

case ${1:-start} in
start) start ;;
healthcheck) healthcheck ;;
*) exec "$@" ;;
esac
