import { randomUUID } from 'node:crypto';
import type { NormalisedChargebackWebhook, NormalisedOrderWebhook } from './webhooks.ts';
import { partitionKey } from './webhooks.ts';

/** Kafka value (spec §11.2). `event_id` is for tracing only and never used for deduplication. */
export type WebhookEnvelope =
  | { event_id: string; key: string; type: 'order.webhook'; payload: NormalisedOrderWebhook; timestamp: string }
  | { event_id: string; key: string; type: 'dispute.webhook'; payload: NormalisedChargebackWebhook; timestamp: string };

export function orderEnvelope(payload: NormalisedOrderWebhook, now = new Date()): WebhookEnvelope {
  return {
    event_id: randomUUID(),
    key: partitionKey(payload),
    type: 'order.webhook',
    payload,
    timestamp: now.toISOString(),
  };
}

export function disputeEnvelope(payload: NormalisedChargebackWebhook, now = new Date()): WebhookEnvelope {
  return {
    event_id: randomUUID(),
    key: partitionKey(payload),
    type: 'dispute.webhook',
    payload,
    timestamp: now.toISOString(),
  };
}
