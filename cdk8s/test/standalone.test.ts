/**
 * PM_STACK=standalone (docs/kubernetes.md, "Standalone stack"): the same platform without operators. Checked offline
 * here: the workload policy and cross-references as for every variant, and that the app-facing objects equal the
 * operators stack's but for what the stack is allowed to change; apiserver-apply.test.ts and cluster-check.test.ts
 * take it to a real kube-apiserver.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { k8s } from 'cdk8s-plus-34';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { aclEntries, parseUserAcls } from '../../services/ingest/src/kafka/acls.ts';
import { awaitedObjects } from '../cluster/readiness.ts';
import { API, INGEST } from '../src/charts/app.ts';
import {
  GATEWAY_HTTPS_PORT,
  GATEWAY_LISTENER_PORT,
  GATEWAY_NAME,
  REDIRECT_ROUTE,
  TRAEFIK_GATEWAY_CLASS,
  WEBHOOKS_ROUTE,
} from '../src/charts/gateway.ts';
import { controllerQuorumVoters, KAFKA_NODES, KAFKA_TOPICS_JOB } from '../src/charts/kafka-standalone.ts';
import { PG_PRIMARY, PG_REPLICA } from '../src/charts/postgres-standalone.ts';
import { TRAEFIK, TRAEFIK_GATEWAY_CONTROLLER } from '../src/charts/traefik.ts';
import { clusterPrerequisites } from '../src/cluster-prerequisites.ts';
import { loadPlatformConfig } from '../src/config.ts';
import { CNPG_ENDPOINTS } from '../src/database.ts';
import { KAFKA_TLS_BOOTSTRAP, KAFKA_USERS } from '../src/kafka-access.ts';
import { KAFKA_BOOTSTRAP, KAFKA_TOPICS } from '../src/topics.ts';
import { crossReferenceProblems, EXTERNAL_SECRETS, policyViolations, resolveEnv } from './support/checks.ts';
import { containersOf, type K8sObject, podTemplates, REPO_ROOT, synthPlatform } from './support/manifests.ts';
import { coreSchemaErrors, crdSchemas, crdValidator } from './support/schema.ts';

const STANDALONE = { PM_STACK: 'standalone' };

const key = (o: K8sObject) => `${o.kind}/${o.metadata.name}`;
const byKey = (objects: K8sObject[]) => new Map(objects.map((o) => [key(o), o]));
const find = (objects: K8sObject[], kind: string, name: string): K8sObject => {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`${kind} ${name} not synthesized`);
  return o;
};

/** JSON paths (`.spec.template.spec.containers[0].image`) at which two values differ. */
function differences(a: unknown, b: unknown, path = ''): string[] {
  if (Array.isArray(a) && Array.isArray(b)) {
    const paths = Array.from({ length: Math.max(a.length, b.length) }, (_, i) =>
      differences(a[i], b[i], `${path}[${i}]`),
    );
    return paths.flat();
  }
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) =>
      differences((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`),
    );
  }
  return Object.is(a, b) ? [] : [path];
}

/**
 * What the standalone stack may change in an object both stacks synthesize: image references (our own images), the
 * Gateway's class and Envoy's infrastructure reference, the peer allowed to reach ingest (the proxies run in
 * our namespace, not in Envoy Gateway's), and the API's PostgreSQL TLS settings.
 */
const ALLOWED: Array<[objectKey: string, path: RegExp]> = [
  ['*', /\.image$/],
  [`Gateway/${GATEWAY_NAME}`, /^\.spec\.(gatewayClassName|infrastructure)(\.|$)/],
  [`NetworkPolicy/${INGEST}`, /^\.spec\.ingress\[0\]\.from\[0\]/],
  [`NetworkPolicy/${API}`, /^\.spec\.ingress\[0\]\.from\[1\]/],
  // The operators stack's certificate comes from cert-manager, the standalone stack's from an existing Secret: the
  // Secret's name is the same, only the object that produces it differs (not an app-facing object).
  // TLS to PostgreSQL (docs/data-tier.md#tls): CloudNativePG's CA mounted and verify-full in the PG_*_URL values;
  // the standalone stack has no CA (sslmode=disable).
  [
    `Deployment/${API}`,
    /^\.spec\.template\.spec\.(volumes\[1\]|(containers|initContainers)\[0\]\.(volumeMounts\[1\]|env\[\d+\]\.value$))/,
  ],
];

/**
 * The one intended difference in how the app reaches Kafka: Strimzi's TLS + SCRAM listener and user Secrets, the
 * standalone stack's in-cluster plaintext listener (kafkaAccessOf; docs/kafka.md#security says what remains).
 */
const KAFKA_ACCESS_ENV = /^KAFKA_(BROKERS|SASL_MECHANISM|SASL_USERNAME|SASL_PASSWORD|SSL_CA_PEM)$/;
function withoutKafkaAccess(o: K8sObject): K8sObject {
  const copy = structuredClone(o);
  if (copy.kind === 'ConfigMap')
    for (const name of Object.keys(copy.data ?? {})) if (KAFKA_ACCESS_ENV.test(name)) delete copy.data[name];
  for (const pod of podTemplates([copy]))
    for (const c of containersOf(pod.spec))
      c.env = (c.env ?? []).filter((e: { name: string }) => !KAFKA_ACCESS_ENV.test(e.name));
  return copy;
}

function disallowedDifferences(operators: K8sObject[], standalone: K8sObject[]): string[] {
  const theirs = byKey(standalone);
  return operators.flatMap((o) => {
    const other = theirs.get(key(o));
    if (!other) return [`${key(o)}: missing in standalone`];
    return differences(withoutKafkaAccess(o), withoutKafkaAccess(other))
      .filter((path) => !ALLOWED.some(([k, allowed]) => (k === '*' || k === key(o)) && allowed.test(path)))
      .map((path) => `${key(o)}${path}`);
  });
}

/** What the app depends on: its workloads, their Services, configuration and policies, and the Gateway API objects. */
function appFacing(objects: K8sObject[]): K8sObject[] {
  const names = [API, INGEST, 'api-config', 'ingest-config', 'payment-manager-webhook', 'payment-manager-api-keys'];
  const kinds = ['Deployment', 'Service', 'ConfigMap', 'Secret', 'NetworkPolicy', 'HorizontalPodAutoscaler'];
  return objects.filter(
    (o) => ['Gateway', 'HTTPRoute'].includes(o.kind) || (kinds.includes(o.kind) && names.includes(o.metadata.name)),
  );
}

describe.each([
  ['default', {}],
  ['dev profile', { PM_PROFILE: 'dev' }],
])('standalone stack, %s', (_label, profile) => {
  const operators = synthPlatform(profile, { deployed: true }).objects;
  const { objects, warnings } = synthPlatform({ ...profile, ...STANDALONE }, { deployed: true });

  it('synthesizes without warnings; every core object validates against the Kubernetes schema', async () => {
    expect(warnings).toEqual([]);
    expect(await coreSchemaErrors(objects)).toEqual([]);
  });

  it('passes the workload policy and every cross-reference resolves', () => {
    expect(policyViolations(objects)).toEqual([]);
    expect(crossReferenceProblems(objects, { externalSecrets: EXTERNAL_SECRETS })).toEqual([]);
  });

  it('the app-facing objects equal the operators stack’s but for images, the GatewayClass and the edge peer', () => {
    const ours = appFacing(operators);
    expect(ours.map(key).sort()).toEqual(
      [
        `Deployment/${API}`,
        `Deployment/${INGEST}`,
        `Service/${API}`,
        `Service/${INGEST}`,
        `HorizontalPodAutoscaler/${API}`,
        `HorizontalPodAutoscaler/${INGEST}`,
        `NetworkPolicy/${API}`,
        `NetworkPolicy/${INGEST}`,
        'ConfigMap/api-config',
        'ConfigMap/ingest-config',
        'Secret/payment-manager-webhook',
        'Secret/payment-manager-api-keys',
        `Gateway/${GATEWAY_NAME}`,
        `HTTPRoute/${WEBHOOKS_ROUTE}`,
        `HTTPRoute/${REDIRECT_ROUTE}`,
      ].sort(),
    );
    expect(disallowedDifferences(ours, objects)).toEqual([]);
    // The comparison is live: the differences it allows do exist.
    const gateway = find(objects, 'Gateway', GATEWAY_NAME);
    expect(gateway.spec.gatewayClassName).toBe(TRAEFIK_GATEWAY_CLASS);
    expect(gateway.spec.infrastructure).toBeUndefined();
    const changedRoute = structuredClone(find(objects, 'HTTPRoute', WEBHOOKS_ROUTE));
    changedRoute.spec.rules[0].timeouts.request = '1s';
    expect(disallowedDifferences([find(operators, 'HTTPRoute', WEBHOOKS_ROUTE)], [changedRoute])).toEqual([
      `HTTPRoute/${WEBHOOKS_ROUTE}.spec.rules[0].timeouts.request`,
    ]);
  });

  it('no operator resources, no Loki, Grafana or backup store; every image is ours and never pulled', () => {
    const kinds = new Set(objects.map((o) => o.kind));
    for (const kind of ['Kafka', 'KafkaNodePool', 'KafkaTopic', 'Cluster', 'ScheduledBackup', 'EnvoyProxy'])
      expect(kinds).not.toContain(kind);
    expect(objects.filter((o) => o.apiVersion.startsWith('gateway.envoyproxy.io/'))).toEqual([]);
    const names = new Set(objects.map((o) => o.metadata.name));
    for (const left of ['loki', 'grafana', 'backup-store']) expect(names).not.toContain(left);
    const containers = podTemplates(objects).flatMap((p) => containersOf(p.spec));
    expect(containers.length).toBeGreaterThan(8);
    for (const c of containers) {
      expect(c.image).toMatch(/^payment-manager\//);
      expect(c.imagePullPolicy).toBe('IfNotPresent');
    }
  });

  it('the app reaches the same Service names and ports: PG_URL, PG_REPLICA_URL, KAFKA_BROKERS, the collector', () => {
    const services = objects.filter((o) => o.kind === 'Service');
    const served = (hostPort: string) => {
      const [host, port] = hostPort.split(':');
      return services.some(
        (s) => s.metadata.name === host && s.spec.ports.some((p: { port: number }) => p.port === Number(port)),
      );
    };
    const api = resolveEnv(objects, find(objects, 'Deployment', API), API);
    const hostPort = (url: string) => new URL(url).host;
    expect(hostPort(api.PG_URL as string)).toBe(CNPG_ENDPOINTS.primary);
    expect(hostPort(api.PG_REPLICA_URL as string)).toBe(CNPG_ENDPOINTS.replica);
    for (const endpoint of [
      hostPort(api.PG_URL as string),
      hostPort(api.PG_REPLICA_URL as string),
      api.KAFKA_BROKERS as string,
      hostPort(api.OTEL_EXPORTER_OTLP_ENDPOINT as string),
      hostPort(api.SILVERGATE_BASE_URL as string),
    ])
      expect(served(endpoint), endpoint).toBe(true);
    expect(api.KAFKA_BROKERS).toBe(KAFKA_BOOTSTRAP);
    // payments-rw is the primary, payments-ro the standbys.
    const selects = (service: string) => find(objects, 'Service', service).spec.selector['app.kubernetes.io/name'];
    expect(selects(CNPG_ENDPOINTS.primary.split(':')[0] as string)).toBe(PG_PRIMARY);
    expect(selects(CNPG_ENDPOINTS.replica?.split(':')[0] as string)).toBe(PG_REPLICA);
  });

  it('Kafka: KRaft nodes (controller + broker), replication as with Strimzi, node ids from the pod ordinal', () => {
    const dev = 'PM_PROFILE' in profile;
    const nodes = find(objects, 'StatefulSet', KAFKA_NODES);
    expect(nodes.spec.replicas).toBe(dev ? 1 : 3);
    expect(nodes.spec.podManagementPolicy).toBe('Parallel');
    expect(find(objects, 'Service', KAFKA_NODES).spec).toMatchObject({
      clusterIP: 'None',
      publishNotReadyAddresses: true,
    });
    const env = resolveEnv(objects, nodes, 'kafka');
    expect(env.KAFKA_NODE_ID).toBeUndefined();
    expect(env.KAFKA_PROCESS_ROLES).toBe('broker,controller');
    expect(env.KAFKA_CONTROLLER_QUORUM_VOTERS).toBe(controllerQuorumVoters(dev ? 1 : 3));
    expect(env.KAFKA_CONTROLLER_QUORUM_VOTERS?.split(',')[0]).toBe(`0@${KAFKA_NODES}-0.${KAFKA_NODES}:9093`);
    expect(env.KAFKA_ADVERTISED_LISTENERS).toBe(`PLAINTEXT://<metadata.name>.${KAFKA_NODES}:9092`);
    expect(env.KAFKA_DEFAULT_REPLICATION_FACTOR).toBe(dev ? '1' : '3');
    expect(env.KAFKA_MIN_INSYNC_REPLICAS).toBe(dev ? '1' : '2');
    expect(env.KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR).toBe(dev ? '1' : '3');
    expect(env.KAFKA_AUTO_CREATE_TOPICS_ENABLE).toBe('false');
    expect(nodes.spec.volumeClaimTemplates[0].spec.storageClassName).toBeUndefined();
  });

  it('the topics of docs/kafka.md#topics are created by the app’s own kafka:topics command, as a Job', () => {
    const job = find(objects, 'Job', KAFKA_TOPICS_JOB);
    const [container] = containersOf(job.spec.template.spec);
    expect(container.image).toBe(loadPlatformConfig({ ...STANDALONE }).images.ingest);
    expect(container.args).toEqual(['node', 'services/ingest/src/cli/create-topics.ts']);
    const env = resolveEnv(objects, job, container.name);
    expect(env.KAFKA_BROKERS).toBe(KAFKA_BOOTSTRAP);
    const topics = [
      env.KAFKA_ORDERS_TOPIC,
      env.KAFKA_DISPUTES_TOPIC,
      env.KAFKA_ORDERS_DLQ_TOPIC,
      env.KAFKA_DISPUTES_DLQ_TOPIC,
    ];
    expect(topics).toEqual(KAFKA_TOPICS.map((t) => t.name));
    const partitions = (name: string) => KAFKA_TOPICS.find((t) => t.name === name)?.partitions;
    expect(Number(env.KAFKA_TOPIC_PARTITIONS)).toBe(partitions('webhooks.orders'));
    expect(Number(env.KAFKA_DLQ_PARTITIONS)).toBe(partitions('webhooks.orders.dlq'));
    expect(env.KAFKA_REPLICATION_FACTOR).toBe(
      resolveEnv(objects, find(objects, 'StatefulSet', KAFKA_NODES), 'kafka').KAFKA_DEFAULT_REPLICATION_FACTOR,
    );
    // The NetworkPolicy in front of the brokers lets the Job in.
    const netpol = find(objects, 'NetworkPolicy', KAFKA_NODES);
    const peers = netpol.spec.ingress[0].from.map(
      (f: { podSelector: { matchLabels: Record<string, string> } }) =>
        f.podSelector.matchLabels['app.kubernetes.io/name'],
    );
    expect(peers.sort()).toEqual([API, INGEST, KAFKA_TOPICS_JOB].sort());
  });

  it("PostgreSQL: a primary and instances − 1 hot standbys cloned from payments-rw in the image's replica mode", () => {
    const instances = loadPlatformConfig(profile).postgresInstances;
    expect(find(objects, 'StatefulSet', PG_PRIMARY).spec.replicas).toBe(1);
    const replica = find(objects, 'StatefulSet', PG_REPLICA);
    expect(replica.spec.replicas).toBe(instances - 1);
    const env = resolveEnv(objects, replica, 'postgres');
    expect(env.POSTGRES_PRIMARY_HOST).toBe(CNPG_ENDPOINTS.primary.split(':')[0]);
    expect(env.PGDATA).toBe('/var/lib/postgresql/data/pgdata');
    expect(find(objects, 'ConfigMap', 'postgres-initdb').data['010-replication.sh']).toContain('replication');
  });

  it('Traefik: the GatewayClass is its, the web entry point is the listener port, the node port is 30080', () => {
    const namespaceChart = objects.filter((o) => o.metadata.namespace === undefined);
    const gatewayClass = find(namespaceChart, 'GatewayClass', TRAEFIK_GATEWAY_CLASS);
    expect(gatewayClass.spec.controllerName).toBe(TRAEFIK_GATEWAY_CONTROLLER);
    const gateway = find(objects, 'Gateway', GATEWAY_NAME);
    expect(gateway.spec.listeners[0].port).toBe(GATEWAY_LISTENER_PORT);
    const traefik = find(objects, 'Deployment', TRAEFIK);
    const [container] = containersOf(traefik.spec.template.spec);
    expect(container.args).toContain(`--entrypoints.web.address=:${GATEWAY_LISTENER_PORT}`);
    expect(container.args).toContain(`--entrypoints.websecure.address=:${GATEWAY_HTTPS_PORT}`);
    expect(gateway.spec.listeners[1]).toMatchObject({ name: 'https', port: GATEWAY_HTTPS_PORT, protocol: 'HTTPS' });
    expect(container.args).toContain('--providers.kubernetesgateway=true');
    expect(container.args.some((a: string) => a.startsWith('--api'))).toBe(false);
    expect(traefik.spec.template.spec.securityContext.sysctls).toEqual([
      { name: 'net.ipv4.ip_unprivileged_port_start', value: String(GATEWAY_LISTENER_PORT) },
    ]);
    const service = find(objects, 'Service', TRAEFIK);
    expect(service.spec.type).toBe('NodePort');
    expect(service.spec.ports).toEqual([
      { name: 'web', port: GATEWAY_LISTENER_PORT, targetPort: 'web', nodePort: 30080 },
      { name: 'websecure', port: GATEWAY_HTTPS_PORT, targetPort: 'websecure', nodePort: 30443 },
    ]);
    // Cluster-wide only what is cluster-scoped; the rest through a Role in the namespace it watches.
    const clusterRole = find(namespaceChart, 'ClusterRole', 'payment-manager-traefik');
    expect(clusterRole.rules.flatMap((r: { resources: string[] }) => r.resources).sort()).toEqual(
      ['gatewayclasses', 'gatewayclasses/status', 'namespaces'].sort(),
    );
    const role = find(objects, 'Role', TRAEFIK);
    for (const rule of role.rules)
      expect(rule.verbs.every((v: string) => ['get', 'list', 'watch', 'update'].includes(v))).toBe(true);
  });

  it('cluster:check waits for the StatefulSets, the topics Job, the Deployments, the Gateway and its route', () => {
    const kinds = new Set(awaitedObjects(objects).map((o) => o.kind));
    expect([...kinds].sort()).toEqual(['Deployment', 'Gateway', 'HTTPRoute', 'Job', 'StatefulSet']);
  });
});

describe('standalone stack with Kafka TLS (PM_STANDALONE_KAFKA_TLS=true)', () => {
  const TLS = { ...STANDALONE, PM_STANDALONE_KAFKA_TLS: 'true' };
  const operators = synthPlatform({}, { deployed: true }).objects;
  const { objects, warnings } = synthPlatform(TLS, { deployed: true });
  /** What scripts/kafka-secrets.sh creates (its --print output: names and keys, no cluster needed). */
  const made = parseAllDocuments(
    execFileSync(join(REPO_ROOT, 'scripts/kafka-secrets.sh'), ['--print', '--namespace', 'payment-manager'], {
      encoding: 'utf8',
      env: { ...process.env, KUBECONFIG: '/nonexistent' },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  )
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o?.kind === 'Secret');
  const external = Object.fromEntries(made.map((o) => [o.metadata.name, Object.keys(o.data ?? {})]));

  it('synthesizes cleanly; every Secret it reads is one scripts/kafka-secrets.sh makes, with that key', async () => {
    expect(warnings).toEqual([]);
    expect(await coreSchemaErrors(objects)).toEqual([]);
    expect(policyViolations(objects)).toEqual([]);
    expect(crossReferenceProblems(objects, { externalSecrets: { ...EXTERNAL_SECRETS, ...external } })).toEqual([]);
    // Without them, the references are reported: the check is live.
    expect(crossReferenceProblems(objects, { externalSecrets: EXTERNAL_SECRETS }).join('\n')).toContain(
      `references missing Secret ${KAFKA_USERS.api}`,
    );
  });

  it('the app-facing objects equal the operators stack’s, Kafka settings included', () => {
    const differing = appFacing(operators).flatMap((o) => {
      const other = objects.find((x) => key(x) === key(o));
      if (!other) return [`${key(o)}: missing`];
      return differences(o, other)
        .filter((path) => !ALLOWED.some(([k, allowed]) => (k === '*' || k === key(o)) && allowed.test(path)))
        .map((path) => `${key(o)}${path}`);
    });
    expect(differing).toEqual([]);
    const api = resolveEnv(objects, find(objects, 'Deployment', API), API);
    expect(api.KAFKA_BROKERS).toBe(KAFKA_TLS_BOOTSTRAP);
    expect(find(objects, 'Service', 'payments-kafka-bootstrap').spec.ports).toEqual([
      expect.objectContaining({ name: 'tls', port: 9093 }),
    ]);
  });

  it('brokers: SASL_SSL only, SCRAM users from the Secrets at format time, PEM stores, StandardAuthorizer', () => {
    const nodes = find(objects, 'StatefulSet', KAFKA_NODES);
    const env = resolveEnv(objects, nodes, 'kafka');
    expect(env.KAFKA_LISTENERS).toBe('CLIENTS://:9093,CONTROLLER://:9094');
    expect(env.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP).toBe('CLIENTS:SASL_SSL,CONTROLLER:SASL_SSL');
    expect(env.KAFKA_ADVERTISED_LISTENERS).toBe(
      `CLIENTS://<metadata.name>.${KAFKA_NODES}.<metadata.namespace>.svc:9093`,
    );
    expect(env.KAFKA_CONTROLLER_QUORUM_VOTERS).toBe(controllerQuorumVoters(3, 9094));
    expect(env.KAFKA_AUTHORIZER_CLASS_NAME).toBe('org.apache.kafka.metadata.authorizer.StandardAuthorizer');
    expect(env.KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND).toBe('false');
    expect(env.KAFKA_SUPER_USERS).toBe('User:admin');
    const container = containersOf(nodes.spec.template.spec).find((c) => c.name === 'kafka');
    const byName = new Map((container.env as k8s.EnvVar[]).map((e) => [e.name, e]));
    expect(byName.get('KAFKA_SSL_KEYSTORE_KEY')?.valueFrom?.secretKeyRef).toEqual({
      name: 'payments-kafka-tls',
      key: 'tls.key',
    });
    // Every user of the operators stack exists, with the password of its Secret ($(VAR) expanded by the kubelet).
    const names = (container.env as k8s.EnvVar[]).map((e) => e.name);
    const users = byName.get('SCRAM_SHA_512_USERS')?.value?.split(',') ?? [];
    expect(users.map((u) => u.split('=')[0]).sort()).toEqual(['admin', ...Object.values(KAFKA_USERS)].sort());
    for (const user of users) {
      const variable = /^[^=]+=\$\((\w+)\)$/.exec(user)?.[1] as string;
      expect(names.indexOf(variable)).toBeGreaterThanOrEqual(0);
      expect(names.indexOf(variable)).toBeLessThan(names.indexOf('SCRAM_SHA_512_USERS'));
    }
    expect(String(byName.get('KAFKA_LISTENER_NAME_CLIENTS_SCRAM___SHA___512_SASL_JAAS_CONFIG')?.value)).toContain(
      'password="$(ADMIN_PASSWORD)"',
    );
  });

  it('the topics Job works as the super user and grants the ACLs of the Strimzi KafkaUsers', () => {
    const job = find(objects, 'Job', KAFKA_TOPICS_JOB);
    const [container] = containersOf(job.spec.template.spec);
    expect(container.args.join(' ')).toContain('services/ingest/src/cli/kafka-acls.ts');
    const env = resolveEnv(objects, job, container.name);
    expect(env).toMatchObject({ KAFKA_BROKERS: KAFKA_TLS_BOOTSTRAP, KAFKA_SASL_USERNAME: 'admin' });
    const rules = parseUserAcls(env.KAFKA_ACLS);
    const strimzi = operators
      .filter((o) => o.kind === 'KafkaUser')
      .flatMap((u) =>
        (u.spec.authorization.acls as Array<Record<string, unknown>>).map((acl) => ({ user: u.metadata.name, ...acl })),
      );
    expect(rules).toEqual(strimzi);
    expect(aclEntries(rules).length).toBeGreaterThan(rules.length);
  });
});

describe('standalone stack settings', () => {
  it('PM_STORAGE_CLASS names the class of every volume claim; unset leaves the cluster default', () => {
    const { objects } = synthPlatform({ ...STANDALONE, PM_STORAGE_CLASS: 'local-path' });
    const claims = objects.flatMap((o) => o.spec?.volumeClaimTemplates ?? []);
    expect(claims.length).toBe(3);
    for (const claim of claims) expect(claim.spec.storageClassName).toBe('local-path');
    // The operators stack's output does not depend on it.
    expect(synthPlatform({ PM_STORAGE_CLASS: 'local-path' }).objects).toEqual(synthPlatform().objects);
  });

  it('PM_GATEWAY_NODE_PORT=none gives Traefik a LoadBalancer Service', () => {
    const { objects } = synthPlatform({ ...STANDALONE, PM_GATEWAY_NODE_PORT: 'none' });
    const service = find(objects, 'Service', TRAEFIK);
    expect(service.spec.type).toBe('LoadBalancer');
    expect(service.spec.ports[0].nodePort).toBeUndefined();
  });

  it('the Gateway API objects validate against the vendored v1.6.1 CRDs the stack applies first', () => {
    const crds = clusterPrerequisites({ stack: 'standalone', repoRoot: REPO_ROOT }) as K8sObject[];
    expect(crds.map((c) => c.kind)).toEqual(Array(crds.length).fill('CustomResourceDefinition'));
    expect(crds.map((c) => c.metadata.name)).toEqual(
      expect.arrayContaining(
        [
          'gatewayclasses',
          'gateways',
          'httproutes',
          'grpcroutes',
          'tlsroutes',
          'backendtlspolicies',
          'referencegrants',
        ].map((n) => `${n}.gateway.networking.k8s.io`),
      ),
    );
    expect(clusterPrerequisites({ stack: 'operators', repoRoot: REPO_ROOT })).toEqual([]);
    const validate = crdValidator(crdSchemas(crds));
    const gatewayApi = synthPlatform(STANDALONE).objects.filter((o) =>
      o.apiVersion.startsWith('gateway.networking.k8s.io/'),
    );
    expect(gatewayApi.map((o) => o.kind).sort()).toEqual(['Gateway', 'GatewayClass', 'HTTPRoute', 'HTTPRoute']);
    for (const o of gatewayApi) expect(validate(o), key(o)).toBeNull();
  });
});
