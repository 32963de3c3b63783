import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadApiConfig } from '@payment-manager/api/config';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadIngestConfig } from '../../services/ingest/src/config.ts';
import { API, INGEST, MIGRATE, MIGRATE_JOB } from '../src/charts/app.ts';
import { dashboardsPath } from '../src/charts/observability.ts';
import { loadPlatformConfig } from '../src/config.ts';
import { buildPlatform } from '../src/platform.ts';
import { KAFKA_TOPICS } from '../src/topics.ts';
import { crossReferenceProblems, policyViolations, resolveEnv } from './support/checks.ts';
import {
  containersOf,
  id,
  type K8sObject,
  matches,
  podTemplates,
  REPO_ROOT,
  readYamlDir,
  synthPlatform,
} from './support/manifests.ts';
import { coreSchemaErrors, crdSchemas, crdValidator, isCoreApi, validateCnpg } from './support/schema.ts';
import { imageRepository, skaffoldArtifacts } from './support/skaffold.ts';

const CRDS_DIR = process.env.PM_CRDS_DIR ?? join(REPO_ROOT, '../shared/crds');

const VARIANTS = {
  'cnpg (default)': {},
  citus: { PM_POSTGRES: 'citus' },
  'dev profile': { PM_PROFILE: 'dev' },
} as const;

function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`${kind} ${name} not synthesized`);
  return o;
}

describe.each(Object.entries(VARIANTS))('cdk8s platform, %s', (_label, env) => {
  let objects: K8sObject[];
  let warnings: string[];
  beforeAll(() => {
    ({ objects, warnings } = synthPlatform(env));
  });

  it('synthesizes with warnings only about observability files that are not written yet', () => {
    expect(objects.length).toBeGreaterThan(20);
    for (const w of warnings)
      expect(w).toMatch(/deploy\/(otel-collector|tempo|loki|prometheus|grafana)\/.* is missing/);
  });

  it('every core object validates against the Kubernetes schema', async () => {
    expect(objects.filter((o) => isCoreApi(o.apiVersion)).length).toBeGreaterThan(15);
    expect(await coreSchemaErrors(objects)).toEqual([]);
  });

  it('every object lives in the platform namespace', () => {
    const stray = objects.filter((o) => o.kind !== 'Namespace' && o.metadata.namespace !== 'payment-manager').map(id);
    expect(stray).toEqual([]);
  });

  it('passes the workload policy (resources, probes, non-root, read-only FS, pinned images, PDB)', () => {
    expect(podTemplates(objects).length).toBeGreaterThan(4);
    expect(policyViolations(objects)).toEqual([]);
  });

  it('cross-references resolve (selectors, ports, probes, ConfigMap/Secret keys, ingress, RBAC)', () => {
    expect(crossReferenceProblems(objects)).toEqual([]);
  });

  it('our images are exactly the skaffold artifacts', () => {
    const ours = new Set(
      [
        ...podTemplates(objects).flatMap((p) => containersOf(p.spec).map((c) => c.image as string)),
        ...objects.filter((o) => o.kind === 'Cluster').map((o) => o.spec.imageName as string),
      ]
        .filter((image) => image.startsWith('payment-manager/'))
        .map(imageRepository),
    );
    const artifacts = skaffoldArtifacts();
    for (const image of ours) expect(artifacts).toContain(image);
    expect(ours).toContain('payment-manager/api');
    expect(ours).toContain('payment-manager/ingest');
  });

  it('the API, its migrations Job and ingest get every variable their config loaders require', () => {
    const api = resolveEnv(objects, find(objects, 'Deployment', API), API);
    const apiConfig = loadApiConfig(api);
    expect(apiConfig.webhookMode).toBe('kafka');
    const migrate = resolveEnv(objects, find(objects, 'Job', MIGRATE_JOB), MIGRATE);
    expect(migrate.PG_URL).toBe(api.PG_URL);
    const ingest = loadIngestConfig(resolveEnv(objects, find(objects, 'Deployment', INGEST), INGEST));
    expect(ingest.webhookMode).toBe('kafka');
    for (const e of [api, resolveEnv(objects, find(objects, 'Deployment', INGEST), INGEST)]) {
      expect(e.OTEL_EXPORTER_OTLP_ENDPOINT).toBe('http://otel-collector:4318');
      expect(e.OTEL_SERVICE_NAME).toMatch(/^payment-manager-/);
      expect(e.OTEL_RESOURCE_ATTRIBUTES).toContain('k8s.pod.name=<metadata.name>');
    }
    expect(find(objects, 'Service', 'otel-collector').spec.ports.map((p: { port: number }) => p.port)).toContain(4318);
  });

  it('PG_URL / PG_REPLICA_URL point at the database services of the chosen topology', () => {
    const api = resolveEnv(objects, find(objects, 'Deployment', API), API);
    const cluster = objects.find((o) => o.kind === 'Cluster');
    if (cluster) {
      expect(new URL(api.PG_URL as string).host).toBe(`${cluster.metadata.name}-rw:5432`);
      expect(new URL(api.PG_REPLICA_URL as string).host).toBe(`${cluster.metadata.name}-ro:5432`);
      expect(cluster.spec.instances).toBeGreaterThanOrEqual(2);
      expect(cluster.spec.bootstrap.initdb.secret.name).toBe(
        find(objects, 'Deployment', API).spec.template.spec.containers[0].env.find(
          (e: { name: string }) => e.name === 'DB_USER',
        ).valueFrom.secretKeyRef.name,
      );
      expect(cluster.spec.bootstrap.initdb.postInitApplicationSQL.join(' ')).toContain(
        'CREATE EXTENSION IF NOT EXISTS pg_partman',
      );
    } else {
      const coordinator = find(objects, 'StatefulSet', 'citus-coordinator');
      expect(new URL(api.PG_URL as string).host).toBe(`${coordinator.spec.serviceName}:5432`);
      expect(api.PG_REPLICA_URL).toBeUndefined();
      expect(find(objects, 'StatefulSet', 'citus-worker').spec.replicas).toBeGreaterThanOrEqual(2);
    }
    expect(new URL(api.PG_URL as string).username).toBe('payments');
  });

  it('KAFKA_BROKERS is the Strimzi bootstrap service; the topics of spec §11.1 exist with their partitions', () => {
    const kafka = objects.find((o) => o.kind === 'Kafka') as K8sObject;
    expect(kafka.metadata.annotations?.['strimzi.io/kraft']).toBe('enabled');
    const pools = objects.filter((o) => o.kind === 'KafkaNodePool');
    expect(pools.flatMap((p) => p.spec.roles).sort()).toEqual(['broker', 'controller']);
    for (const p of pools) expect(p.metadata.labels?.['strimzi.io/cluster']).toBe(kafka.metadata.name);
    const api = resolveEnv(objects, find(objects, 'Deployment', API), API);
    expect(api.KAFKA_BROKERS).toBe(`${kafka.metadata.name}-kafka-bootstrap:9092`);
    const topics = objects.filter((o) => o.kind === 'KafkaTopic');
    expect(topics.map((t) => [t.spec.topicName, t.spec.partitions]).sort()).toEqual(
      KAFKA_TOPICS.map((t) => [t.name, t.partitions]).sort(),
    );
    expect(topics.find((t) => t.spec.topicName === 'webhooks.orders')?.spec.partitions).toBe(3);
    expect(topics.find((t) => t.spec.topicName === 'webhooks.disputes')?.spec.partitions).toBe(3);
    for (const t of topics) expect(t.metadata.labels?.['strimzi.io/cluster']).toBe(kafka.metadata.name);
    const names = topics.map((t) => t.spec.topicName);
    for (const key of [
      'KAFKA_ORDERS_TOPIC',
      'KAFKA_DISPUTES_TOPIC',
      'KAFKA_ORDERS_DLQ_TOPIC',
      'KAFKA_DISPUTES_DLQ_TOPIC',
    ])
      expect(names).toContain(api[key]);
  });

  it('only the API and ingest may reach Kafka; only the API and migrations may reach Postgres', () => {
    const kafka = objects.find((o) => o.kind === 'Kafka') as K8sObject;
    const peers = kafka.spec.kafka.listeners.flatMap(
      (l: { networkPolicyPeers?: unknown[] }) => l.networkPolicyPeers ?? [],
    );
    const podsOf = (name: string) => podTemplates(objects).filter((p) => p.owner.metadata.name === name);
    const admitted = (peer: { podSelector?: { matchLabels: Record<string, string> } }[], name: string) =>
      podsOf(name).every((p) => peer.some((x) => matches(x.podSelector?.matchLabels, p.labels)));
    expect(peers.length).toBe(2);
    expect(admitted(peers, API) && admitted(peers, INGEST)).toBe(true);
    expect(admitted(peers, MIGRATE_JOB)).toBe(false);

    const dbPolicies = objects.filter(
      (o) => o.kind === 'NetworkPolicy' && /postgres|citus-coordinator/.test(o.metadata.name),
    );
    expect(dbPolicies.length).toBe(1);
    const from = dbPolicies[0]?.spec.ingress.flatMap((r: { from: unknown[] }) => r.from);
    expect(admitted(from, API) && admitted(from, MIGRATE_JOB)).toBe(true);
    expect(admitted(from, INGEST)).toBe(false);
  });

  it('API pods start only after the migrations Job: the init container waits for that Job', () => {
    const api = find(objects, 'Deployment', API);
    const init = api.spec.template.spec.initContainers?.[0];
    expect(init.command.join(' ')).toContain(`--for=condition=complete job/${MIGRATE_JOB}`);
    const job = find(objects, 'Job', MIGRATE_JOB);
    expect(job.spec.template.spec.containers[0].args).toEqual(['node', 'services/api/src/migrate.ts']);
    const role = objects.find(
      (o) => o.kind === 'Role' && o.rules.some((r: { resources: string[] }) => r.resources.includes('jobs')),
    );
    expect(role?.rules[0].verbs).toEqual(expect.arrayContaining(['get', 'watch']));
    expect(api.spec.template.spec.serviceAccountName).toBe(API);
  });

  it('the nginx ingress routes /webhooks/* to ingest', () => {
    const ingress = find(objects, 'Ingress', 'webhooks');
    expect(ingress.spec.ingressClassName).toBe('nginx');
    const paths = ingress.spec.rules.flatMap((r: { http: { paths: unknown[] } }) => r.http.paths);
    expect(paths).toEqual([
      { path: '/webhooks', pathType: 'Prefix', backend: { service: { name: INGEST, port: { number: 3001 } } } },
    ]);
  });

  it('the service construct wires probes, /tmp, PDB and HPA for the API and ingest', () => {
    for (const name of [API, INGEST]) {
      const c = find(objects, 'Deployment', name).spec.template.spec.containers[0];
      expect(c.livenessProbe.httpGet.path).toBe('/health/live');
      expect(c.readinessProbe.httpGet.path).toBe('/health/ready');
      expect(c.volumeMounts.map((m: { mountPath: string }) => m.mountPath)).toContain('/tmp');
      expect(find(objects, 'HorizontalPodAutoscaler', name).spec.scaleTargetRef.name).toBe(name);
      expect(find(objects, 'PodDisruptionBudget', name).spec.maxUnavailable).toBe(1);
    }
  });
});

describe('custom resources against their operators’ schemas', () => {
  const { objects } = synthPlatform();
  const crdDocs = readYamlDir(CRDS_DIR);
  const schemas = crdSchemas(crdDocs);

  it('the CloudNativePG Cluster validates against @kubernetes-models/cloudnative-pg', async () => {
    const clusters = objects.filter((o) => o.apiVersion.startsWith('postgresql.cnpg.io/'));
    expect(clusters.length).toBe(1);
    for (const c of clusters) expect(await validateCnpg(c)).toBeNull();
  });

  it('an invalid CNPG Cluster is rejected (the validator is live)', async () => {
    const cluster = objects.find((o) => o.kind === 'Cluster') as K8sObject;
    expect(await validateCnpg({ ...cluster, spec: { ...cluster.spec, instances: 'three' } })).not.toBeNull();
  });

  const operators: Array<[operator: string, group: string, kinds: string[]]> = [
    ['Strimzi', 'kafka.strimzi.io', ['Kafka', 'KafkaNodePool', 'KafkaTopic']],
    ['CloudNativePG', 'postgresql.cnpg.io', ['Cluster']],
  ];
  it.for(operators)(
    '%s resources validate against the operator’s CRDs (../shared/crds or $PM_CRDS_DIR)',
    ([operator, group, kinds], ctx) => {
      const ofGroup = schemas.filter((s) => s.group === group);
      if (ofGroup.length === 0)
        ctx.skip(
          `no ${operator} CustomResourceDefinitions (group ${group}) in ${CRDS_DIR}; set PM_CRDS_DIR to the operator's CRD YAML to run this`,
        );
      const validate = crdValidator(ofGroup);
      const resources = objects.filter((o) => o.apiVersion.startsWith(`${group}/`));
      expect([...new Set(resources.map((o) => o.kind))].sort()).toEqual(kinds);
      const problems = resources.map((o) => [id(o), validate(o)] as const).filter(([, result]) => result !== null);
      // undefined = the directory has this operator's CRDs but not the one for this kind/version.
      expect(problems.map(([where, result]) => `${where}: ${result ?? 'no CRD for this kind/version'}`)).toEqual([]);
    },
  );
});

describe('observability files mounted from the repo', () => {
  it('each file becomes a non-empty ConfigMap mounted by its component', () => {
    const { objects, warnings } = synthPlatform();
    expect(warnings).toEqual([]);
    const configMaps = objects.filter(
      (o) => o.kind === 'ConfigMap' && /otel|tempo|loki|prometheus|grafana/.test(o.metadata.name),
    );
    expect(configMaps.map((c) => c.metadata.name).sort()).toEqual([
      'grafana-dashboards',
      'grafana-provisioning-dashboards',
      'grafana-provisioning-datasources',
      'loki-config',
      'otel-collector-config',
      'prometheus-config',
      'tempo-config',
    ]);
    for (const cm of configMaps) expect(Object.keys(cm.data ?? {}).length, cm.metadata.name).toBeGreaterThan(0);
    const mounts = podTemplates(objects).flatMap((p) =>
      (p.spec.volumes ?? []).map((v: { configMap?: { name: string } }) => v.configMap?.name),
    );
    for (const cm of configMaps) expect(mounts).toContain(cm.metadata.name);
  });

  it('every host:port the configs point at (exporters, datasources, scrape targets, remote write) is a Service port', () => {
    const { objects } = synthPlatform();
    const texts = objects
      .filter((o) => o.kind === 'ConfigMap' && /otel|tempo|loki|prometheus|grafana-provisioning/.test(o.metadata.name))
      .flatMap((o) => Object.values(o.data ?? {}) as string[])
      // ${env:NAME:-default} (collector), ${NAME:-default} (Tempo): Kubernetes sets no override, so the default applies.
      .map((t) => t.replace(/\$\{(?:env:)?[A-Z_]+:-([^}]+)\}/g, '$1'));
    const targets = new Set<string>();
    for (const text of texts)
      for (const m of text.matchAll(/(?:https?:\/\/|["'\s[])([a-z][a-z0-9-]*):(\d{2,5})\b/g))
        if (!['localhost'].includes(m[1] as string)) targets.add(`${m[1]}:${m[2]}`);
    expect([...targets]).toEqual(
      expect.arrayContaining(['tempo:4317', 'loki:3100', 'prometheus:9090', 'tempo:3200', 'api:3000', 'ingest:3001']),
    );
    const unresolved = [...targets].filter((t) => {
      const [host, port] = t.split(':');
      const svc = objects.find((o) => o.kind === 'Service' && o.metadata.name === host);
      return !svc?.spec.ports.some((p: { port: number }) => p.port === Number(port));
    });
    expect(unresolved).toEqual([]);
  });

  it('the collector exposes the health_check extension its probes use; Grafana finds the dashboards', () => {
    const { objects } = synthPlatform();
    const collector = parse(find(objects, 'ConfigMap', 'otel-collector-config').data['config.yaml']);
    expect(collector.service.extensions).toContain('health_check');
    expect(collector.extensions.health_check.endpoint).toMatch(/:13133$/);
    const probe = find(objects, 'Deployment', 'otel-collector').spec.template.spec.containers[0].readinessProbe;
    expect(probe.httpGet.port).toBe(13133);
    const grafana = find(objects, 'Deployment', 'grafana').spec.template.spec.containers[0];
    const dashboardsMount = grafana.volumeMounts.find((m: { name: string }) => m.name === 'grafana-dashboards');
    expect(dashboardsMount.mountPath).toBe(
      dashboardsPath(find(objects, 'ConfigMap', 'grafana-provisioning-dashboards').data),
    );
  });

  it('refuses to synthesize when a mounted file is missing', () => {
    const emptyRepo = mkdtempSync(join(tmpdir(), 'pm-cdk8s-'));
    const config = loadPlatformConfig({ PM_IMAGE_TAG: 'test', PM_WEBHOOK_SECRET: 'whsec_dGVzdA==' }, emptyRepo);
    expect(() => buildPlatform(config, { outdir: join(emptyRepo, 'dist') })).toThrow(/is missing/);
    rmSync(emptyRepo, { recursive: true, force: true });
  });
});
