/**
 * The platform on a real Kubernetes cluster: `npm run cluster:up` (the local single-node cluster of
 * scripts/local-cluster.sh, or kind) with the cdk8s app deployed. scripts/test-all.sh starts it and exports
 * PM_TEST_CLUSTER_ENV, the file of `scripts/cluster.sh env`. What runs here: cluster:check end to end, a rolling
 * update and a pod deletion under a steady webhook stream (every acknowledged webhook counted), and readiness
 * keeping a starting API pod out of the Service until its migrations and consumers are up.
 */
import { readFileSync } from 'node:fs';
import {
  AppsV1Api,
  CoreV1Api,
  DiscoveryV1Api,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1Pod,
} from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { runClusterCheck } from '../cluster/check.ts';
import { platformObjects } from '../cluster/deploy.ts';
import { loadKubeConfig, pollUntil } from '../cluster/kube.ts';
import {
  type Forward,
  forwardToPod,
  isPodReady,
  orderEventCounts,
  readyPod,
  type StreamResult,
  startWebhookStream,
  webhookSecret,
} from '../cluster/smoke.ts';
import { API } from '../src/charts/app.ts';
import { loadPlatformConfig, type PlatformConfig } from '../src/config.ts';

/** The exports of `scripts/cluster.sh env` (KUBECONFIG, PM_STACK, PM_GATEWAY_URL, PM_API_KEY). */
function clusterEnv(): Record<string, string> | undefined {
  const file = process.env.PM_TEST_CLUSTER_ENV;
  if (!file) return undefined;
  return Object.fromEntries(
    [...readFileSync(file, 'utf8').matchAll(/^export ([A-Z_]+)='?([^'\n]*)'?$/gm)].map((m) => [m[1], m[2]]),
  );
}

const ENV = clusterEnv();
const SKIP_REASON =
  'SKIPPED: PM_TEST_CLUSTER_ENV is unset; scripts/test-all.sh starts the local cluster (npm run cluster:up) and sets it';
// CI runs this file on a real cluster every time: there, a missing cluster is a failure, never a skip.
const required = process.env.CI === 'true';

if (!ENV && required) {
  describe('the platform on a real cluster', () => {
    it('has a cluster to run on', () => {
      throw new Error(`CI=true but ${SKIP_REASON.replace('SKIPPED: ', '')}`);
    });
  });
}

describe.skipIf(!ENV)(`the platform on a real cluster${ENV ? '' : ` [skipped: ${SKIP_REASON}]`}`, () => {
  const env = ENV ?? {};
  let kc: KubeConfig;
  let config: PlatformConfig;
  let secret: string | undefined;
  const apiKey = env.PM_API_KEY;
  const gatewayUrl = env.PM_GATEWAY_URL ?? '';

  beforeAll(async () => {
    kc = loadKubeConfig(env.KUBECONFIG);
    config = loadPlatformConfig({ ...process.env, ...env });
    secret = await webhookSecret(kc, config.namespace, config.secrets.credentials.webhook.name);
  });

  const apps = () => kc.makeApiClient(AppsV1Api);
  const core = () => kc.makeApiClient(CoreV1Api);
  const apiPods = async (): Promise<V1Pod[]> =>
    (await core().listNamespacedPod({ namespace: config.namespace, labelSelector: `app.kubernetes.io/name=${API}` }))
      .items;

  /** Waits until the API Deployment has rolled out completely: every replica updated and available, no old one. */
  const rolledOut = () =>
    pollUntil(
      'the API Deployment to finish rolling out',
      async () => {
        const d = await apps().readNamespacedDeployment({ name: API, namespace: config.namespace });
        const want = d.spec?.replicas ?? 1;
        const s = d.status ?? {};
        const done =
          (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0) &&
          s.updatedReplicas === want &&
          s.availableReplicas === want &&
          s.replicas === want;
        return done ? true : undefined;
      },
      { timeoutMs: 300_000, intervalMs: 1_000 },
    );

  const restartApi = () =>
    apps().patchNamespacedDeployment(
      {
        name: API,
        namespace: config.namespace,
        body: {
          spec: {
            template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': new Date().toISOString() } } },
          },
        },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );

  /** Waits until the stream has had `more` further webhooks acknowledged. */
  const acknowledgedMore = (stream: { acknowledgedCount(): number }, more: number) => {
    const target = stream.acknowledgedCount() + more;
    return pollUntil(
      `${more} more acknowledged webhooks`,
      async () => (stream.acknowledgedCount() >= target ? true : undefined),
      {
        timeoutMs: 120_000,
        intervalMs: 200,
      },
    );
  };

  /** Every acknowledged webhook is applied exactly once: one order event per acknowledged order, none missing. */
  const expectEachAppliedOnce = async (result: StreamResult) => {
    let api: Forward | undefined;
    try {
      api = await forwardToPod(kc, config.namespace, await readyPod(kc, config.namespace, API), 3000);
      const url = api.url;
      const counts = await pollUntil(
        `all ${result.acknowledged.length} acknowledged orders applied`,
        async () => {
          const c = await orderEventCounts(url, apiKey, result.acknowledged);
          return [...c.values()].every((n) => n >= 1) ? c : undefined;
        },
        { timeoutMs: 180_000, intervalMs: 2_000 },
      );
      const notOnce = result.acknowledged.filter((id) => counts.get(id) !== 1);
      expect(notOnce).toEqual([]);
      return counts;
    } finally {
      await api?.close();
    }
  };

  it('cluster:check passes: workloads Ready, a signed webhook through the Gateway to the API through Kafka, read back over a port-forward with an API key, its trace in Tempo', async () => {
    const results = await runClusterCheck({
      kc,
      namespace: config.namespace,
      webhookSecretName: config.secrets.credentials.webhook.name,
      objects: platformObjects(config),
      gatewayUrl,
      apiKey,
      readyTimeoutMs: 600_000,
      log: (line) => console.log(line),
    });
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(results.map((r) => r.step)).toHaveLength(6);
  }, 900_000);

  /**
   * Runs `disturb` inside a steady stream of webhooks (20 acknowledged before it, 20 after), then checks that every
   * acknowledged webhook was applied exactly once.
   */
  const underStream = async (what: string, disturb: () => Promise<void>) => {
    const stream = startWebhookStream(gatewayUrl, secret, { perSecond: 10 });
    let result: StreamResult;
    try {
      await acknowledgedMore(stream, 20);
      await disturb();
      await acknowledgedMore(stream, 20);
    } finally {
      result = await stream.stop();
    }
    console.log(`${what}: ${result.acknowledged.length} acknowledged, refused ${JSON.stringify(result.refused)}`);
    await expectEachAppliedOnce(result);
  };

  it('a rolling update of the API under a steady webhook stream loses and duplicates nothing', async () => {
    await underStream('rolling update', async () => {
      const before = new Set((await apiPods()).map((p) => p.metadata?.name));
      await restartApi();
      await rolledOut();
      const after = (await apiPods()).filter(isPodReady).map((p) => p.metadata?.name);
      expect(after.some((name) => before.has(name))).toBe(false);
    });
  }, 600_000);

  it('deleting an API pod mid-stream rebalances the consumers and loses nothing', async () => {
    await underStream('pod deletion', async () => {
      const victim = await readyPod(kc, config.namespace, API);
      await core().deleteNamespacedPod({ name: victim, namespace: config.namespace });
      await pollUntil(
        `${victim} gone and a replacement Ready`,
        async () => {
          const pods = await apiPods();
          const replaced = !pods.some((p) => p.metadata?.name === victim);
          return replaced && pods.filter(isPodReady).length >= config.minReplicas ? true : undefined;
        },
        { timeoutMs: 300_000, intervalMs: 1_000 },
      );
    });
  }, 600_000);

  it('readiness keeps a starting API pod out of the Service until its migrations and consumers are up', async () => {
    const before = new Set((await apiPods()).map((p) => p.metadata?.name));
    await restartApi();
    await rolledOut();
    const started = (await apiPods()).filter((p) => !before.has(p.metadata?.name));
    expect(started.length).toBeGreaterThanOrEqual(1);
    for (const pod of started) {
      const name = pod.metadata?.name as string;
      const readySince = Date.parse(
        pod.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'True')
          ?.lastTransitionTime as unknown as string,
      );
      const lines = (await core().readNamespacedPodLog({ name, namespace: config.namespace, container: API }))
        .split('\n')
        .flatMap((line) => {
          try {
            const entry = JSON.parse(line) as { time: string; message: string };
            return [{ time: Date.parse(entry.time), message: entry.message }];
          } catch {
            return [];
          }
        });
      const at = (pattern: RegExp) => lines.filter((l) => pattern.test(l.message)).map((l) => l.time);
      const listening = at(/^API listening/);
      const consumersRunning = at(/^webhook consumer running/);
      expect(listening, `${name} logged "API listening" (after its migrations)`).toHaveLength(1);
      expect(consumersRunning.length, `${name} logged both consumers running`).toBeGreaterThanOrEqual(2);
      // The Ready condition's time has whole seconds: the pod turned Ready no earlier than the second it was up.
      const upAt = Math.max(...listening, ...consumersRunning);
      expect(readySince).toBeGreaterThanOrEqual(Math.floor(upAt / 1000) * 1000);
      // And the Service did not list it before: its EndpointSlice address is ready now, as the probe decided.
      const slices = await kc.makeApiClient(DiscoveryV1Api).listNamespacedEndpointSlice({
        namespace: config.namespace,
        labelSelector: `kubernetes.io/service-name=${API}`,
      });
      const endpoint = slices.items.flatMap((s) => s.endpoints ?? []).find((e) => e.targetRef?.name === name);
      expect(endpoint?.conditions?.ready).toBe(true);
    }
  }, 600_000);
});
