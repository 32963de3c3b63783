/**
 * Citus (project `citus`): list endpoints and event pages answer exactly what plain PostgreSQL answers for the same
 * data — same rows, same order (ties included), same cursors, page after page.
 */
import { randomBytes } from 'node:crypto';
import { createPool } from '@payment-manager/api/db/pool';
import { databaseUrlFor, dropDatabase, withAdminClient } from '@payment-manager/testkit/pg-admin';
import { useTestDatabase } from '@payment-manager/testkit/postgres';
import { describeWith, testServices } from '@payment-manager/testkit/services';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { runMigrations } from '../../src/db/migrations.ts';
import { loadDisputeEventsFixture } from '../scenarios/dispute-events-fixture.ts';
import { createTestApp } from '../support/app.ts';
import { call, query } from '../support/http.ts';

const PREFIX = 'same_';

/** Order events with ties on created_at across orders (ordering must fall back to the event id everywhere). */
async function loadOrderEvents(pool: pg.Pool): Promise<void> {
  await pool.query(
    `INSERT INTO order_events (id, order_id, kind, provider_event_id, data, created_at, shard_key)
     SELECT 'oe_' || lpad(n::text, 4, '0'), o.id, (ARRAY['webhook_received','hold_set','capture_requested'])[1 + n % 3],
            'pe_' || n, jsonb_build_object('n', n),
            TIMESTAMP '2024-02-01 00:00:00.000001' + (n / 3) * interval '1 minute', order_shard_key(o.id)
     FROM generate_series(1, 150) AS n
     JOIN LATERAL (SELECT $1 || 'order_' || lpad((1 + n % 50)::text, 3, '0') AS id) o ON true`,
    [PREFIX],
  );
}

const plainSkip = () =>
  testServices().plainPostgresAdminUrl === null ? 'no plain PostgreSQL found next to Citus (PM_TEST_PG_URL)' : null;

describeWith(['postgres'], 'Citus: list endpoints and event pages equal plain PostgreSQL for the same data', () => {
  const citus = useTestDatabase();
  let plainPool: pg.Pool;
  let plainName = '';
  let citusApp: App;
  let plainApp: App;

  beforeAll(async () => {
    expect(testServices().flavour, 'this suite belongs to the vitest project "citus"').toBe('citus');
    const adminUrl = testServices().plainPostgresAdminUrl;
    expect(adminUrl, plainSkip() ?? '').not.toBeNull();
    plainName = `${testServices().postgres?.databasePrefix}plain_${randomBytes(3).toString('hex')}`;
    await withAdminClient(adminUrl as string, (client) =>
      client.query(`CREATE DATABASE ${pg.escapeIdentifier(plainName)}`),
    );
    const plainUrl = databaseUrlFor(adminUrl as string, plainName);
    await runMigrations({ databaseUrl: plainUrl });
    plainPool = createPool({ pgUrl: plainUrl, max: 4, applicationName: 'payment-manager-test' });
    for (const pool of [citus.pool, plainPool]) {
      await loadDisputeEventsFixture(pool, PREFIX);
      await loadOrderEvents(pool);
    }
    citusApp = await createTestApp(citus.pool);
    plainApp = await createTestApp(plainPool);
  });
  afterAll(async () => {
    await citusApp?.close();
    await plainApp?.close();
    await plainPool?.end();
    const adminUrl = testServices().plainPostgresAdminUrl;
    if (adminUrl && plainName) await dropDatabase(adminUrl, plainName);
  });

  async function both(url: string) {
    const [onCitus, onPlain] = await Promise.all([call(citusApp, 'GET', url), call(plainApp, 'GET', url)]);
    expect(onCitus.status, `${url} on Citus: ${onCitus.text}`).toBe(200);
    expect(onCitus.json, url).toEqual(onPlain.json);
    return onCitus.json;
  }

  it('GET /orders with every filter, sort and page', async () => {
    expect(await both('/orders')).toHaveLength(50);
    for (const sortBy of ['created_at', 'updated_at']) {
      for (const sortOrder of ['asc', 'desc']) {
        await both(`/orders${query({ sort_by: sortBy, sort_order: sortOrder, limit: 7, offset: 3 })}`);
      }
    }
    await both(`/orders${query({ status: 'created,success', sort_order: 'asc' })}`);
    await both(`/orders${query({ user_id: '550e8400-e29b-41d4-a716-446655440007' })}`);
  });

  it('GET /disputes with every filter and page', async () => {
    expect(await both('/disputes')).toHaveLength(15);
    await both(`/disputes${query({ status: 'won,lost,open', limit: 4, offset: 2 })}`);
    await both(`/disputes${query({ order_id: `${PREFIX}order_003` })}`);
  });

  for (const [path, idsParam, aggregate] of [
    ['/orders/events', 'order_ids', 'order'],
    ['/disputes/events', 'dispute_ids', 'dispute'],
  ] as const) {
    it(`${path}: every page in both directions, with and without filters`, async () => {
      const filters = [
        {},
        { kinds: path === '/orders/events' ? 'hold_set' : 'evidence_added' },
        { [idsParam]: `${PREFIX}${aggregate}_001,${PREFIX}${aggregate}_002` },
        { time_from: '2024-01-16T00:00:00Z', time_to: '2024-02-01T01:00:00Z' },
      ];
      for (const filter of filters) {
        for (const sortAsc of [true, false]) {
          let cursor: string | undefined;
          let pages = 0;
          do {
            const page = await both(`${path}${query({ ...filter, sort_asc: sortAsc, limit: 9, cursor })}`);
            cursor = page.has_more ? page.next_cursor : undefined;
            pages += 1;
          } while (cursor && pages < 50);
          expect(pages).toBeGreaterThan(0);
        }
      }
    });
  }
});
