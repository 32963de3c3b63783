import type { Queryable } from '../db/pool.ts';
import { orderShardKeys } from '../db/shard-key.ts';
import { buildEventPageSql, type EventLogTable, type EventPageRequest, toEventPage } from '../domain/event-page.ts';

export async function readEventPage(db: Queryable, log: EventLogTable, request: EventPageRequest) {
  // Order ids give their shard keys; dispute ids do not always (disputes older than shard keys), so the
  // dispute log is filtered by id alone.
  const shardKeys = log.table === 'order_events' ? orderShardKeys(request.aggregateIds) : [];
  const { sql, params } = buildEventPageSql(log, request, shardKeys);
  const { rows } = await db.query<{ event_id: string; created_at: string; in_page: boolean }>(sql, params);
  return toEventPage(rows, request.limit);
}
