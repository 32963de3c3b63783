/**
 * Keyset pagination over an event log (spec §6.3): query parameters → a validated page request, the SQL for
 * it, and the page built from `limit + 1` rows. Pure: no I/O.
 */

export interface EventPageRequest {
  aggregateIds: string[];
  kinds: string[];
  timeFrom: string | null;
  timeTo: string | null;
  limit: number;
  cursor: EventCursor | null;
  ascending: boolean;
}

export interface EventCursor {
  event_id: string;
  created_at: string;
}

export const DEFAULT_EVENT_PAGE_LIMIT = 10;
export const MAX_EVENT_PAGE_LIMIT = 1000;
/**
 * A page stops once its events' `data` reach this many bytes (JSON text), whatever `limit` said; `has_more` and the
 * cursor continue after the last event returned. With event data bounded at write time (MAX_EVENT_DATA_BYTES), a
 * page's data is at most this plus one event.
 */
export const MAX_EVENT_PAGE_DATA_BYTES = 1024 * 1024;

export class EventQueryError extends Error {}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const BOOLEAN_TEXT: Record<string, boolean> = {
  true: true,
  TRUE: true,
  True: true,
  t: true,
  T: true,
  '1': true,
  false: false,
  FALSE: false,
  False: false,
  f: false,
  F: false,
  '0': false,
};

/** Repeatable parameters may also carry comma-separated values (`?ids=a,b&ids=c`). */
export function splitList(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

export function isRfc3339(text: string): boolean {
  return RFC3339.test(text) && !Number.isNaN(Date.parse(text));
}

export function parseEventLimit(raw: string | undefined): number {
  if (raw === undefined || raw === '') return DEFAULT_EVENT_PAGE_LIMIT;
  if (!/^[+-]?\d+$/.test(raw.trim())) throw new EventQueryError(`limit must be an integer, got "${raw}"`);
  const limit = Number(raw);
  if (limit <= 0) return DEFAULT_EVENT_PAGE_LIMIT;
  return Math.min(limit, MAX_EVENT_PAGE_LIMIT);
}

export function parseSortAsc(raw: string | undefined): boolean {
  if (raw === undefined || raw === '') return false;
  const value = BOOLEAN_TEXT[raw];
  if (value === undefined) throw new EventQueryError(`sort_asc must be a boolean (true/false/1/0), got "${raw}"`);
  return value;
}

function parseTime(name: string, raw: string | undefined): string | null {
  if (raw === undefined || raw === '') return null;
  if (!isRfc3339(raw)) throw new EventQueryError(`${name} must be an RFC 3339 timestamp, got "${raw}"`);
  return raw;
}

export function encodeCursor(cursor: EventCursor): string {
  return Buffer.from(JSON.stringify({ event_id: cursor.event_id, created_at: cursor.created_at })).toString('base64');
}

export function decodeCursor(raw: string): EventCursor {
  try {
    const decoded: unknown = JSON.parse(Buffer.from(raw, 'base64').toString('utf8'));
    const { event_id, created_at } = decoded as Partial<EventCursor>;
    if (typeof event_id === 'string' && typeof created_at === 'string' && isRfc3339(created_at)) {
      return { event_id, created_at };
    }
  } catch {
    // fall through to the uniform error below
  }
  throw new EventQueryError('decode cursor: cursor is not a value returned by this endpoint');
}

export interface EventPageQuery {
  order_ids?: string | string[];
  dispute_ids?: string | string[];
  kinds?: string | string[];
  time_from?: string;
  time_to?: string;
  limit?: string;
  cursor?: string;
  sort_asc?: string;
}

export function parseEventPageRequest(query: EventPageQuery, idsParam: 'order_ids' | 'dispute_ids'): EventPageRequest {
  return {
    aggregateIds: splitList(query[idsParam]),
    kinds: splitList(query.kinds),
    timeFrom: parseTime('time_from', query.time_from),
    timeTo: parseTime('time_to', query.time_to),
    limit: parseEventLimit(query.limit),
    cursor: query.cursor ? decodeCursor(query.cursor) : null,
    ascending: parseSortAsc(query.sort_asc),
  };
}

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

export interface EventPage<T> {
  items: T[];
  next_cursor: string;
  has_more: boolean;
}

/** `rows` as buildEventPageSql returns them: at most `limit + 1`, the ones past the byte budget not `in_page`. */
export function toEventPage<T extends { event_id: string; created_at: string }>(
  rows: Array<T & { in_page: boolean }>,
  limit: number,
): EventPage<T> {
  const items = rows
    .filter((row) => row.in_page)
    .slice(0, limit)
    .map(({ in_page: _inPage, ...item }) => item as unknown as T);
  const hasMore = rows.length > items.length;
  const last = items[items.length - 1];
  return { items, has_more: hasMore, next_cursor: hasMore && last ? encodeCursor(last) : '' };
}
