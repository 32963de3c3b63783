/**
 * Set-based SQL for applying a batch of webhooks in one transaction (webhooks/apply-batch.ts): a few statements
 * per batch instead of several per webhook. Every statement on a domain table names the batch's shard keys
 * (`shard_key = ANY(...)`) next to its ids, so on Citus it touches only the shards of the batch's orders
 * (docs/data-tier.md). Rows travel as one JSON array per statement (json_to_recordset): one parameter, serialised
 * natively, and the statement text is the same for any batch size.
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
export async function lockOrders(db: Queryable, keys: BatchKeys): Promise<void> {
  await db.query(
    `SELECT pg_advisory_xact_lock(lock_key)
     FROM (SELECT DISTINCT hashtext('order:' || id) AS lock_key FROM unnest($1::text[]) AS id ORDER BY lock_key) AS keys`,
    [keys.orderIds],
  );
}

/** The orders of one batch and their shard keys, each hashed once. */
export class BatchKeys {
  readonly orderIds: string[];
  readonly shardKeys: number[];
  readonly #shardKeyOf = new Map<string, number>();

  constructor(orderIds: Iterable<string>) {
    for (const id of orderIds) if (!this.#shardKeyOf.has(id)) this.#shardKeyOf.set(id, orderShardKey(id));
    this.orderIds = [...this.#shardKeyOf.keys()];
    this.shardKeys = [...new Set(this.#shardKeyOf.values())];
  }

  shardKeyOf(orderId: string): number {
    return this.#shardKeyOf.get(orderId) ?? orderShardKey(orderId);
  }
}

export async function loadOrders(db: Queryable, keys: BatchKeys): Promise<Map<string, OrderState>> {
  const { rows } = await db.query<{
    order_id: string;
    user_id: string;
    status: string;
    created_at: string;
    updated_at: string;
  }>(
    `SELECT id AS order_id, user_id, status, created_at, updated_at FROM orders
     WHERE shard_key = ANY($1::int[]) AND id = ANY($2::text[])`,
    [keys.shardKeys, keys.orderIds],
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
  keys: BatchKeys,
  webhooks: readonly NormalisedOrderWebhook[],
): Promise<Map<string, Set<string>>> {
  const { rows } = await db.query<{ owner: string; provider_event_id: string }>(
    `SELECT order_id AS owner, provider_event_id FROM order_events
     WHERE shard_key = ANY($1::int[]) AND order_id = ANY($2::text[]) AND provider_event_id = ANY($3::text[])`,
    [keys.shardKeys, keys.orderIds, [...new Set(webhooks.map((w) => w.provider_event_id))]],
  );
  return groupPairs(rows);
}

/** Inserts the batch's new orders and updates the changed ones, with their state after the batch. */
export async function saveOrders(
  db: Queryable,
  keys: BatchKeys,
  orders: ReadonlyArray<OrderState & { isNew: boolean }>,
): Promise<void> {
  if (orders.length === 0) return;
  await db.query(
    `INSERT INTO orders (id, user_id, status, on_hold, hold_reason, created_at, updated_at, shard_key)
     SELECT id, user_id, status, FALSE, NULL, created_at AT TIME ZONE 'UTC', updated_at AT TIME ZONE 'UTC', shard_key
     FROM json_to_recordset($1::json)
       AS batch(id text, user_id uuid, status text, created_at timestamptz, updated_at timestamptz, shard_key int)
     ON CONFLICT (id, shard_key) DO UPDATE SET status = EXCLUDED.status, updated_at = EXCLUDED.updated_at`,
    [
      JSON.stringify(
        orders.map((o) => ({
          id: o.orderId,
          user_id: o.userId,
          status: o.status,
          created_at: o.createdAt,
          updated_at: o.updatedAt,
          shard_key: keys.shardKeyOf(o.orderId),
        })),
      ),
    ],
  );
}

/**
 * Appends the batch's order events. created_at is the statement's clock plus the event's position in
 * microseconds, so events of one order are strictly ordered as the batch applied them (docs/domain.md#event-kinds). No ON CONFLICT:
 * the batch checked for duplicates under the orders' locks, so a conflict is a bug and fails the batch.
 */
export async function appendOrderEvents(
  db: Queryable,
  keys: BatchKeys,
  events: ReadonlyArray<{ orderId: string; providerEventId: string; data: NormalisedOrderWebhook }>,
): Promise<void> {
  if (events.length === 0) return;
  await db.query(
    `INSERT INTO order_events (id, order_id, kind, provider_event_id, data, created_at, shard_key)
     SELECT id, order_id, 'webhook_received', provider_event_id, data,
            clock_timestamp() AT TIME ZONE 'UTC' + position * interval '1 microsecond', shard_key
     FROM json_to_recordset($1::json)
       AS batch(id text, order_id text, provider_event_id text, data jsonb, shard_key int, position int)`,
    [
      JSON.stringify(
        events.map((e, position) => ({
          id: randomUUID(),
          order_id: e.orderId,
          provider_event_id: e.providerEventId,
          data: e.data,
          shard_key: keys.shardKeyOf(e.orderId),
          position,
        })),
      ),
    ],
  );
}

/** For every order of the batch that exists: its dispute (null if none). Orders that do not exist are absent. */
export async function loadDisputesByOrder(db: Queryable, keys: BatchKeys): Promise<Map<string, DisputeState | null>> {
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
    [keys.shardKeys, keys.orderIds],
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
 * order id). The unique index on dispute_events includes created_at and never catches a replay (docs/domain.md#idempotency).
 */
export async function loadDisputeEventIds(
  db: Queryable,
  keys: BatchKeys,
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
      [...new Set(stored.map(([orderId]) => keys.shardKeyOf(orderId)))],
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
  keys: BatchKeys,
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
     SELECT id, order_id, status, reason, amount, currency, opened_at AT TIME ZONE 'UTC',
            evidence_due_at AT TIME ZONE 'UTC', closed_at AT TIME ZONE 'UTC', shard_key
     FROM json_to_recordset($1::json)
       AS batch(id text, order_id text, status text, reason text, amount numeric, currency text,
                opened_at timestamptz, evidence_due_at timestamptz, closed_at timestamptz, shard_key int)
     ON CONFLICT (id, shard_key) DO UPDATE
       SET status = EXCLUDED.status, evidence_due_at = EXCLUDED.evidence_due_at, closed_at = EXCLUDED.closed_at`,
    [
      JSON.stringify(
        rows.map((r) => ({
          id: r.disputeId,
          order_id: r.orderId,
          status: r.change.status,
          reason: r.dispute?.reason ?? '',
          amount: r.dispute?.amount ?? 0,
          currency: r.dispute?.currency ?? '',
          opened_at: r.dispute?.openedAt ?? '1970-01-01T00:00:00Z',
          evidence_due_at: r.change.evidenceDueAt,
          closed_at: r.change.closedAt,
          shard_key: keys.shardKeyOf(r.orderId),
        })),
      ),
    ],
  );
  return new Map(rows.map((r) => [r.orderId, r.disputeId]));
}

export async function appendDisputeEvents(
  db: Queryable,
  keys: BatchKeys,
  events: ReadonlyArray<{ disputeId: string; orderId: string; kind: string; providerEventId: string; data: unknown }>,
): Promise<void> {
  if (events.length === 0) return;
  await db.query(
    `INSERT INTO dispute_events (id, dispute_id, kind, provider_event_id, data, created_at, shard_key)
     SELECT id, dispute_id, kind, provider_event_id, data,
            clock_timestamp() AT TIME ZONE 'UTC' + position * interval '1 microsecond', shard_key
     FROM json_to_recordset($1::json)
       AS batch(id text, dispute_id text, kind text, provider_event_id text, data jsonb, shard_key int, position int)`,
    [
      JSON.stringify(
        events.map((e, position) => ({
          id: randomUUID(),
          dispute_id: e.disputeId,
          kind: e.kind,
          provider_event_id: e.providerEventId,
          data: e.data,
          shard_key: keys.shardKeyOf(e.orderId),
          position,
        })),
      ),
    ],
  );
}
