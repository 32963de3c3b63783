/**
 * `npm run cluster:check`: is the platform on the current kube context up, and does a webhook go all the way?
 *
 *   npm run cluster:check                        current context of $KUBECONFIG / ~/.kube/config
 *   npm run cluster:check -- --gateway http://localhost --timeout 900 --context kind-payment-manager
 *
 * Steps, each printed as PASS or FAIL with its duration (the run stops at the first failure, exit code 1):
 *   0. the Kubernetes API of the context answers (its version);
 *   1. every workload and custom resource the cdk8s app synthesizes (same PM_* settings as `npm run synth`) is
 *      ready: Deployments, StatefulSets, Jobs, the CloudNativePG Cluster, the Strimzi Kafka and topics (operators
 *      stack only), the Gateway and its HTTPRoute;
 *   2. port-forwards to an API pod through the Kubernetes API;
 *   3. sends a signed order webhook through the Gateway, with a traceparent whose trace id it chose;
 *   4. polls the API until that order exists;
 *   5. port-forwards to Tempo and waits for that trace's span tree: ingest → Kafka producer → API consumer → SQL.
 */

import { type KubeConfig, type KubernetesObject, VersionApi } from '@kubernetes/client-node';
import { oneLineErrors, parseCli } from '@payment-manager/shared/cli';
import { WEBHOOK_SECRET_NAME } from '../src/charts/app.ts';
import { loadPlatformConfig } from '../src/config.ts';
import { platformObjects } from './deploy.ts';
import { Applier, loadKubeConfig } from './kube.ts';
import { awaitedObjects, waitUntilReady } from './readiness.ts';
import {
  type Forward,
  forwardToPod,
  readyPod,
  sendTracedOrderWebhook,
  waitForOrder,
  waitForTrace,
  webhookSecret,
} from './smoke.ts';

export interface CheckOptions {
  kc: KubeConfig;
  namespace: string;
  /** The objects of the platform, as synthesized. */
  objects: KubernetesObject[];
  gatewayUrl: string;
  /** The Secret holding ingest's WEBHOOK_SECRET (PM_SECRET_WEBHOOK; default payment-manager-webhook). */
  webhookSecretName?: string;
  /** A reader's API key for GET /orders/{id}; undefined when the API runs without keys. */
  apiKey?: string;
  readyTimeoutMs: number;
  /** Steps after readiness need a running cluster (pods, Tempo); the tests against a bare API server stop here. */
  readinessOnly?: boolean;
  log: (line: string) => void;
}

export interface StepResult {
  step: string;
  ok: boolean;
  detail: string;
  seconds: number;
}

/** Runs the steps in order; stops at the first failure. */
export async function runClusterCheck(options: CheckOptions): Promise<StepResult[]> {
  const { kc, namespace, log } = options;
  const results: StepResult[] = [];
  const forwards: Forward[] = [];
  const step = async (name: string, fn: () => Promise<string>): Promise<boolean> => {
    const started = Date.now();
    log(`▶ ${name}`);
    try {
      const detail = await fn();
      const seconds = (Date.now() - started) / 1000;
      results.push({ step: name, ok: true, detail, seconds });
      log(`PASS ${name} (${seconds.toFixed(1)}s)${detail ? `: ${detail}` : ''}`);
      return true;
    } catch (err) {
      const seconds = (Date.now() - started) / 1000;
      const detail = err instanceof Error ? err.message : String(err);
      results.push({ step: name, ok: false, detail, seconds });
      log(`FAIL ${name} (${seconds.toFixed(1)}s): ${detail}`);
      return false;
    }
  };

  try {
    const reachable = await step('the Kubernetes API answers', async () => {
      const version = await kc.makeApiClient(VersionApi).getCode();
      return `${kc.getCurrentCluster()?.server}, Kubernetes ${version.gitVersion}`;
    });
    if (!reachable) return results;
    const awaited = awaitedObjects(options.objects);
    const ready = await step(`${awaited.length} workloads and custom resources ready in ${namespace}`, async () => {
      const notReady = await waitUntilReady(new Applier(kc).client, awaited, {
        timeoutMs: options.readyTimeoutMs,
        log,
      });
      if (notReady.length) throw new Error(`not ready: ${notReady.map((n) => `${n.object} (${n.detail})`).join('; ')}`);
      return '';
    });
    if (!ready || options.readinessOnly) return results;

    let api: Forward | undefined;
    if (
      !(await step('port-forward to an API pod through the Kubernetes API', async () => {
        const pod = await readyPod(kc, namespace, 'api');
        api = await forwardToPod(kc, namespace, pod, 3000);
        forwards.push(api);
        const health = await fetch(`${api.url}/health/ready`, { signal: AbortSignal.timeout(10_000) });
        if (health.status !== 200) throw new Error(`${pod} /health/ready answered ${health.status}`);
        return `${pod} → ${api.url}`;
      }))
    )
      return results;

    let sent: { orderId: string; traceId: string } | undefined;
    if (
      !(await step(`signed order webhook through the Gateway (${options.gatewayUrl})`, async () => {
        const secret = await webhookSecret(kc, namespace, options.webhookSecretName ?? WEBHOOK_SECRET_NAME);
        const result = await sendTracedOrderWebhook(options.gatewayUrl, secret);
        if (result.status !== 202) throw new Error(`answered ${result.status}, expected 202`);
        sent = result;
        return `order ${result.orderId}, trace ${result.traceId}${secret ? '' : ' (unsigned: no webhook secret)'}`;
      }))
    )
      return results;

    if (
      !(await step('the API applied the webhook', async () => {
        await waitForOrder((api as Forward).url, (sent as { orderId: string }).orderId, {
          apiKey: options.apiKey,
          timeoutMs: 60_000,
        });
        return `GET /orders/${sent?.orderId} → 200`;
      }))
    )
      return results;

    await step('the trace in Tempo: ingest → Kafka → API → SQL', async () => {
      const tempo = await forwardToPod(kc, namespace, await readyPod(kc, namespace, 'tempo'), 3200);
      forwards.push(tempo);
      const spans = await waitForTrace(tempo.url, (sent as { traceId: string }).traceId, 90_000);
      return `${spans.length} spans`;
    });
    return results;
  } finally {
    for (const f of forwards) await f.close();
  }
}

async function main(): Promise<number> {
  const { values } = parseCli({
    command: 'npm run cluster:check --',
    summary:
      'Waits until every workload and custom resource of the cdk8s app is ready on the cluster, then sends one signed ' +
      'webhook through the Gateway and follows it to the API and to Tempo (PASS/FAIL per step).',
    options: {
      gateway: {
        type: 'string',
        default: process.env.PM_GATEWAY_URL ?? 'http://localhost',
        valueName: '<url>',
        description: 'the Gateway as seen from here (env PM_GATEWAY_URL)',
      },
      timeout: { type: 'string', default: '900', valueName: '<s>', description: 'seconds to wait for readiness' },
      context: { type: 'string', valueName: '<name>', description: 'kubeconfig context (default: the current one)' },
      kubeconfig: {
        type: 'string',
        valueName: '<path>',
        description: 'kubeconfig file (default: KUBECONFIG or ~/.kube/config)',
      },
    },
    environment: {
      PM_API_KEY: "a reader's API key for reading the order back (the local cluster's env sets the dev key)",
      'PM_*': 'the synth settings of docs/kubernetes.md, as for npm run synth',
    },
  });
  const timeoutSeconds = Number(values.timeout);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
    console.error(`--timeout must be a positive number of seconds, got "${values.timeout}"`);
    return 2;
  }
  const kc = loadKubeConfig(values.kubeconfig);
  if (values.context) kc.setCurrentContext(values.context);
  const config = loadPlatformConfig(process.env);
  const objects = platformObjects(config);
  console.log(
    `cluster:check on context ${kc.getCurrentContext()} (${kc.getCurrentCluster()?.server}), namespace ${config.namespace}`,
  );
  const results = await runClusterCheck({
    kc,
    namespace: config.namespace,
    webhookSecretName: config.secrets.credentials.webhook.name,
    objects,
    gatewayUrl: values.gateway,
    apiKey: process.env.PM_API_KEY?.trim() || undefined,
    readyTimeoutMs: timeoutSeconds * 1000,
    log: (line) => console.log(line),
  });
  const failed = results.filter((r) => !r.ok).length;
  console.log(
    `cluster:check ${failed ? 'FAILED' : 'PASSED'}: ${results.length - failed} steps passed, ${failed} failed`,
  );
  return failed ? 1 : 0;
}

if (import.meta.filename === process.argv[1]) {
  oneLineErrors('cluster:check');
  process.exitCode = await main();
}
