/**
 * Sends one valid, signed sample provider webhook — for humans trying the stack and for smoke tests.
 *
 *   npm run webhook:send -- --to http://127.0.0.1:3001 --kind order
 *   npm run webhook:send -- --to http://127.0.0.1:3001 --kind chargeback --order-id ord-1 --user-id <uuid>
 *
 * --to is a base URL (the docs/domain.md#webhooks path for the kind is appended) or a full URL with a path.
 * The secret comes from --secret or WEBHOOK_SECRET (first entry when several are listed for rotation);
 * without one the webhook goes out unsigned, which only a receiver with verification off accepts.
 * The payload passes the same shared schema the services use before it is sent, so a rejection by the
 * receiver is the receiver's verdict, never a malformed sample. Exit code 0 = 2xx answer.
 */
import { randomUUID } from 'node:crypto';
import {
  CHARGEBACK_WEBHOOK_STATUSES,
  type ChargebackWebhook,
  ORDER_WEBHOOK_STATUSES,
  type OrderWebhook,
  parseChargebackWebhook,
  parseOrderWebhook,
  type WebhookKind,
} from '@payment-manager/shared';
import { cliSpec, EXIT_USAGE, readCli, toolName, usageLine } from '@payment-manager/shared/cli';
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

/** A sample payload of docs/domain.md#order-webhook / docs/domain.md#chargeback-webhook with fresh ids; throws when the options make it invalid. */
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

export const WEBHOOK_SEND = cliSpec({
  command: 'npm run webhook:send --',
  summary: 'Sends one valid sample provider webhook, signed, and prints the ids it used and the answer.',
  options: {
    to: {
      type: 'string',
      valueName: '<url>',
      description: 'base URL of ingest (:3001) or of the API in sync/http mode (:3000), or a full URL',
    },
    kind: { type: 'string', valueName: 'order|chargeback', description: 'which webhook' },
    secret: {
      type: 'string',
      valueName: 'whsec_…',
      description:
        'Standard Webhooks secret ("whsec_" + base64); default: the first entry of WEBHOOK_SECRET; none = unsigned',
    },
    status: {
      type: 'string',
      description: `order: ${ORDER_WEBHOOK_STATUSES.join('|')} (default created); chargeback: ${CHARGEBACK_WEBHOOK_STATUSES.join('|')} (default opened)`,
    },
    'order-id': {
      type: 'string',
      valueName: '<id>',
      description:
        'order id (default: a fresh ord-…); reuse it to move one order along; a chargeback needs an existing order',
    },
    'user-id': {
      type: 'string',
      valueName: '<uuid>',
      description: "customer UUID (default: a fresh one); reuse it to keep one customer's events on one partition",
    },
  },
  environment: { WEBHOOK_SECRET: "the receiver's signing secret(s), when --secret is not given" },
  examples: [
    'npm run webhook:send -- --to http://127.0.0.1:3000 --kind order',
    'npm run webhook:send -- --to http://127.0.0.1:3001 --kind chargeback --order-id ord-1a2b3c4d',
  ],
});

/** Why `secret` cannot sign (standardwebhooks would only say "Base64Coder: incorrect padding"), or null. */
export function webhookSecretProblem(secret: string): string | null {
  const encoded = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || encoded.length % 4 !== 0) {
    return (
      'a Standard Webhooks secret is "whsec_" followed by base64 of random bytes, e.g. ' +
      `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}; ` +
      `the part after "whsec_" of "${secret.slice(0, 12)}…" is not valid base64`
    );
  }
  return null;
}

interface Io {
  out(line: string): void;
  err(line: string): void;
}

/** The CLI; returns the process exit code (0 = 2xx answer, 1 = other answer or network error, 2 = usage). */
export async function main(argv: string[], env: NodeJS.ProcessEnv, io: Io): Promise<number> {
  const parsed = readCli(WEBHOOK_SEND, argv);
  if (parsed.kind === 'help') {
    io.out(parsed.text);
    return 0;
  }
  const usage = (message: string) => {
    io.err(usageLine(toolName(WEBHOOK_SEND), message));
    return EXIT_USAGE;
  };
  if (parsed.kind === 'usage-error') return usage(parsed.message);
  const { values } = parsed;
  const { to, kind } = values;
  if (!to) return usage('--to is required, e.g. --to http://127.0.0.1:3000');
  if (kind !== 'order' && kind !== 'chargeback') {
    return usage(`--kind must be order or chargeback, got ${kind === undefined ? 'nothing' : `"${kind}"`}`);
  }
  const secret = values.secret ?? parseWebhookSecrets(env.WEBHOOK_SECRET)[0];
  const secretProblem = secret ? webhookSecretProblem(secret) : null;
  if (secretProblem) return usage(`${values.secret ? '--secret' : 'WEBHOOK_SECRET'}: ${secretProblem}`);
  if (!secret) io.err('no --secret and no WEBHOOK_SECRET: sending UNSIGNED (accepted only where verification is off)');

  let payload: OrderWebhook | ChargebackWebhook;
  try {
    payload = buildSampleWebhook(kind, {
      status: values.status,
      orderId: values['order-id'],
      userId: values['user-id'],
    });
  } catch (err) {
    return usage((err as Error).message);
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
