/**
 * Applies provider webhooks (spec §5.3, §5.4): one transaction each, serialised per order, so replays and
 * concurrent deliveries store exactly one event. Shared by the public routes, the internal routes and
 * the Kafka consumers.
 */

import type { NormalisedChargebackWebhook, NormalisedOrderWebhook } from '@payment-manager/shared';
import { withSpan } from '@payment-manager/shared/observability';
import type pg from 'pg';
import { lockOrder, withTransaction } from '../db/pool.ts';
import { DISPUTE_EVENT_KIND_BY_WEBHOOK_STATUS, decideChargeback } from '../domain/disputes.ts';
import { decideOrderWebhook } from '../domain/orders.ts';
import {
  appendDisputeEvent,
  applyDisputeChange,
  type DisputeKey,
  disputeEventExists,
  findDisputeByOrder,
  insertDispute,
} from '../store/disputes.ts';
import {
  appendOrderEvent,
  findOrder,
  insertOrder,
  orderEventExists,
  orderExists,
  updateOrderStatus,
} from '../store/orders.ts';

export type WebhookOutcome =
  | 'processed'
  | 'duplicate'
  | 'order_not_found'
  | 'dispute_not_found'
  | 'order_already_exists'
  | 'invalid_transition';

/** The domain span of one webhook (its SQL nests under it): what a user looks for in the trace. */
function inWebhookSpan(
  name: string,
  webhook: NormalisedOrderWebhook | NormalisedChargebackWebhook,
  apply: () => Promise<WebhookOutcome>,
): Promise<WebhookOutcome> {
  const attributes = {
    order_id: webhook.order_id,
    user_id: webhook.user_id,
    provider_event_id: webhook.provider_event_id,
    status: webhook.status,
  };
  return withSpan(name, attributes, async (span) => {
    const outcome = await apply();
    span.setAttribute('outcome', outcome);
    return outcome;
  });
}

export async function processOrderWebhook(pool: pg.Pool, webhook: NormalisedOrderWebhook): Promise<WebhookOutcome> {
  return inWebhookSpan('order.webhook.apply', webhook, () => applyOrderWebhook(pool, webhook));
}

async function applyOrderWebhook(pool: pg.Pool, webhook: NormalisedOrderWebhook): Promise<WebhookOutcome> {
  return withTransaction(pool, async (tx) => {
    await lockOrder(tx, webhook.order_id);
    if (await orderEventExists(tx, webhook.order_id, webhook.provider_event_id)) return 'duplicate';

    const decision = decideOrderWebhook(await findOrder(tx, webhook.order_id), webhook);
    switch (decision.kind) {
      case 'reject':
        return decision.outcome;
      case 'create':
        await insertOrder(tx, { ...decision.order, status: 'created' });
        break;
      case 'transition':
        await updateOrderStatus(tx, webhook.order_id, decision.status, decision.updatedAt);
        break;
    }
    await appendOrderEvent(tx, webhook.order_id, {
      kind: 'webhook_received',
      providerEventId: webhook.provider_event_id,
      data: webhook,
    });
    return 'processed';
  });
}

export async function processChargebackWebhook(
  pool: pg.Pool,
  webhook: NormalisedChargebackWebhook,
): Promise<WebhookOutcome> {
  return inWebhookSpan('chargeback.webhook.apply', webhook, () => applyChargebackWebhook(pool, webhook));
}

async function applyChargebackWebhook(pool: pg.Pool, webhook: NormalisedChargebackWebhook): Promise<WebhookOutcome> {
  return withTransaction(pool, async (tx) => {
    await lockOrder(tx, webhook.order_id);
    const dispute = await findDisputeByOrder(tx, webhook.order_id);
    if (dispute && (await disputeEventExists(tx, dispute.key, webhook.provider_event_id))) return 'duplicate';

    const decision = decideChargeback(
      dispute?.row ?? null,
      dispute !== null || (await orderExists(tx, webhook.order_id)),
      webhook,
    );
    let key: DisputeKey;
    switch (decision.kind) {
      case 'reject':
        return decision.outcome;
      case 'create':
        key = await insertDispute(tx, decision.dispute);
        break;
      case 'apply':
        key = (dispute as NonNullable<typeof dispute>).key;
        await applyDisputeChange(tx, key, decision.change);
        break;
    }
    await appendDisputeEvent(tx, key, {
      kind: DISPUTE_EVENT_KIND_BY_WEBHOOK_STATUS[webhook.status],
      providerEventId: webhook.provider_event_id,
      data: webhook,
    });
    return 'processed';
  });
}

/** Public webhook answers (spec §5.5). */
export const PUBLIC_WEBHOOK_RESPONSES: Record<WebhookOutcome, { status: number; message?: string }> = {
  processed: { status: 202 },
  duplicate: { status: 200, message: 'Duplicate webhook received' },
  order_not_found: { status: 404, message: 'order not found' },
  dispute_not_found: { status: 404, message: 'dispute not found' },
  order_already_exists: { status: 409, message: 'order already exists' },
  invalid_transition: { status: 422, message: 'invalid status transition' },
};
