import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, envReader } from '@payment-manager/shared';
import { loadPostgresOptions, type PostgresOptions } from './database.ts';

/** Which Postgres topology backs the API. */
export const POSTGRES_FLAVOURS = ['cnpg', 'citus'] as const;
export type PostgresFlavour = (typeof POSTGRES_FLAVOURS)[number];

/**
 * Who runs the data services. `operators`: Strimzi, CloudNativePG and Envoy Gateway reconcile our custom resources.
 * `standalone`: plain StatefulSets and Deployments from our own images, with Traefik as the Gateway API controller,
 * for clusters without operators or a reachable registry (air-gapped; docs/kubernetes.md, "Standalone stack").
 */
export const STACKS = ['operators', 'standalone'] as const;
export type Stack = (typeof STACKS)[number];

/**
 * Image references. Our own images carry a fixed, non-latest tag at synth time; skaffold replaces the
 * whole reference (matching by repository name) with the tag it built.
 */
export interface PlatformImages {
  api: string;
  ingest: string;
  /**
   * PostgreSQL of the stack: the CloudNativePG operand image with pg_partman added
   * (deploy/operators/postgres-cnpg.Dockerfile), or in the standalone stack payment-manager/postgres.
   */
  postgres: string;
  /** PostgreSQL 17 + Citus 13.2 + pg_partman for PM_POSTGRES=citus (deploy/citus/Dockerfile). */
  citus: string;
  /** S3-compatible store for CloudNativePG backups on kind (SeaweedFS). */
  backupStore: string;
  otelCollector: string;
  tempo: string;
  loki: string;
  prometheus: string;
  grafana: string;
  wiremock: string;
  /** KRaft broker+controller of the standalone stack (Strimzi runs its own image otherwise). */
  kafka: string;
  /** Gateway API controller and proxy of the standalone stack (Envoy Gateway's chart brings its own otherwise). */
  traefik: string;
}

export interface PlatformConfig {
  repoRoot: string;
  namespace: string;
  stack: Stack;
  postgres: PostgresFlavour;
  images: PlatformImages;
  /** Deploy a WireMock "Silvergate" with the repo's stubs (kind/dev); off = SILVERGATE_BASE_URL points elsewhere. */
  providerStub: boolean;
  silvergateBaseUrl: string;
  /** Host name the webhook Gateway answers on; empty = any host. */
  gatewayHost: string;
  /** Node port of the Gateway's Envoy Service (kind maps it to localhost:80); null = LoadBalancer Service. */
  gatewayNodePort: number | null;
  /**
   * Development credentials written into Secrets. They exist because `skaffold dev` on kind must work
   * without a secret store; real deployments override them through the environment at synth time.
   */
  devPgPassword: string;
  /** Secret key of the in-cluster backup store (development value, like devPgPassword). */
  devBackupSecret: string;
  webhookSecret: string;
  /** API_KEYS of the API (`role:sha256hex`, see services/api/src/http/auth.ts). */
  apiKeys: string;
  kafka: { replicas: number; storage: string };
  /** StorageClass of the standalone stack's volume claims; undefined = the cluster's default class. */
  storageClass?: string;
  citusWorkers: number;
  /** 'dev' (skaffold -p dev) trims replicas for a laptop-sized node and logs at debug level. */
  profile: 'default' | 'dev';
  minReplicas: number;
  postgresInstances: number;
  /** Synchronous replication and backups (cdk8s/src/database.ts, docs/data-tier.md). */
  postgresOptions: PostgresOptions;
  logLevel: 'debug' | 'info';
}

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Tag given to our own images in synthesized manifests (the cdk8s package version; never `latest`). */
export function defaultImageTag(repoRoot: string = REPO_ROOT): string {
  const pkg = JSON.parse(readFileSync(resolve(repoRoot, 'cdk8s/package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * Third-party images, pinned so that a redeploy never picks up a different build. The observability and
 * WireMock versions are those of docker-compose.yml, so both environments run the same configuration files
 * against the same binaries.
 */
export const PINNED_IMAGES = {
  // Release 4.43 (2026-08-21) of seaweedfs/seaweedfs; its release workflow pushes chrislusf/seaweedfs:<tag>.
  backupStore: 'chrislusf/seaweedfs:4.43',
  otelCollector: 'otel/opentelemetry-collector-contrib:0.137.0',
  tempo: 'grafana/tempo:2.9.0',
  loki: 'grafana/loki:3.5.3',
  prometheus: 'prom/prometheus:v3.5.0',
  grafana: 'grafana/grafana:12.2.0',
  wiremock: 'wiremock/wiremock:3.13.2',
} as const;

type Env = Record<string, string | undefined>;

/** A variable of one of deploy/env's files (the compose stack's settings); empty when the file lacks it. */
function deployEnvValue(repoRoot: string, file: string, name: string): string {
  const path = resolve(repoRoot, 'deploy/env', file);
  if (!existsSync(path)) return '';
  const line = readFileSync(path, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}=`));
  return line ? line.slice(name.length + 1).trim() : '';
}

/**
 * The development signing secret of deploy/env/common.env, so that `npm run webhook:send` signs webhooks
 * the cluster accepts, exactly as with docker compose. Empty when the file does not define one.
 */
export function devWebhookSecret(repoRoot: string): string {
  return deployEnvValue(repoRoot, 'common.env', 'WEBHOOK_SECRET');
}

/** The development API keys' hashes of deploy/env/api.env (the keys themselves are listed there). */
export function devApiKeys(repoRoot: string): string {
  return deployEnvValue(repoRoot, 'api.env', 'API_KEYS');
}

/** One of `allowed` (the first when unset); anything else stops synth naming the variable. */
function oneOf<T extends string>(name: string, allowed: readonly T[], raw: string | undefined): T {
  const value = raw?.trim() || (allowed[0] as T);
  if (!(allowed as readonly string[]).includes(value))
    throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, got "${value}"`);
  return value as T;
}

/** The password is spliced into PG_URL by $(VAR) expansion, where URL-reserved characters would break it. */
function urlSafe(name: string, value: string): string {
  if (!/^[A-Za-z0-9._~-]+$/.test(value))
    throw new ConfigError(`${name} may contain only A-Z a-z 0-9 . _ ~ - (it becomes part of PG_URL)`);
  return value;
}

/** The node port deploy/kind/cluster.yaml maps to localhost:80. */
export const KIND_GATEWAY_NODE_PORT = 30080;

/** Unset = kind's fixed node port; `none` = a LoadBalancer Service (cloud clusters); else a port in 30000-32767. */
function gatewayNodePort(raw: string | undefined): number | null {
  const value = raw?.trim() ?? '';
  if (value === '') return KIND_GATEWAY_NODE_PORT;
  if (value === 'none') return null;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 30000 || port > 32767)
    throw new ConfigError(`PM_GATEWAY_NODE_PORT must be a port in 30000-32767 or "none", got "${value}"`);
  return port;
}

/**
 * Images of the standalone stack: ours for every component (built here, loaded straight into containerd), so no
 * pod needs a registry. Grafana and Loki have none (docs/kubernetes.md), which is why the stack leaves them out.
 */
function standaloneImages(tag: string): Partial<PlatformImages> {
  return {
    postgres: `payment-manager/postgres:${tag}`,
    otelCollector: `payment-manager/otel-collector:${tag}`,
    tempo: `payment-manager/tempo:${tag}`,
    prometheus: `payment-manager/prometheus:${tag}`,
    wiremock: `payment-manager/wiremock:${tag}`,
  };
}

/**
 * Synth-time settings from the environment (documented in README.md, "Running on Kubernetes"):
 * PM_STACK=operators|standalone, PM_STORAGE_CLASS, PM_NAMESPACE, PM_POSTGRES=cnpg|citus, PM_IMAGE_TAG, PM_PROVIDER_STUB, PM_SILVERGATE_BASE_URL,
 * PM_GATEWAY_HOST, PM_GATEWAY_NODE_PORT, PM_DEV_PG_PASSWORD, PM_WEBHOOK_SECRET, PM_API_KEYS, PM_PROFILE=dev.
 */
export function loadPlatformConfig(env: Env = process.env, repoRoot: string = REPO_ROOT): PlatformConfig {
  const tag = env.PM_IMAGE_TAG?.trim() || defaultImageTag(repoRoot);
  // Strict like every boolean variable: a typo such as PM_PROVIDER_STUB=ture stops synth naming it.
  const providerStub = envReader(env).boolean('PM_PROVIDER_STUB', true);
  const dev = env.PM_PROFILE?.trim() === 'dev';
  const stack = oneOf('PM_STACK', STACKS, env.PM_STACK);
  const storageClass = env.PM_STORAGE_CLASS?.trim() || undefined;
  return {
    repoRoot,
    namespace: env.PM_NAMESPACE?.trim() || 'payment-manager',
    stack,
    postgres: oneOf('PM_POSTGRES', POSTGRES_FLAVOURS, env.PM_POSTGRES),
    images: {
      api: `payment-manager/api:${tag}`,
      ingest: `payment-manager/ingest:${tag}`,
      postgres: `payment-manager/postgres-cnpg:${tag}`,
      citus: `payment-manager/postgres-citus:${tag}`,
      kafka: `payment-manager/kafka:${tag}`,
      traefik: `payment-manager/traefik:${tag}`,
      ...PINNED_IMAGES,
      ...(stack === 'standalone' ? standaloneImages(tag) : {}),
    },
    providerStub,
    silvergateBaseUrl: env.PM_SILVERGATE_BASE_URL?.trim() || 'http://silvergate-stub:8080',
    gatewayHost: env.PM_GATEWAY_HOST?.trim() ?? '',
    gatewayNodePort: gatewayNodePort(env.PM_GATEWAY_NODE_PORT),
    devPgPassword: urlSafe('PM_DEV_PG_PASSWORD', env.PM_DEV_PG_PASSWORD?.trim() || 'payments-dev-only'),
    devBackupSecret: env.PM_DEV_BACKUP_SECRET?.trim() || 'backups-dev-only',
    webhookSecret: env.PM_WEBHOOK_SECRET?.trim() ?? devWebhookSecret(repoRoot),
    apiKeys: env.PM_API_KEYS?.trim() ?? devApiKeys(repoRoot),
    // Three KRaft nodes (controller + broker each) for replication factor 3; dev runs one.
    kafka: { replicas: dev ? 1 : 3, storage: '2Gi' },
    ...(storageClass ? { storageClass } : {}),
    citusWorkers: 2,
    profile: dev ? 'dev' : 'default',
    minReplicas: dev ? 1 : 2,
    // 1 primary + 2 streaming replicas; dev keeps one replica so that PG_REPLICA_URL still has a target. The local
    // 2-core cluster runs 2 (scripts/cluster.sh): the CPU requests of a third would leave no room for a rolling update.
    postgresInstances: envReader(env).integer('PM_POSTGRES_INSTANCES', dev ? 2 : 3, 2, 9),
    postgresOptions: loadPostgresOptions(env, dev),
    logLevel: dev ? 'debug' : 'info',
  };
}
