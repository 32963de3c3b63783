import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadApiConfig } from '@payment-manager/api/config';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadIngestConfig } from '../../services/ingest/src/config.ts';
import { API, BODY_LIMIT_BYTES, INGEST, MIGRATE_ARGS } from '../src/charts/app.ts';
import { GATEWAY_NAMESPACE, GATEWAY_RATE_LIMIT_PER_MINUTE, REDIRECT_ROUTE } from '../src/charts/gateway.ts';
import { dashboardsPath } from '../src/charts/observability.ts';
import { loadPlatformConfig } from '../src/config.ts';
import { PG_CA_KEY, PG_CA_SECRET } from '../src/database.ts';
import { KAFKA_USERS } from '../src/kafka-access.ts';
import { buildPlatform } from '../src/platform.ts';
import { KAFKA_TOPICS, KAFKA_VERSION } from '../src/topics.ts';
import { crossReferenceProblems, EXTERNAL_SECRETS, policyViolations, resolveEnv } from './support/checks.ts';
import { gatewayCrdsDir } from './support/crds.ts';
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

const CRDS_DIR = process.env.PM_CRDS_DIR ?? join(REPO_ROOT, '../shared/crds-next');
/** Cluster-scoped kinds we emit (no namespace). */
const CLUSTER_SCOPED = ['Namespace', 'GatewayClass'];

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
    ({ objects, warnings } = synthPlatform(env, { deployed: true }));
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
    const stray = objects
      .filter((o) => !CLUSTER_SCOPED.includes(o.kind) && o.metadata.namespace !== 'payment-manager')
      .map(id);
    expect(stray).toEqual([]);
    for (const o of objects.filter((x) => CLUSTER_SCOPED.includes(x.kind)))
      expect(o.metadata.namespace).toBeUndefined();
  });

  it('passes the workload policy (resources, probes, non-root, read-only FS, pinned images, PDB)', () => {
    expect(podTemplates(objects).length).toBeGreaterThan(4);
    expect(policyViolations(objects)).toEqual([]);
  });

  it('cross-references resolve (selectors, ports, probes, ConfigMap/Secret keys, ingress, RBAC)', () => {
    // CloudNativePG makes the cluster's CA Secret, which the API mounts for verify-full.
    expect(
      crossReferenceProblems(objects, { externalSecrets: { ...EXTERNAL_SECRETS, [PG_CA_SECRET]: [PG_CA_KEY] } }),
    ).toEqual([]);
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

  it('the API and ingest get every variable their config loaders require', () => {
    const api = resolveEnv(objects, find(objects, 'Deployment', API), API);
    const apiConfig = loadApiConfig(api);
    expect(apiConfig.webhookMode).toBe('kafka');
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
      // The owner CloudNativePG bootstraps is the role that migrates, in the API pod's init container
      // (docs/data-tier.md#roles).
      expect(cluster.spec.bootstrap.initdb.secret.name).toBe(
        find(objects, 'Deployment', API).spec.template.spec.initContainers[0].env.find(
          (e: { name: string }) => e.name === 'DB_OWNER_USER',
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
    // With CloudNativePG the API runs as its read/write role and migrates in its init container as the owner;
    // Citus has one role (docs/data-tier.md#roles).
    const deployment = find(objects, 'Deployment', API);
    const migrateEnv = deployment.spec.template.spec.initContainers
      ? resolveEnv(objects, deployment, 'migrate')
      : { PG_MIGRATION_URL: api.PG_URL };
    expect(new URL(migrateEnv.PG_MIGRATION_URL as string).username).toBe('payments');
  });

  it('Kafka: Strimzi v1 with KRaft node pools, three nodes with RF 3 / min ISR 2 outside dev, one in dev', () => {
    const kafka = objects.find((o) => o.kind === 'Kafka') as K8sObject;
    expect(kafka.apiVersion).toBe('kafka.strimzi.io/v1');
    expect(kafka.spec.kafka.version).toBe(KAFKA_VERSION);
    expect(KAFKA_VERSION).toBe('4.3.0');
    const pools = objects.filter((o) => o.kind === 'KafkaNodePool');
    expect(pools.flatMap((p) => p.spec.roles).sort()).toEqual(['broker', 'controller']);
    const brokers = pools.filter((p) => p.spec.roles.includes('broker')).reduce((n, p) => n + p.spec.replicas, 0);
    const dev = _label === 'dev profile';
    const [replication, minInSync] = dev ? [1, 1] : [3, 2];
    expect(brokers).toBe(replication);
    expect(kafka.spec.kafka.config['default.replication.factor']).toBe(replication);
    expect(kafka.spec.kafka.config['min.insync.replicas']).toBe(minInSync);
    expect(kafka.spec.kafka.config['offsets.topic.replication.factor']).toBe(replication);
    for (const t of objects.filter((o) => o.kind === 'KafkaTopic')) {
      expect(t.spec.replicas).toBe(replication);
      expect(t.spec.config['min.insync.replicas']).toBe(minInSync);
    }
    // Producers wait for all in-sync replicas, without duplicates on retry (kafkajs: idempotent implies acks=all).
    const ingest = resolveEnv(objects, find(objects, 'Deployment', INGEST), INGEST);
    expect(loadIngestConfig(ingest).kafka.idempotentProducer).toBe(true);
  });

  it('KAFKA_BROKERS is the Strimzi bootstrap service; the topics of docs/kafka.md#topics exist with their partitions', () => {
    const kafka = objects.find((o) => o.kind === 'Kafka') as K8sObject;
    const pools = objects.filter((o) => o.kind === 'KafkaNodePool');
    for (const p of pools) expect(p.metadata.labels?.['strimzi.io/cluster']).toBe(kafka.metadata.name);
    const api = resolveEnv(objects, find(objects, 'Deployment', API), API);
    expect(api.KAFKA_BROKERS).toBe(`${kafka.metadata.name}-kafka-bootstrap:9093`);
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

  it('Kafka: one TLS listener with SCRAM-SHA-512, simple authorization, a KafkaUser per service with its ACLs', () => {
    const kafka = objects.find((o) => o.kind === 'Kafka') as K8sObject;
    expect(kafka.spec.kafka.listeners).toEqual([
      expect.objectContaining({ port: 9093, tls: true, authentication: { type: 'scram-sha-512' } }),
    ]);
    expect(kafka.spec.kafka.authorization).toEqual({ type: 'simple' });
    expect(kafka.spec.entityOperator.userOperator).toBeDefined();
    const users = objects.filter((o) => o.kind === 'KafkaUser');
    expect(users.map((u) => u.metadata.name).sort()).toEqual(Object.values(KAFKA_USERS).sort());
    const aclsOf = (name: string) =>
      (users.find((u) => u.metadata.name === name)?.spec.authorization.acls ?? []) as Array<{
        resource: { type: string; name?: string };
        operations: string[];
      }>;
    const rights = (name: string, type: string, resource?: string) =>
      aclsOf(name)
        .filter((a) => a.resource.type === type && a.resource.name === resource)
        .flatMap((a) => a.operations)
        .sort();
    for (const u of users) {
      expect(u.metadata.labels?.['strimzi.io/cluster']).toBe(kafka.metadata.name);
      expect(u.spec.authentication).toEqual({ type: 'scram-sha-512' });
    }
    // Ingest publishes and nothing else; the API consumes in its groups and writes only the dead letters.
    expect(rights(KAFKA_USERS.ingest, 'topic', 'webhooks.orders')).toEqual(['Describe', 'Write']);
    expect(rights(KAFKA_USERS.ingest, 'topic', 'webhooks.orders.dlq')).toEqual([]);
    expect(aclsOf(KAFKA_USERS.ingest).filter((a) => a.resource.type === 'group')).toEqual([]);
    expect(rights(KAFKA_USERS.api, 'topic', 'webhooks.orders')).toEqual(['Describe', 'Read']);
    expect(rights(KAFKA_USERS.api, 'topic', 'webhooks.orders.dlq')).toEqual(['Describe', 'Write']);
    expect(rights(KAFKA_USERS.api, 'group', 'payment-app-orders')).toEqual(['Read']);

    // Each service logs in as its own user with the Secrets Strimzi writes, over TLS with the cluster CA.
    for (const [service, user] of [
      [API, KAFKA_USERS.api],
      [INGEST, KAFKA_USERS.ingest],
    ] as const) {
      const deployment = find(objects, 'Deployment', service);
      const env = resolveEnv(objects, deployment, service);
      expect(env).toMatchObject({ KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: user });
      const refs = Object.fromEntries(
        containersOf(podTemplates([deployment])[0]?.spec ?? {})
          .flatMap((c) => c.env ?? [])
          .filter((e: { valueFrom?: unknown }) => e.valueFrom)
          .map((e: { name: string; valueFrom: { secretKeyRef?: unknown } }) => [e.name, e.valueFrom.secretKeyRef]),
      );
      expect(refs.KAFKA_SASL_PASSWORD).toEqual({ name: user, key: 'password' });
      expect(refs.KAFKA_SSL_CA_PEM).toEqual({ name: `${kafka.metadata.name}-cluster-ca-cert`, key: 'ca.crt' });
      const loaded = service === API ? loadApiConfig(env).kafka.security : loadIngestConfig(env).kafka.security;
      expect(loaded?.tls?.ca).toContain('BEGIN CERTIFICATE');
      expect(loaded?.sasl).toMatchObject({ mechanism: 'scram-sha-512', username: user });
    }
  });

  it('dev profile: CloudNativePG backs up (WAL archive + daily base backup) to the in-cluster dev store', () => {
    const cluster = objects.find((o) => o.kind === 'Cluster');
    if (!cluster?.spec.backup) {
      // Only the dev profile has the in-cluster store; an object store by reference: postgres-security.test.ts.
      expect(_label).not.toBe('dev profile');
      return;
    }
    const store = cluster.spec.backup.barmanObjectStore;
    const endpoint = new URL(store.endpointURL);
    const service = find(objects, 'Service', endpoint.hostname);
    expect(service.spec.ports.map((p: { port: number }) => p.port)).toContain(Number(endpoint.port));
    const secret = find(objects, 'Secret', store.s3Credentials.accessKeyId.name);
    expect(Object.keys(secret.stringData)).toEqual(
      expect.arrayContaining([store.s3Credentials.accessKeyId.key, store.s3Credentials.secretAccessKey.key]),
    );
    expect(store.wal.compression).toBe('gzip');
    const scheduled = find(objects, 'ScheduledBackup', `${cluster.metadata.name}-daily`);
    expect(scheduled.spec).toMatchObject({ cluster: { name: cluster.metadata.name }, method: 'barmanObjectStore' });
    // The store keeps its data on a claim, and only the PostgreSQL instances may reach it.
    const deployment = find(objects, 'Deployment', endpoint.hostname);
    expect(
      deployment.spec.template.spec.volumes.map((v: { persistentVolumeClaim?: unknown }) => v.persistentVolumeClaim),
    ).toContainEqual({
      claimName: `${endpoint.hostname}-data`,
    });
    const netpol = find(objects, 'NetworkPolicy', endpoint.hostname);
    expect(netpol.spec.ingress[0].from).toEqual([
      { podSelector: { matchLabels: { 'cnpg.io/cluster': cluster.metadata.name } } },
    ]);
  });

  it('only the API and ingest may reach Kafka; only the API may reach Postgres', () => {
    const kafka = objects.find((o) => o.kind === 'Kafka') as K8sObject;
    const peers = kafka.spec.kafka.listeners.flatMap(
      (l: { networkPolicyPeers?: unknown[] }) => l.networkPolicyPeers ?? [],
    );
    const podsOf = (name: string) => podTemplates(objects).filter((p) => p.owner.metadata.name === name);
    const admitted = (peer: { podSelector?: { matchLabels: Record<string, string> } }[], name: string) =>
      podsOf(name).every((p) => peer.some((x) => matches(x.podSelector?.matchLabels, p.labels)));
    expect(peers.length).toBe(2);
    expect(admitted(peers, API) && admitted(peers, INGEST)).toBe(true);

    const dbPolicies = objects.filter(
      (o) =>
        o.kind === 'NetworkPolicy' &&
        o.spec.policyTypes.includes('Ingress') &&
        /postgres|citus-coordinator/.test(o.metadata.name),
    );
    expect(dbPolicies.length).toBe(1);
    const from = dbPolicies[0]?.spec.ingress.flatMap((r: { from: unknown[] }) => r.from);
    expect(admitted(from, API)).toBe(true);
    expect(admitted(from, INGEST)).toBe(false);
  });

  it('one migration mechanism: each API pod migrates before its API starts; no pod of a new version is ready before that', () => {
    const migrating = (o: K8sObject) =>
      containersOf(o.spec.template.spec).some((c) => (c.args ?? []).join(' ').includes('migrate'));
    expect(objects.filter((o) => o.kind === 'Job' && migrating(o)).map(id)).toEqual([]);
    const api = find(objects, 'Deployment', API);
    const pod = api.spec.template.spec;
    const env = resolveEnv(objects, api, API);
    if (objects.some((o) => o.kind === 'Cluster')) {
      // Service roles: the init container migrates as the owner, the API container skips it (docs/data-tier.md#roles).
      expect(pod.initContainers.map((c: { name: string; args: string[] }) => [c.name, c.args])).toEqual([
        ['migrate', MIGRATE_ARGS],
      ]);
      expect(env.MIGRATE_ON_START).toBe('false');
    } else {
      // One role (Citus): the API migrates at start-up.
      expect(pod.initContainers ?? []).toEqual([]);
      expect(env.MIGRATE_ON_START).toBeUndefined();
    }
    const c = pod.containers[0];
    expect(c.args).toContain('services/api/src/main.ts');
    // The process listens only after migrations (services/api/src/server.ts), so probes gate the rollout.
    expect(c.readinessProbe.httpGet.path).toBe('/health/ready');
    expect(c.startupProbe.periodSeconds * c.startupProbe.failureThreshold).toBeGreaterThanOrEqual(600);
    // Rolling update: old pods are removed only as new ones become ready.
    expect(api.spec.strategy?.type ?? 'RollingUpdate').toBe('RollingUpdate');
    expect(pod.automountServiceAccountToken).toBe(false);
  });

  it('the Gateway routes /webhooks/* to ingest with a body limit and timeouts at the edge', () => {
    const gateway = find(objects, 'Gateway', 'webhooks');
    expect(find(objects, 'GatewayClass', gateway.spec.gatewayClassName).spec.controllerName).toBe(
      'gateway.envoyproxy.io/gatewayclass-controller',
    );
    // HTTPS with cert-manager's certificate by default; plain HTTP only redirects to it.
    expect(gateway.spec.listeners).toEqual([
      { name: 'http', protocol: 'HTTP', port: 80, allowedRoutes: { namespaces: { from: 'Same' } } },
      {
        name: 'https',
        protocol: 'HTTPS',
        port: 443,
        tls: { mode: 'Terminate', certificateRefs: [{ kind: 'Secret', name: 'webhooks-tls' }] },
        allowedRoutes: { namespaces: { from: 'Same' } },
      },
    ]);
    const route = find(objects, 'HTTPRoute', 'webhooks');
    expect(route.spec.parentRefs).toEqual([{ name: 'webhooks', sectionName: 'https' }]);
    expect(find(objects, 'HTTPRoute', REDIRECT_ROUTE).spec).toEqual({
      parentRefs: [{ name: 'webhooks', sectionName: 'http' }],
      rules: [{ filters: [{ type: 'RequestRedirect', requestRedirect: { scheme: 'https', statusCode: 301 } }] }],
    });
    expect(find(objects, 'Certificate', 'webhooks-tls').spec.secretName).toBe('webhooks-tls');
    expect(route.spec.rules).toEqual([
      {
        matches: [{ path: { type: 'PathPrefix', value: '/webhooks' } }],
        backendRefs: [{ name: INGEST, port: 3001 }],
        timeouts: { request: '15s', backendRequest: '10s' },
      },
    ]);
    const backendPolicy = find(objects, 'BackendTrafficPolicy', 'webhooks');
    expect(backendPolicy.spec.targetRefs).toEqual([
      { group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'webhooks' },
    ]);
    expect(Number(backendPolicy.spec.requestBuffer.limit)).toBe(BODY_LIMIT_BYTES);
    // One budget per client address at the edge (a Distinct source CIDR), as ingest counts per source behind it.
    expect(backendPolicy.spec.rateLimit.local.rules).toEqual([
      {
        clientSelectors: [{ sourceCIDR: { type: 'Distinct', value: '0.0.0.0/0' } }],
        limit: { requests: GATEWAY_RATE_LIMIT_PER_MINUTE, unit: 'Minute' },
      },
    ]);
    const ingest = resolveEnv(objects, find(objects, 'Deployment', INGEST), INGEST);
    expect(Number(ingest.BODY_LIMIT_BYTES)).toBe(BODY_LIMIT_BYTES);
    const clientPolicy = find(objects, 'ClientTrafficPolicy', 'webhooks');
    expect(clientPolicy.spec.targetRefs).toEqual([
      { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'webhooks' },
    ]);
    expect(clientPolicy.spec.timeout.http.requestReceivedTimeout).toBe('10s');
    // kind maps node port 30080 to localhost:80 (deploy/kind/cluster.yaml).
    const proxy = find(objects, 'EnvoyProxy', gateway.spec.infrastructure.parametersRef.name);
    expect(proxy.spec.provider.kubernetes.envoyService.patch.value.spec.ports).toEqual([
      { port: 80, nodePort: 30080 },
      { port: 443, nodePort: 30443 },
    ]);
    // Only the Gateway's Envoy proxies (and Prometheus) reach ingest.
    const netpol = find(objects, 'NetworkPolicy', INGEST);
    expect(netpol.spec.ingress[0].from[0].namespaceSelector.matchLabels['kubernetes.io/metadata.name']).toBe(
      GATEWAY_NAMESPACE,
    );
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
  const crdDocs = [...readYamlDir(CRDS_DIR), ...readYamlDir(gatewayCrdsDir())];
  const schemas = crdSchemas(crdDocs);

  it('the CloudNativePG Cluster validates against @kubernetes-models/cloudnative-pg', async () => {
    const clusters = objects.filter((o) => o.apiVersion.startsWith('postgresql.cnpg.io/') && o.kind === 'Cluster');
    expect(clusters.length).toBe(1);
    for (const c of clusters) expect(await validateCnpg(c)).toBeNull();
  });

  it('an invalid CNPG Cluster is rejected (the validator is live)', async () => {
    const cluster = objects.find((o) => o.kind === 'Cluster') as K8sObject;
    expect(await validateCnpg({ ...cluster, spec: { ...cluster.spec, instances: 'three' } })).not.toBeNull();
  });

  const operators: Array<[operator: string, group: string, kinds: string[]]> = [
    ['Strimzi', 'kafka.strimzi.io', ['Kafka', 'KafkaNodePool', 'KafkaTopic', 'KafkaUser']],
    // Without a backup destination the default synth has no ScheduledBackup: postgres-security.test.ts validates it.
    ['CloudNativePG', 'postgresql.cnpg.io', ['Cluster']],
    ['Gateway API', 'gateway.networking.k8s.io', ['Gateway', 'GatewayClass', 'HTTPRoute']],
    ['Envoy Gateway', 'gateway.envoyproxy.io', ['BackendTrafficPolicy', 'ClientTrafficPolicy', 'EnvoyProxy']],
    ['cert-manager', 'cert-manager.io', ['Certificate', 'Issuer']],
  ];
  it.for(operators)(
    '%s resources validate against the CRDs (../shared/crds-next or $PM_CRDS_DIR; Envoy Gateway’s and cert-manager’s from deploy/crds)',
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
    expect([...targets]).toEqual(expect.arrayContaining(['tempo:4317', 'loki:3100', 'prometheus:9090', 'tempo:3200']));
    const unresolved = [...targets].filter((t) => {
      const [host, port] = t.split(':');
      const svc = objects.find((o) => o.kind === 'Service' && o.metadata.name === host);
      return !svc?.spec.ports.some((p: { port: number }) => p.port === Number(port));
    });
    expect(unresolved).toEqual([]);
  });

  it('Prometheus scrapes every API and ingest pod, found through the Kubernetes API with its own account', () => {
    const { objects } = synthPlatform();
    const config = parse(find(objects, 'ConfigMap', 'prometheus-config').data['prometheus.yml']);
    const pods = config.scrape_configs.find((j: { kubernetes_sd_configs?: unknown }) => j.kubernetes_sd_configs);
    expect(pods.kubernetes_sd_configs).toEqual([{ role: 'pod', namespaces: { own_namespace: true } }]);
    const keep = pods.relabel_configs.find(
      (r: { source_labels: string[] }) => r.source_labels[0] === '__meta_kubernetes_pod_label_app_kubernetes_io_name',
    );
    expect(keep.regex).toBe(`${API}|${INGEST}`);
    // Both services' pods carry that label and a container port named http.
    for (const name of [API, INGEST]) {
      const pod = find(objects, 'Deployment', name).spec.template;
      expect(pod.metadata.labels['app.kubernetes.io/name']).toBe(name);
      expect(pod.spec.containers[0].ports.map((p: { name: string }) => p.name)).toContain('http');
    }
    // No static target through a Service, which would hit a random replica per scrape.
    expect(JSON.stringify(config)).not.toMatch(/"(api|ingest):\d+"/);
    const prometheus = find(objects, 'Deployment', 'prometheus').spec.template.spec;
    expect(prometheus.serviceAccountName).toBe('prometheus');
    const role = find(objects, 'Role', 'prometheus-discovery');
    expect(role.rules).toEqual([{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }]);
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
    const config = loadPlatformConfig({ PM_IMAGE_TAG: 'test' }, emptyRepo);
    expect(() => buildPlatform(config, { outdir: join(emptyRepo, 'dist') })).toThrow(/is missing/);
    rmSync(emptyRepo, { recursive: true, force: true });
  });
});
