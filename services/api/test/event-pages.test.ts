/** Keyset-paginated event logs (docs/api.md#event-cursors, docs/domain.md#timestamps): ties, precision, filters, limits, cursors. */

import { validationBody } from '@payment-manager/testkit/errors';
import { describeWith } from '@payment-manager/testkit/services';
import { uniqueId } from '@payment-manager/testkit/webhooks';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestApi } from './support/app.ts';
import { call, query } from './support/http.ts';

interface Item {
  event_id: string;
  created_at: string;
  kind: string;
  [key: string]: unknown;
}

interface Page {
  items: Item[];
  next_cursor: string;
  has_more: boolean;
}

const LOGS = [
  { path: '/orders/events', idsParam: 'order_ids', table: 'order_events', column: 'order_id' },
  { path: '/disputes/events', idsParam: 'dispute_ids', table: 'dispute_events', column: 'dispute_id' },
] as const;

describeWith(['postgres'], 'event pages', () => {
  const api = useTestApi();

  async function page(path: string, params: Record<string, string | number | string[] | undefined>): Promise<Page> {
    const answer = await call(api.app, 'GET', `${path}${query(params)}`);
    expect(answer.status, answer.text).toBe(200);
    return answer.json as Page;
  }

  async function walk(path: string, params: Record<string, string | number | string[] | undefined>) {
    const pages: Page[] = [];
    let cursor: string | undefined;
    do {
      const next = await page(path, { ...params, cursor });
      pages.push(next);
      cursor = next.has_more ? next.next_cursor : undefined;
      if (next.has_more) expect(next.next_cursor).not.toBe('');
      else expect(next.next_cursor).toBe('');
      expect(pages.length).toBeLessThan(200);
    } while (cursor);
    return pages;
  }

  /** Two aggregates per log: tied timestamps (µs apart and fully equal), kinds a/b/c, plus a third aggregate. */
  const aggregates = { main: uniqueId('agg'), other: uniqueId('agg'), third: uniqueId('agg') };
  const TIMES = [
    ...Array(12).fill('2025-05-01 10:00:00.123456'),
    ...Array(9).fill('2025-05-01 10:00:00.123457'),
    '2025-05-01 09:59:59.999999',
    '2025-05-01 10:00:01',
    '2025-05-02 00:00:00',
    '2025-04-30 23:59:59.5',
  ] as string[];

  beforeAll(async () => {
    await api.pool.query(
      `INSERT INTO orders (id, user_id, status, created_at, updated_at, shard_key)
       SELECT id, gen_random_uuid(), 'created', now(), now(), order_shard_key(id) FROM unnest($1::text[]) AS id`,
      [Object.values(aggregates)],
    );
    await api.pool.query(
      `INSERT INTO disputes (id, order_id, status, reason, amount, currency, opened_at, shard_key)
       SELECT id, id, 'open', 'fraud', 1, 'USD', now(), order_shard_key(id) FROM unnest($1::text[]) AS id`,
      [Object.values(aggregates)],
    );
    for (const log of LOGS) {
      for (const aggregate of [aggregates.main, aggregates.other]) {
        const events = TIMES.map((createdAt, i) => ({
          id: `${log.table}-${aggregate}-${String((i * 7) % TIMES.length).padStart(2, '0')}`,
          agg: aggregate,
          kind: ['kind_a', 'kind_b', 'kind_c'][i % 3],
          pe: `pe-${i}`,
          created_at: createdAt,
        }));
        await api.pool.query(
          // Each dispute here has its order's id, so both logs take the shard key of the aggregate id.
          `INSERT INTO ${log.table} (id, ${log.column}, kind, provider_event_id, data, created_at, shard_key)
           SELECT id, agg, kind, pe, jsonb_build_object('n', pe), created_at, order_shard_key(agg)
           FROM jsonb_to_recordset($1::jsonb) AS e(id text, agg text, kind text, pe text, created_at timestamp)`,
          [JSON.stringify(events)],
        );
      }
    }
  });

  async function expectedOrder(log: (typeof LOGS)[number], ids: string[], ascending: boolean, extra = '') {
    const direction = ascending ? 'ASC' : 'DESC';
    const { rows } = await api.pool.query<{ id: string }>(
      `SELECT id FROM ${log.table} WHERE ${log.column} = ANY($1::text[]) ${extra}
       ORDER BY created_at ${direction}, id ${direction}`,
      [ids],
    );
    return rows.map((r) => r.id);
  }

  for (const log of LOGS) {
    describe(log.path, () => {
      it.each([
        [1, true],
        [3, true],
        [4, false],
        [7, false],
        [10, true],
      ])(
        'limit %i, ascending %s: every row exactly once, in (created_at, id) order, across tied timestamps',
        async (limit, asc) => {
          const ids = [aggregates.main, aggregates.other];
          const pages = await walk(log.path, { [log.idsParam]: ids, limit, sort_asc: String(asc) });
          const seen = pages.flatMap((p) => p.items.map((i) => i.event_id));
          expect(seen).toEqual(await expectedOrder(log, ids, asc));
          expect(new Set(seen).size).toBe(TIMES.length * 2);
          expect(pages.every((p, i) => p.items.length === (i < pages.length - 1 ? limit : p.items.length))).toBe(true);
        },
      );

      it('cursors carry the stored microseconds (base64 JSON with event_id and created_at)', async () => {
        const first = await page(log.path, { [log.idsParam]: aggregates.main, limit: 5, sort_asc: 'true' });
        const decoded = JSON.parse(Buffer.from(first.next_cursor, 'base64').toString('utf8'));
        const last = first.items[4] as Item;
        expect(decoded).toEqual({ event_id: last.event_id, created_at: last.created_at });
        const times = (await page(log.path, { [log.idsParam]: aggregates.main, limit: 100 })).items.map(
          (i) => i.created_at,
        );
        expect(times).toContain('2025-05-01T10:00:00.123456Z');
        expect(times).toContain('2025-05-01T10:00:00.123457Z');
        expect(times).toContain('2025-05-01T10:00:01Z');
        for (const t of times) expect(t).toMatch(/Z$/);
      });

      it('item shape', async () => {
        const { items } = await page(log.path, { [log.idsParam]: aggregates.main, limit: 1 });
        expect(items[0]).toEqual({
          event_id: expect.any(String),
          [log.column]: aggregates.main,
          kind: expect.stringMatching(/^kind_/),
          provider_event_id: expect.stringMatching(/^pe-/),
          data: { n: expect.stringMatching(/^pe-/) },
          created_at: '2025-05-02T00:00:00Z',
        });
      });

      it('ids are repeatable and comma-split; kinds likewise; unknown kinds match nothing', async () => {
        const repeated = await page(log.path, { [log.idsParam]: [aggregates.main, aggregates.other], limit: 1000 });
        const split = await page(log.path, { [log.idsParam]: `${aggregates.main},${aggregates.other}`, limit: 1000 });
        const mixed = await page(log.path, {
          [log.idsParam]: [`${aggregates.main},${aggregates.third}`, aggregates.other],
          limit: 1000,
        });
        expect(repeated.items).toHaveLength(TIMES.length * 2);
        expect(split).toEqual(repeated);
        expect(mixed).toEqual(repeated);

        const kinds = await page(log.path, {
          [log.idsParam]: aggregates.main,
          kinds: ['kind_a', 'kind_b'],
          limit: 1000,
        });
        const kindsSplit = await page(log.path, {
          [log.idsParam]: aggregates.main,
          kinds: 'kind_a,kind_b',
          limit: 1000,
        });
        expect(kinds).toEqual(kindsSplit);
        expect(kinds.items.map((i) => i.event_id)).toEqual(
          await expectedOrder(log, [aggregates.main], false, "AND kind IN ('kind_a','kind_b')"),
        );
        const unknown = await page(log.path, { [log.idsParam]: aggregates.main, kinds: 'nope' });
        expect(unknown).toEqual({ items: [], next_cursor: '', has_more: false });
      });

      it('time_from is inclusive, time_to exclusive, any UTC offset, microsecond precision', async () => {
        const ids = { [log.idsParam]: aggregates.main, limit: 1000 };
        const fromTie = await page(log.path, { ...ids, time_from: '2025-05-01T10:00:00.123457Z' });
        expect(fromTie.items.map((i) => i.created_at).sort()).toEqual(
          [...Array(9).fill('2025-05-01T10:00:00.123457Z'), '2025-05-01T10:00:01Z', '2025-05-02T00:00:00Z'].sort(),
        );
        const toTie = await page(log.path, { ...ids, time_to: '2025-05-01T12:00:00.123457+02:00' });
        expect(toTie.items).toHaveLength(12 + 2);
        const window = await page(log.path, {
          ...ids,
          time_from: '2025-05-01T05:00:00-05:00',
          time_to: '2025-05-01T10:00:01Z',
        });
        expect(window.items).toHaveLength(21);
        const paged = await walk(log.path, {
          ...ids,
          limit: 4,
          time_from: '2025-05-01T10:00:00Z',
          time_to: '2025-05-02T00:00:00Z',
        });
        expect(paged.flatMap((p) => p.items)).toHaveLength(22);
      });

      it.each([
        [undefined, 10],
        ['0', 10],
        ['-3', 10],
        ['5', 5],
      ])('limit %s → %i items', async (limit, expected) => {
        const result = await page(log.path, { [log.idsParam]: aggregates.main, limit });
        expect(result.items).toHaveLength(expected);
        expect(result.has_more).toBe(true);
      });

      it.each(['t', 'T', '1', 'true', 'TRUE', 'True'])('sort_asc=%s is ascending', async (value) => {
        const result = await page(log.path, { [log.idsParam]: aggregates.main, sort_asc: value, limit: 1 });
        expect(result.items[0]?.created_at).toBe('2025-04-30T23:59:59.5Z');
      });

      it.each(['f', 'F', '0', 'false', 'FALSE', 'False', undefined])('sort_asc=%s is descending', async (value) => {
        const result = await page(log.path, { [log.idsParam]: aggregates.main, sort_asc: value, limit: 1 });
        expect(result.items[0]?.created_at).toBe('2025-05-02T00:00:00Z');
      });

      const encode = (text: string) => Buffer.from(text).toString('base64');
      it.each([
        ['limit=ten', /limit/],
        ['limit=1.5', /limit/],
        ['sort_asc=yes', /sort_asc/],
        ['time_from=yesterday', /time_from/],
        ['time_to=2025-05-01', /time_to/],
        ['cursor=%25%25%25', /cursor cannot be decoded/],
        [`cursor=${encodeURIComponent(encode('not json'))}`, /cursor cannot be decoded/],
        [`cursor=${encodeURIComponent(encode('{"event_id":"x"}'))}`, /cursor cannot be decoded/],
        [`cursor=${encodeURIComponent(encode('{"event_id":"x","created_at":"soon"}'))}`, /cursor cannot be decoded/],
        ['limit=1e', /limit/],
        ['sort_asc=tRuE', /sort_asc/],
      ])('%s → a single 400 in the one error shape (docs/api.md#event-cursors)', async (params, mentions) => {
        const answer = await call(api.app, 'GET', `${log.path}?${params}`);
        expect(answer.status).toBe(400);
        expect(answer.json).toEqual(validationBody(mentions));
      });

      it('sort_asc=yes → 400 listing the accepted spellings', async () => {
        const answer = await call(api.app, 'GET', `${log.path}?sort_asc=yes`);
        expect(answer.json.problems).toEqual([
          {
            in: 'query',
            field: 'sort_asc',
            message: 'must be one of: true, TRUE, True, t, T, 1, false, FALSE, False, f, F, 0, "" (empty)',
            allowed: ['true', 'TRUE', 'True', 't', 'T', '1', 'false', 'FALSE', 'False', 'f', 'F', '0', ''],
          },
        ]);
      });

      it('an unknown query parameter → 400 naming it and the known ones, never a silently unfiltered page', async () => {
        const wrong = log.idsParam.replace(/s$/, '');
        const answer = await call(api.app, 'GET', `${log.path}?${wrong}=x&limit=ten`);
        expect(answer.status).toBe(400);
        expect(answer.json).toEqual(validationBody(/query\.limit must be integer/, wrong, 'limit'));
        expect(answer.json.problems).toContainEqual({
          in: 'query',
          field: wrong,
          message: `is not a known query parameter; known: ${log.idsParam}, kinds, time_from, time_to, limit, cursor, sort_asc`,
          allowed: [log.idsParam, 'kinds', 'time_from', 'time_to', 'limit', 'cursor', 'sort_asc'],
        });
      });

      it('unknown ids → an empty page, never 404 (docs/api.md#event-cursors)', async () => {
        expect(await page(log.path, { [log.idsParam]: uniqueId('none') })).toEqual({
          items: [],
          next_cursor: '',
          has_more: false,
        });
      });
    });
  }

  it('limit above 1000 is capped at 1000', async () => {
    const orderId = aggregates.third;
    await api.pool.query(
      `INSERT INTO order_events (id, order_id, kind, provider_event_id, data, created_at, shard_key)
       SELECT 'bulk-' || n, $1, 'bulk', 'pe-bulk-' || n, '{}'::jsonb, TIMESTAMP '2025-06-01' + n * interval '1 millisecond',
              order_shard_key($1::varchar)
       FROM generate_series(1, 1005) AS n`,
      [orderId],
    );
    const capped = await page('/orders/events', { order_ids: orderId, limit: 5000 });
    expect(capped.items).toHaveLength(1000);
    expect(capped.has_more).toBe(true);
    const rest = await page('/orders/events', { order_ids: orderId, limit: 5000, cursor: capped.next_cursor });
    expect(rest.items).toHaveLength(5);
    expect(rest.has_more).toBe(false);
  });

  it('without filters pages over every event of the log', async () => {
    const pages = await walk('/disputes/events', { limit: 1000, sort_asc: '1' });
    const { rows } = await api.pool.query('SELECT count(*)::int AS n FROM dispute_events');
    expect(pages.flatMap((p) => p.items)).toHaveLength(rows[0].n);
  });
});
