#!/usr/bin/env bash
# Real Apache Kafka (KRaft, no ZooKeeper, no Docker) on local ports, for the test suite, benchmarks and dev:kafka.
# The broker and its dependencies come from Maven Central (deploy/kafka/pom.xml, version in deploy/kafka/VERSION)
# and are cached in ~/.cache/payment-manager/kafka/<version>, outside the clone, so later clones start at once.
#
#   scripts/kafka.sh fetch                          resolve the jars into the cache (prints the directory)
#   scripts/kafka.sh start [--nodes N] [--dir D]    format and start N combined broker+controller nodes (1 or 3);
#                   [--secure]                      waits until every node serves, prints the bootstrap list on stdout
#                                                   --secure (1 node): SASL_SSL only, see "Secure node" below
#   scripts/kafka.sh stop [--dir D]                 stop every node of the cluster in D and forget it
#   scripts/kafka.sh status [--dir D]               one line per node: id, port, state
#   scripts/kafka.sh brokers [--dir D]              the bootstrap list of a running cluster
#   scripts/kafka.sh node stop|kill|start|freeze|thaw ID [--dir D]
#                                                   fault injection on one node: graceful stop, SIGKILL, restart
#                                                   (same ports and data), SIGSTOP, SIGCONT
#
# D defaults to .data/kafka-<N>node for start and must name the cluster for the other commands.
# Replication: 1 node → factor 1; 3 nodes → default.replication.factor 3 and min.insync.replicas 2.
# Topics are not auto-created: `npm run kafka:topics` (or the tests, through the same code) creates them.
#
# Secure node (--secure): the production settings of docs/kafka.md#security on one node. Its only client listener is
# SASL_SSL (TLS with a server certificate for 127.0.0.1/localhost signed by a CA made at start in D/tls, SCRAM-SHA-512
# users created at format time with `--add-scram`), ACLs on (StandardAuthorizer, super user `admin`), and:
#   ingest  Write+Describe on topics prefixed `webhooks.`, IdempotentWrite on the cluster
#   api     Read+Write+Describe on topics prefixed `webhooks.` (DLQs), Read on groups prefixed `payment-app-`
# The passwords are random per start, in D/users (user=password lines, mode 600); the CA is D/tls/ca.crt.
# Progress goes to stderr; stdout carries only what a caller reads (directories, broker lists).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KAFKA_VERSION=$(tr -d '[:space:]' <"$ROOT/deploy/kafka/VERSION")
CACHE_DIR=${PM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/payment-manager}/kafka/$KAFKA_VERSION
LIBS_DIR=$CACHE_DIR/libs
START_DEADLINE_SECONDS=${PM_KAFKA_START_TIMEOUT:-120}
# Fits a 2-core, 24 GiB machine with four nodes (one single-node cluster and a 3-node cluster) running at once.
HEAP_OPTS=${PM_KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}

log() { printf '%s [kafka] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

fetch() {
  if [[ -f $LIBS_DIR/.complete ]]; then
    echo "$LIBS_DIR"
    return
  fi
  command -v mvn >/dev/null || die "Maven is missing (apt-get install maven)"
  command -v java >/dev/null || die "java is missing (apt-get install openjdk-17-jre-headless)"
  log "resolving Apache Kafka $KAFKA_VERSION and its dependencies from Maven Central into $LIBS_DIR"
  local staging="$LIBS_DIR.partial.$$"
  rm -rf "$staging"
  mkdir -p "$staging"
  # -q hides Maven's download chatter; a failure still prints Maven's error.
  mvn -B -q -Dstyle.color=never -f "$ROOT/deploy/kafka/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$staging" >&2 ||
    die "Maven could not resolve org.apache.kafka:kafka_2.13:$KAFKA_VERSION"
  [[ -f $staging/kafka_2.13-$KAFKA_VERSION.jar ]] || die "kafka_2.13-$KAFKA_VERSION.jar missing after resolution"
  rm -rf "$LIBS_DIR"
  mv "$staging" "$LIBS_DIR"
  touch "$LIBS_DIR/.complete"
  log "cached $(find "$LIBS_DIR" -name '*.jar' | wc -l) jars"
  echo "$LIBS_DIR"
}

# shellcheck source=lib/detached.sh
source "$ROOT/scripts/lib/detached.sh"

node_dir() { echo "$1/node$2"; }
node_pid() { cat "$(node_dir "$1" "$2")/pid" 2>/dev/null || true; }
node_alive() {
  local pid
  pid=$(node_pid "$1" "$2")
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null
}
node_ids() { sed -n 's/^node\.\([0-9]*\)\.broker=.*/\1/p' "$1/cluster.env"; }
broker_port() { sed -n "s/^node\\.$2\\.broker=//p" "$1/cluster.env"; }

# The users of a secure node (docs/kafka.md#security); their ACLs are granted by scripts/lib/kafka-acls.ts.
SECURE_USERS=(admin ingest api)

# A CA and a server certificate for 127.0.0.1/localhost, made fresh at every start (EC keys: quick to generate).
make_tls() {
  local tls=$1/tls password
  mkdir -p "$tls"
  password=$(openssl rand -hex 16)
  echo "$password" >"$tls/keystore-password"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
    -subj '/CN=payment-manager test Kafka CA' -keyout "$tls/ca.key" -out "$tls/ca.crt" \
    -addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign' 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj '/CN=localhost' \
    -keyout "$tls/server.key" -out "$tls/server.csr" 2>/dev/null
  openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" -CAcreateserial -days 30 \
    -out "$tls/server.crt" \
    -extfile <(printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n') \
    2>/dev/null
  openssl pkcs12 -export -name kafka -in "$tls/server.crt" -inkey "$tls/server.key" -certfile "$tls/ca.crt" \
    -out "$tls/server.p12" -passout "pass:$password"
  rm -f "$tls/server.csr" "$tls/ca.srl"
}

make_users() {
  local user
  for user in "${SECURE_USERS[@]}"; do echo "$user=$(openssl rand -hex 16)"; done >"$1/users"
  chmod 600 "$1/users"
}

# --add-scram arguments for kafka-storage format: the users exist before the node first serves.
scram_args() {
  local user
  for user in "${SECURE_USERS[@]}"; do
    printf -- '--add-scram\nSCRAM-SHA-512=[name=%s,password=%s]\n' "$user" "$(user_password "$1" "$user")"
  done
}

user_password() { sed -n "s/^$2=//p" "$1/users"; }

# The listeners of a plaintext node, or of a secure one (SASL_SSL for clients and between brokers; the controller
# listener takes PLAIN with a static admin entry, because SCRAM credentials live in the metadata the controller serves).
listener_config() {
  local dir=$1 broker=$2 controller=$3
  if [[ ! -f $dir/users ]]; then
    cat <<EOF
listeners=PLAINTEXT://127.0.0.1:$broker,CONTROLLER://127.0.0.1:$controller
advertised.listeners=PLAINTEXT://127.0.0.1:$broker
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
EOF
    return
  fi
  local admin
  admin=$(user_password "$dir" admin)
  cat <<EOF
listeners=SASL_SSL://127.0.0.1:$broker,CONTROLLER://127.0.0.1:$controller
advertised.listeners=SASL_SSL://127.0.0.1:$broker
controller.listener.names=CONTROLLER
inter.broker.listener.name=SASL_SSL
listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:SASL_PLAINTEXT
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$admin";
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="$admin" user_admin="$admin";
ssl.keystore.type=PKCS12
ssl.keystore.location=$dir/tls/server.p12
ssl.keystore.password=$(cat "$dir/tls/keystore-password")
ssl.truststore.type=PEM
ssl.truststore.location=$dir/tls/ca.crt
ssl.client.auth=none
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:admin
EOF
}

write_config() {
  local dir=$1 id=$2 nodes=$3 voters=$4
  local replication=$((nodes >= 3 ? 3 : 1)) min_isr=$((nodes >= 3 ? 2 : 1))
  local broker controller
  broker=$(broker_port "$dir" "$id")
  controller=$(sed -n "s/^node\\.$id\\.controller=//p" "$dir/cluster.env")
  mkdir -p "$(node_dir "$dir" "$id")/data"
  cat >"$(node_dir "$dir" "$id")/server.properties" <<EOF
process.roles=broker,controller
node.id=$id
controller.quorum.voters=$voters
$(listener_config "$dir" "$broker" "$controller")
log.dirs=$(node_dir "$dir" "$id")/data
num.partitions=3
default.replication.factor=$replication
min.insync.replicas=$min_isr
offsets.topic.replication.factor=$replication
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=$replication
transaction.state.log.min.isr=$min_isr
share.coordinator.state.topic.replication.factor=$replication
share.coordinator.state.topic.min.isr=$min_isr
auto.create.topics.enable=false
unclean.leader.election.enable=false
# Tests and dev runs start consumer groups all the time; the production default (3 s) only slows them down.
group.initial.rebalance.delay.ms=0
EOF
}

launch_node() {
  local dir=$1 id=$2 ndir
  ndir=$(node_dir "$dir" "$id")
  node_alive "$dir" "$id" && return 0
  # The log is appended to, so a restarted node's "started" line is told apart by the line count before it.
  if [[ -f $ndir/server.log ]]; then wc -l <"$ndir/server.log" >"$ndir/log-offset"; else echo 0 >"$ndir/log-offset"; fi
  # shellcheck disable=SC2086 # HEAP_OPTS holds several JVM flags.
  setsid java $HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$ROOT/deploy/kafka/log4j2.properties" \
    -cp "$LIBS_DIR/*" kafka.Kafka "$ndir/server.properties" </dev/null >>"$ndir/server.log" 2>&1 &
  echo $! >"$ndir/pid"
}

node_started() {
  local ndir offset
  ndir=$(node_dir "$1" "$2")
  offset=$(cat "$ndir/log-offset" 2>/dev/null || echo 0)
  tail -n +"$((offset + 1))" "$ndir/server.log" 2>/dev/null | grep -q 'Kafka Server started'
}

wait_started() {
  local dir=$1
  shift
  local deadline=$((SECONDS + START_DEADLINE_SECONDS)) next_report=$((SECONDS + 5)) id pending
  while :; do
    pending=()
    for id in "$@"; do
      if ! node_alive "$dir" "$id"; then
        tail -n 40 "$(node_dir "$dir" "$id")/server.log" >&2 || true
        die "node $id exited during start-up (log: $(node_dir "$dir" "$id")/server.log)"
      fi
      node_started "$dir" "$id" || pending+=("$id")
    done
    ((${#pending[@]} == 0)) && return 0
    if ((SECONDS >= deadline)); then
      die "node(s) ${pending[*]} not serving after ${START_DEADLINE_SECONDS}s (logs in $dir/node*/server.log)"
    fi
    if ((SECONDS >= next_report)); then
      log "waiting for node(s) ${pending[*]} to serve ($((deadline - SECONDS))s left)"
      next_report=$((SECONDS + 5))
    fi
    sleep 0.3
  done
}

brokers() {
  local dir=$1 id list=()
  [[ -f $dir/cluster.env ]] || die "no cluster in $dir (scripts/kafka.sh start)"
  for id in $(node_ids "$dir"); do list+=("127.0.0.1:$(broker_port "$dir" "$id")"); done
  local IFS=,
  echo "${list[*]}"
}

cmd_start() {
  local nodes=$1 dir=$2 secure=$3
  [[ $nodes == 1 || $nodes == 3 ]] || die "--nodes must be 1 or 3, got '$nodes'"
  ((secure == 0 || nodes == 1)) || die "--secure starts a single node (--nodes 1)"
  if [[ -f $dir/cluster.env ]]; then
    local all_alive=1 id
    for id in $(node_ids "$dir"); do node_alive "$dir" "$id" || all_alive=0; done
    if ((all_alive)); then
      log "already running in $dir"
      brokers "$dir"
      return
    fi
    cmd_stop "$dir"
  fi
  fetch >/dev/null
  local started=$SECONDS
  rm -rf "$dir"
  mkdir -p "$dir"
  if ((secure)); then
    command -v openssl >/dev/null || die "openssl is missing (apt-get install openssl)"
    # Passwords and keys: readable by this user only.
    chmod 700 "$dir"
    make_tls "$dir"
    make_users "$dir"
  fi
  local id voters=()
  {
    echo "version=$KAFKA_VERSION"
    for id in $(seq 1 "$nodes"); do
      echo "node.$id.broker=$(free_port)"
      echo "node.$id.controller=$(free_port)"
    done
  } >"$dir/cluster.env"
  for id in $(seq 1 "$nodes"); do
    voters+=("$id@127.0.0.1:$(sed -n "s/^node\\.$id\\.controller=//p" "$dir/cluster.env")")
  done
  local IFS=,
  local voter_list="${voters[*]}"
  unset IFS
  # A cluster id is 16 random bytes in URL-safe base64 without padding (what `kafka-storage random-uuid` prints).
  local cluster_id
  # Like Kafka's own Uuid.randomUuid, never one that starts with '-' (it would read as a command-line option).
  cluster_id=$(python3 -c 'import base64, uuid
while (id := base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")).startswith("-"): pass
print(id)')
  log "formatting $nodes node(s) of Kafka $KAFKA_VERSION in $dir (cluster id $cluster_id)"
  local formats=()
  for id in $(seq 1 "$nodes"); do
    write_config "$dir" "$id" "$nodes" "$voter_list"
    local scram=()
    [[ -f $dir/users ]] && mapfile -t scram < <(scram_args "$dir")
    # A short-lived tool: the client compiler alone starts it faster.
    java -Xmx256m -XX:TieredStopAtLevel=1 -Dlog4j2.configurationFile="$ROOT/deploy/kafka/log4j2.properties" \
      -cp "$LIBS_DIR/*" kafka.tools.StorageTool format --cluster-id="$cluster_id" \
      -c "$(node_dir "$dir" "$id")/server.properties" "${scram[@]}" >"$(node_dir "$dir" "$id")/format.log" 2>&1 &
    formats+=($!)
  done
  for id in $(seq 1 "$nodes"); do
    wait "${formats[$((id - 1))]}" ||
      { cat "$(node_dir "$dir" "$id")/format.log" >&2; die "formatting node $id failed"; }
  done
  for id in $(seq 1 "$nodes"); do launch_node "$dir" "$id"; done
  log "started $nodes JVM(s); waiting for them to serve"
  # shellcheck disable=SC2046 # node ids are plain integers.
  wait_started "$dir" $(seq 1 "$nodes")
  if ((secure)); then
    log "granting the ACLs of the secure node's users (scripts/lib/kafka-acls.ts)"
    node "$ROOT/scripts/lib/kafka-acls.ts" "$dir" >&2 || die "granting the ACLs failed"
  fi
  log "Kafka $KAFKA_VERSION ready in $((SECONDS - started))s: $(brokers "$dir")"
  brokers "$dir"
}

stop_node() {
  local dir=$1 id=$2 signal=${3:-TERM} pid
  pid=$(node_pid "$dir" "$id")
  [[ -n $pid ]] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -CONT "$pid" 2>/dev/null || true # a frozen node cannot act on TERM
    kill "-$signal" "$pid" 2>/dev/null || true
    # A controlled shutdown moves leadership away first; give it time, then insist.
    for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    log "node $id stopped ($signal)"
  fi
  rm -f "$(node_dir "$dir" "$id")/pid"
}

cmd_stop() {
  local dir=$1 id
  [[ -f $dir/cluster.env ]] || return 0
  for id in $(node_ids "$dir"); do stop_node "$dir" "$id" TERM & done
  wait
  rm -rf "$dir"
}

cmd_status() {
  local dir=$1 id state
  for id in $(node_ids "$dir"); do
    if ! node_alive "$dir" "$id"; then
      state=stopped
    elif [[ $(ps -o stat= -p "$(node_pid "$dir" "$id")") == T* ]]; then
      state=frozen
    else
      state=running
    fi
    echo "node $id 127.0.0.1:$(broker_port "$dir" "$id") $state"
  done
}

cmd_node() {
  local action=$1 id=$2 dir=$3
  [[ -f $dir/cluster.env ]] || die "no cluster in $dir"
  [[ -n $(broker_port "$dir" "$id") ]] || die "no node $id in $dir"
  local pid
  pid=$(node_pid "$dir" "$id")
  case $action in
    stop) stop_node "$dir" "$id" TERM ;;
    kill) stop_node "$dir" "$id" KILL ;;
    start)
      if node_alive "$dir" "$id"; then
        kill -CONT "$pid" 2>/dev/null || true
        log "node $id already running"
        return
      fi
      fetch >/dev/null
      launch_node "$dir" "$id"
      wait_started "$dir" "$id"
      log "node $id serving again"
      ;;
    freeze) [[ -n $pid ]] && kill -STOP "$pid" && log "node $id frozen (SIGSTOP)" ;;
    thaw) [[ -n $pid ]] && kill -CONT "$pid" && log "node $id thawed (SIGCONT)" ;;
    *) die "node: unknown action '$action' (stop|kill|start|freeze|thaw)" ;;
  esac
}

usage() { sed -n '2,30p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; }

command=${1:-}
[[ -n $command ]] || { usage; exit 2; }
shift
nodes=1
dir=''
secure=0
positional=()
while (($#)); do
  case $1 in
    --nodes) nodes=${2:?--nodes needs a value}; shift 2 ;;
    --secure) secure=1; shift ;;
    --dir) dir=${2:?--dir needs a value}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) positional+=("$1"); shift ;;
  esac
done
[[ -n $dir ]] || dir=$ROOT/.data/kafka-${nodes}node
dir=$(realpath -m "$dir")

case $command in
  fetch) fetch ;;
  start) cmd_start "$nodes" "$dir" "$secure" ;;
  stop) cmd_stop "$dir" ;;
  status) cmd_status "$dir" ;;
  brokers) brokers "$dir" ;;
  node)
    ((${#positional[@]} == 2)) || die "usage: scripts/kafka.sh node stop|kill|start|freeze|thaw ID --dir D"
    cmd_node "${positional[0]}" "${positional[1]}" "$dir"
    ;;
  -h | --help | help) usage ;;
  *) usage; exit 2 ;;
esac
