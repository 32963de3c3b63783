import type { Queryable } from '../db/pool.ts';
import { orderShardKeys } from '../db/shard-key.ts';
import { type EventPageRequest, MAX_EVENT_PAGE_DATA_BYTES, toEventPage } from '../domain/event-page.ts';

export interface EventLogTable {
  table: 'order_events' | 'dispute_events';
  aggregateColumn: 'order_id' | 'dispute_id';
}

/**
 * Filters in a fixed order (ids, kinds, time range, cursor), ordered by (created_at, id), `limit + 1` rows so the
 * caller learns whether another page exists. Of those, the page keeps events while the data before each stays
 * under MAX_EVENT_PAGE_DATA_BYTES (the first always fits); the first event over that comes back without its data,
 * only to say there is more. Sizes are summed inside PostgreSQL, so a page of huge events is never built here.
 * Client timestamps may carry any offset; they are converted to the UTC wall clock the columns store.
 * `shardKeys`, when given, are the shard keys of the requested ids: a redundant filter that lets Citus read only
 * their shards.
 */
export function buildEventPageSql(
  { table, aggregateColumn }: EventLogTable,
  request: EventPageRequest,
  shardKeys: readonly number[] = [],
  maxDataBytes = MAX_EVENT_PAGE_DATA_BYTES,
) {
  const where: string[] = [];
  const params: unknown[] = [];
  const param = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  if (request.aggregateIds.length > 0) where.push(`${aggregateColumn} = ANY(${param(request.aggregateIds)}::text[])`);
  if (shardKeys.length > 0) where.push(`shard_key = ANY(${param(shardKeys)}::int[])`);
  if (request.kinds.length > 0) where.push(`kind = ANY(${param(request.kinds)}::text[])`);
  if (request.timeFrom) where.push(`created_at >= (${param(request.timeFrom)}::timestamptz AT TIME ZONE 'UTC')`);
  if (request.timeTo) where.push(`created_at < (${param(request.timeTo)}::timestamptz AT TIME ZONE 'UTC')`);
  if (request.cursor) {
    const operator = request.ascending ? '>' : '<';
    where.push(
      `(created_at, id) ${operator} ((${param(request.cursor.created_at)}::timestamptz AT TIME ZONE 'UTC'), ${param(request.cursor.event_id)})`,
    );
  }
  const direction = request.ascending ? 'ASC' : 'DESC';
  const order = `created_at ${direction}, event_id ${direction}`;
  const rows =
    `SELECT id AS event_id, ${aggregateColumn}, kind, provider_event_id, data, created_at,` +
    ` octet_length(data::text) AS data_bytes FROM ${table}` +
    (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '') +
    ` ORDER BY created_at ${direction}, id ${direction} LIMIT ${param(request.limit + 1)}`;
  const budget = param(maxDataBytes);
  const sql =
    `SELECT event_id, ${aggregateColumn}, kind, provider_event_id,` +
    ` CASE WHEN bytes_before < ${budget} THEN data END AS data, created_at, bytes_before < ${budget} AS in_page` +
    ` FROM (SELECT *, coalesce(lag(bytes_before) OVER (ORDER BY ${order}), 0) AS previous_before` +
    ` FROM (SELECT *, sum(data_bytes) OVER (ORDER BY ${order}) - data_bytes AS bytes_before FROM (${rows}) fetched) sized) marked` +
    ` WHERE previous_before < ${budget} ORDER BY ${order}`;
  return { sql, params };
}

export async function readEventPage(db: Queryable, log: EventLogTable, request: EventPageRequest) {
  // Order ids give their shard keys; dispute ids do not always (disputes older than shard keys), so the
  // dispute log is filtered by id alone.
  const shardKeys = log.table === 'order_events' ? orderShardKeys(request.aggregateIds) : [];
  const { sql, params } = buildEventPageSql(log, request, shardKeys);
  const { rows } = await db.query<{ event_id: string; created_at: string; in_page: boolean }>(sql, params);
  return toEventPage(rows, request.limit);
}
