import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { App, Chart, type YamlOutputType } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { API, AppChart, BODY_LIMIT_BYTES, INGEST } from './charts/app.ts';
import { CitusChart } from './charts/citus.ts';
import { GatewayChart, webhookGatewayClass } from './charts/gateway.ts';
import { KafkaChart } from './charts/kafka.ts';
import { ObservabilityChart } from './charts/observability.ts';
import { PostgresChart } from './charts/postgres.ts';
import type { PlatformConfig } from './config.ts';
import { CITUS_ENDPOINTS, CNPG_ENDPOINTS } from './database.ts';

export const CNPG_OPERATOR_NAMESPACE = 'cnpg-system';

export interface PlatformOptions {
  outdir?: string;
  yamlOutputType?: YamlOutputType;
  warn?: (message: string) => void;
}

/**
 * The whole platform as one cdk8s App, one chart per concern. Charts are ordered by dependency so that
 * the FILE_PER_CHART output (0000-namespace…, 0001-…) applies in a working order.
 */
export function buildPlatform(config: PlatformConfig, options: PlatformOptions = {}): App {
  const app = new App({ outdir: options.outdir ?? 'dist', yamlOutputType: options.yamlOutputType });
  const ns = { namespace: config.namespace, labels: { 'app.kubernetes.io/part-of': 'payment-manager' } };
  const files = { repoRoot: config.repoRoot };

  // Cluster-scoped objects: the namespace and the GatewayClass.
  const namespace = new Chart(app, 'namespace');
  new k8s.KubeNamespace(namespace, 'ns', {
    metadata: { name: config.namespace, labels: { 'app.kubernetes.io/part-of': 'payment-manager' } },
  });
  webhookGatewayClass(namespace);

  const dbClients = [API];
  const database =
    config.postgres === 'citus'
      ? new CitusChart(app, 'citus', {
          ...ns,
          image: config.images.citus,
          password: config.devPgPassword,
          workers: config.citusWorkers,
          clientPodNames: dbClients,
        })
      : new PostgresChart(app, 'postgres', {
          ...ns,
          image: config.images.postgres,
          instances: config.postgresInstances,
          password: config.devPgPassword,
          clientPodNames: dbClients,
          operatorNamespace: CNPG_OPERATOR_NAMESPACE,
          backup: {
            image: config.images.backupStore,
            accessKeyId: 'cloudnative-pg',
            secretAccessKey: config.devBackupSecret,
          },
        });
  const kafka = new KafkaChart(app, 'kafka', { ...ns, ...config.kafka, clientPodNames: [API, INGEST] });
  const observability = new ObservabilityChart(app, 'observability', { ...ns, images: config.images, files });
  const application = new AppChart(app, 'app', {
    ...ns,
    config,
    database: config.postgres === 'citus' ? CITUS_ENDPOINTS : CNPG_ENDPOINTS,
  });
  const gateway = new GatewayChart(app, 'gateway', {
    ...ns,
    host: config.gatewayHost,
    backend: { name: INGEST, port: 3001 },
    bodyLimitBytes: BODY_LIMIT_BYTES,
    nodePort: config.gatewayNodePort,
  });
  for (const chart of [database, kafka, observability]) chart.addDependency(namespace);
  application.addDependency(database, kafka, observability);
  gateway.addDependency(application);
  return app;
}

/** Deletes the manifests a previous synth wrote (only *.k8s.yaml: the directory may be the user's choice). */
export function removeSynthOutput(outdir: string): void {
  if (!existsSync(outdir)) return;
  for (const name of readdirSync(outdir)) if (name.endsWith('.k8s.yaml')) rmSync(join(outdir, name));
}
