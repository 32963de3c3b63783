import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { App, Chart, type YamlOutputType } from 'cdk8s';
import { k8s } from 'cdk8s-plus-34';
import { API, AppChart, BODY_LIMIT_BYTES, INGEST } from './charts/app.ts';
import { CitusChart } from './charts/citus.ts';
import { edgePeer, GatewayChart, type GatewayEdge, webhookGatewayClass } from './charts/gateway.ts';
import { KafkaChart } from './charts/kafka.ts';
import { KafkaStandaloneChart } from './charts/kafka-standalone.ts';
import { NetworkChart } from './charts/network.ts';
import { ObservabilityChart } from './charts/observability.ts';
import { PostgresChart } from './charts/postgres.ts';
import { PostgresStandaloneChart } from './charts/postgres-standalone.ts';
import { traefikClusterAccess } from './charts/traefik.ts';
import type { PlatformConfig } from './config.ts';
import { CITUS_ENDPOINTS, CNPG_ENDPOINTS, standaloneEndpoints } from './database.ts';

export const CNPG_OPERATOR_NAMESPACE = 'cnpg-system';

/**
 * Pod Security admission of the namespace: `restricted` enforced at the rules of Kubernetes 1.34 (the oldest
 * version we deploy to), audited and warned at the cluster's own version, so that a rule a newer release adds is
 * reported before a pinned version enforces it.
 */
export const POD_SECURITY = {
  'pod-security.kubernetes.io/enforce': 'restricted',
  'pod-security.kubernetes.io/enforce-version': 'v1.34',
  'pod-security.kubernetes.io/audit': 'restricted',
  'pod-security.kubernetes.io/audit-version': 'latest',
  'pod-security.kubernetes.io/warn': 'restricted',
  'pod-security.kubernetes.io/warn-version': 'latest',
} as const;

export interface PlatformOptions {
  outdir?: string;
  yamlOutputType?: YamlOutputType;
  warn?: (message: string) => void;
}

/**
 * The whole platform as one cdk8s App, one chart per concern. Charts are ordered by dependency so that
 * the FILE_PER_CHART output (0000-namespace…, 0001-…) applies in a working order. The stack (PM_STACK) decides who
 * runs Kafka, PostgreSQL and the Gateway: operators reconciling our custom resources, or our own workloads.
 */
export function buildPlatform(config: PlatformConfig, options: PlatformOptions = {}): App {
  const app = new App({ outdir: options.outdir ?? 'dist', yamlOutputType: options.yamlOutputType });
  const ns = { namespace: config.namespace, labels: { 'app.kubernetes.io/part-of': 'payment-manager' } };
  const files = { repoRoot: config.repoRoot };

  const standalone = config.stack === 'standalone';
  const edge: GatewayEdge = standalone ? { kind: 'traefik', image: config.images.traefik } : { kind: 'envoy' };

  // Cluster-scoped objects: the namespace, the GatewayClass and (standalone) Traefik's cluster-wide reads.
  const namespace = new Chart(app, 'namespace');
  new k8s.KubeNamespace(namespace, 'ns', {
    metadata: { name: config.namespace, labels: { 'app.kubernetes.io/part-of': 'payment-manager', ...POD_SECURITY } },
  });
  webhookGatewayClass(namespace, edge.kind);
  if (standalone) traefikClusterAccess(namespace, config.namespace);

  const database = databaseChart(app, config, { ...ns, clientPodNames: [API] });
  const kafkaClients = [API, INGEST];
  const kafka = standalone
    ? new KafkaStandaloneChart(app, 'kafka', {
        ...ns,
        ...config.kafka,
        image: config.images.kafka,
        storageClass: config.storageClass,
        clientPodNames: kafkaClients,
        topicsImage: config.images.ingest,
        tls: config.standaloneKafkaTls,
      })
    : new KafkaChart(app, 'kafka', { ...ns, ...config.kafka, clientPodNames: kafkaClients });
  const observability = new ObservabilityChart(app, 'observability', {
    ...ns,
    images: config.images,
    files,
    logsAndDashboards: !standalone,
    secrets: config.secrets,
  });
  const application = new AppChart(app, 'app', {
    ...ns,
    config,
    // The standalone stack publishes CloudNativePG's Service names too (charts/postgres-standalone.ts).
    database:
      config.postgres === 'citus'
        ? CITUS_ENDPOINTS
        : config.stack === 'standalone'
          ? standaloneEndpoints(config.postgresOptions.standaloneTlsSecret)
          : CNPG_ENDPOINTS,
    edgePeer: edgePeer(edge.kind),
  });
  const gateway = new GatewayChart(app, 'gateway', {
    ...ns,
    host: config.gatewayHost,
    backend: { name: INGEST, port: 3001 },
    bodyLimitBytes: BODY_LIMIT_BYTES,
    nodePort: config.gatewayNodePort,
    edge,
    tls: config.gatewayTls,
  });
  // Last: the default-deny and the graph's policies (network.ts), once every workload they select exists.
  const network = new NetworkChart(app, 'network', { ...ns, config });
  for (const chart of [database, kafka, observability]) chart.addDependency(namespace);
  application.addDependency(database, kafka, observability);
  gateway.addDependency(application);
  network.addDependency(gateway);
  return app;
}

/** The chart of the chosen Postgres topology: Citus, CloudNativePG, or (standalone stack) our own StatefulSets. */
function databaseChart(
  app: App,
  config: PlatformConfig,
  common: { namespace: string; labels: Record<string, string>; clientPodNames: string[] },
): Chart {
  const secrets = config.secrets;
  if (config.postgres === 'citus')
    return new CitusChart(app, 'citus', {
      ...common,
      image: config.images.citus,
      secrets,
      workers: config.citusWorkers,
    });
  if (config.stack === 'standalone')
    return new PostgresStandaloneChart(app, 'postgres', {
      ...common,
      image: config.images.postgres,
      instances: config.postgresInstances,
      secrets,
      synchronous: config.postgresOptions.synchronous,
      tlsSecret: config.postgresOptions.standaloneTlsSecret,
      storageClass: config.storageClass,
      files: { repoRoot: config.repoRoot },
    });
  return new PostgresChart(app, 'postgres', {
    ...common,
    image: config.images.postgres,
    instances: config.postgresInstances,
    secrets,
    operatorNamespace: CNPG_OPERATOR_NAMESPACE,
    backup: { image: config.images.backupStore },
    options: config.postgresOptions,
  });
}

/** Deletes the manifests a previous synth wrote (only *.k8s.yaml: the directory may be the user's choice). */
export function removeSynthOutput(outdir: string): void {
  if (!existsSync(outdir)) return;
  for (const name of readdirSync(outdir)) if (name.endsWith('.k8s.yaml')) rmSync(join(outdir, name));
}
