import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { App, Chart, type YamlOutputType } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { API, AppChart, BODY_LIMIT_BYTES, INGEST } from './charts/app.ts';
import { CitusChart } from './charts/citus.ts';
import { edgePeer, GatewayChart, type GatewayEdge, webhookGatewayClass } from './charts/gateway.ts';
import { KafkaChart } from './charts/kafka.ts';
import { KafkaStandaloneChart } from './charts/kafka-standalone.ts';
import { ObservabilityChart } from './charts/observability.ts';
import { PostgresChart } from './charts/postgres.ts';
import { PostgresStandaloneChart } from './charts/postgres-standalone.ts';
import { traefikClusterAccess } from './charts/traefik.ts';
import type { PlatformConfig } from './config.ts';
import { CITUS_ENDPOINTS, CNPG_ENDPOINTS, standaloneEndpoints } from './database.ts';

export const CNPG_OPERATOR_NAMESPACE = 'cnpg-system';

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
    metadata: { name: config.namespace, labels: { 'app.kubernetes.io/part-of': 'payment-manager' } },
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
      })
    : new KafkaChart(app, 'kafka', { ...ns, ...config.kafka, clientPodNames: kafkaClients });
  const observability = new ObservabilityChart(app, 'observability', {
    ...ns,
    images: config.images,
    files,
    logsAndDashboards: !standalone,
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
  });
  for (const chart of [database, kafka, observability]) chart.addDependency(namespace);
  application.addDependency(database, kafka, observability);
  gateway.addDependency(application);
  return app;
}

/** The chart of the chosen Postgres topology: Citus, CloudNativePG, or (standalone stack) our own StatefulSets. */
function databaseChart(
  app: App,
  config: PlatformConfig,
  common: { namespace: string; labels: Record<string, string>; clientPodNames: string[] },
): Chart {
  const password = config.devPgPassword;
  if (config.postgres === 'citus')
    return new CitusChart(app, 'citus', {
      ...common,
      image: config.images.citus,
      password,
      workers: config.citusWorkers,
    });
  if (config.stack === 'standalone')
    return new PostgresStandaloneChart(app, 'postgres', {
      ...common,
      image: config.images.postgres,
      instances: config.postgresInstances,
      password,
      synchronous: config.postgresOptions.synchronous,
      tlsSecret: config.postgresOptions.standaloneTlsSecret,
      storageClass: config.storageClass,
      files: { repoRoot: config.repoRoot },
    });
  return new PostgresChart(app, 'postgres', {
    ...common,
    image: config.images.postgres,
    instances: config.postgresInstances,
    password,
    operatorNamespace: CNPG_OPERATOR_NAMESPACE,
    backup: {
      image: config.images.backupStore,
      accessKeyId: 'cloudnative-pg',
      secretAccessKey: config.devBackupSecret,
    },
    options: config.postgresOptions,
  });
}

/** Deletes the manifests a previous synth wrote (only *.k8s.yaml: the directory may be the user's choice). */
export function removeSynthOutput(outdir: string): void {
  if (!existsSync(outdir)) return;
  for (const name of readdirSync(outdir)) if (name.endsWith('.k8s.yaml')) rmSync(join(outdir, name));
}
