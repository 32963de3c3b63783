/**
 * Sends one valid, signed sample provider webhook — for humans trying the stack and for smoke tests.
 *
 *   npm run webhook:send -- --to http://127.0.0.1:3001 --kind order
 *   npm run webhook:send -- --to http://127.0.0.1:3001 --kind chargeback --order-id ord-1 --user-id <uuid>
 *
 * --to is a base URL (the spec §5 path for the kind is appended) or a full URL with a path.
 * The secret comes from --secret or WEBHOOK_SECRET (first entry when several are listed for rotation);
 * without one the webhook goes out unsigned, which only a receiver with verification off accepts.
 * The payload passes the same shared schema the services use before it is sent, so a rejection by the
 * receiver is the receiver's verdict, never a malformed sample. Exit code 0 = 2xx answer.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import {
  CHARGEBACK_WEBHOOK_STATUSES,
  type ChargebackWebhook,
  ORDER_WEBHOOK_STATUSES,
  type OrderWebhook,
  parseChargebackWebhook,
  parseOrderWebhook,
  type WebhookKind,
} from '@payment-manager/shared';
import { parseWebhookSecrets } from '@payment-manager/shared/signatures';
import { Webhook } from 'standardwebhooks';

export const WEBHOOK_PATHS: Record<WebhookKind, string> = {
  order: '/webhooks/payments/orders',
  chargeback: '/webhooks/payments/chargebacks',
};

export interface SampleOptions {
  status?: string | undefined;
  orderId?: string | undefined;
  userId?: string | undefined;
  now?: Date;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** A sample payload of spec §5.1 / §5.2 with fresh ids; throws when the options make it invalid. */
export function buildSampleWebhook(kind: WebhookKind, opts: SampleOptions = {}): OrderWebhook | ChargebackWebhook {
  const now = opts.now ?? new Date();
  const orderId = opts.orderId ?? `ord-${randomUUID().slice(0, 8)}`;
  const userId = opts.userId ?? randomUUID();
  if (kind === 'order') {
    const sample = {
      provider_event_id: `pe-${randomUUID()}`,
      order_id: orderId,
      user_id: userId,
      status: opts.status ?? 'created',
      created_at: now.toISOString(),
      updated_at: now.toISOString(),
      meta: { amount: '42.00', currency: 'EUR', source: 'webhook-send' },
    };
    const parsed = parseOrderWebhook(sample);
    if (!parsed.ok) throw new Error(`sample order webhook is invalid: ${parsed.message}`);
    return sample as OrderWebhook;
  }
  const status = opts.status ?? 'opened';
  const sample = {
    provider_event_id: `cb-${randomUUID()}`,
    order_id: orderId,
    user_id: userId,
    status,
    reason: 'goods_not_received',
    amount: 42,
    currency: 'EUR',
    occurred_at: now.toISOString(),
    evidence_due_at: new Date(now.getTime() + 7 * DAY_MS).toISOString(),
    meta: status === 'closed' ? { resolution: 'won' } : {},
  };
  const parsed = parseChargebackWebhook(sample);
  if (!parsed.ok) throw new Error(`sample chargeback webhook is invalid: ${parsed.message}`);
  return sample as ChargebackWebhook;
}

export interface SignedHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/** Standard Webhooks headers for exactly these body bytes. */
export function signWebhook(body: string, secret: string, id: string, timestamp: Date): SignedHeaders {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(id, timestamp, body),
  };
}

/** `--to` without a path gets the kind's public webhook path. */
export function targetUrl(to: string, kind: WebhookKind): URL {
  const url = new URL(to);
  if (url.pathname === '' || url.pathname === '/') url.pathname = WEBHOOK_PATHS[kind];
  return url;
}

export interface SendResult {
  url: string;
  webhookId: string;
  signed: boolean;
  payload: OrderWebhook | ChargebackWebhook;
  status: number;
  body: string;
}

export async function sendWebhook(opts: {
  to: string;
  kind: WebhookKind;
  payload: OrderWebhook | ChargebackWebhook;
  secret?: string | undefined;
  timeoutMs?: number;
}): Promise<SendResult> {
  const { payload } = opts;
  const body = JSON.stringify(payload);
  const webhookId = `msg_${randomUUID()}`;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (opts.secret) Object.assign(headers, signWebhook(body, opts.secret, webhookId, new Date()));
  else headers['webhook-id'] = webhookId;
  const url = targetUrl(opts.to, opts.kind);
  const response = await fetch(url, {
    method: 'POST',
    headers,
    body,
    signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
  });
  return {
    url: url.toString(),
    webhookId,
    signed: Boolean(opts.secret),
    payload,
    status: response.status,
    body: await response.text(),
  };
}

const USAGE = `usage: npm run webhook:send -- --to <url> --kind order|chargeback [--secret whsec_…] [--status S]
                             [--order-id ID] [--user-id UUID]
  --to        base URL of ingest (or of the API in sync/http mode), e.g. http://127.0.0.1:3001, or a full URL
  --kind      order | chargeback
  --secret    Standard Webhooks secret; default: first entry of WEBHOOK_SECRET; none = send unsigned
  --status    order: ${ORDER_WEBHOOK_STATUSES.join('|')} (default created)
              chargeback: ${CHARGEBACK_WEBHOOK_STATUSES.join('|')} (default opened)
  --order-id  order id to use (default: a fresh ord-…); reuse it to move one order or dispute along
  --user-id   customer UUID (default: a fresh one); reuse it to keep one customer's events on one partition`;

interface Io {
  out(line: string): void;
  err(line: string): void;
}

/** The CLI; returns the process exit code (0 = 2xx answer, 1 = other answer or network error, 2 = usage). */
export async function main(argv: string[], env: NodeJS.ProcessEnv, io: Io): Promise<number> {
  let values: {
    to?: string;
    kind?: string;
    secret?: string;
    status?: string;
    'order-id'?: string;
    'user-id'?: string;
    help?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        to: { type: 'string' },
        kind: { type: 'string' },
        secret: { type: 'string' },
        status: { type: 'string' },
        'order-id': { type: 'string' },
        'user-id': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    io.err(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  const { to, kind } = values;
  if (!to || (kind !== 'order' && kind !== 'chargeback')) {
    io.err(USAGE);
    return 2;
  }
  const secret = values.secret ?? parseWebhookSecrets(env.WEBHOOK_SECRET)[0];
  if (!secret) io.err('no --secret and no WEBHOOK_SECRET: sending UNSIGNED (accepted only where verification is off)');

  let payload: OrderWebhook | ChargebackWebhook;
  try {
    payload = buildSampleWebhook(kind, {
      status: values.status,
      orderId: values['order-id'],
      userId: values['user-id'],
    });
  } catch (err) {
    io.err((err as Error).message);
    return 2;
  }
  let result: SendResult;
  try {
    result = await sendWebhook({ to, kind, payload, secret });
  } catch (err) {
    const cause = (err as { cause?: Error }).cause;
    io.err(`webhook:send failed: ${(err as Error).message}${cause ? ` (${cause.message})` : ''}`);
    return 1;
  }
  const sent = result.payload;
  io.out(`POST ${result.url} (${result.signed ? 'signed' : 'unsigned'})`);
  io.out(`webhook-id:        ${result.webhookId}`);
  io.out(`provider_event_id: ${sent.provider_event_id}`);
  io.out(`order_id:          ${sent.order_id}`);
  io.out(`user_id:           ${sent.user_id ?? ''}`);
  io.out(`status:            ${sent.status}`);
  io.out(`response:          ${result.status} ${result.body || '(empty body)'}`);
  return result.status >= 200 && result.status < 300 ? 0 : 1;
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2), process.env, {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  });
}
