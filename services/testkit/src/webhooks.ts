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
