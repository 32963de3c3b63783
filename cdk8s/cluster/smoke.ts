/**
 * The end-to-end half of `npm run cluster:check`: port-forwards through the Kubernetes API (the client's
 * PortForward, as `kubectl port-forward` does), sends a signed webhook through the Gateway with a known trace id,
 * polls the API until the webhook is applied, and reads that trace back from Tempo.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { CoreV1Api, type KubeConfig, PortForward, type V1Pod } from '@kubernetes/client-node';
import { parseWebhookSecrets } from '@payment-manager/shared/signatures';
import { buildSampleWebhook, signWebhook, WEBHOOK_PATHS } from '../../scripts/webhook-send.ts';
import { pollUntil } from './kube.ts';

export function isPodReady(pod: V1Pod): boolean {
  return (
    pod.metadata?.deletionTimestamp === undefined &&
    (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')
  );
}

/** Name of a Ready pod carrying app.kubernetes.io/name=<name>. */
export async function readyPod(kc: KubeConfig, namespace: string, name: string): Promise<string> {
  const pods = await kc
    .makeApiClient(CoreV1Api)
    .listNamespacedPod({ namespace, labelSelector: `app.kubernetes.io/name=${name}` });
  const pod = pods.items.find(isPodReady);
  if (!pod?.metadata?.name) throw new Error(`no Ready pod with app.kubernetes.io/name=${name} in ${namespace}`);
  return pod.metadata.name;
}

export interface Forward {
  url: string;
  close(): Promise<void>;
}

/** A local port whose connections are tunnelled to `port` of the pod through the API server. */
export async function forwardToPod(kc: KubeConfig, namespace: string, pod: string, port: number): Promise<Forward> {
  const forward = new PortForward(kc);
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    forward.portForward(namespace, pod, [port], socket, null, socket).catch((err: unknown) => {
      socket.destroy(err instanceof Error ? err : new Error(String(err)));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('port-forward listener has no TCP address');
  return {
    url: `http://127.0.0.1:${address.port}`,
    // Idle keep-alive connections would hold close() open until they time out.
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

/** The first signing secret of the platform's webhook Secret; undefined when verification is off. */
export async function webhookSecret(
  kc: KubeConfig,
  namespace: string,
  secretName: string,
): Promise<string | undefined> {
  try {
    const secret = await kc.makeApiClient(CoreV1Api).readNamespacedSecret({ name: secretName, namespace });
    const raw = secret.data?.WEBHOOK_SECRET;
    return raw ? parseWebhookSecrets(Buffer.from(raw, 'base64').toString('utf8'))[0] : undefined;
  } catch {
    return undefined;
  }
}

export interface SentWebhook {
  orderId: string;
  traceId: string;
  status: number;
}

/** One signed order webhook through the Gateway, carrying a W3C traceparent whose trace id we chose. */
export async function sendTracedOrderWebhook(gatewayUrl: string, secret: string | undefined): Promise<SentWebhook> {
  const payload = buildSampleWebhook('order');
  const body = JSON.stringify(payload);
  const traceId = randomBytes(16).toString('hex');
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01`,
  };
  const webhookId = `msg_${randomBytes(12).toString('hex')}`;
  if (secret) Object.assign(headers, signWebhook(body, secret, webhookId, new Date()));
  else headers['webhook-id'] = webhookId;
  const response = await fetch(new URL(WEBHOOK_PATHS.order, gatewayUrl), {
    method: 'POST',
    headers,
    body,
    signal: AbortSignal.timeout(15_000),
  });
  await response.arrayBuffer();
  return { orderId: payload.order_id, traceId, status: response.status };
}

/** Polls GET /orders/{id} on the API, with a reader's API key, until the order exists. */
export async function waitForOrder(
  apiUrl: string,
  orderId: string,
  { apiKey, timeoutMs }: { apiKey: string | undefined; timeoutMs: number },
): Promise<unknown> {
  return pollUntil(
    `order ${orderId} at ${apiUrl}`,
    async () => {
      const response = await fetch(`${apiUrl}/orders/${encodeURIComponent(orderId)}`, {
        headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {},
        signal: AbortSignal.timeout(5_000),
      });
      if (response.status === 401 || response.status === 403)
        throw new Error(`the API refused the key (${response.status}): set PM_API_KEY to a reader key`);
      return response.status === 200 ? await response.json() : undefined;
    },
    { timeoutMs, intervalMs: 1_000 },
  );
}

export interface FlatSpan {
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: string;
  service: string;
  attributes: Record<string, string>;
}

interface OtlpAttribute {
  key: string;
  value: Record<string, unknown>;
}
interface OtlpSpan {
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: string | number;
  attributes?: OtlpAttribute[];
}
interface OtlpResourceSpans {
  resource?: { attributes?: OtlpAttribute[] };
  scopeSpans?: Array<{ spans?: OtlpSpan[] }>;
  instrumentationLibrarySpans?: Array<{ spans?: OtlpSpan[] }>;
}

const SPAN_KINDS = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];

function attributeMap(attributes: OtlpAttribute[] = []): Record<string, string> {
  return Object.fromEntries(attributes.map((a) => [a.key, String(Object.values(a.value ?? {})[0] ?? '')]));
}

/** Tempo's trace JSON (`batches` from /api/traces, `trace.resourceSpans` from /api/v2/traces) as flat spans. */
export function flattenTrace(json: unknown): FlatSpan[] {
  const doc = json as { batches?: OtlpResourceSpans[]; resourceSpans?: OtlpResourceSpans[]; trace?: unknown };
  const resources =
    doc.batches ?? doc.resourceSpans ?? (doc.trace as { resourceSpans?: OtlpResourceSpans[] })?.resourceSpans ?? [];
  return resources.flatMap((r) => {
    const service = attributeMap(r.resource?.attributes)['service.name'] ?? '';
    return [...(r.scopeSpans ?? []), ...(r.instrumentationLibrarySpans ?? [])].flatMap((scope) =>
      (scope.spans ?? []).map((s) => ({
        spanId: s.spanId,
        parentSpanId: s.parentSpanId ?? '',
        name: s.name,
        kind: typeof s.kind === 'number' ? (SPAN_KINDS[s.kind] ?? '') : String(s.kind ?? '').replace('SPAN_KIND_', ''),
        service,
        attributes: attributeMap(s.attributes),
      })),
    );
  });
}

const isDatabaseSpan = (s: FlatSpan) =>
  (s.attributes['db.system'] ?? s.attributes['db.system.name'] ?? '').startsWith('postgres');

/**
 * The span tree one webhook must leave: ingest's SERVER span → ingest's PRODUCER span → the API's CONSUMER span →
 * an SQL span, each below the previous one. Returns what is missing (empty = complete).
 */
export function spanTreeProblems(
  spans: FlatSpan[],
  services = { ingest: 'payment-manager-ingest', api: 'payment-manager-api' },
): string[] {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const below = (span: FlatSpan, ancestor: FlatSpan): boolean => {
    const seen = new Set<string>();
    for (let p = byId.get(span.parentSpanId); p && !seen.has(p.spanId); p = byId.get(p.parentSpanId)) {
      if (p.spanId === ancestor.spanId) return true;
      seen.add(p.spanId);
    }
    return false;
  };
  const steps: Array<[string, (s: FlatSpan) => boolean]> = [
    [`a SERVER span of ${services.ingest}`, (s) => s.service === services.ingest && s.kind === 'SERVER'],
    [`a PRODUCER span of ${services.ingest}`, (s) => s.service === services.ingest && s.kind === 'PRODUCER'],
    [`a CONSUMER span of ${services.api}`, (s) => s.service === services.api && s.kind === 'CONSUMER'],
    [`an SQL span of ${services.api}`, (s) => s.service === services.api && isDatabaseSpan(s)],
  ];
  let parents: FlatSpan[] = [];
  for (const [index, [what, matches]] of steps.entries()) {
    const found = spans.filter((s) => matches(s) && (index === 0 || parents.some((p) => below(s, p))));
    if (found.length === 0)
      return [
        `${what}${index === 0 ? '' : ` below ${steps[index - 1]?.[0]}`} (trace has ${spans.length} spans: ${[...new Set(spans.map((s) => `${s.service}:${s.kind}:${s.name}`))].join(', ')})`,
      ];
    parents = found;
  }
  return [];
}

/** Polls Tempo until the trace holds the complete span tree (spans arrive in batches, seconds apart). */
export async function waitForTrace(tempoUrl: string, traceId: string, timeoutMs: number): Promise<FlatSpan[]> {
  let problems: string[] = ['trace not found yet'];
  try {
    return await pollUntil(
      `trace ${traceId} in Tempo`,
      async () => {
        const response = await fetch(`${tempoUrl}/api/traces/${traceId}`, { signal: AbortSignal.timeout(5_000) });
        if (response.status !== 200) return undefined;
        const spans = flattenTrace(await response.json());
        problems = spanTreeProblems(spans);
        return problems.length === 0 ? spans : undefined;
      },
      { timeoutMs, intervalMs: 2_000 },
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; missing: ${problems.join('; ')}`);
  }
}

export interface StreamResult {
  /** Order ids of the webhooks the Gateway answered 202: the platform owes each exactly one order event. */
  acknowledged: string[];
  /** Answers other than 202 (and network errors), by status: not acknowledged, so nothing is owed for them. */
  refused: Record<string, number>;
}

export interface WebhookStream {
  /** Acknowledged so far. */
  acknowledgedCount(): number;
  /** Stops sending, waits for the webhooks in flight, and returns what was acknowledged. */
  stop(): Promise<StreamResult>;
}

/**
 * Fresh order webhooks through the Gateway at a steady rate until stopped (at most `maxInFlight` unanswered at a
 * time, so a stalled platform slows the stream instead of piling up requests).
 */
export function startWebhookStream(
  gatewayUrl: string,
  secret: string | undefined,
  { perSecond, maxInFlight = 20 }: { perSecond: number; maxInFlight?: number },
): WebhookStream {
  const acknowledged: string[] = [];
  const refused: Record<string, number> = {};
  const inFlight = new Set<Promise<void>>();
  const send = async () => {
    try {
      const result = await sendTracedOrderWebhook(gatewayUrl, secret);
      if (result.status === 202) acknowledged.push(result.orderId);
      else refused[result.status] = (refused[result.status] ?? 0) + 1;
    } catch (err) {
      const reason = err instanceof Error ? err.name : 'error';
      refused[reason] = (refused[reason] ?? 0) + 1;
    }
  };
  const timer = setInterval(() => {
    if (inFlight.size >= maxInFlight) return;
    const sending = send().finally(() => inFlight.delete(sending));
    inFlight.add(sending);
  }, 1000 / perSecond);
  return {
    acknowledgedCount: () => acknowledged.length,
    async stop() {
      clearInterval(timer);
      await Promise.all(inFlight);
      return { acknowledged: [...acknowledged], refused: { ...refused } };
    },
  };
}

/** How many events GET /orders/events lists for each of the orders (all pages, 50 ids per request). */
export async function orderEventCounts(apiUrl: string, apiKey: string | undefined, orderIds: string[]) {
  const counts = new Map<string, number>(orderIds.map((id) => [id, 0]));
  for (let start = 0; start < orderIds.length; start += 50) {
    let cursor = '';
    do {
      const query = new URLSearchParams({ order_ids: orderIds.slice(start, start + 50).join(','), limit: '1000' });
      if (cursor) query.set('cursor', cursor);
      const response = await fetch(`${apiUrl}/orders/events?${query}`, {
        headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {},
        signal: AbortSignal.timeout(10_000),
      });
      if (response.status !== 200) throw new Error(`GET /orders/events answered ${response.status}`);
      const page = (await response.json()) as {
        items: Array<{ order_id: string }>;
        next_cursor: string;
        has_more: boolean;
      };
      for (const item of page.items) counts.set(item.order_id, (counts.get(item.order_id) ?? 0) + 1);
      cursor = page.has_more ? page.next_cursor : '';
    } while (cursor);
  }
  return counts;
}
