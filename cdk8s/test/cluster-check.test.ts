/**
 * `npm run cluster:check`'s Kubernetes-API side against a real kube-apiserver (scripts/kube-apiserver.sh). No
 * kubelet or controllers run there, so the test plays them: it writes, through each object's status subresource,
 * the status fields the Deployment/StatefulSet controllers, CloudNativePG, Strimzi and Envoy Gateway would write.
 * The steps after readiness (port-forward, webhook, Tempo) need running pods: they run on a real cluster only.
 */
import { CustomObjectsApi, type KubeConfig, type KubernetesObject, setHeaderOptions } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { runClusterCheck } from '../cluster/check.ts';
import type { Applier } from '../cluster/kube.ts';
import { awaitedObjects } from '../cluster/readiness.ts';
import { applyPlatform, KUBE_SKIP_REASON, testKubeconfig } from './support/apiserver.ts';
import { type K8sObject, synthPlatform } from './support/manifests.ts';

/** What the client's read() needs: apiVersion, kind, name and namespace. */
const header = (o: K8sObject) => o as K8sObject & KubernetesObject & { apiVersion: string; kind: string };

const KUBECONFIG = testKubeconfig();
/**
 * A fresh namespace per run: the server keeps what earlier runs applied and patched, and without the namespace
 * controller a namespace cannot be deleted.
 */
const NAMESPACE = `cluster-check-${Date.now().toString(36)}`;
const title = `cluster:check against a real kube-apiserver${KUBECONFIG ? '' : ` (${KUBE_SKIP_REASON})`}`;

const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const condition = (type: string, generation: number) => ({
  type,
  status: 'True',
  reason: type,
  message: '',
  lastTransitionTime: now(),
  observedGeneration: generation,
});

/** The status a healthy cluster's controllers would report for this object. */
function healthyStatus(o: K8sObject, generation: number): Record<string, unknown> {
  const replicas = o.spec.replicas ?? 1;
  switch (o.kind) {
    case 'Deployment':
      return {
        observedGeneration: generation,
        replicas,
        updatedReplicas: replicas,
        readyReplicas: replicas,
        availableReplicas: replicas,
      };
    case 'StatefulSet':
      return {
        observedGeneration: generation,
        replicas,
        updatedReplicas: replicas,
        readyReplicas: replicas,
        availableReplicas: replicas,
        currentReplicas: replicas,
      };
    case 'Job': {
      // The Job controller's rules: SuccessCriteriaMet before Complete, and the completion counted.
      const startTime = now();
      return {
        startTime,
        completionTime: now(),
        succeeded: o.spec.completions ?? 1,
        conditions: [
          { ...condition('SuccessCriteriaMet', generation), observedGeneration: undefined },
          { ...condition('Complete', generation), observedGeneration: undefined },
        ],
      };
    }
    case 'Cluster':
      return {
        instances: o.spec.instances,
        readyInstances: o.spec.instances,
        phase: 'Cluster in healthy state',
        conditions: [condition('Ready', generation)],
      };
    case 'Kafka':
    case 'KafkaTopic':
    case 'KafkaUser':
      return { observedGeneration: generation, conditions: [condition('Ready', generation)] };
    case 'Gateway':
      return { conditions: [condition('Accepted', generation), condition('Programmed', generation)] };
    case 'HTTPRoute':
      return {
        parents: o.spec.parentRefs.map((ref: Record<string, string>) => ({
          parentRef: { group: 'gateway.networking.k8s.io', kind: 'Gateway', ...ref },
          controllerName: 'gateway.envoyproxy.io/gatewayclass-controller',
          conditions: [condition('Accepted', generation), condition('ResolvedRefs', generation)],
        })),
      };
    default:
      throw new Error(`no healthy status known for ${o.kind}`);
  }
}

async function patchStatus(kc: KubeConfig, applier: Applier, o: K8sObject, namespace = NAMESPACE): Promise<void> {
  const live = (await applier.client.read(header(o))) as K8sObject;
  const [group, version] = o.apiVersion.split('/') as [string, string];
  await kc.makeApiClient(CustomObjectsApi).patchNamespacedCustomObjectStatus(
    {
      group,
      version,
      namespace,
      plural: `${o.kind.toLowerCase()}s`,
      name: o.metadata.name,
      body: { status: healthyStatus(o, (live.metadata as { generation?: number }).generation ?? 1) },
    },
    setHeaderOptions('Content-Type', 'application/merge-patch+json'),
  );
}

describe.skipIf(!KUBECONFIG)(title, () => {
  let kc: KubeConfig;
  let applier: Applier;
  let objects: K8sObject[];

  beforeAll(async () => {
    ({ kc, applier, objects } = await applyPlatform(KUBECONFIG, { PM_NAMESPACE: NAMESPACE }));
  }, 180_000);

  /** cluster:check's readiness step alone (the later steps need running pods). */
  const checkReadiness = (subset: K8sObject[], readyTimeoutMs: number, log: (line: string) => void = () => {}) =>
    runClusterCheck({
      kc,
      namespace: NAMESPACE,
      objects: subset as KubernetesObject[],
      gatewayUrl: 'http://127.0.0.1:9',
      readyTimeoutMs,
      readinessOnly: true,
      log,
    });

  it('waits for every Deployment, the CNPG Cluster, the Kafka, its topics and users, the Gateway and its route', () => {
    const kinds = new Set(awaitedObjects(objects).map((o) => o.kind));
    expect([...kinds].sort()).toEqual([
      'Cluster',
      'Deployment',
      'Gateway',
      'HTTPRoute',
      'Kafka',
      'KafkaTopic',
      'KafkaUser',
    ]);
    expect(awaitedObjects(synthPlatform({ PM_POSTGRES: 'citus' }).objects).map((o) => o.kind)).toContain('StatefulSet');
  });

  it('fails, naming each object and why, while the controllers have reported nothing', async () => {
    const lines: string[] = [];
    const results = await checkReadiness(objects, 2_000, (line) => lines.push(line));
    expect(results.map((r) => r.ok)).toEqual([true, false]);
    expect(results[0]?.detail).toMatch(/Kubernetes v1\.36\./);
    const detail = results[1]?.detail ?? '';
    expect(detail).toContain(`Deployment/${NAMESPACE}/api (`);
    expect(detail).toContain(`Kafka/${NAMESPACE}/payments (no Ready condition yet)`);
    expect(detail).toContain(`HTTPRoute/${NAMESPACE}/webhooks (no parent Gateway has accepted it yet)`);
    expect(lines.some((l) => l.startsWith('FAIL '))).toBe(true);
  }, 30_000);

  it('passes once each object reports the status its controller writes when healthy', async () => {
    for (const o of awaitedObjects(objects)) await patchStatus(kc, applier, o);
    const lines: string[] = [];
    const results = await checkReadiness(objects, 20_000, (line) => lines.push(line));
    expect(results.map((r) => r.ok)).toEqual([true, true]);
    expect(results[1]?.detail).toBe('');
    expect(lines.filter((l) => l.startsWith('  ready: '))).toHaveLength(awaitedObjects(objects).length);
    expect(lines.at(-1)).toMatch(/^PASS /);
  }, 60_000);

  it('notices a Deployment whose rollout is not finished (one replica short)', async () => {
    const api = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'api') as K8sObject;
    const live = (await applier.client.read(header(api))) as K8sObject;
    const replicas = live.spec.replicas as number;
    await kc.makeApiClient(CustomObjectsApi).patchNamespacedCustomObjectStatus(
      {
        group: 'apps',
        version: 'v1',
        namespace: NAMESPACE,
        plural: 'deployments',
        name: 'api',
        body: { status: { availableReplicas: replicas - 1, readyReplicas: replicas - 1 } },
      },
      setHeaderOptions('Content-Type', 'application/merge-patch+json'),
    );
    const results = await checkReadiness([api], 1_000);
    expect(results[1]?.detail).toContain(`Deployment/${NAMESPACE}/api (${replicas - 1}/${replicas} replicas`);
  }, 30_000);
});

/** The standalone stack (PM_STACK=standalone): no operator resources; StatefulSets and the topics Job instead. */
describe.skipIf(!KUBECONFIG)(`${title}, standalone stack`, () => {
  const namespace = `${NAMESPACE}-standalone`;
  let kc: KubeConfig;
  let applier: Applier;
  let objects: K8sObject[];

  beforeAll(async () => {
    // A LoadBalancer Service: a fixed node port is unique cluster-wide, and every run has a new namespace.
    const env = { PM_NAMESPACE: namespace, PM_STACK: 'standalone', PM_GATEWAY_NODE_PORT: 'none' };
    ({ kc, applier, objects } = await applyPlatform(KUBECONFIG, env));
  }, 180_000);

  const checkReadiness = (readyTimeoutMs: number) =>
    runClusterCheck({
      kc,
      namespace,
      objects: objects as KubernetesObject[],
      gatewayUrl: 'http://127.0.0.1:9',
      readyTimeoutMs,
      readinessOnly: true,
      log: () => {},
    });

  it('fails naming the StatefulSets and the topics Job, then passes once they report healthy status', async () => {
    const failed = await checkReadiness(2_000);
    expect(failed.map((r) => r.ok)).toEqual([true, false]);
    const detail = failed[1]?.detail ?? '';
    expect(detail).toContain(`StatefulSet/${namespace}/payments-kafka (`);
    expect(detail).toContain(`StatefulSet/${namespace}/payments-primary (`);
    expect(detail).toContain(`Job/${namespace}/kafka-topics (no Complete condition yet)`);
    expect(detail).not.toMatch(/Kafka\/|Cluster\/|KafkaTopic\//);

    for (const o of awaitedObjects(objects)) await patchStatus(kc, applier, o, namespace);
    const passed = await checkReadiness(20_000);
    expect(passed.map((r) => r.ok)).toEqual([true, true]);
  }, 90_000);
});
