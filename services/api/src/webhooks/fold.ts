/**
 * Folds a batch of webhooks, in order, over the stored state of the orders/disputes they touch. Pure: no I/O.
 * Each webhook meets exactly the state the one-at-a-time path (webhooks/process.ts) would have given it — the
 * stored row as changed by the webhooks before it in the batch — and goes through the same domain decisions,
 * so a batch ends with the same outcome per webhook, the same rows and the same events in the same order.
 */
import type { NormalisedChargebackWebhook, NormalisedOrderWebhook } from '@payment-manager/shared';
import { type DisputeChange, decideChargeback, type NewDispute } from '../domain/disputes.ts';
import { decideOrderWebhook } from '../domain/orders.ts';
import type { WebhookOutcome } from './process.ts';

/** An order as the fold needs it. */
export interface OrderState {
  orderId: string;
  userId: string;
  status: string;
  createdAt: string;
  updatedAt: string;
}

export interface OrderBatchWrites {
  /** Orders to insert (new in this batch) or update (status/updated_at), in their state after the batch. */
  orders: Array<OrderState & { isNew: boolean }>;
  /** Events to append, in batch order. */
  events: Array<{ orderId: string; providerEventId: string; data: NormalisedOrderWebhook }>;
}

/**
 * `stored`: the orders of the batch as stored (absent = no such order); `seenEvents`: for each order, the
 * batch's provider_event_ids it already has an event for.
 */
export function foldOrderWebhooks(
  webhooks: readonly NormalisedOrderWebhook[],
  stored: ReadonlyMap<string, OrderState>,
  seenEvents: ReadonlyMap<string, ReadonlySet<string>>,
): { outcomes: WebhookOutcome[]; writes: OrderBatchWrites } {
  const current = new Map<string, OrderState & { isNew: boolean; changed: boolean }>();
  for (const [id, order] of stored) current.set(id, { ...order, isNew: false, changed: false });
  const seen = new Map<string, Set<string>>();
  const seenOf = (orderId: string) => {
    let set = seen.get(orderId);
    if (!set) {
      set = new Set(seenEvents.get(orderId));
      seen.set(orderId, set);
    }
    return set;
  };
  const events: OrderBatchWrites['events'] = [];
  const outcomes = webhooks.map((webhook): WebhookOutcome => {
    const eventIds = seenOf(webhook.order_id);
    if (eventIds.has(webhook.provider_event_id)) return 'duplicate';
    const order = current.get(webhook.order_id) ?? null;
    const decision = decideOrderWebhook(order, webhook);
    switch (decision.kind) {
      case 'reject':
        return decision.outcome;
      case 'create':
        current.set(webhook.order_id, {
          orderId: decision.order.id,
          userId: decision.order.userId,
          status: 'created',
          createdAt: decision.order.createdAt,
          updatedAt: decision.order.updatedAt,
          isNew: true,
          changed: true,
        });
        break;
      case 'transition':
        Object.assign(order as OrderState & { changed: boolean }, {
          status: decision.status,
          updatedAt: decision.updatedAt,
          changed: true,
        });
        break;
    }
    eventIds.add(webhook.provider_event_id);
    events.push({ orderId: webhook.order_id, providerEventId: webhook.provider_event_id, data: webhook });
    return 'processed';
  });
  const orders = [...current.values()].filter((o) => o.changed).map(({ changed: _, ...order }) => order);
  return { outcomes, writes: { orders, events } };
}

/** A dispute as the fold needs it. */
export interface DisputeState {
  disputeId: string;
  status: string;
  evidence_due_at: string | null;
  closed_at: string | null;
}

export interface DisputeBatchWrites {
  /** Disputes new in this batch (`create`), with their state after the batch. */
  created: Array<{ orderId: string; dispute: NewDispute; change: DisputeChange }>;
  /** Stored disputes the batch changed, with their state after the batch. */
  changed: Array<{ orderId: string; disputeId: string; change: DisputeChange }>;
  /** Events to append, in batch order; `disputeOf` is the order id (one dispute per order). */
  events: Array<{ disputeOf: string; providerEventId: string; data: NormalisedChargebackWebhook }>;
}

/**
 * `orders`: for every order of the batch that exists, its stored dispute or null; absent = no such order.
 * `seenEvents`: for each order's dispute, the batch's provider_event_ids it already has an event for.
 */
export function foldChargebacks(
  webhooks: readonly NormalisedChargebackWebhook[],
  orders: ReadonlyMap<string, DisputeState | null>,
  seenEvents: ReadonlyMap<string, ReadonlySet<string>>,
): { outcomes: WebhookOutcome[]; writes: DisputeBatchWrites } {
  interface Working {
    disputeId: string | null;
    dispute: NewDispute | null;
    status: string;
    evidence_due_at: string | null;
    closed_at: string | null;
    changed: boolean;
    events: Set<string>;
  }
  const disputes = new Map<string, Working>();
  for (const [orderId, stored] of orders) {
    if (stored)
      disputes.set(orderId, {
        ...stored,
        dispute: null,
        changed: false,
        events: new Set(seenEvents.get(orderId)),
      });
  }
  const events: DisputeBatchWrites['events'] = [];
  const outcomes = webhooks.map((webhook): WebhookOutcome => {
    const current = disputes.get(webhook.order_id) ?? null;
    if (current?.events.has(webhook.provider_event_id)) return 'duplicate';
    const decision = decideChargeback(current, current !== null || orders.has(webhook.order_id), webhook);
    switch (decision.kind) {
      case 'reject':
        return decision.outcome;
      case 'create':
        disputes.set(webhook.order_id, {
          disputeId: null,
          dispute: decision.dispute,
          status: 'open',
          evidence_due_at: decision.dispute.evidenceDueAt,
          closed_at: null,
          changed: true,
          events: new Set([webhook.provider_event_id]),
        });
        break;
      case 'apply':
        Object.assign(current as Working, {
          status: decision.change.status,
          evidence_due_at: decision.change.evidenceDueAt,
          closed_at: decision.change.closedAt,
          changed: true,
        });
        current?.events.add(webhook.provider_event_id);
        break;
    }
    events.push({ disputeOf: webhook.order_id, providerEventId: webhook.provider_event_id, data: webhook });
    return 'processed';
  });
  const writes: DisputeBatchWrites = { created: [], changed: [], events };
  for (const [orderId, working] of disputes) {
    if (!working.changed) continue;
    const change = { status: working.status, evidenceDueAt: working.evidence_due_at, closedAt: working.closed_at };
    if (working.dispute) writes.created.push({ orderId, dispute: working.dispute, change });
    else writes.changed.push({ orderId, disputeId: working.disputeId as string, change });
  }
  return { outcomes, writes };
}
