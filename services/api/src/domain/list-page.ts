/**
 * Bounded pages of GET /orders and GET /disputes (docs/api.md#limit-and-offset): at most MAX_LIST_LIMIT rows per
 * answer, DEFAULT_LIST_LIMIT when `limit` is absent, and a keyset cursor in a `Link: <…>; rel="next"` header so a
 * client reaches every row without the array body changing shape. A keyset, not an offset: rows inserted while a
 * client pages do not shift the pages it has not read yet, so no row is skipped or repeated.
 */
import { invalidRequest } from '@payment-manager/shared/errors';

export const DEFAULT_LIST_LIMIT = 50;
export const MAX_LIST_LIMIT = 200;

/** The OpenAPI description of both list routes. */
export const LIST_PAGING =
  `At most \`limit\` rows (default ${DEFAULT_LIST_LIMIT}, maximum ${MAX_LIST_LIMIT}; a larger limit is a 400). When ` +
  'more rows match, the answer has a header `Link: </…?…&cursor=…>; rel="next"`: request that URL for the next page, ' +
  'until an answer has no such header. See docs/api.md#limit-and-offset.';

/** Where the next page starts: after the row with this sort value and id, in this order. */
export interface ListCursor {
  /** The last row's sort column (RFC 3339 with the stored microseconds). */
  after: string;
  id: string;
  /** The order the cursor belongs to, e.g. `created_at desc`: a cursor of another order would skip rows. */
  order: string;
}

export function encodeListCursor(cursor: ListCursor): string {
  return Buffer.from(JSON.stringify({ a: cursor.after, i: cursor.id, o: cursor.order })).toString('base64url');
}

export function decodeListCursor(raw: string, order: string): ListCursor {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    decoded = null;
  }
  const { a, i, o } = (decoded ?? {}) as { a?: unknown; i?: unknown; o?: unknown };
  if (typeof a !== 'string' || typeof i !== 'string' || typeof o !== 'string' || Number.isNaN(Date.parse(a))) {
    throw cursorProblem('cannot be decoded: pass the cursor of the previous Link rel="next" unchanged');
  }
  if (o !== order) {
    throw cursorProblem(`belongs to the order ${o}, not ${order}: repeat the filters and sort of the first page`);
  }
  return { after: a, id: i, order: o };
}

function cursorProblem(message: string) {
  return invalidRequest([{ in: 'query', field: 'cursor', message }]);
}

/** A cursor replaces `offset`: both at once would skip rows no one asked to skip. */
export function refuseOffsetWithCursor(query: { cursor?: string | undefined; offset?: number | undefined }): void {
  if (query.cursor !== undefined && (query.offset ?? 0) > 0) {
    throw invalidRequest([
      {
        in: 'query',
        field: 'offset',
        message: 'cannot be combined with cursor: the cursor already says where to go on',
      },
    ]);
  }
}

/**
 * The rows of a page fetched with `limit + 1` rows: the page, and the `Link` header value of the next page when the
 * extra row shows there is one (the request's own path and parameters, `offset` dropped, `cursor` set).
 */
export function listPage<T>(
  rows: T[],
  limit: number,
  requestUrl: string,
  cursorOf: (row: T) => Omit<ListCursor, 'order'>,
  order: string,
): { rows: T[]; link: string | null } {
  if (rows.length <= limit) return { rows, link: null };
  const page = rows.slice(0, limit);
  const last = page.at(-1) as T;
  const url = new URL(requestUrl, 'http://relative.invalid');
  url.searchParams.delete('offset');
  url.searchParams.set('limit', String(limit));
  url.searchParams.set('cursor', encodeListCursor({ ...cursorOf(last), order }));
  return { rows: page, link: `<${url.pathname}${url.search}>; rel="next"` };
}
