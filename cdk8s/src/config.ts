import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, envReader } from '@payment-manager/shared';
import { loadPostgresOptions, type PostgresOptions } from './database.ts';
import { loadSecretsConfig, type SecretsConfig } from './secrets.ts';

export { devApiKeys, devWebhookSecret } from './secrets.ts';

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
  /** HTTPS on the Gateway (docs/kubernetes.md, "Security"); `off` keeps the plain HTTP listener only. */
  gatewayTls: GatewayTls;
  /**
   * The Secrets the workloads reference, and whether this synth creates them (PM_SECRETS; src/secrets.ts). Only
   * PM_SECRETS=dev puts the development values of this repository into them; by default nothing is created.
   */
  secrets: SecretsConfig;
  kafka: { replicas: number; storage: string };
  /**
   * Standalone stack: TLS + SCRAM-SHA-512 + ACLs on its own Kafka like Strimzi's (PM_STANDALONE_KAFKA_TLS=true; the
   * Secrets of cdk8s/src/kafka-access.ts must exist, scripts/kafka-secrets.sh makes them). Off: the plaintext listener.
   */
  standaloneKafkaTls: boolean;
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

export const GATEWAY_TLS_MODES = ['cert-manager', 'secret', 'off'] as const;
/** A cert-manager issuer by reference (an ACME ClusterIssuer, a company CA, ...). */
export interface IssuerRef {
  kind: 'Issuer' | 'ClusterIssuer';
  name: string;
}
/**
 * `cert-manager`: a Certificate into `secretName`, from `issuer` or (null) a self-signed CA made for the purpose;
 * `secret`: an existing kubernetes.io/tls Secret `secretName`; `off`: HTTP only (the local cluster, no cert-manager).
 */
export type GatewayTls =
  | { mode: 'cert-manager'; secretName: string; issuer: IssuerRef | null; httpsNodePort: number | null }
  | { mode: 'secret'; secretName: string; httpsNodePort: number | null }
  | { mode: 'off' };

/** The node port of the HTTPS listener next to the HTTP one (deploy/kind/cluster.yaml maps it to localhost:443). */
export const KIND_GATEWAY_HTTPS_NODE_PORT = 30443;

/**
 * Default: cert-manager with the operators; the standalone stack, which runs no operator, an existing TLS Secret.
 */
function gatewayTls(env: Env, stack: Stack, httpNodePort: number | null): GatewayTls {
  const allowed = stack === 'standalone' ? (['secret', 'cert-manager', 'off'] as const) : GATEWAY_TLS_MODES;
  const mode = oneOf('PM_GATEWAY_TLS', allowed, env.PM_GATEWAY_TLS);
  if (mode === 'off') return { mode };
  const secretName = env.PM_GATEWAY_TLS_SECRET?.trim() || 'webhooks-tls';
  const httpsNodePort =
    httpNodePort === null
      ? null
      : nodePort('PM_GATEWAY_HTTPS_NODE_PORT', env.PM_GATEWAY_HTTPS_NODE_PORT, KIND_GATEWAY_HTTPS_NODE_PORT);
  if (mode === 'secret') return { mode, secretName, httpsNodePort };
  const raw = env.PM_GATEWAY_TLS_ISSUER?.trim() ?? '';
  if (raw === '') return { mode, secretName, issuer: null, httpsNodePort };
  const match = /^(Issuer|ClusterIssuer)\/([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/.exec(raw);
  if (!match)
    throw new ConfigError(`PM_GATEWAY_TLS_ISSUER must be Issuer/<name> or ClusterIssuer/<name>, got "${raw}"`);
  return {
    mode,
    secretName,
    issuer: { kind: match[1] as IssuerRef['kind'], name: match[2] as string },
    httpsNodePort,
  };
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

/** One of `allowed` (the first when unset); anything else stops synth naming the variable. */
function oneOf<T extends string>(name: string, allowed: readonly T[], raw: string | undefined): T {
  const value = raw?.trim() || (allowed[0] as T);
  if (!(allowed as readonly string[]).includes(value))
    throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, got "${value}"`);
  return value as T;
}

/** The node port deploy/kind/cluster.yaml maps to localhost:80. */
export const KIND_GATEWAY_NODE_PORT = 30080;

/** Unset = kind's fixed node port; `none` = a LoadBalancer Service (cloud clusters); else a port in 30000-32767. */
function gatewayNodePort(raw: string | undefined): number | null {
  if (raw?.trim() === 'none') return null;
  return nodePort('PM_GATEWAY_NODE_PORT', raw, KIND_GATEWAY_NODE_PORT, ' or "none"');
}

function nodePort(name: string, raw: string | undefined, fallback: number, alternatives = ''): number {
  const value = raw?.trim() ?? '';
  if (value === '') return fallback;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 30000 || port > 32767)
    throw new ConfigError(`${name} must be a port in 30000-32767${alternatives}, got "${value}"`);
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
 * PM_STACK=operators|standalone, PM_STANDALONE_KAFKA_TLS, PM_STORAGE_CLASS, PM_NAMESPACE, PM_POSTGRES=cnpg|citus, PM_IMAGE_TAG, PM_PROVIDER_STUB, PM_SILVERGATE_BASE_URL,
 * PM_GATEWAY_HOST, PM_GATEWAY_NODE_PORT, PM_GATEWAY_TLS=cert-manager|secret|off, PM_GATEWAY_TLS_SECRET,
 * PM_GATEWAY_TLS_ISSUER, PM_PROFILE=dev, and the credentials' PM_SECRETS, PM_SECRET_* and
 * (with PM_SECRETS=env) their values (src/secrets.ts, docs/security.md).
 */
export function loadPlatformConfig(env: Env = process.env, repoRoot: string = REPO_ROOT): PlatformConfig {
  const tag = env.PM_IMAGE_TAG?.trim() || defaultImageTag(repoRoot);
  // Strict like every boolean variable: a typo such as PM_PROVIDER_STUB=ture stops synth naming it.
  const providerStub = envReader(env).boolean('PM_PROVIDER_STUB', true);
  const dev = env.PM_PROFILE?.trim() === 'dev';
  const stack = oneOf('PM_STACK', STACKS, env.PM_STACK);
  const storageClass = env.PM_STORAGE_CLASS?.trim() || undefined;
  const postgres = oneOf('PM_POSTGRES', POSTGRES_FLAVOURS, env.PM_POSTGRES);
  const postgresOptions = loadPostgresOptions(env, dev);
  return {
    repoRoot,
    namespace: env.PM_NAMESPACE?.trim() || 'payment-manager',
    stack,
    postgres,
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
    secrets: loadSecretsConfig(env, {
      repoRoot,
      dev,
      stack,
      postgres,
      backupDevStore: postgresOptions.backup.kind === 'dev-store',
    }),
    gatewayTls: gatewayTls(env, stack, gatewayNodePort(env.PM_GATEWAY_NODE_PORT)),
    // Three KRaft nodes (controller + broker each) for replication factor 3; dev runs one.
    kafka: { replicas: dev ? 1 : 3, storage: '2Gi' },
    standaloneKafkaTls: envReader(env).boolean('PM_STANDALONE_KAFKA_TLS', false),
    ...(storageClass ? { storageClass } : {}),
    citusWorkers: 2,
    profile: dev ? 'dev' : 'default',
    minReplicas: dev ? 1 : 2,
    // 1 primary + 2 streaming replicas; dev keeps one replica so that PG_REPLICA_URL still has a target. The local
    // 2-core cluster runs 2 (scripts/cluster.sh): the CPU requests of a third would leave no room for a rolling update.
    postgresInstances: envReader(env).integer('PM_POSTGRES_INSTANCES', dev ? 2 : 3, 2, 9),
    postgresOptions,
    logLevel: dev ? 'debug' : 'info',
  };
}
