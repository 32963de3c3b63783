/**
 * Applies a batch of webhooks (one Kafka fetch of one partition) in ONE transaction: lock every order of the batch,
 * load their state in one statement, fold the webhooks in order through the domain decisions (fold.ts), write all
 * rows and events with a few multi-row statements. Same outcomes and effects as applying them one at a time
 * (process.ts), at a fraction of the round trips. docs/kafka-batch.md describes where the consumers use it.
 */
import type { NormalisedChargebackWebhook, NormalisedOrderWebhook } from '@payment-manager/shared';
import type pg from 'pg';
import { withTransaction } from '../db/pool.ts';
import { DISPUTE_EVENT_KIND_BY_WEBHOOK_STATUS } from '../domain/disputes.ts';
import {
  appendDisputeEvents,
  appendOrderEvents,
  BatchKeys,
  loadDisputeEventIds,
  loadDisputesByOrder,
  loadOrderEventIds,
  loadOrders,
  lockOrders,
  saveDisputes,
  saveOrders,
} from '../store/webhook-batch.ts';
import { foldChargebacks, foldOrderWebhooks } from './fold.ts';
import type { WebhookOutcome } from './process.ts';

/** Outcome of each webhook, in the order given. Rolls back (applies nothing) on any error. */
export async function applyOrderWebhookBatch(
  pool: pg.Pool,
  webhooks: readonly NormalisedOrderWebhook[],
): Promise<WebhookOutcome[]> {
  if (webhooks.length === 0) return [];
  return withTransaction(pool, async (tx) => {
    const keys = new BatchKeys(webhooks.map((w) => w.order_id));
    await lockOrders(tx, keys);
    const stored = await loadOrders(tx, keys);
    const seen = await loadOrderEventIds(tx, keys, webhooks);
    const { outcomes, writes } = foldOrderWebhooks(webhooks, stored, seen);
    // Orders before events: an event references its order.
    await saveOrders(tx, keys, writes.orders);
    await appendOrderEvents(tx, keys, writes.events);
    return outcomes;
  });
}

export async function applyChargebackBatch(
  pool: pg.Pool,
  webhooks: readonly NormalisedChargebackWebhook[],
): Promise<WebhookOutcome[]> {
  if (webhooks.length === 0) return [];
  return withTransaction(pool, async (tx) => {
    const keys = new BatchKeys(webhooks.map((w) => w.order_id));
    await lockOrders(tx, keys);
    const disputes = await loadDisputesByOrder(tx, keys);
    const seen = await loadDisputeEventIds(tx, keys, disputes, webhooks);
    const { outcomes, writes } = foldChargebacks(webhooks, disputes, seen);
    const written = await saveDisputes(tx, keys, writes.created, writes.changed);
    await appendDisputeEvents(
      tx,
      keys,
      writes.events.map((event) => ({
        disputeId: written.get(event.disputeOf) as string,
        orderId: event.disputeOf,
        kind: DISPUTE_EVENT_KIND_BY_WEBHOOK_STATUS[event.data.status],
        providerEventId: event.providerEventId,
        data: event.data,
      })),
    );
    return outcomes;
  });
}
