/**
 * Applies provider webhooks (docs/domain.md#processing-an-order-webhook, docs/domain.md#processing-a-chargeback-webhook): one transaction each, serialised per order, so replays and
 * concurrent deliveries store exactly one event. Shared by the public routes, the internal routes and
 * the Kafka consumers.
 */

import type { NormalisedChargebackWebhook, NormalisedOrderWebhook } from '@payment-manager/shared';
import { alreadyExists, type DomainError, invalidTransition, notFound } from '@payment-manager/shared/errors';
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

/** Why a webhook was not applied; nothing was stored, so a later delivery of the same event may still succeed. */
export type WebhookRejection = 'order_not_found' | 'dispute_not_found' | 'order_already_exists' | 'invalid_transition';
export type WebhookOutcome = 'processed' | 'duplicate' | WebhookRejection;

/** What applying a webhook did; a rejection carries the domain error that says why, for whoever answers the sender. */
export type WebhookResult = { outcome: 'processed' | 'duplicate' } | { outcome: WebhookRejection; error: DomainError };

const PROCESSED = { outcome: 'processed' } as const;
const DUPLICATE = { outcome: 'duplicate' } as const;

type Rejection =
  | { outcome: Exclude<WebhookRejection, 'invalid_transition'> }
  | { outcome: 'invalid_transition'; from: string; to: string };

function rejected(rejection: Rejection): WebhookResult {
  const { outcome } = rejection;
  switch (rejection.outcome) {
    case 'order_not_found':
      return { outcome, error: notFound('order not found') };
    case 'dispute_not_found':
      return { outcome, error: notFound('dispute not found') };
    case 'order_already_exists':
      return { outcome, error: alreadyExists('order already exists') };
    case 'invalid_transition':
      return { outcome, error: invalidTransition('order', rejection.from, rejection.to) };
  }
}

/** The domain span of one webhook (its SQL nests under it): what a user looks for in the trace. */
function inWebhookSpan(
  name: string,
  webhook: NormalisedOrderWebhook | NormalisedChargebackWebhook,
  apply: () => Promise<WebhookResult>,
): Promise<WebhookResult> {
  const attributes = {
    order_id: webhook.order_id,
    user_id: webhook.user_id,
    provider_event_id: webhook.provider_event_id,
    status: webhook.status,
  };
  return withSpan(name, attributes, async (span) => {
    const result = await apply();
    span.setAttribute('outcome', result.outcome);
    return result;
  });
}

export async function processOrderWebhook(pool: pg.Pool, webhook: NormalisedOrderWebhook): Promise<WebhookResult> {
  return inWebhookSpan('order.webhook.apply', webhook, () => applyOrderWebhook(pool, webhook));
}

async function applyOrderWebhook(pool: pg.Pool, webhook: NormalisedOrderWebhook): Promise<WebhookResult> {
  return withTransaction(pool, async (tx) => {
    await lockOrder(tx, webhook.order_id);
    if (await orderEventExists(tx, webhook.order_id, webhook.provider_event_id)) return DUPLICATE;

    const decision = decideOrderWebhook(await findOrder(tx, webhook.order_id), webhook);
    switch (decision.kind) {
      case 'reject':
        return rejected(decision);
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
    return PROCESSED;
  });
}

export async function processChargebackWebhook(
  pool: pg.Pool,
  webhook: NormalisedChargebackWebhook,
): Promise<WebhookResult> {
  return inWebhookSpan('chargeback.webhook.apply', webhook, () => applyChargebackWebhook(pool, webhook));
}

async function applyChargebackWebhook(pool: pg.Pool, webhook: NormalisedChargebackWebhook): Promise<WebhookResult> {
  return withTransaction(pool, async (tx) => {
    await lockOrder(tx, webhook.order_id);
    const dispute = await findDisputeByOrder(tx, webhook.order_id);
    if (dispute && (await disputeEventExists(tx, dispute.key, webhook.provider_event_id))) return DUPLICATE;

    const decision = decideChargeback(
      dispute?.row ?? null,
      dispute !== null || (await orderExists(tx, webhook.order_id)),
      webhook,
    );
    let key: DisputeKey;
    switch (decision.kind) {
      case 'reject':
        return rejected(decision);
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
    return PROCESSED;
  });
}
