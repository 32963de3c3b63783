import type { Queryable } from '../db/pool.ts';
import { buildEventPageSql, type EventLogTable, type EventPageRequest, toEventPage } from '../domain/event-page.ts';

export async function readEventPage(db: Queryable, log: EventLogTable, request: EventPageRequest) {
  const { sql, params } = buildEventPageSql(log, request);
  const { rows } = await db.query<{ event_id: string; created_at: string; in_page: boolean }>(sql, params);
  return toEventPage(rows, request.limit);
}
