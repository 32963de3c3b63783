import { randomUUID } from 'node:crypto';

/**
 * Webhook bodies for tests. Every id is unique per call, so test files (and the scenario catalogue run in other
 * modes) can share one database, one WireMock and one broker without seeing each other's rows.
 */

export const uniqueId = (prefix: string) => `${prefix}-${randomUUID()}`;

export interface OrderWebhookBody {
  provider_event_id: string;
  order_id: string;
  user_id: string;
  status: string;
  created_at: string;
  updated_at: string;
  meta?: Record<string, unknown>;
  [extra: string]: unknown;
}

export interface ChargebackWebhookBody {
  provider_event_id: string;
  order_id: string;
  user_id?: string;
  status: string;
  reason?: string;
  amount?: number;
  currency?: string;
  occurred_at: string;
  evidence_due_at?: string | null;
  meta?: Record<string, unknown>;
  [extra: string]: unknown;
}

export function orderWebhook(overrides: Partial<OrderWebhookBody> = {}): OrderWebhookBody {
  return {
    provider_event_id: uniqueId('pe'),
    order_id: uniqueId('ord'),
    user_id: randomUUID(),
    status: 'created',
    created_at: '2025-03-04T09:00:00Z',
    updated_at: '2025-03-04T09:00:00Z',
    meta: { amount: '42.00', currency: 'EUR' },
    ...overrides,
  };
}

/** The next webhook of the same order: same order and user, new provider_event_id. */
export function nextOrderWebhook(previous: OrderWebhookBody, overrides: Partial<OrderWebhookBody>): OrderWebhookBody {
  return { ...previous, provider_event_id: uniqueId('pe'), ...overrides };
}

export function chargebackWebhook(
  orderId: string,
  overrides: Partial<ChargebackWebhookBody> = {},
): ChargebackWebhookBody {
  return {
    provider_event_id: uniqueId('cb'),
    order_id: orderId,
    status: 'opened',
    reason: 'fraud',
    amount: 100.5,
    currency: 'USD',
    occurred_at: '2025-03-05T08:00:00Z',
    meta: {},
    ...overrides,
  };
}

/**
 * Webhooks that pass the JSON Schema but that PostgreSQL could not store; every entry point must answer 400 for all
 * of them (ingest before acknowledging, the API before touching the database).
 */
export function unstorableWebhooks(): Array<{ name: string; kind: 'order' | 'chargeback'; body: unknown }> {
  const order = (overrides: Partial<OrderWebhookBody>) => ({ kind: 'order' as const, body: orderWebhook(overrides) });
  const chargeback = (overrides: Partial<ChargebackWebhookBody>) => ({
    kind: 'chargeback' as const,
    body: chargebackWebhook(uniqueId('ord'), overrides),
  });
  return [
    { name: 'NUL in order_id', ...order({ order_id: 'a\u0000b' }) },
    { name: 'NUL in provider_event_id', ...order({ provider_event_id: 'a\u0000b' }) },
    { name: 'NUL in a meta value', ...order({ meta: { note: 'x\u0000' } }) },
    { name: 'NUL in a meta key', ...order({ meta: { 'k\u0000': 'v' } }) },
    { name: 'lone high surrogate in order_id', ...order({ order_id: 'a\ud800b' }) },
    { name: 'lone low surrogate in a meta value', ...order({ meta: { note: '\udc00' } }) },
    { name: 'year 0000', ...order({ created_at: '0000-01-01T00:00:00Z' }) },
    { name: 'past year 9999 once in UTC', ...order({ updated_at: '9999-12-31T23:59:59-23:59' }) },
    { name: 'NUL in reason', ...chargeback({ reason: 'x\u0000' }) },
    { name: 'NUL in currency', ...chargeback({ currency: 'US\u0000' }) },
    { name: 'lone surrogate in reason', ...chargeback({ reason: '\ud83d' }) },
    { name: 'amount 99999999.995 (rounds past DECIMAL(10,2))', ...chargeback({ amount: 99_999_999.995 }) },
    { name: 'amount 1e308', ...chargeback({ amount: 1e308 }) },
    { name: 'occurred_at year 0000', ...chargeback({ occurred_at: '0000-06-01T00:00:00Z' }) },
    { name: 'evidence_due_at past 9999', ...chargeback({ evidence_due_at: '9999-12-31T23:59:59-01:00' }) },
    { name: 'NUL in user_id (chargeback key)', ...chargeback({ user_id: 'u\u0000' }) },
  ];
}
