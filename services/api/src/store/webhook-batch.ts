/**
 * Set-based SQL for applying a batch of webhooks in one transaction (webhooks/apply-batch.ts): a few statements
 * per batch instead of several per webhook. Every statement on a domain table names the batch's shard keys
 * (`shard_key = ANY(...)`) next to its ids, so on Citus it touches only the shards of the batch's orders
 * (docs/data-tier.md), and rows travel as arrays (unnest), so the statement text is the same for any batch size.
 */
import { randomUUID } from 'node:crypto';
import type { NormalisedChargebackWebhook, NormalisedOrderWebhook } from '@payment-manager/shared';
import type { Queryable } from '../db/pool.ts';
import { newDisputeId, orderShardKey } from '../db/shard-key.ts';
import type { DisputeChange, NewDispute } from '../domain/disputes.ts';
import type { DisputeState, OrderState } from '../webhooks/fold.ts';

/**
 * Takes the per-order lock of every order of the batch (the same advisory lock as `lockOrder`, so batches and
 * single requests serialise per order), in one fixed order so two batches sharing orders cannot deadlock.
 */
export async function lockOrders(db: Queryable, orderIds: readonly string[]): Promise<void> {
  await db.query(
    `SELECT pg_advisory_xact_lock(lock_key)
     FROM (SELECT DISTINCT hashtext('order:' || id) AS lock_key FROM unnest($1::text[]) AS id ORDER BY lock_key) AS keys`,
    [orderIds],
  );
}

function shardKeysOf(orderIds: readonly string[]): number[] {
  return [...new Set(orderIds.map(orderShardKey))];
}

export async function loadOrders(db: Queryable, orderIds: readonly string[]): Promise<Map<string, OrderState>> {
  const { rows } = await db.query<{
    order_id: string;
    user_id: string;
    status: string;
    created_at: string;
    updated_at: string;
  }>(
    `SELECT id AS order_id, user_id, status, created_at, updated_at FROM orders
     WHERE shard_key = ANY($1::int[]) AND id = ANY($2::text[])`,
    [shardKeysOf(orderIds), orderIds],
  );
  return new Map(
    rows.map((row) => [
      row.order_id,
      {
        orderId: row.order_id,
        userId: row.user_id,
        status: row.status,
        createdAt: row.created_at,
        updatedAt: row.updated_at,
      },
    ]),
  );
}

function groupPairs(rows: Array<{ owner: string; provider_event_id: string }>): Map<string, Set<string>> {
  const grouped = new Map<string, Set<string>>();
  for (const { owner, provider_event_id } of rows) {
    const set = grouped.get(owner) ?? new Set<string>();
    set.add(provider_event_id);
    grouped.set(owner, set);
  }
  return grouped;
}

/** For each order of the batch, which of the batch's provider_event_ids it already has an event for. */
export async function loadOrderEventIds(
  db: Queryable,
  webhooks: readonly NormalisedOrderWebhook[],
): Promise<Map<string, Set<string>>> {
  const orderIds = [...new Set(webhooks.map((w) => w.order_id))];
  const { rows } = await db.query<{ owner: string; provider_event_id: string }>(
    `SELECT order_id AS owner, provider_event_id FROM order_events
     WHERE shard_key = ANY($1::int[]) AND order_id = ANY($2::text[]) AND provider_event_id = ANY($3::text[])`,
    [shardKeysOf(orderIds), orderIds, [...new Set(webhooks.map((w) => w.provider_event_id))]],
  );
  return groupPairs(rows);
}

/** Inserts the batch's new orders and updates the changed ones, with their state after the batch. */
export async function saveOrders(db: Queryable, orders: ReadonlyArray<OrderState & { isNew: boolean }>) {
  if (orders.length === 0) return;
  await db.query(
    `INSERT INTO orders (id, user_id, status, on_hold, hold_reason, created_at, updated_at, shard_key)
     SELECT id, user_id, status, FALSE, NULL, created_at::timestamptz AT TIME ZONE 'UTC',
            updated_at::timestamptz AT TIME ZONE 'UTC', shard_key
     FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::int[])
       AS batch(id, user_id, status, created_at, updated_at, shard_key)
     ON CONFLICT (id, shard_key) DO UPDATE SET status = EXCLUDED.status, updated_at = EXCLUDED.updated_at`,
    [
      orders.map((o) => o.orderId),
      orders.map((o) => o.userId),
      orders.map((o) => o.status),
      orders.map((o) => o.createdAt),
      orders.map((o) => o.updatedAt),
      orders.map((o) => orderShardKey(o.orderId)),
    ],
  );
}

/**
 * Appends the batch's order events. created_at is the commit-time clock plus the event's position in
 * microseconds, so events of one order are strictly ordered as the batch applied them (spec §4.4).
 */
export async function appendOrderEvents(
  db: Queryable,
  events: ReadonlyArray<{ orderId: string; providerEventId: string; data: NormalisedOrderWebhook }>,
): Promise<void> {
  if (events.length === 0) return;
  await db.query(
    `INSERT INTO order_events (id, order_id, kind, provider_event_id, data, created_at, shard_key)
     SELECT id, order_id, 'webhook_received', provider_event_id, data,
            clock_timestamp() AT TIME ZONE 'UTC' + position * interval '1 microsecond', shard_key
     FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], $5::int[]) WITH ORDINALITY
       AS batch(id, order_id, provider_event_id, data, shard_key, position)
     ON CONFLICT (order_id, provider_event_id, shard_key) DO NOTHING`,
    [
      events.map(() => randomUUID()),
      events.map((e) => e.orderId),
      events.map((e) => e.providerEventId),
      events.map((e) => JSON.stringify(e.data)),
      events.map((e) => orderShardKey(e.orderId)),
    ],
  );
}

/** For every order of the batch that exists: its dispute (null if none). Orders that do not exist are absent. */
export async function loadDisputesByOrder(
  db: Queryable,
  orderIds: readonly string[],
): Promise<Map<string, DisputeState | null>> {
  const { rows } = await db.query<{
    order_id: string;
    dispute_id: string | null;
    status: string;
    evidence_due_at: string | null;
    closed_at: string | null;
  }>(
    `SELECT o.id AS order_id, d.id AS dispute_id, d.status, d.evidence_due_at, d.closed_at
     FROM orders o LEFT JOIN disputes d ON d.shard_key = o.shard_key AND d.order_id = o.id
     WHERE o.shard_key = ANY($1::int[]) AND o.id = ANY($2::text[])`,
    [shardKeysOf(orderIds), orderIds],
  );
  return new Map(
    rows.map((row) => [
      row.order_id,
      row.dispute_id === null
        ? null
        : {
            disputeId: row.dispute_id,
            status: row.status,
            evidence_due_at: row.evidence_due_at,
            closed_at: row.closed_at,
          },
    ]),
  );
}

/**
 * For each order's dispute, which of the batch's provider_event_ids it already has an event for (keyed by
 * order id). The unique index on dispute_events includes created_at and never catches a replay.
 */
export async function loadDisputeEventIds(
  db: Queryable,
  disputes: ReadonlyMap<string, DisputeState | null>,
  webhooks: readonly NormalisedChargebackWebhook[],
): Promise<Map<string, Set<string>>> {
  const stored = [...disputes].filter((entry): entry is [string, DisputeState] => entry[1] !== null);
  if (stored.length === 0) return new Map();
  const orderOf = new Map(stored.map(([orderId, dispute]) => [dispute.disputeId, orderId]));
  const { rows } = await db.query<{ dispute_id: string; provider_event_id: string }>(
    `SELECT dispute_id, provider_event_id FROM dispute_events
     WHERE shard_key = ANY($1::int[]) AND dispute_id = ANY($2::text[]) AND provider_event_id = ANY($3::text[])`,
    [
      shardKeysOf(stored.map(([orderId]) => orderId)),
      stored.map(([, dispute]) => dispute.disputeId),
      [...new Set(webhooks.map((w) => w.provider_event_id))],
    ],
  );
  return groupPairs(
    rows.map((row) => ({ owner: orderOf.get(row.dispute_id) as string, provider_event_id: row.provider_event_id })),
  );
}

/**
 * Inserts the batch's new disputes and updates the changed ones, in their state after the batch. Returns the
 * dispute id of every order it wrote, new ids included.
 */
export async function saveDisputes(
  db: Queryable,
  created: ReadonlyArray<{ orderId: string; dispute: NewDispute; change: DisputeChange }>,
  changed: ReadonlyArray<{ orderId: string; disputeId: string; change: DisputeChange }>,
): Promise<Map<string, string>> {
  const rows = [
    ...created.map(({ orderId, dispute, change }) => ({ orderId, disputeId: newDisputeId(orderId), dispute, change })),
    ...changed.map(({ orderId, disputeId, change }) => ({ orderId, disputeId, dispute: null, change })),
  ];
  if (rows.length === 0) return new Map();
  // Changed disputes exist (the batch holds their order's lock), so only the update half applies to them and
  // the placeholder values of their insert half are never stored.
  await db.query(
    `INSERT INTO disputes (id, order_id, status, reason, amount, currency, opened_at, evidence_due_at, closed_at, shard_key)
     SELECT id, order_id, status, reason, amount, currency, opened_at::timestamptz AT TIME ZONE 'UTC',
            evidence_due_at::timestamptz AT TIME ZONE 'UTC', closed_at::timestamptz AT TIME ZONE 'UTC', shard_key
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::numeric[], $6::text[], $7::text[], $8::text[],
                 $9::text[], $10::int[])
       AS batch(id, order_id, status, reason, amount, currency, opened_at, evidence_due_at, closed_at, shard_key)
     ON CONFLICT (id, shard_key) DO UPDATE
       SET status = EXCLUDED.status, evidence_due_at = EXCLUDED.evidence_due_at, closed_at = EXCLUDED.closed_at`,
    [
      rows.map((r) => r.disputeId),
      rows.map((r) => r.orderId),
      rows.map((r) => r.change.status),
      rows.map((r) => r.dispute?.reason ?? ''),
      rows.map((r) => r.dispute?.amount ?? 0),
      rows.map((r) => r.dispute?.currency ?? ''),
      rows.map((r) => r.dispute?.openedAt ?? '1970-01-01T00:00:00Z'),
      rows.map((r) => r.change.evidenceDueAt),
      rows.map((r) => r.change.closedAt),
      rows.map((r) => orderShardKey(r.orderId)),
    ],
  );
  return new Map(rows.map((r) => [r.orderId, r.disputeId]));
}

export async function appendDisputeEvents(
  db: Queryable,
  events: ReadonlyArray<{ disputeId: string; orderId: string; kind: string; providerEventId: string; data: unknown }>,
): Promise<void> {
  if (events.length === 0) return;
  await db.query(
    `INSERT INTO dispute_events (id, dispute_id, kind, provider_event_id, data, created_at, shard_key)
     SELECT id, dispute_id, kind, provider_event_id, data,
            clock_timestamp() AT TIME ZONE 'UTC' + position * interval '1 microsecond', shard_key
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::int[]) WITH ORDINALITY
       AS batch(id, dispute_id, kind, provider_event_id, data, shard_key, position)`,
    [
      events.map(() => randomUUID()),
      events.map((e) => e.disputeId),
      events.map((e) => e.kind),
      events.map((e) => e.providerEventId),
      events.map((e) => JSON.stringify(e.data)),
      events.map((e) => orderShardKey(e.orderId)),
    ],
  );
}
