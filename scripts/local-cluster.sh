#!/usr/bin/env bash
# A real single-node Kubernetes v1.36.1 on this machine, for machines without kind (no Docker Hub, no
# registry.k8s.io): every component built from the Go module proxy by scripts/kube-build.sh, containerd, runc and
# the CNI plugins from Debian. The node runs in the host's network namespace; pods sit on a CNI bridge.
#
#   scripts/local-cluster.sh up           start etcd, the control plane, containerd, kubelet, kube-proxy, CoreDNS;
#                                         wait until the node is Ready; print the KUBECONFIG export on stdout
#   scripts/local-cluster.sh load IMAGE…  copy images from podman's store into the node's containerd
#   scripts/local-cluster.sh env          print the export line of the running cluster
#   scripts/local-cluster.sh status       exit 0 when every component runs
#   scripts/local-cluster.sh down         stop everything and remove what `up` made: processes, containers,
#                                         mounts, network namespaces, the bridge, iptables chains, sysctls, state
#
# Why each setting below is what it is (cgroup v1 without CAP_SYS_RESOURCE, no systemd, containerd 1.6):
# docs/kubernetes.md, "The local cluster".
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE_DIR=${PM_LOCAL_CLUSTER_DIR:-$ROOT/.data/local-cluster}
ENV_FILE="$STATE_DIR/env"
BIN_DIR=$("$ROOT/scripts/kube-build.sh" dir)
NODE_NAME=$(hostname | tr '[:upper:]' '[:lower:]')
# The node's address: the source address of the default route (pods reach the API server there).
NODE_IP=${PM_NODE_IP:-$(ip -4 route get 1.1.1.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p')}
POD_CIDR=10.244.0.0/24
BRIDGE=pm-cni0
BRIDGE_IP=10.244.0.1
SERVICE_CIDR=10.96.0.0/16
KUBERNETES_SERVICE_IP=10.96.0.1
API_PORT=6443
ETCD_PORT=2479
ETCD_PEER_PORT=2480
CONTAINERD_SOCK="$STATE_DIR/containerd/containerd.sock"
# The sandbox image containerd's CRI asks for; built here from the static pause binary (scripts/kube-build.sh).
PAUSE_IMAGE=registry.k8s.io/pause:3.10
READY_TIMEOUT=${PM_LOCAL_CLUSTER_READY_TIMEOUT:-240}
# hostPath PersistentVolumes made at start (the standalone stack claims 5: three Kafka nodes, primary, replica).
VOLUMES=12
COMPONENTS=(etcd kube-apiserver containerd kube-controller-manager kube-scheduler kubelet kube-proxy coredns)

log() { printf '%s [local-cluster] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# shellcheck source=lib/detached.sh
source "$ROOT/scripts/lib/detached.sh"

ctr_k8s() { ctr --address "$CONTAINERD_SOCK" --namespace k8s.io "$@"; }

preflight() {
  [[ $(id -u) -eq 0 ]] || die "the local cluster needs root (containerd, kubelet, iptables, bridges)"
  [[ -n $NODE_IP ]] || die "no default route to take the node address from (set PM_NODE_IP)"
  local tool
  for tool in containerd ctr runc iptables ip6tables ip openssl podman; do
    command -v "$tool" >/dev/null || die "$tool is missing (scripts/system-packages.sh installs it)"
  done
  [[ -x /usr/lib/cni/bridge ]] || die "the CNI plugins are missing (apt-get install containernetworking-plugins)"
  [[ -d /proc/sys/net/bridge ]] || die "br_netfilter is not loaded: pods could not reach Services on their own bridge"
}

# openssl-made certificates for each component, signed by one CA.
# issue NAME CN [O] [SANs]: a key and a certificate for client and server use.
issue() {
  local name=$1 cn=$2 org=${3:-} sans=${4:-} pki="$STATE_DIR/pki" subject="/CN=$2"
  [[ -n $org ]] && subject="/O=$org/CN=$cn"
  openssl req -newkey rsa:2048 -nodes -subj "$subject" -keyout "$pki/$name.key" -out "$pki/$name.csr" 2>/dev/null
  openssl x509 -req -in "$pki/$name.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial -days 30 \
    -extfile <(
      printf 'extendedKeyUsage=clientAuth,serverAuth\n'
      [[ -n $sans ]] && printf 'subjectAltName=%s\n' "$sans"
    ) -out "$pki/$name.crt" 2>/dev/null
  rm -f "$pki/$name.csr"
}

make_pki() {
  local pki="$STATE_DIR/pki"
  mkdir -p "$pki"
  chmod 700 "$pki"
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj '/CN=payment-manager-local-ca' \
    -keyout "$pki/ca.key" -out "$pki/ca.crt" 2>/dev/null
  issue apiserver kube-apiserver '' \
    "IP:$NODE_IP,IP:127.0.0.1,IP:$KUBERNETES_SERVICE_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  issue apiserver-kubelet-client kube-apiserver-kubelet-client system:masters
  issue admin payment-manager-admin system:masters
  issue controller-manager system:kube-controller-manager
  issue scheduler system:kube-scheduler
  issue kube-proxy system:kube-proxy
  issue coredns coredns
  issue kubelet "system:node:$NODE_NAME" system:nodes "IP:$NODE_IP,DNS:$NODE_NAME"
  openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
  openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
}

# kubeconfig NAME: a kubeconfig for the component whose certificate is pki/NAME.*
kubeconfig() {
  local name=$1 pki="$STATE_DIR/pki"
  cat >"$STATE_DIR/$name.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: payment-manager-local
    cluster:
      server: https://$NODE_IP:$API_PORT
      certificate-authority-data: $(base64 -w0 <"$pki/ca.crt")
users:
  - name: $name
    user:
      client-certificate-data: $(base64 -w0 <"$pki/$name.crt")
      client-key-data: $(base64 -w0 <"$pki/$name.key")
contexts:
  - name: payment-manager-local
    context:
      cluster: payment-manager-local
      user: $name
current-context: payment-manager-local
EOF
  chmod 600 "$STATE_DIR/$name.kubeconfig"
}

write_configs() {
  mkdir -p "$STATE_DIR/containerd" "$STATE_DIR/cni/net.d" "$STATE_DIR/kubelet" "$STATE_DIR/pod-logs"
  # Its own root, state and socket: never the machine's containerd (dockerd may run one). restrict_oom_score_adj:
  # the sandbox's oom_score_adj of -998 needs CAP_SYS_RESOURCE, which this machine does not grant.
  cat >"$STATE_DIR/containerd/config.toml" <<EOF
version = 2
root = "$STATE_DIR/containerd/root"
state = "$STATE_DIR/containerd/state"
[grpc]
  address = "$CONTAINERD_SOCK"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$STATE_DIR/cni/net.d"
EOF
  cat >"$STATE_DIR/cni/net.d/10-payment-manager.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "payment-manager",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$STATE_DIR/cni/ipam",
        "ranges": [[{ "subnet": "$POD_CIDR", "gateway": "$BRIDGE_IP" }]],
        "routes": [{ "dst": "0.0.0.0/0" }]
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
EOF
  # cgroup v1 (hybrid, no systemd): failCgroupV1 false and the cgroupfs driver. Image garbage collection off: the
  # images were loaded by hand and cannot be pulled again.
  cat >"$STATE_DIR/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
podLogsDir: $STATE_DIR/pod-logs
address: $NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
clusterDomain: cluster.local
clusterDNS: [$BRIDGE_IP]
resolvConf: /etc/resolv.conf
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: true }
  x509: { clientCAFile: $STATE_DIR/pki/ca.crt }
authorization:
  mode: Webhook
tlsCertFile: $STATE_DIR/pki/kubelet.crt
tlsPrivateKeyFile: $STATE_DIR/pki/kubelet.key
failSwapOn: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: { memory.available: 200Mi, nodefs.available: 2%, imagefs.available: 2% }
serializeImagePulls: false
maxPods: 60
EOF
  cat >"$STATE_DIR/Corefile" <<EOF
.:53 {
    bind $BRIDGE_IP
    errors
    ready 127.0.0.1:18181
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig $STATE_DIR/coredns.kubeconfig
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    forward . /etc/resolv.conf
    cache 30
    loop
}
EOF
}

# Network settings the node needs; the values found are kept so that `down` puts them back.
set_sysctls() {
  local key saved="$STATE_DIR/sysctls.saved"
  : >"$saved"
  for key in net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables net.bridge.bridge-nf-call-ip6tables; do
    printf '%s=%s\n' "$key" "$(sysctl -n "$key")" >>"$saved"
    sysctl -qw "$key=1"
  done
}

# The bridge exists before the first pod so that CoreDNS can bind to its address; the CNI bridge plugin adopts it.
make_bridge() {
  ip link show "$BRIDGE" >/dev/null 2>&1 || ip link add "$BRIDGE" type bridge
  ip addr replace "$BRIDGE_IP/${POD_CIDR#*/}" dev "$BRIDGE"
  ip link set "$BRIDGE" up
}

wait_for() {
  local what=$1 component=$2 timeout=$3
  shift 3
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    pid_alive "$component" || { tail -n 30 "$STATE_DIR/$component.log" >&2; die "$component exited while waiting for $what"; }
    ((SECONDS < deadline)) || { tail -n 30 "$STATE_DIR/$component.log" >&2; die "$what: not within ${timeout}s"; }
    sleep 0.5
  done
}

kubectl_admin() { "$BIN_DIR/kubectl" --kubeconfig "$STATE_DIR/admin.kubeconfig" "$@"; }

node_ready() {
  [[ $(kubectl_admin get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}') == True ]]
}

running() {
  local component
  [[ -f $ENV_FILE ]] || return 1
  for component in "${COMPONENTS[@]}"; do pid_alive "$component" || return 1; done
}

cmd_up() {
  if running; then
    log "already running (scripts/local-cluster.sh down to start afresh)"
    return
  fi
  preflight
  cmd_down 2>/dev/null || true
  local started=$SECONDS
  "$ROOT/scripts/kube-build.sh" node
  mkdir -p "$STATE_DIR"
  make_pki
  for name in admin controller-manager scheduler kube-proxy kubelet coredns; do kubeconfig "$name"; done
  write_configs
  set_sysctls
  make_bridge

  log "starting etcd and kube-apiserver $("$BIN_DIR/kube-apiserver" --version | cut -d' ' -f2) on https://$NODE_IP:$API_PORT"
  start_detached etcd "$BIN_DIR/etcd" --name local --data-dir "$STATE_DIR/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "local=http://127.0.0.1:$ETCD_PEER_PORT" --unsafe-no-fsync --log-level warn
  local pki="$STATE_DIR/pki"
  start_detached kube-apiserver "$BIN_DIR/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --bind-address "$NODE_IP" --advertise-address "$NODE_IP" --secure-port "$API_PORT" \
    --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --client-ca-file "$pki/ca.crt" \
    --kubelet-client-certificate "$pki/apiserver-kubelet-client.crt" \
    --kubelet-client-key "$pki/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority "$pki/ca.crt" \
    --kubelet-preferred-address-types InternalIP,Hostname \
    --authorization-mode Node,RBAC \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$pki/sa.pub" \
    --service-account-signing-key-file "$pki/sa.key" \
    --service-cluster-ip-range "$SERVICE_CIDR" \
    --allow-privileged=true \
    --cert-dir "$pki/generated"
  wait_for 'kube-apiserver /readyz' kube-apiserver 120 kubectl_admin get --raw /readyz

  log "starting containerd $(containerd --version | cut -d' ' -f3), the controllers, the scheduler"
  start_detached containerd containerd --config "$STATE_DIR/containerd/config.toml"
  start_detached kube-controller-manager "$BIN_DIR/kube-controller-manager" \
    --kubeconfig "$STATE_DIR/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$STATE_DIR/controller-manager.kubeconfig" \
    --authorization-kubeconfig "$STATE_DIR/controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --leader-elect=false --use-service-account-credentials \
    --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
    --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
    --service-cluster-ip-range "$SERVICE_CIDR"
  start_detached kube-scheduler "$BIN_DIR/kube-scheduler" --kubeconfig "$STATE_DIR/scheduler.kubeconfig" \
    --authentication-kubeconfig "$STATE_DIR/scheduler.kubeconfig" \
    --authorization-kubeconfig "$STATE_DIR/scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --leader-elect=false
  wait_for 'containerd socket' containerd 30 ctr --address "$CONTAINERD_SOCK" version
  load_pause_image

  log "starting kubelet, kube-proxy and CoreDNS $("$BIN_DIR/coredns" -version | head -n 1 | cut -d- -f2)"
  start_detached kubelet "$BIN_DIR/kubelet" --config "$STATE_DIR/kubelet/config.yaml" \
    --kubeconfig "$STATE_DIR/kubelet.kubeconfig" --root-dir "$STATE_DIR/kubelet" \
    --hostname-override "$NODE_NAME" --node-ip "$NODE_IP"
  # conntrack-max-per-core 0: kube-proxy would otherwise write nf_conntrack_max, which is not ours to change here.
  start_detached kube-proxy "$BIN_DIR/kube-proxy" --kubeconfig "$STATE_DIR/kube-proxy.kubeconfig" \
    --hostname-override "$NODE_NAME" --cluster-cidr "$POD_CIDR" --proxy-mode iptables \
    --conntrack-max-per-core 0 --metrics-bind-address 127.0.0.1:10249 --healthz-bind-address 127.0.0.1:10256
  # CoreDNS runs on the node as the user "coredns" of its client certificate: what it reads (system:coredns on kubeadm).
  kubectl_admin apply -f - >/dev/null <<RBAC
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: "payment-manager-local:coredns" }
rules:
  - { apiGroups: [""], resources: [endpoints, services, pods, namespaces], verbs: [list, watch] }
  - { apiGroups: [discovery.k8s.io], resources: [endpointslices], verbs: [list, watch] }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: "payment-manager-local:coredns" }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "payment-manager-local:coredns" }
subjects: [{ apiGroup: rbac.authorization.k8s.io, kind: User, name: coredns }]
RBAC
  start_detached coredns "$BIN_DIR/coredns" -conf "$STATE_DIR/Corefile"
  wait_for "node $NODE_NAME Ready" kubelet "$READY_TIMEOUT" node_ready
  wait_for 'CoreDNS ready' coredns 60 curl -fsS http://127.0.0.1:18181/ready

  make_volumes
  echo "export KUBECONFIG='$STATE_DIR/admin.kubeconfig'" >"$ENV_FILE"
  log "node $NODE_NAME Ready in $((SECONDS - started))s: https://$NODE_IP:$API_PORT (kubeconfig $STATE_DIR/admin.kubeconfig)"
}

# Storage for volume claims, as kind's local-path provisioner gives it: a default StorageClass and hostPath
# PersistentVolumes in the state directory, bound when a pod first uses a claim. The directories are writable by
# every user: hostPath volumes get no fsGroup ownership, and our containers run as their own non-root users.
make_volumes() {
  local index manifest="$STATE_DIR/volumes.yaml"
  cat >"$manifest" <<YAML
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: local-volumes
  annotations: { storageclass.kubernetes.io/is-default-class: "true" }
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: WaitForFirstConsumer
reclaimPolicy: Retain
YAML
  for index in $(seq 1 "$VOLUMES"); do
    mkdir -p "$STATE_DIR/volumes/pv-$index"
    chmod 1777 "$STATE_DIR/volumes/pv-$index"
    cat >>"$manifest" <<YAML
---
apiVersion: v1
kind: PersistentVolume
metadata: { name: local-pv-$index }
spec:
  storageClassName: local-volumes
  capacity: { storage: 20Gi }
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  hostPath: { path: $STATE_DIR/volumes/pv-$index, type: Directory }
YAML
  done
  kubectl_admin apply -f "$manifest" >/dev/null
}

# The pause binary as a one-file image, under the name containerd's CRI asks for.
load_pause_image() {
  if ! podman image exists "$PAUSE_IMAGE"; then
    local context="$STATE_DIR/pause-image"
    mkdir -p "$context"
    cp "$BIN_DIR/pause" "$context/pause"
    printf 'FROM scratch\nCOPY pause /pause\nUSER 65535:65535\nENTRYPOINT ["/pause"]\n' >"$context/Containerfile"
    podman build --quiet -t "$PAUSE_IMAGE" "$context" >/dev/null 2>&1
  fi
  cmd_load "$PAUSE_IMAGE"
}

# Copies images from podman's store into the node's containerd, under the names pods ask for: a name without a
# registry (payment-manager/api:0.1.0) is docker.io/… to the kubelet, and localhost/… in podman's store.
cmd_load() {
  (($#)) || die "usage: $0 load IMAGE…"
  local archive="$STATE_DIR/images.tar" image stored wanted started=$SECONDS
  local names=()
  for image in "$@"; do
    stored=$image
    [[ $image == */*/* || $image == *.*/* || $image == localhost/* ]] || stored="localhost/$image"
    podman image exists "$stored" || die "image $stored is not in podman's store (npm run images builds ours)"
    names+=("$stored")
  done
  podman save --quiet --multi-image-archive --format docker-archive -o "$archive" "${names[@]}"
  ctr_k8s images import --no-unpack=false "$archive" >/dev/null
  rm -f "$archive"
  for stored in "${names[@]}"; do
    wanted=${stored/#localhost\//docker.io/}
    [[ $wanted == "$stored" ]] || ctr_k8s images tag --force "$stored" "$wanted" >/dev/null
  done
  log "loaded ${#names[@]} image(s) into the node in $((SECONDS - started))s"
}

# Removes the chains kube-proxy, the kubelet and the CNI plugins made, and every rule that jumps to them.
clean_iptables() {
  local family rules
  for family in iptables ip6tables; do
    command -v "$family-save" >/dev/null || continue
    # Saved first: `save | grep -q` would end save early, and pipefail would call that a failure.
    rules=$("$family-save")
    if grep -qE '(KUBE-|CNI-)' <<<"$rules"; then
      grep -vE '^:(KUBE-|CNI-)|^-A .*(KUBE-|CNI-)' <<<"$rules" | "$family-restore"
    fi
  done
}

cmd_down() {
  local component pid netns
  # Containers first, while containerd still answers: their shims run outside containerd's process group.
  stop_detached kubelet
  if pid_alive containerd; then
    for container in $(ctr_k8s tasks list -q 2>/dev/null); do ctr_k8s tasks kill -s KILL "$container" >/dev/null 2>&1 || true; done
  fi
  for component in coredns kube-proxy kube-scheduler kube-controller-manager containerd kube-apiserver etcd; do
    stop_detached "$component"
  done
  pkill -KILL -f "containerd-shim-runc-v2 .*-address $CONTAINERD_SOCK" 2>/dev/null || true
  if [[ -x $BIN_DIR/kube-proxy ]]; then "$BIN_DIR/kube-proxy" --cleanup >/dev/null 2>&1 || true; fi
  clean_iptables
  # Network namespaces of the pods (containerd names them cni-<uuid>); deleting one deletes its veth.
  for netns in $(ip netns list 2>/dev/null | awk '/^cni-/ {print $1}'); do ip netns delete "$netns" 2>/dev/null || true; done
  ip link show "$BRIDGE" >/dev/null 2>&1 && ip link delete "$BRIDGE"
  # Mounts under the state directory (overlay snapshots, secret and projected volumes), deepest first.
  if [[ -d $STATE_DIR ]]; then
    awk -v dir="$STATE_DIR" 'index($2, dir) == 1 {print $2}' /proc/self/mounts | sort -r | while read -r mount; do
      umount -l "$mount" 2>/dev/null || true
    done
    if [[ -f $STATE_DIR/sysctls.saved ]]; then
      while IFS= read -r setting; do sysctl -qw "$setting" || true; done <"$STATE_DIR/sysctls.saved"
    fi
  fi
  # Pod cgroups the kubelet made (cgroupfs driver), once their processes are gone.
  find /sys/fs/cgroup/*/kubepods* -depth -type d -exec rmdir {} + 2>/dev/null || true
  rm -rf "$STATE_DIR"
  log "stopped; nothing of the local cluster is left"
}

case ${1:-} in
  up) start_for_eval "$ENV_FILE" cmd_up ;;
  load)
    shift
    cmd_load "$@"
    ;;
  down) cmd_down ;;
  status) running ;;
  env) [[ -f $ENV_FILE ]] || die "not running (eval \"\$(scripts/local-cluster.sh up)\")"; cat "$ENV_FILE" ;;
  *) echo "usage: $0 up|load IMAGE…|env|status|down" >&2; exit 2 ;;
esac
