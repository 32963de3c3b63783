import type pg from 'pg';

/** How many events each of the orders has: 0 (absent from the map) means lost, more than expected means applied twice. */
export async function orderEventCounts(pool: pg.Pool, orderIds: string[]): Promise<Map<string, number>> {
  const { rows } = await pool.query<{ order_id: string; n: string }>(
    'SELECT order_id, count(*) AS n FROM order_events WHERE order_id = ANY($1) GROUP BY order_id',
    [orderIds],
  );
  return new Map(rows.map((r) => [r.order_id, Number(r.n)]));
}
