/**
 * GET /orders and GET /disputes are bounded (docs/api.md#limit-and-offset): a default page, a maximum whose excess is
 * a 400 naming it, and a Link rel="next" keyset cursor that visits every row exactly once — against real PostgreSQL.
 */
import { validationBody } from '@payment-manager/testkit/errors';
import { describeWith } from '@payment-manager/testkit/services';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT } from '../src/domain/list-page.ts';
import { useTestApi } from './support/app.ts';
import { call, type HttpResult } from './support/http.ts';

/** More rows than two full pages, in groups sharing one timestamp, so ties are crossed by page boundaries. */
const ROWS = 2 * MAX_LIST_LIMIT + 57;
const TIE_GROUP = 7;
const USER = '5f0c6a52-3b7e-4b8e-9c6f-0d6f1c2b9a11';

function nextLink(answer: HttpResult): string | null {
  const link = answer.headers.link;
  if (link === undefined) return null;
  const match = /^<([^>]+)>; rel="next"$/.exec(String(link));
  if (!match) throw new Error(`unexpected Link header: ${String(link)}`);
  return match[1] as string;
}

describeWith(['postgres'], 'bounded list pages', () => {
  const api = useTestApi();
  const get = (url: string) => call(api.app, 'GET', url);

  /** Follows Link rel="next" from `first` to the end; every id in the order received. */
  async function pageThrough(first: string, idField: string): Promise<{ ids: string[]; pages: number }> {
    const ids: string[] = [];
    let url: string | null = first;
    let pages = 0;
    while (url !== null) {
      const answer = await get(url);
      expect(answer.status, answer.text).toBe(200);
      ids.push(...(answer.json as Array<Record<string, string>>).map((row) => row[idField] as string));
      url = nextLink(answer);
      pages += 1;
      if (pages > ROWS) throw new Error('paging does not end');
    }
    return { ids, pages };
  }

  beforeAll(async () => {
    await api.pool.query(
      `INSERT INTO orders (id, user_id, status, on_hold, created_at, updated_at, shard_key)
       SELECT 'lp-' || lpad(n::text, 4, '0'), $1, 'created', FALSE,
              timestamp '2025-01-01 00:00:00.123456' + make_interval(secs => n / $2),
              timestamp '2025-02-01 00:00:00' + make_interval(secs => (n * 37) % 50),
              order_shard_key('lp-' || lpad(n::text, 4, '0'))
       FROM generate_series(1, $3::int) AS n`,
      [USER, TIE_GROUP, ROWS],
    );
    await api.pool.query(
      `INSERT INTO disputes (id, order_id, status, reason, amount, currency, opened_at, shard_key)
       SELECT 'lpd-' || lpad(n::text, 4, '0'), 'lp-' || lpad(n::text, 4, '0'), 'open', 'fraud', 1, 'USD',
              timestamp '2025-03-01 00:00:00' + make_interval(secs => n / $1),
              order_shard_key('lp-' || lpad(n::text, 4, '0'))
       FROM generate_series(1, $2::int) AS n`,
      [TIE_GROUP, ROWS],
    );
  });

  describe.each([
    { path: '/orders', idField: 'order_id' },
    { path: '/disputes', idField: 'dispute_id' },
  ])('GET $path', ({ path, idField }) => {
    it(`without limit answers the default page (${DEFAULT_LIST_LIMIT}) and a Link to the next`, async () => {
      const answer = await get(path);
      expect(answer.status).toBe(200);
      expect(answer.json).toHaveLength(DEFAULT_LIST_LIMIT);
      expect(nextLink(answer)).toMatch(new RegExp(`^${path}\\?limit=${DEFAULT_LIST_LIMIT}&cursor=`));
    });

    it(`limit=${MAX_LIST_LIMIT} (the maximum) is answered in full`, async () => {
      const answer = await get(`${path}?limit=${MAX_LIST_LIMIT}`);
      expect(answer.status).toBe(200);
      expect(answer.json).toHaveLength(MAX_LIST_LIMIT);
    });

    it(`limit=${MAX_LIST_LIMIT + 1} → 400 in the error model, naming the maximum`, async () => {
      const answer = await get(`${path}?limit=${MAX_LIST_LIMIT + 1}`);
      expect(answer.status).toBe(400);
      expect(answer.json).toEqual(validationBody(new RegExp(`query\\.limit .*${MAX_LIST_LIMIT}`), 'limit'));
    });

    it('following Link rel="next" visits every row exactly once, in order', async () => {
      const { rows } = await api.pool.query<{ id: string }>(
        `SELECT id FROM ${path.slice(1)} ORDER BY ${path === '/orders' ? 'created_at' : 'opened_at'} DESC, id ASC`,
      );
      const paged = await pageThrough(`${path}?limit=${MAX_LIST_LIMIT}`, idField);
      expect(paged.ids).toEqual(rows.map((row) => row.id));
      expect(new Set(paged.ids).size).toBe(ROWS);
      expect(paged.pages).toBe(Math.ceil(ROWS / MAX_LIST_LIMIT));
    });

    it('a cursor with offset, or one that is not ours, → 400 on the cursor', async () => {
      const link = nextLink(await get(path)) as string;
      expect((await get(`${link}&offset=3`)).json).toEqual(validationBody(/query\.offset cannot be combined/));
      expect((await get(`${path}?cursor=bm90LWEtY3Vyc29y`)).json).toEqual(
        validationBody(/query\.cursor cannot be decoded/, 'cursor'),
      );
    });
  });

  it.each([
    ['created_at', 'asc'],
    ['updated_at', 'desc'],
    ['updated_at', 'asc'],
  ])('GET /orders sorted by %s %s pages through every row once, filters kept', async (sortBy, sortOrder) => {
    const { rows } = await api.pool.query<{ id: string }>(
      `SELECT id FROM orders WHERE user_id = $1 ORDER BY ${sortBy} ${sortOrder.toUpperCase()}, id ASC`,
      [USER],
    );
    const paged = await pageThrough(
      `/orders?user_id=${USER}&status=created&sort_by=${sortBy}&sort_order=${sortOrder}&limit=93`,
      'order_id',
    );
    expect(paged.ids).toEqual(rows.map((row) => row.id));
  });

  it('a cursor of another sort order is refused, not misread (it would skip rows)', async () => {
    const link = nextLink(await get('/orders?sort_by=updated_at')) as string;
    const cursor = new URL(link, 'http://x').searchParams.get('cursor') as string;
    const answer = await get(`/orders?cursor=${encodeURIComponent(cursor)}`);
    expect(answer.status).toBe(400);
    expect(answer.json).toEqual(validationBody(/query\.cursor belongs to the order updated_at desc/, 'cursor'));
  });

  it('rows created while a client pages (newest first) neither shift nor repeat the rows it has not read', async () => {
    const first = await get(`/orders?user_id=${USER}&limit=100`);
    const seen = (first.json as Array<{ order_id: string }>).map((row) => row.order_id);
    await api.pool.query(
      `INSERT INTO orders (id, user_id, status, on_hold, created_at, updated_at, shard_key)
       VALUES ('lp-new', $1, 'created', FALSE, now(), now(), order_shard_key('lp-new'))`,
      [USER],
    );
    const rest = await pageThrough(nextLink(first) as string, 'order_id');
    expect(new Set([...seen, ...rest.ids]).size).toBe(ROWS);
    expect(rest.ids).not.toContain('lp-new');
  });
});
