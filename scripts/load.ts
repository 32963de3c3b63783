/**
 * `npm run load`: a load generator in the spirit of the Go original's load test. N virtual users each walk fresh
 * orders through allowed transitions (created → updated… → success/failed); a share of the successful ones play a
 * chargeback (opened → maybe updated → closed won/lost). Webhooks are signed (Standard Webhooks) and go to ingest
 * (kafka or http mode) or straight to the API (sync mode); reads are interleaved (GET /orders/{id},
 * /orders?limit=10, /orders/events?limit=10), and after every webhook the user polls until its effect is readable,
 * which gives the webhook-to-visible lag. Bounded in time and in requests. `--help` lists the flags.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { failUsage, parseCli } from '@payment-manager/shared/cli';
import { parseWebhookSecrets } from '@payment-manager/shared/signatures';
import { signWebhook } from './webhook-send.ts';

const { values: args } = parseCli({
  command: 'npm run load --',
  summary:
    'Virtual users walk fresh orders through their lifecycle with signed webhooks and read them back through the API; progress every 2 s, then requests, rate, errors by status, p50/p95/p99 per request kind and the webhook-to-visible lag.',
  options: {
    'webhooks-url': {
      type: 'string',
      default: 'http://127.0.0.1:3001',
      valueName: '<url>',
      description: 'where webhooks go: ingest (kafka/http mode) or the API (sync mode)',
    },
    'api-url': {
      type: 'string',
      default: 'http://127.0.0.1:3000',
      valueName: '<url>',
      description: 'the API, for reads',
    },
    vus: { type: 'string', default: '10', valueName: '<n>', description: 'virtual users' },
    duration: { type: 'string', default: '30', valueName: '<s>', description: 'seconds to run' },
    'max-requests': {
      type: 'string',
      default: '1000000',
      valueName: '<n>',
      description: 'stop after this many requests in all',
    },
    'chargeback-ratio': {
      type: 'string',
      default: '0.3',
      valueName: '<r>',
      description: 'share of successful orders that play a chargeback, 0…1',
    },
    'visible-timeout': {
      type: 'string',
      default: '10',
      valueName: '<s>',
      description: "how long a user waits for a webhook's effect to be readable",
    },
  },
  environment: {
    WEBHOOK_SECRET: 'signs the webhooks (first entry when several; unsigned without one)',
    PM_LOAD_API_KEY: 'bearer key for reads (a reader or operator key); API_KEY is used when it is unset',
  },
});

function fail(message: string): never {
  failUsage('load', message);
}

function numberOption(name: string, min: number, max: number, whole = true): number {
  const raw = (args as Record<string, unknown>)[name] as string;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value < min || value > max || (whole && !Number.isInteger(value)))
    fail(
      `--${name} must be ${whole ? 'a whole number' : 'a number'} from ${min} to ${max}, got ${JSON.stringify(raw)}`,
    );
  return value;
}

function urlOption(name: string): string {
  const raw = (args as Record<string, unknown>)[name] as string;
  try {
    return new URL(raw).toString().replace(/\/+$/, '');
  } catch {
    fail(`--${name} must be an absolute URL, got ${JSON.stringify(raw)}`);
  }
}

const WEBHOOKS_URL = urlOption('webhooks-url');
const API_URL = urlOption('api-url');
const VUS = numberOption('vus', 1, 10_000);
const DURATION_S = numberOption('duration', 1, 86_400);
const MAX_REQUESTS = numberOption('max-requests', 1, 1e9);
const CHARGEBACK_RATIO = numberOption('chargeback-ratio', 0, 1, false);
const VISIBLE_TIMEOUT_MS = numberOption('visible-timeout', 1, 600) * 1000;
const SECRET = parseWebhookSecrets(process.env.WEBHOOK_SECRET)[0];
const API_KEY = process.env.PM_LOAD_API_KEY ?? process.env.API_KEY ?? '';

type Kind =
  | 'webhook order'
  | 'webhook chargeback'
  | 'GET /orders/{id}'
  | 'GET /orders?limit=10'
  | 'GET /orders/events?limit=10'
  | 'GET /disputes?order_id'
  | 'visibility poll';

interface KindStats {
  latencies: number[];
  statuses: Map<string, number>;
}

const stats = new Map<Kind, KindStats>();
const lags: { order: number[]; chargeback: number[] } = { order: [], chargeback: [] };
let requests = 0;
let invisible = 0;
const startedAt = performance.now();
const deadline = startedAt + DURATION_S * 1000;
const done = () => performance.now() >= deadline || requests >= MAX_REQUESTS;

function record(kind: Kind, status: string, ms: number): void {
  let entry = stats.get(kind);
  if (!entry) {
    entry = { latencies: [], statuses: new Map() };
    stats.set(kind, entry);
  }
  entry.latencies.push(ms);
  entry.statuses.set(status, (entry.statuses.get(status) ?? 0) + 1);
}

async function request(
  kind: Kind,
  url: string,
  init: RequestInit = {},
): Promise<{ status: number; json: unknown } | null> {
  requests++;
  const start = performance.now();
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
    const text = await response.text();
    record(kind, String(response.status), performance.now() - start);
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: response.status, json };
  } catch (err) {
    record(kind, (err as Error).name === 'TimeoutError' ? 'timeout' : 'network error', performance.now() - start);
    return null;
  }
}

const read = (kind: Kind, path: string) =>
  request(kind, `${API_URL}${path}`, API_KEY ? { headers: { authorization: `Bearer ${API_KEY}` } } : {});

async function sendWebhook(kind: 'order' | 'chargeback', payload: object): Promise<boolean> {
  const body = JSON.stringify(payload);
  const id = `msg_${randomUUID()}`;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (SECRET) Object.assign(headers, signWebhook(body, SECRET, id, new Date()));
  else headers['webhook-id'] = id;
  const path = kind === 'order' ? '/webhooks/payments/orders' : '/webhooks/payments/chargebacks';
  const answer = await request(`webhook ${kind}`, `${WEBHOOKS_URL}${path}`, { method: 'POST', headers, body });
  return answer !== null && answer.status >= 200 && answer.status < 300;
}

/** Polls until `probe` sees the webhook's effect; records the lag from the webhook's send. */
async function waitVisible(lag: number[], sentAt: number, probe: () => Promise<boolean>): Promise<void> {
  while (performance.now() - sentAt < VISIBLE_TIMEOUT_MS) {
    if (await probe()) {
      lag.push(performance.now() - sentAt);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  invisible++;
}

const at = () => new Date().toISOString();

async function orderStatusIs(orderId: string, status: string): Promise<boolean> {
  const answer = await read('visibility poll', `/orders/${encodeURIComponent(orderId)}`);
  return (answer?.json as { status?: string } | undefined)?.status === status;
}

async function disputeStatusIs(orderId: string, statuses: string[]): Promise<boolean> {
  const answer = await read('visibility poll', `/disputes?order_id=${encodeURIComponent(orderId)}`);
  const list = answer?.json as Array<{ status?: string }> | { items?: Array<{ status?: string }> } | undefined;
  const items = Array.isArray(list) ? list : (list?.items ?? []);
  return items.some((d) => statuses.includes(d.status ?? ''));
}

/** One virtual user: fresh orders, one after the other, until time or the request budget runs out. */
async function virtualUser(): Promise<void> {
  while (!done()) {
    const orderId = `load-${randomUUID()}`;
    const userId = randomUUID();
    const createdAt = at();
    const steps = ['created', ...Array.from({ length: Math.floor(Math.random() * 3) }, () => 'updated')];
    steps.push(Math.random() < 0.85 ? 'success' : 'failed');
    let walked = 0;
    for (const status of steps) {
      if (done()) return;
      const sentAt = performance.now();
      const accepted = await sendWebhook('order', {
        provider_event_id: `pe-${randomUUID()}`,
        order_id: orderId,
        user_id: userId,
        status,
        created_at: createdAt,
        updated_at: at(),
        meta: { amount: '42.00', currency: 'EUR', source: 'load' },
      });
      if (!accepted) break;
      walked++;
      await waitVisible(lags.order, sentAt, () => orderStatusIs(orderId, status));
      await read('GET /orders/{id}', `/orders/${encodeURIComponent(orderId)}`);
      await read('GET /orders?limit=10', '/orders?limit=10');
      await read('GET /orders/events?limit=10', '/orders/events?limit=10');
    }
    if (walked < steps.length || steps.at(-1) !== 'success' || Math.random() >= CHARGEBACK_RATIO) continue;
    const chargebacks = ['opened', ...(Math.random() < 0.5 ? ['updated'] : []), 'closed'];
    const resolution = Math.random() < 0.5 ? 'won' : 'lost';
    for (const status of chargebacks) {
      if (done()) return;
      const sentAt = performance.now();
      const accepted = await sendWebhook('chargeback', {
        provider_event_id: `cb-${randomUUID()}`,
        order_id: orderId,
        user_id: userId,
        status,
        reason: 'fraud',
        amount: 42,
        currency: 'EUR',
        occurred_at: at(),
        meta: status === 'closed' ? { resolution } : {},
      });
      if (!accepted) break;
      const expected = status === 'closed' ? [resolution] : ['open', 'under_review'];
      await waitVisible(lags.chargeback, sentAt, () => disputeStatusIs(orderId, expected));
      await read('GET /disputes?order_id', `/disputes?order_id=${encodeURIComponent(orderId)}`);
    }
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

const ms = (value: number) => (Number.isNaN(value) ? '-' : value.toFixed(1));

function progress(): void {
  const seconds = (performance.now() - startedAt) / 1000;
  const errors = [...stats.values()].reduce(
    (sum, s) =>
      sum +
      [...s.statuses].filter(([status]) => !/^2\d\d$/.test(status) && status !== '404').reduce((a, [, n]) => a + n, 0),
    0,
  );
  console.log(
    `[load] ${seconds.toFixed(0).padStart(4)} s  ${requests} requests  ${(requests / seconds).toFixed(0)} req/s  errors ${errors}  orders visible ${lags.order.length}`,
  );
}

console.log(
  `[load] ${VUS} virtual users for ${DURATION_S} s (at most ${MAX_REQUESTS} requests): webhooks → ${WEBHOOKS_URL}, reads → ${API_URL}, ` +
    `chargebacks on ${(CHARGEBACK_RATIO * 100).toFixed(0)} % of successful orders${SECRET ? '' : ', webhooks UNSIGNED (no WEBHOOK_SECRET)'}`,
);
const ticker = setInterval(progress, 2000);
await Promise.all(Array.from({ length: VUS }, virtualUser));
clearInterval(ticker);

const seconds = (performance.now() - startedAt) / 1000;
console.log('');
console.log(
  `requests ${requests} in ${seconds.toFixed(1)} s = ${(requests / seconds).toFixed(0)} req/s, ${VUS} virtual users`,
);
console.log('');
console.log(
  `${'kind'.padEnd(28)} ${'count'.padStart(7)} ${'p50 ms'.padStart(8)} ${'p95 ms'.padStart(8)} ${'p99 ms'.padStart(8)}  statuses`,
);
for (const [kind, entry] of [...stats].sort(([a], [b]) => a.localeCompare(b))) {
  const sorted = [...entry.latencies].sort((a, b) => a - b);
  const statuses = [...entry.statuses]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([status, n]) => `${status}×${n}`)
    .join(' ');
  console.log(
    `${kind.padEnd(28)} ${String(sorted.length).padStart(7)} ${ms(percentile(sorted, 50)).padStart(8)} ${ms(percentile(sorted, 95)).padStart(8)} ${ms(percentile(sorted, 99)).padStart(8)}  ${statuses}`,
  );
}
const all = [...stats.values()].flatMap((s) => s.latencies).sort((a, b) => a - b);
console.log(
  `${'all requests'.padEnd(28)} ${String(all.length).padStart(7)} ${ms(percentile(all, 50)).padStart(8)} ${ms(percentile(all, 95)).padStart(8)} ${ms(percentile(all, 99)).padStart(8)}`,
);
console.log('');
for (const [kind, values] of Object.entries(lags)) {
  const sorted = [...values].sort((a, b) => a - b);
  console.log(
    `webhook-to-visible lag (${kind.padEnd(10)}) ${String(sorted.length).padStart(6)} webhooks  p50 ${ms(percentile(sorted, 50))} ms  p95 ${ms(percentile(sorted, 95))} ms  p99 ${ms(percentile(sorted, 99))} ms`,
  );
}
if (invisible > 0) console.log(`${invisible} webhooks never became visible within ${VISIBLE_TIMEOUT_MS / 1000} s`);
const failedWebhooks = [...stats]
  .filter(([kind]) => kind.startsWith('webhook'))
  .flatMap(([, s]) => [...s.statuses].filter(([status]) => !/^2\d\d$/.test(status)))
  .reduce((sum, [, n]) => sum + n, 0);
process.exitCode = failedWebhooks > 0 || invisible > 0 ? 1 : 0;
