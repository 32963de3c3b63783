/**
 * Keyset pagination over an event log (docs/api.md#event-cursors): the query (already typed by the route schema) → a page request,
 * and the page built from `limit + 1` rows. Pure: no I/O; the SQL lives in store/events.ts.
 */
import { invalidRequest } from '@payment-manager/shared/errors';

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

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** The spellings of `sort_asc` the Go original accepted (empty = absent); the route schema lists them as allowed. */
export const SORT_ASC_SPELLINGS = {
  ascending: ['true', 'TRUE', 'True', 't', 'T', '1'],
  descending: ['false', 'FALSE', 'False', 'f', 'F', '0', ''],
} as const;

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

/** Absent, 0 or negative → the default; above the cap → the cap (the Go original's lenient rule). */
export function eventLimit(limit: number | undefined): number {
  if (limit === undefined || limit <= 0) return DEFAULT_EVENT_PAGE_LIMIT;
  return Math.min(limit, MAX_EVENT_PAGE_LIMIT);
}

function parseTime(name: string, raw: string | undefined): string | null {
  if (raw === undefined || raw === '') return null;
  if (!isRfc3339(raw)) {
    throw invalidRequest([{ in: 'query', field: name, message: `must be an RFC 3339 timestamp, got "${raw}"` }]);
  }
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
  throw invalidRequest([
    { in: 'query', field: 'cursor', message: 'cannot be decoded: pass the next_cursor of the previous page unchanged' },
  ]);
}

export interface EventPageQuery {
  order_ids?: string | string[];
  dispute_ids?: string | string[];
  kinds?: string | string[];
  time_from?: string;
  time_to?: string;
  limit?: number;
  cursor?: string;
  sort_asc?: string;
}

export function parseEventPageRequest(query: EventPageQuery, idsParam: 'order_ids' | 'dispute_ids'): EventPageRequest {
  return {
    aggregateIds: splitList(query[idsParam]),
    kinds: splitList(query.kinds),
    timeFrom: parseTime('time_from', query.time_from),
    timeTo: parseTime('time_to', query.time_to),
    limit: eventLimit(query.limit),
    cursor: query.cursor ? decodeCursor(query.cursor) : null,
    ascending: (SORT_ASC_SPELLINGS.ascending as readonly string[]).includes(query.sort_asc ?? ''),
  };
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
