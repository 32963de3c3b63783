/**
 * "Encrypted and least-privilege on Kubernetes" (docs/kubernetes.md, "Security"): every pod we define meets Pod
 * Security `restricted` plus a read-only root file system, the namespace enforces `restricted`, a default-deny
 * NetworkPolicy plus the platform's graph of flows, Grafana behind a login, and HTTPS at the Gateway.
 *
 * NetworkPolicies are proven on the objects (support/network.ts evaluates them): the local cluster applies them but
 * cannot enforce them (its bridge CNI has no policy engine); a cluster with Calico or Cilium enforces them.
 * Admission of every pod under `restricted` is proven for real by cdk8s/test/real-cluster.test.ts (standalone stack).
 */

import { join } from 'node:path';
import { ConfigError } from '@payment-manager/shared';
import { describe, expect, it } from 'vitest';
import { GRAFANA_ADMIN_KEYS } from '../src/charts/observability.ts';
import { loadPlatformConfig } from '../src/config.ts';
import { POD_SECURITY } from '../src/platform.ts';
import { podSecurityViolations } from './support/checks.ts';
import {
  containersOf,
  type K8sObject,
  REPO_ROOT,
  readYamlDir,
  securedPodSpecs,
  synthPlatform,
} from './support/manifests.ts';
import { allowedEdges, graphNodes } from './support/network.ts';
import { crdSchemas, crdValidator } from './support/schema.ts';

const NS = 'payment-manager';

/** Every combination we synthesize: both stacks × both PostgreSQL flavours × both profiles. */
const VARIANTS = ['operators', 'standalone'].flatMap((stack) =>
  ['cnpg', 'citus'].flatMap((postgres) =>
    ['default', 'dev'].map((profile) => ({ PM_STACK: stack, PM_POSTGRES: postgres, PM_PROFILE: profile })),
  ),
);

const find = (objects: K8sObject[], kind: string, name: string): K8sObject => {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`${kind} ${name} not synthesized`);
  return o;
};

describe.each(VARIANTS)('pod security, PM_STACK=$PM_STACK PM_POSTGRES=$PM_POSTGRES PM_PROFILE=$PM_PROFILE', (env) => {
  const { objects } = synthPlatform(env);

  it('every pod template (workloads and operator pod templates) is restricted with a read-only root FS', () => {
    const specs = securedPodSpecs(objects);
    const where = specs.map((s) => s.where);
    // The operators' pods are covered through the templates we hand them.
    if (env.PM_STACK === 'operators') {
      expect(where).toContain(`Kafka/${NS}/payments brokers`);
      expect(where).toContain(`Kafka/${NS}/payments entity operator`);
      if (env.PM_POSTGRES === 'cnpg') expect(where).toContain(`Cluster/${NS}/payments`);
    }
    expect(where.filter((w) => /^(Deployment|StatefulSet|Job|CronJob)\//.test(w)).length).toBeGreaterThan(5);
    expect(podSecurityViolations(objects)).toEqual([]);
    for (const { spec } of specs)
      for (const c of containersOf(spec)) {
        expect(c.securityContext?.capabilities?.drop).toEqual(['ALL']);
        expect(c.securityContext?.seccompProfile?.type ?? spec.securityContext?.seccompProfile?.type).toBe(
          'RuntimeDefault',
        );
      }
  });

  it('the namespace enforces Pod Security restricted (and audits and warns at the cluster’s version)', () => {
    const ns = find(objects, 'Namespace', NS);
    expect(ns.metadata.labels).toMatchObject(POD_SECURITY);
    expect(ns.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });

  it('writable paths are emptyDir volumes, never the root file system', () => {
    for (const { spec } of securedPodSpecs(objects))
      for (const c of containersOf(spec))
        for (const m of c.volumeMounts ?? []) {
          const volume = (spec.volumes ?? []).find((v: { name: string }) => v.name === m.name);
          if (volume && !m.readOnly)
            expect(Boolean(volume.emptyDir || volume.persistentVolumeClaim), `${c.name} ${m.mountPath}`).toBe(true);
        }
  });
});

describe('the pod security check is live', () => {
  it('reports a missing drop ALL, an added capability, no seccomp, a root user, host access and unsafe sysctls', () => {
    const objects = structuredClone(synthPlatform().objects);
    const api = find(objects, 'Deployment', 'api').spec.template.spec;
    delete api.containers[0].securityContext.capabilities;
    delete api.containers[0].securityContext.seccompProfile;
    api.hostNetwork = true;
    api.securityContext.sysctls = [{ name: 'kernel.msgmax', value: '1' }];
    const collector = find(objects, 'Deployment', 'otel-collector').spec.template.spec;
    collector.containers[0].securityContext.capabilities.add = ['NET_ADMIN'];
    collector.volumes.push({ name: 'host', hostPath: { path: '/' } });
    const cluster = find(objects, 'Cluster', 'payments');
    delete cluster.spec.securityContext;
    const kafka = find(objects, 'Kafka', 'payments');
    kafka.spec.kafka.template.kafkaContainer.securityContext.runAsUser = 0;
    delete kafka.spec.entityOperator.template.pod.securityContext.seccompProfile;
    delete kafka.spec.entityOperator.template.topicOperatorContainer.securityContext.seccompProfile;
    const problems = podSecurityViolations(objects).join('\n');
    for (const expected of [
      `Deployment/${NS}/api container api: capabilities.drop is not [ALL]`,
      `Deployment/${NS}/api container api: seccompProfile is not RuntimeDefault`,
      `Deployment/${NS}/api: hostNetwork`,
      `Deployment/${NS}/api: sysctl kernel.msgmax is not a safe sysctl`,
      `Deployment/${NS}/otel-collector container otel-collector: adds capabilities`,
      `Deployment/${NS}/otel-collector: hostPath volume host`,
      `Cluster/${NS}/payments container postgres: readOnlyRootFilesystem is not true`,
      `Kafka/${NS}/payments brokers container kafka: runs as UID 0`,
      `Kafka/${NS}/payments entity operator container topic-operator: seccompProfile is not RuntimeDefault`,
    ])
      expect(problems).toContain(expected);
  });
});

/** Peers of a component in the allowed-connection graph: who may connect to it, and whom it may connect to. */
function graph(env: Record<string, string>) {
  const { objects } = synthPlatform(env);
  const edges = allowedEdges(objects, graphNodes(objects, NS));
  const into = (name: string) => [...new Set(edges.filter((e) => e.to === name).map((e) => e.from))].sort();
  const outOf = (name: string) =>
    [
      ...new Set(
        edges.filter((e) => e.from === name).map((e) => `${e.to}:${e.port}${e.protocol === 'UDP' ? '/udp' : ''}`),
      ),
    ].sort();
  return { objects, edges, into, outOf };
}

describe('network policies: default deny plus the platform’s graph (operators stack, CloudNativePG)', () => {
  const { objects, into, outOf } = graph({});

  it('a default-deny policy isolates every pod of the namespace for ingress and egress', () => {
    expect(find(objects, 'NetworkPolicy', 'default-deny').spec).toEqual({
      podSelector: {},
      policyTypes: ['Ingress', 'Egress'],
    });
  });

  it('the API accepts only ingest, the Gateway and Prometheus; ingest only the Gateway and Prometheus', () => {
    expect(into('api')).toEqual(['envoy-proxy', 'ingest', 'prometheus']);
    expect(into('ingest')).toEqual(['envoy-proxy', 'prometheus']);
  });

  it('each component reaches exactly what it needs', () => {
    const dns = ['kube-dns:53', 'kube-dns:53/udp'];
    expect(outOf('api')).toEqual(
      [
        ...dns,
        'cloudnative-pg:5432',
        'strimzi-broker:9093',
        'otel-collector:4317',
        'otel-collector:4318',
        'silvergate-stub:8080',
      ].sort(),
    );
    expect(outOf('ingest')).toEqual(
      [...dns, 'api:3000', 'strimzi-broker:9093', 'otel-collector:4317', 'otel-collector:4318'].sort(),
    );
    expect(outOf('otel-collector')).toEqual([...dns, 'loki:3100', 'tempo:4317', 'tempo:4318'].sort());
    expect(outOf('tempo')).toEqual([...dns, 'prometheus:9090'].sort());
    expect(outOf('grafana')).toEqual([...dns, 'loki:3100', 'prometheus:9090', 'tempo:3200'].sort());
    expect(outOf('silvergate-stub')).toEqual(dns);
    expect(outOf('loki')).toEqual(dns);
    // Prometheus discovers pods through the API server (NetworkPolicy can only name it by address and port).
    expect(outOf('prometheus')).toEqual(
      [
        ...dns,
        'api:3000',
        'ingest:3001',
        'kube-apiserver:443',
        'kube-apiserver:6443',
        'internet:443',
        'internet:6443',
      ].sort(),
    );
    expect(outOf('cloudnative-pg')).toEqual(expect.arrayContaining(['cloudnative-pg:5432', 'kube-apiserver:443']));
  });

  it('who reaches the data: PostgreSQL only the API, the other instances and the operator; Kafka only the API and ingest', () => {
    expect(into('cloudnative-pg')).toEqual(['api', 'cloudnative-pg', 'cnpg-operator']);
    expect(into('strimzi-broker')).toEqual(['api', 'ingest', 'strimzi-broker', 'strimzi-entity-operator']);
    expect(into('silvergate-stub')).toEqual(['api']);
    expect(into('grafana')).toEqual([]);
  });

  it('nothing but Prometheus and the operators’ pods may reach the API server or the internet', () => {
    const talkers = (to: string) => [
      ...new Set(
        graph({})
          .edges.filter((e) => e.to === to && e.from !== to)
          .map((e) => e.from),
      ),
    ];
    const ours = (names: string[]) =>
      names
        .filter(
          (n) =>
            !['envoy-proxy', 'cnpg-operator', 'kube-dns', 'other-namespace-pod', 'internet', 'kube-apiserver'].includes(
              n,
            ),
        )
        .sort();
    expect(ours(talkers('kube-apiserver'))).toEqual([
      'cloudnative-pg',
      'prometheus',
      'strimzi-broker',
      'strimzi-entity-operator',
    ]);
    expect(ours(talkers('internet'))).toEqual([
      'cloudnative-pg',
      'prometheus',
      'strimzi-broker',
      'strimzi-entity-operator',
    ]);
    // ... and only on the API server's ports.
    expect(
      graph({}).edges.filter(
        (e) =>
          e.to === 'internet' &&
          ![443, 6443].includes(e.port) &&
          !['envoy-proxy', 'cnpg-operator', 'kube-dns', 'other-namespace-pod', 'kube-apiserver'].includes(e.from),
      ),
    ).toEqual([]);
  });

  it('backups: the dev profile’s in-cluster store only from the instances; an object store by reference outside', () => {
    expect(into('backup-store')).toEqual([]);
    const dev = graph({ PM_PROFILE: 'dev' });
    expect(dev.into('backup-store')).toEqual(['cloudnative-pg']);
    expect(dev.outOf('backup-store')).toEqual(['kube-dns:53', 'kube-dns:53/udp']);
    const external = graph({
      PM_BACKUP_DESTINATION: 's3://backups/payments',
      PM_BACKUP_ENDPOINT_URL: 'https://s3.example:9000',
    });
    expect(external.outOf('cloudnative-pg')).toContain('internet:9000');
  });

  it('the evaluator is live: without the default deny, any pod could reach Grafana', () => {
    const open = objects.filter((o) => !(o.kind === 'NetworkPolicy' && o.metadata.name === 'default-deny'));
    const edges = allowedEdges(open, graphNodes(open, NS));
    expect(edges.some((e) => e.from === 'other-namespace-pod' && e.to === 'grafana')).toBe(true);
    expect(into('grafana')).toEqual([]);
  });
});

describe('network policies: standalone stack (the local cluster’s)', () => {
  const { into, outOf } = graph({ PM_STACK: 'standalone', PM_GATEWAY_TLS: 'off' });
  const dns = ['kube-dns:53', 'kube-dns:53/udp'];

  it('the Gateway (Traefik) takes traffic from anywhere on its listener port only', () => {
    expect(into('traefik')).toEqual(expect.arrayContaining(['internet', 'other-namespace-pod']));
    expect(outOf('traefik')).toEqual(
      [
        ...dns,
        'api:3000',
        'ingest:3001',
        'internet:443',
        'internet:6443',
        'kube-apiserver:443',
        'kube-apiserver:6443',
      ].sort(),
    );
    expect(into('api')).toEqual(['ingest', 'prometheus', 'traefik']);
    expect(into('ingest')).toEqual(['prometheus', 'traefik']);
  });

  it('the brokers, the databases and the Jobs reach only each other', () => {
    expect(outOf('payments-kafka')).toEqual([...dns, 'payments-kafka:9092', 'payments-kafka:9093'].sort());
    expect(into('payments-kafka')).toEqual(['api', 'ingest', 'kafka-topics', 'payments-kafka']);
    expect(outOf('kafka-topics')).toEqual([...dns, 'payments-kafka:9092'].sort());
    expect(into('payments-primary')).toEqual(['api', 'payments-primary', 'payments-replica']);
    expect(outOf('payments-replica')).toEqual([...dns, 'payments-primary:5432', 'payments-replica:5432'].sort());
  });
});

describe('network policies: Citus and an external provider', () => {
  it('the coordinator takes the API, the workers and the register Job; the workers only Citus', () => {
    const { into } = graph({ PM_POSTGRES: 'citus' });
    expect(into('citus-coordinator')).toEqual(['api', 'citus-register-workers', 'citus-worker']);
    expect(into('citus-worker')).toEqual(['citus-coordinator', 'citus-worker']);
  });

  it('without the stub the API reaches the provider’s URL port on the internet, nothing else', () => {
    const { outOf } = graph({ PM_PROVIDER_STUB: 'false', PM_SILVERGATE_BASE_URL: 'https://api.silvergate.example' });
    expect(outOf('api').filter((p) => p.startsWith('internet'))).toEqual(['internet:443']);
  });
});

describe('Grafana', () => {
  const { objects } = synthPlatform();
  const env = Object.fromEntries(
    (
      find(objects, 'Deployment', 'grafana').spec.template.spec.containers[0].env as Array<{
        name: string;
        value?: string;
        valueFrom?: unknown;
      }>
    ).map((e) => [e.name, e.value ?? e.valueFrom]),
  );

  it('requires a login: no anonymous access, no sign-up, the admin from an existing Secret', () => {
    expect(env.GF_AUTH_ANONYMOUS_ENABLED).toBe('false');
    expect(env.GF_AUTH_ANONYMOUS_ORG_ROLE).toBeUndefined();
    expect(env.GF_AUTH_DISABLE_LOGIN_FORM).toBeUndefined();
    expect(env.GF_USERS_ALLOW_SIGN_UP).toBe('false');
    expect(env.GF_SECURITY_ADMIN_PASSWORD).toEqual({
      secretKeyRef: { name: 'payment-manager-grafana-admin', key: GRAFANA_ADMIN_KEYS.password },
    });
    expect(env.GF_SECURITY_ADMIN_USER).toEqual({
      secretKeyRef: { name: 'payment-manager-grafana-admin', key: GRAFANA_ADMIN_KEYS.user },
    });
    // The Secret is referenced, never synthesized.
    expect(objects.filter((o) => o.kind === 'Secret').map((o) => o.metadata.name)).not.toContain(
      'payment-manager-grafana-admin',
    );
  });

  it('PM_SECRET_GRAFANA_ADMIN names another Secret', () => {
    const other = synthPlatform({ PM_SECRET_GRAFANA_ADMIN: 'ops-grafana' }).objects;
    const container = find(other, 'Deployment', 'grafana').spec.template.spec.containers[0];
    const ref = container.env.find((e: { name: string }) => e.name === 'GF_SECURITY_ADMIN_PASSWORD').valueFrom
      .secretKeyRef;
    expect(ref.name).toBe('ops-grafana');
  });
});

describe('Gateway HTTPS', () => {
  const certManagerCrds = crdValidator(crdSchemas(readYamlDir(join(REPO_ROOT, 'deploy/crds/cert-manager-v1.21.2'))));

  it('default (operators stack): a self-signed CA issued by cert-manager, the server certificate from it', () => {
    const { objects } = synthPlatform();
    const issuers = objects.filter((o) => o.kind === 'Issuer');
    expect(issuers.map((o) => [o.metadata.name, Object.keys(o.spec)[0]])).toEqual([
      ['payment-manager-ca-bootstrap', 'selfSigned'],
      ['payment-manager-ca', 'ca'],
    ]);
    const ca = find(objects, 'Certificate', 'payment-manager-ca');
    expect(ca.spec).toMatchObject({
      isCA: true,
      secretName: 'payment-manager-ca',
      issuerRef: { name: 'payment-manager-ca-bootstrap' },
    });
    const server = find(objects, 'Certificate', 'webhooks-tls');
    expect(server.spec).toMatchObject({
      secretName: 'webhooks-tls',
      issuerRef: { group: 'cert-manager.io', kind: 'Issuer', name: 'payment-manager-ca' },
      dnsNames: [`webhooks.${NS}.svc`],
    });
    for (const o of objects.filter((x) => x.apiVersion.startsWith('cert-manager.io/')))
      expect(certManagerCrds(o), `${o.kind}/${o.metadata.name}`).toBeNull();
  });

  it('an ACME (or any) issuer by reference: no CA of ours, the host in the certificate, the HTTP-01 solver admitted', () => {
    const { objects } = synthPlatform({
      PM_GATEWAY_TLS_ISSUER: 'ClusterIssuer/letsencrypt',
      PM_GATEWAY_HOST: 'hooks.example.com',
    });
    expect(objects.filter((o) => o.kind === 'Issuer')).toEqual([]);
    const server = find(objects, 'Certificate', 'webhooks-tls');
    expect(server.spec.issuerRef).toEqual({ group: 'cert-manager.io', kind: 'ClusterIssuer', name: 'letsencrypt' });
    expect(server.spec.dnsNames).toEqual(['hooks.example.com']);
    expect(certManagerCrds(server)).toBeNull();
    expect(find(objects, 'NetworkPolicy', 'acme-http01-solver-ingress').spec.ingress).toEqual([
      { ports: [{ port: 8089, protocol: 'TCP' }] },
    ]);
    const gateway = find(objects, 'Gateway', 'webhooks');
    expect(gateway.spec.listeners.map((l: { hostname?: string }) => l.hostname)).toEqual([
      'hooks.example.com',
      'hooks.example.com',
    ]);
  });

  it('the CRD validator is live: a Certificate without an issuer is rejected', () => {
    const server = structuredClone(find(synthPlatform().objects, 'Certificate', 'webhooks-tls'));
    delete server.spec.issuerRef;
    expect(certManagerCrds(server)).toMatch(/issuerRef/);
  });

  it('standalone stack: an existing TLS Secret by default (no operator to issue one)', () => {
    const { objects } = synthPlatform({ PM_STACK: 'standalone', PM_GATEWAY_TLS_SECRET: 'my-cert' });
    expect(objects.filter((o) => o.apiVersion.startsWith('cert-manager.io/'))).toEqual([]);
    const gateway = find(objects, 'Gateway', 'webhooks');
    expect(gateway.spec.listeners[1].tls.certificateRefs).toEqual([{ kind: 'Secret', name: 'my-cert' }]);
    expect(find(objects, 'HTTPRoute', 'webhooks').spec.parentRefs[0].sectionName).toBe('https');
  });

  it('PM_GATEWAY_TLS=off (the local cluster): one HTTP listener routing to ingest, no redirect', () => {
    for (const stack of ['operators', 'standalone']) {
      const { objects } = synthPlatform({ PM_STACK: stack, PM_GATEWAY_TLS: 'off' });
      const gateway = find(objects, 'Gateway', 'webhooks');
      expect(gateway.spec.listeners.map((l: { name: string }) => l.name)).toEqual(['http']);
      expect(objects.filter((o) => o.kind === 'HTTPRoute').map((o) => o.metadata.name)).toEqual(['webhooks']);
      expect(objects.filter((o) => o.apiVersion.startsWith('cert-manager.io/'))).toEqual([]);
    }
  });

  it('refuses an unknown mode and a malformed issuer reference', () => {
    expect(() => loadPlatformConfig({ PM_GATEWAY_TLS: 'on' })).toThrow(ConfigError);
    expect(() => loadPlatformConfig({ PM_GATEWAY_TLS_ISSUER: 'letsencrypt' })).toThrow(
      /Issuer\/<name> or ClusterIssuer\/<name>/,
    );
    expect(() => loadPlatformConfig({ PM_GATEWAY_HTTPS_NODE_PORT: '443' })).toThrow(/PM_GATEWAY_HTTPS_NODE_PORT/);
  });
});
