/**
 * SQL for orders and the order event log. Thin: no decisions here. Every statement about one order names its
 * shard key, so on Citus it runs on that order's shard alone (docs/data-tier.md).
 */
import { randomUUID } from 'node:crypto';
import type { Queryable } from '../db/pool.ts';
import { orderShardKey } from '../db/shard-key.ts';

export interface OrderRow {
  order_id: string;
  user_id: string;
  status: string;
  on_hold: boolean;
  hold_reason: string | null;
  created_at: string;
  updated_at: string;
}

const ORDER_COLUMNS = 'id AS order_id, user_id, status, on_hold, hold_reason, created_at, updated_at';

export async function findOrder(db: Queryable, orderId: string): Promise<OrderRow | null> {
  const { rows } = await db.query<OrderRow>(`SELECT ${ORDER_COLUMNS} FROM orders WHERE shard_key = $2 AND id = $1`, [
    orderId,
    orderShardKey(orderId),
  ]);
  return rows[0] ?? null;
}

export async function orderExists(db: Queryable, orderId: string): Promise<boolean> {
  const { rowCount } = await db.query('SELECT 1 FROM orders WHERE shard_key = $2 AND id = $1', [
    orderId,
    orderShardKey(orderId),
  ]);
  return (rowCount ?? 0) > 0;
}

export interface OrderListFilter {
  statuses: string[];
  userId: string | null;
  limit: number;
  offset: number;
  sortBy: 'created_at' | 'updated_at';
  sortOrder: 'asc' | 'desc';
  /** Keyset: only rows after this one in the listing's order (docs/api.md#limit-and-offset). */
  after: { value: string; id: string } | null;
}

export async function listOrders(db: Queryable, filter: OrderListFilter): Promise<OrderRow[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.statuses.length > 0) {
    params.push(filter.statuses);
    where.push(`status = ANY($${params.length}::text[])`);
  }
  if (filter.userId) {
    params.push(filter.userId);
    where.push(`user_id = $${params.length}`);
  }
  if (filter.after) where.push(afterRow(filter.sortBy, filter.sortOrder, filter.after, params));
  params.push(filter.limit, filter.offset);
  // sortBy/sortOrder are whitelisted enums, never free text.
  const sql =
    `SELECT ${ORDER_COLUMNS} FROM orders` +
    (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '') +
    ` ORDER BY ${filter.sortBy} ${filter.sortOrder.toUpperCase()}, id ASC LIMIT $${params.length - 1} OFFSET $${params.length}`;
  const { rows } = await db.query<OrderRow>(sql, params);
  return rows;
}

/**
 * Rows after `after` in `ORDER BY column direction, id ASC`: a later (or earlier) sort value, or the same one and a
 * larger id. The column is a whitelisted name, never free text; values are parameters.
 */
export function afterRow(
  column: string,
  direction: 'asc' | 'desc',
  after: { value: string; id: string },
  params: unknown[],
): string {
  params.push(after.value, after.id);
  const value = `($${params.length - 1}::timestamptz AT TIME ZONE 'UTC')`;
  const id = `$${params.length}`;
  return `(${column} ${direction === 'asc' ? '>' : '<'} ${value} OR (${column} = ${value} AND id > ${id}))`;
}

export async function insertOrder(
  db: Queryable,
  order: { id: string; userId: string; status: string; createdAt: string; updatedAt: string },
): Promise<void> {
  await db.query(
    `INSERT INTO orders (id, user_id, status, on_hold, hold_reason, created_at, updated_at, shard_key)
     VALUES ($1, $2, $3, FALSE, NULL, $4::timestamptz AT TIME ZONE 'UTC', $5::timestamptz AT TIME ZONE 'UTC', $6)`,
    [order.id, order.userId, order.status, order.createdAt, order.updatedAt, orderShardKey(order.id)],
  );
}

export async function updateOrderStatus(
  db: Queryable,
  orderId: string,
  status: string,
  updatedAt: string,
): Promise<void> {
  await db.query(
    `UPDATE orders SET status = $2, updated_at = $3::timestamptz AT TIME ZONE 'UTC' WHERE shard_key = $4 AND id = $1`,
    [orderId, status, updatedAt, orderShardKey(orderId)],
  );
}

export async function setHold(db: Queryable, orderId: string, reason: string | null): Promise<OrderRow | null> {
  const { rows } = await db.query<OrderRow>(
    `UPDATE orders SET on_hold = $2, hold_reason = $3, updated_at = now() AT TIME ZONE 'UTC'
     WHERE shard_key = $4 AND id = $1 RETURNING ${ORDER_COLUMNS}`,
    [orderId, reason !== null, reason, orderShardKey(orderId)],
  );
  return rows[0] ?? null;
}

export async function orderEventExists(db: Queryable, orderId: string, providerEventId: string): Promise<boolean> {
  const { rowCount } = await db.query(
    'SELECT 1 FROM order_events WHERE shard_key = $3 AND order_id = $1 AND provider_event_id = $2',
    [orderId, providerEventId, orderShardKey(orderId)],
  );
  return (rowCount ?? 0) > 0;
}

export interface NewEvent {
  kind: string;
  providerEventId: string;
  data: unknown;
}

/**
 * Appends an order event unless the order already has that provider_event_id (then returns null).
 * `after` forces a strictly later created_at than a previous event of the same request (docs/domain.md#event-kinds).
 */
export async function appendOrderEvent(
  db: Queryable,
  orderId: string,
  event: NewEvent,
  after?: string,
): Promise<{ created_at: string } | null> {
  const { rows } = await db.query<{ created_at: string }>(
    `INSERT INTO order_events (id, order_id, kind, provider_event_id, data, created_at, shard_key)
     VALUES ($1, $2, $3, $4, $5::jsonb,
             GREATEST(clock_timestamp() AT TIME ZONE 'UTC', $6::timestamptz AT TIME ZONE 'UTC' + interval '1 microsecond'),
             $7)
     ON CONFLICT (order_id, provider_event_id, shard_key) DO NOTHING
     RETURNING created_at`,
    [
      randomUUID(),
      orderId,
      event.kind,
      event.providerEventId,
      JSON.stringify(event.data),
      after ?? null,
      orderShardKey(orderId),
    ],
  );
  return rows[0] ?? null;
}
