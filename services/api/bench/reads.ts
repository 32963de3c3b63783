/**
 * Read benchmark for the partitioned dispute event log (issue 2): `npm run bench:reads`.
 *
 * Creates its own database, migrates it so pg_partman's set starts 90 days back, seeds ≥ 1,000,000 dispute
 * events spread over those 90 days with INSERT … SELECT generate_series, then times `GET /disputes/events`
 * for 7-day windows through the real API on a real port and prints p50/p99 plus the EXPLAIN (ANALYZE)
 * partition count of the route's query. Targets: p50 ≤ 5 ms, ≤ 8 partitions touched.
 *
 *   --events N     dispute events to seed (default 1000000)
 *   --requests N   measured requests (default 300, at least 200)
 *   --keep         keep the database afterwards (its name is printed)
 * Postgres: PM_BENCH_PG_URL, else PM_TEST_PG_URL, else postgres://postgres@127.0.0.1:5432/postgres (admin URL).
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { oneLineErrors, parseCli } from '@payment-manager/shared/cli';
import type pg from 'pg';
import { benchPostgres, wholeNumberOption } from '../../../scripts/bench-support.ts';
import { buildApp } from '../src/app.ts';
import { runMigrations, runPartitionMaintenance } from '../src/db/migrations.ts';
import { createPool } from '../src/db/pool.ts';
import { parseEventPageRequest } from '../src/domain/event-page.ts';
import { generateApiKey, hashApiKey } from '../src/http/auth.ts';
import { createSilvergateClient } from '../src/provider/silvergate.ts';
import { buildEventPageSql } from '../src/store/events.ts';

const MIGRATIONS_BEFORE_PARTITIONING = 5;
const DAYS = 90;
const WINDOW_DAYS = 7;
const PAGE_LIMIT = 100;
const WARMUP_REQUESTS = 30;
const TARGET_P50_MS = 5;
const TARGET_PARTITIONS = 8;

const { values: args } = parseCli({
  command: 'npm run bench:reads --',
  summary:
    'Seeds dispute events over 90 days and times GET /disputes/events for 7-day windows (targets: p50 ≤ 5 ms, ≤ 8 partitions).',
  options: {
    events: { type: 'string', default: '1000000', valueName: '<n>', description: 'dispute events to seed' },
    requests: { type: 'string', default: '300', valueName: '<n>', description: 'measured requests (at least 200)' },
    keep: { type: 'boolean', default: false, description: 'keep the database afterwards (its name is printed)' },
  },
  environment: {
    PM_BENCH_PG_URL:
      'admin URL of the PostgreSQL to benchmark on (a database is created); else PM_TEST_PG_URL, else postgres://postgres@127.0.0.1:5432/postgres',
  },
});
oneLineErrors('bench:reads');
const EVENTS = wholeNumberOption('events', args.events, 1);
const REQUESTS = Math.max(200, wholeNumberOption('requests', args.requests, 1));
const DISPUTES = Math.max(1, Math.round(EVENTS / 10));
const CHUNK = 100_000;

const { admin, urlFor } = benchPostgres();
const databaseName = `pm_bench_reads_${randomBytes(3).toString('hex')}`;
const databaseUrl = urlFor(databaseName);

const say = (message: string) => console.log(`[bench:reads] ${message}`);
const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;

function percentile(sorted: number[], p: number): number {
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] as number;
}

/**
 * Partitions in an EXPLAIN (ANALYZE) plan: `planned` = left after pruning (pruned ones do not appear),
 * `executed` = actually read (an ordered append stops before reaching the older ones: "never executed").
 */
function partitionsInPlan(plan: unknown): { planned: Set<string>; executed: Set<string> } {
  const planned = new Set<string>();
  const executed = new Set<string>();
  const walk = (node: unknown) => {
    if (!node || typeof node !== 'object') return;
    const record = node as Record<string, unknown>;
    const relation = record['Relation Name'];
    if (typeof relation === 'string' && relation.startsWith('dispute_events')) {
      planned.add(relation);
      if (record['Actual Loops'] !== 0) executed.add(relation);
    }
    for (const value of Object.values(record)) {
      if (Array.isArray(value)) value.forEach(walk);
      else if (value && typeof value === 'object') walk(value);
    }
  };
  walk(plan);
  return { planned, executed };
}

async function seed(pool: pg.Pool): Promise<void> {
  let started = performance.now();
  // Plain table stage: one event 90 days back makes the partitioning migration start its set there, exactly
  // as it would for a database that already held 90 days of events.
  await runMigrations({ databaseUrl, count: MIGRATIONS_BEFORE_PARTITIONING });
  await pool.query(
    `INSERT INTO orders (id, user_id, status, on_hold, created_at, updated_at)
     SELECT 'ord_' || g, gen_random_uuid(), 'captured', false, now() - interval '${DAYS} days', now()
     FROM generate_series(1, $1::int) g`,
    [DISPUTES],
  );
  await pool.query(
    `INSERT INTO disputes (id, order_id, status, reason, amount, currency, opened_at)
     SELECT 'dsp_' || g, 'ord_' || g, (ARRAY['open','submitted','won','lost'])[1 + g % 4],
            (ARRAY['fraud','product_not_received','duplicate','other'])[1 + g % 4], 10 + g % 500, 'USD',
            now() - interval '${DAYS} days'
     FROM generate_series(1, $1::int) g`,
    [DISPUTES],
  );
  await pool.query(
    `INSERT INTO dispute_events (id, dispute_id, kind, provider_event_id, data, created_at)
     VALUES ('evt_oldest', 'dsp_1', 'webhook_opened', 'pev_oldest', '{}',
             date_trunc('day', now() AT TIME ZONE 'UTC') - interval '${DAYS} days')`,
  );
  say(`${DISPUTES.toLocaleString()} orders and disputes seeded in ${seconds(started)}`);

  started = performance.now();
  await runMigrations({ databaseUrl });
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_inherits WHERE inhparent = 'public.dispute_events'::regclass`,
  );
  say(
    `partitioning migration done in ${seconds(started)}: ${rows[0]?.n} partitions (daily from ${DAYS} days back, default)`,
  );

  started = performance.now();
  for (let from = 1; from <= EVENTS; from += CHUNK) {
    const to = Math.min(EVENTS, from + CHUNK - 1);
    // Evenly over the last 90 days up to now, microsecond timestamps as the API stores them.
    await pool.query(
      `INSERT INTO dispute_events (id, dispute_id, kind, provider_event_id, data, created_at, shard_key)
       SELECT 'evt_' || g, 'dsp_' || (1 + g % $3::int),
              (ARRAY['webhook_opened','webhook_updated','provider_decision','evidence_added','evidence_submitted'])[1 + g % 5],
              'pev_' || g, jsonb_build_object('seq', g),
              (now() AT TIME ZONE 'UTC') - interval '${DAYS} days' * (1 - g::float8 / $4::int),
              order_shard_key('ord_' || (1 + g % $3::int))
       FROM generate_series($1::int, $2::int) g`,
      [from, to, DISPUTES, EVENTS],
    );
    say(`  ${to.toLocaleString()} / ${EVENTS.toLocaleString()} events (${seconds(started)})`);
  }

  started = performance.now();
  await runPartitionMaintenance(pool);
  await pool.query('ANALYZE');
  say(`maintenance + ANALYZE in ${seconds(started)}`);
}

function windowQuery(index: number, newest: Date): Record<string, string> {
  // Windows slide over the seeded range so the run is not one cached page.
  const startDay = 1 + ((index * 5) % (DAYS - WINDOW_DAYS - 1));
  const to = new Date(newest.getTime() - startDay * 86_400_000);
  const from = new Date(to.getTime() - WINDOW_DAYS * 86_400_000);
  return { time_from: from.toISOString(), time_to: to.toISOString(), limit: String(PAGE_LIMIT) };
}

async function measure(pool: pg.Pool): Promise<void> {
  const readerKey = generateApiKey();
  const app = await buildApp({
    config: {
      webhookMode: 'sync',
      bodyLimitBytes: 1_048_576,
      logLevel: 'warn',
      apiKeys: new Map([[hashApiKey(readerKey), 'reader']]),
    },
    pool,
    provider: createSilvergateClient({
      baseUrl: 'http://127.0.0.1:9',
      capturePath: '/capture',
      submitRepresentmentPath: '/representment',
      timeoutMs: 1_000,
    }),
    logger: false,
  });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  try {
    const newest = new Date();
    const get = async (index: number) => {
      const query = new URLSearchParams(windowQuery(index, newest));
      const response = await fetch(`${base}/disputes/events?${query}`, {
        headers: { authorization: `Bearer ${readerKey}` },
      });
      const body = (await response.json()) as { items: unknown[] };
      if (response.status !== 200 || body.items.length !== PAGE_LIMIT) {
        throw new Error(`unexpected answer ${response.status} with ${body.items?.length} items`);
      }
    };
    for (let i = 0; i < WARMUP_REQUESTS; i++) await get(i);
    const timings: number[] = [];
    for (let i = 0; i < REQUESTS; i++) {
      const started = performance.now();
      await get(i);
      timings.push(performance.now() - started);
    }
    timings.sort((a, b) => a - b);
    const p50 = percentile(timings, 50);
    say(
      `GET /disputes/events, ${WINDOW_DAYS}-day window, limit ${PAGE_LIMIT}, ${REQUESTS} sequential requests over HTTP: ` +
        `p50 ${p50.toFixed(2)} ms, p90 ${percentile(timings, 90).toFixed(2)} ms, p99 ${percentile(timings, 99).toFixed(2)} ms, ` +
        `max ${timings.at(-1)?.toFixed(2)} ms (target p50 ≤ ${TARGET_P50_MS} ms: ${p50 <= TARGET_P50_MS ? 'met' : 'MISSED'})`,
    );

    // The route's own SQL for one window, via the same builder the handler uses.
    const request = parseEventPageRequest({ ...windowQuery(7, newest), limit: PAGE_LIMIT }, 'dispute_ids');
    const { sql, params } = buildEventPageSql({ table: 'dispute_events', aggregateColumn: 'dispute_id' }, request);
    const { rows } = await pool.query(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${sql}`, params);
    const plan = rows[0]['QUERY PLAN'][0];
    const { planned, executed } = partitionsInPlan(plan.Plan);
    const { rows: text } = await pool.query(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${sql}`, params);
    console.log(text.map((row) => `    ${row['QUERY PLAN']}`).join('\n'));
    say(
      `EXPLAIN (ANALYZE) of the route's query: ${planned.size} partitions in the plan after pruning ` +
        `[${[...planned].sort().join(', ')}], ${executed.size} actually read, ` +
        `execution ${plan['Execution Time'].toFixed(2)} ms ` +
        `(target ≤ ${TARGET_PARTITIONS}: ${planned.size <= TARGET_PARTITIONS ? 'met' : 'MISSED'})`,
    );
  } finally {
    await app.close();
  }
}

async function main(): Promise<void> {
  say(`database ${databaseName}: seeding ${EVENTS.toLocaleString()} dispute events over ${DAYS} days`);
  await admin(`CREATE DATABASE ${databaseName}`);
  const pool = createPool({ pgUrl: databaseUrl, max: 4, applicationName: 'bench-reads' });
  try {
    await seed(pool);
    const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM dispute_events');
    say(`dispute_events holds ${rows[0]?.n.toLocaleString()} rows`);
    await measure(pool);
  } finally {
    await pool.end();
    if (args.keep) say(`kept database ${databaseName}`);
    else await admin(`DROP DATABASE ${databaseName} WITH (FORCE)`);
  }
}

await main();
