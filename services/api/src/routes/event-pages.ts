import { type EventPageQuery, EventQueryError, parseEventPageRequest } from '../domain/event-page.ts';
import { HttpError } from '../http/errors.ts';

/** Bad filters or an undecodable cursor are the client's fault: a single 400. */
export function eventPageRequestOrThrow(query: EventPageQuery, idsParam: 'order_ids' | 'dispute_ids') {
  try {
    return parseEventPageRequest(query, idsParam);
  } catch (err) {
    if (err instanceof EventQueryError) throw new HttpError(400, err.message);
    throw err;
  }
}
