import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MIGRATIONS_TABLE,
  runMigrations,
  runPartitionMaintenance,
  startPartitionMaintenance,
} from '../src/db/migrations.ts';
import { eventually, postgresUnavailable, scratchDatabases } from './migrations.support.ts';

const unavailable = await postgresUnavailable();
if (unavailable) console.warn(`migrations suite skipped: ${unavailable}`);

/** See docs/domain.md#database: versions in order; the rewrite's own migrations come after them. */
const SPEC_VERSIONS = [
  '20241230105648',
  '20250101162359',
  '20250814120000',
  '20250814120100',
  '20250815120000',
  '20250830122235',
  '20251227102937',
];
const REWRITE_MIGRATIONS = ['disputes-order-id-unique', 'event-log-keyset-indexes', 'shard-key', 'service-roles'];
const ALL_MIGRATIONS = SPEC_VERSIONS.length + REWRITE_MIGRATIONS.length;
const MIGRATIONS_BEFORE_PARTITIONING = 5;

const DAY_MS = 86_400_000;

function dayName(date: Date): string {
  return `dispute_events_p${date.toISOString().slice(0, 10).replaceAll('-', '')}`;
}

function addDays(date: Date, days: number): Date {
  return new Date(date.getTime() + days * DAY_MS);
}

/** UTC midnight of the database's current day. */
async function utcToday(pool: pg.Pool): Promise<Date> {
  const { rows } = await pool.query<{ today: string }>(
    `SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS today`,
  );
  return new Date(`${rows[0]?.today}T00:00:00Z`);
}

async function children(pool: pg.Pool): Promise<string[]> {
  const { rows } = await pool.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'public.dispute_events'::regclass ORDER BY 1`,
  );
  return rows.map((row) => row.name);
}

async function appliedMigrations(pool: pg.Pool): Promise<Array<{ id: number; name: string }>> {
  const { rows } = await pool.query<{ id: number; name: string }>(
    `SELECT id, name FROM ${MIGRATIONS_TABLE} ORDER BY id`,
  );
  return rows;
}

/** Whether the schema has reached the shard-key migration (seeds run at earlier versions too). */
async function hasShardKeys(pool: pg.Pool): Promise<boolean> {
  const { rows } = await pool.query(
    `SELECT 1 FROM information_schema.columns WHERE table_name = 'orders' AND column_name = 'shard_key'`,
  );
  return rows.length > 0;
}

async function seedDispute(pool: pg.Pool, suffix = '1'): Promise<string> {
  const sharded = await hasShardKeys(pool);
  const key = (expression: string) => (sharded ? `, order_shard_key(${expression})` : '');
  const keyColumn = sharded ? ', shard_key' : '';
  await pool.query(
    `INSERT INTO orders (id, user_id, status, on_hold, created_at, updated_at${keyColumn})
     VALUES ($1, gen_random_uuid(), 'created', false, now(), now()${key('$1::varchar')})`,
    [`order_${suffix}`],
  );
  await pool.query(
    `INSERT INTO disputes (id, order_id, status, reason, amount, currency, opened_at${keyColumn})
     VALUES ($1, $2, 'open', 'fraud', 10.50, 'USD', now()${key('$2::varchar')})`,
    [`dispute_${suffix}`, `order_${suffix}`],
  );
  return `dispute_${suffix}`;
}

/** Inserts one event and returns the partition it landed in. */
async function insertEvent(pool: pg.Pool, disputeId: string, id: string, createdAt: string): Promise<string> {
  const sharded = await hasShardKeys(pool);
  const { rows } = await pool.query<{ partition: string }>(
    `INSERT INTO dispute_events (id, dispute_id, kind, provider_event_id, data, created_at${sharded ? ', shard_key' : ''})
     SELECT $1::varchar, $2::varchar, 'opened', $1::varchar, '{}', $3::timestamp${sharded ? ', shard_key FROM disputes WHERE id = $2' : ''}
     RETURNING tableoid::regclass::text AS partition`,
    [id, disputeId, createdAt],
  );
  return rows[0]?.partition as string;
}

const MIGRATE_COMMAND = fileURLToPath(new URL('../src/migrate.ts', import.meta.url));

/** Runs `node services/api/src/migrate.ts` as the Job does; resolves with its exit code and output. */
async function migrateCommand(args: string[], pgUrl: string | undefined) {
  const env = { ...process.env, PG_URL: pgUrl };
  if (pgUrl === undefined) delete env.PG_URL;
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [MIGRATE_COMMAND, ...args], { env });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const failed = err as { code: number; stdout: string; stderr: string };
    return { code: failed.code, output: failed.stdout + failed.stderr };
  }
}

function connect(url: string): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  pool.on('error', () => {});
  return pool;
}

describe.skipIf(unavailable !== null)(
  `migrations (real PostgreSQL with pg_partman)${unavailable ? ` [skipped: ${unavailable}]` : ''}`,
  () => {
    const databases = scratchDatabases('mig');
    const pools: pg.Pool[] = [];
    const open = (url: string) => {
      const pool = connect(url);
      pools.push(pool);
      return pool;
    };

    afterAll(async () => {
      await Promise.all(pools.map((pool) => pool.end()));
      await databases.dropAll();
    });

    describe('a fresh database migrated up', () => {
      let url: string;
      let pool: pg.Pool;

      beforeAll(async () => {
        url = await databases.create('fresh');
        await runMigrations({ databaseUrl: url });
        pool = open(url);
      });

      it('records every migration in docs/domain.md#database version order, the rewrite migrations after them', async () => {
        const names = (await appliedMigrations(pool)).map(({ name }) => name);
        expect(names.slice(0, SPEC_VERSIONS.length).map((name) => name.slice(0, 14))).toEqual(SPEC_VERSIONS);
        const rewrite = names.slice(SPEC_VERSIONS.length);
        expect(rewrite.map((name) => name.slice(15))).toEqual(REWRITE_MIGRATIONS);
        for (const name of rewrite) expect(name.slice(0, 14) > (SPEC_VERSIONS.at(-1) as string)).toBe(true);
      });

      it('creates the tables, keys, constraints and indexes with the names of docs/domain.md#database', async () => {
        const { rows: tables } = await pool.query<{ name: string; kind: string }>(
          `SELECT c.relname AS name, c.relkind AS kind FROM pg_class c
         WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
         ORDER BY 1`,
        );
        expect(tables).toEqual([
          { name: 'dispute_events', kind: 'p' },
          { name: 'disputes', kind: 'r' },
          { name: 'evidence', kind: 'r' },
          { name: 'order_events', kind: 'r' },
          { name: 'orders', kind: 'r' },
          { name: MIGRATIONS_TABLE, kind: 'r' },
        ]);

        const { rows: constraints } = await pool.query<{ table: string; name: string; definition: string }>(
          `SELECT conrelid::regclass::text AS table, conname AS name, pg_get_constraintdef(oid) AS definition
         FROM pg_constraint WHERE connamespace = 'public'::regnamespace AND conrelid <> $1::regclass
           AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = conrelid AND c.relispartition)
         ORDER BY 1, 2`,
          [MIGRATIONS_TABLE],
        );
        expect(constraints).toEqual([
          // Every key carries shard_key, the distribution column (migration shard-key, docs/data-tier.md).
          { table: 'dispute_events', name: 'dispute_events_pk', definition: 'PRIMARY KEY (id, created_at, shard_key)' },
          {
            table: 'dispute_events',
            name: 'fk_dispute_event_dispute',
            definition: 'FOREIGN KEY (dispute_id, shard_key) REFERENCES disputes(id, shard_key)',
          },
          { table: 'disputes', name: 'disputes_order_id_key', definition: 'UNIQUE (order_id, shard_key)' },
          { table: 'disputes', name: 'disputes_pkey', definition: 'PRIMARY KEY (id, shard_key)' },
          {
            table: 'disputes',
            name: 'disputes_shard_key_check',
            definition: 'CHECK ((shard_key = order_shard_key((order_id)::text)))',
          },
          {
            table: 'disputes',
            name: 'fk_dispute_order',
            definition: 'FOREIGN KEY (order_id, shard_key) REFERENCES orders(id, shard_key)',
          },
          { table: 'evidence', name: 'evidence_pkey', definition: 'PRIMARY KEY (dispute_id, shard_key)' },
          {
            table: 'evidence',
            name: 'fk_evidence_dispute',
            definition: 'FOREIGN KEY (dispute_id, shard_key) REFERENCES disputes(id, shard_key) ON DELETE CASCADE',
          },
          {
            table: 'order_events',
            name: 'fk_order_event_order',
            definition: 'FOREIGN KEY (order_id, shard_key) REFERENCES orders(id, shard_key)',
          },
          { table: 'order_events', name: 'order_events_pkey', definition: 'PRIMARY KEY (id, shard_key)' },
          {
            table: 'order_events',
            name: 'order_events_shard_key_check',
            definition: 'CHECK ((shard_key = order_shard_key((order_id)::text)))',
          },
          { table: 'orders', name: 'orders_pkey', definition: 'PRIMARY KEY (id, shard_key)' },
          {
            table: 'orders',
            name: 'orders_shard_key_check',
            definition: 'CHECK ((shard_key = order_shard_key((id)::text)))',
          },
        ]);

        const { rows: indexes } = await pool.query<{ name: string; definition: string }>(
          `SELECT indexname AS name, regexp_replace(indexdef, '^.* USING ', '') AS definition FROM pg_indexes
         WHERE schemaname = 'public' AND indexname IN ('oe_kind_created_at_inc_order', 'idx_order_events_idempotency',
           'disputes_status_reason_id', 'disputes_order_id_key', 'de_kind_created_at', 'idx_dispute_events_idempotency',
           'de_created_at_id', 'oe_created_at_id')
         ORDER BY 1`,
        );
        expect(indexes).toEqual([
          { name: 'de_created_at_id', definition: 'btree (created_at, id)' },
          { name: 'de_kind_created_at', definition: 'btree (kind, created_at)' },
          { name: 'disputes_order_id_key', definition: 'btree (order_id, shard_key)' },
          { name: 'disputes_status_reason_id', definition: 'btree (status, reason, id)' },
          {
            name: 'idx_dispute_events_idempotency',
            definition: 'btree (dispute_id, provider_event_id, created_at, shard_key)',
          },
          { name: 'idx_order_events_idempotency', definition: 'btree (order_id, provider_event_id, shard_key)' },
          { name: 'oe_created_at_id', definition: 'btree (created_at, id)' },
          { name: 'oe_kind_created_at_inc_order', definition: 'btree (kind, created_at)' },
        ]);
        const { rows: unique } = await pool.query<{ name: string }>(
          `SELECT c.relname AS name FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid
         WHERE x.indisunique AND c.relname IN ('idx_order_events_idempotency', 'disputes_order_id_key',
           'idx_dispute_events_idempotency', 'disputes_status_reason_id') ORDER BY 1`,
        );
        expect(unique.map(({ name }) => name)).toEqual([
          'disputes_order_id_key',
          'idx_dispute_events_idempotency',
          'idx_order_events_idempotency',
        ]);
      });

      it('has daily children for today and the 7 premade days, plus the default partition', async () => {
        const today = await utcToday(pool);
        const names = await children(pool);
        for (let day = 0; day <= 7; day++) expect(names).toContain(dayName(addDays(today, day)));
        expect(names).toContain('dispute_events_default');
        expect(names.every((name) => /^dispute_events_(p\d{8}|default)$/.test(name))).toBe(true);
        const { rows } = await pool.query<{ bound: string }>(
          `SELECT pg_get_expr(relpartbound, oid) AS bound FROM pg_class WHERE relname = $1`,
          [dayName(today)],
        );
        const iso = today.toISOString().slice(0, 10);
        const next = addDays(today, 1).toISOString().slice(0, 10);
        expect(rows[0]?.bound).toBe(`FOR VALUES FROM ('${iso} 00:00:00') TO ('${next} 00:00:00')`);
      });

      it('routes a row to its day and a row far outside the premade range to the default partition', async () => {
        const disputeId = await seedDispute(pool);
        const today = await utcToday(pool);
        const now = await insertEvent(pool, disputeId, 'event_now', new Date().toISOString().replace('Z', ''));
        expect(now).toBe(dayName(today));
        const threeDays = addDays(today, 3).toISOString().slice(0, 10);
        expect(await insertEvent(pool, disputeId, 'event_in_3_days', `${threeDays} 23:59:59.999999`)).toBe(
          dayName(addDays(today, 3)),
        );
        expect(await insertEvent(pool, disputeId, 'event_2000', '2000-01-01 12:00:00')).toBe('dispute_events_default');
        const { rows } = await pool.query('SELECT id FROM dispute_events ORDER BY created_at');
        expect(rows.map(({ id }) => id)).toEqual(['event_2000', 'event_now', 'event_in_3_days']);
      });

      it('is a no-op when migrated again', async () => {
        const before = await appliedMigrations(pool);
        const childrenBefore = await children(pool);
        const messages: string[] = [];
        await runMigrations({ databaseUrl: url, log: (message) => messages.push(message) });
        expect(await appliedMigrations(pool)).toEqual(before);
        expect(await children(pool)).toEqual(childrenBefore);
        expect(messages).toContain('No migrations to run!');
      });
    });

    it('lets two replicas migrate at once: one applies, the other waits and finds nothing to do', async () => {
      const url = await databases.create('race');
      await Promise.all([runMigrations({ databaseUrl: url }), runMigrations({ databaseUrl: url })]);
      const pool = open(url);
      expect(await appliedMigrations(pool)).toHaveLength(ALL_MIGRATIONS);
    });

    it('migrate command: key=value PG_URL, up, --down all, exit codes, no password in the output', async () => {
      const url = new URL(await databases.create('cli'));
      // The server's real password when it asks for one (CI's pm_test role); any password when it trusts us.
      const password = decodeURIComponent(url.password) || 'not-to-be-printed-7f3a';
      const keyValue = `host=${url.hostname} port=${url.port || 5432} user=${decodeURIComponent(url.username)} password='${password}' dbname=${url.pathname.slice(1)}`;

      const up = await migrateCommand([], keyValue);
      expect(up.code).toBe(0);
      expect(up.output).toContain('20250830122235_partition-dispute-events');
      expect(up.output).toContain('migrate: done');
      expect(up.output).not.toContain(password);
      const pool = open(url.toString());
      expect(await appliedMigrations(pool)).toHaveLength(ALL_MIGRATIONS);

      const down = await migrateCommand(['--down', 'all'], keyValue);
      expect(down.code).toBe(0);
      expect(await appliedMigrations(pool)).toEqual([]);

      expect((await migrateCommand(['--down', 'x'], keyValue)).code).toBe(2);
      const unset = await migrateCommand([], undefined);
      expect(unset.code).toBe(2);
      expect(unset.output).toContain('PG_URL is not set');
      // Four CLI processes, each compiling TypeScript on start: 30 s ran out once on a loaded two-core CI machine.
    }, 120_000);

    describe('partition maintenance', () => {
      let pool: pg.Pool;

      beforeAll(async () => {
        const url = await databases.create('maint');
        await runMigrations({ databaseUrl: url });
        pool = open(url);
      });

      async function dropNewestChildren(count: number): Promise<string[]> {
        const dropped = (await children(pool)).filter((name) => name !== 'dispute_events_default').slice(-count);
        for (const name of dropped) await pool.query(`DROP TABLE ${pg.escapeIdentifier(name)}`);
        return dropped;
      }

      it('creates the future partitions that are missing (time moved on since the last run)', async () => {
        const dropped = await dropNewestChildren(3);
        expect(await children(pool)).not.toContain(dropped[0]);
        await runPartitionMaintenance(pool);
        const names = await children(pool);
        const today = await utcToday(pool);
        for (let day = 0; day <= 7; day++) expect(names).toContain(dayName(addDays(today, day)));
      });

      it('premakes further ahead when premake grows', async () => {
        await pool.query(`UPDATE partman.part_config SET premake = 10 WHERE parent_table = 'public.dispute_events'`);
        await runPartitionMaintenance(pool);
        const names = await children(pool);
        const today = await utcToday(pool);
        for (let day = 0; day <= 10; day++) expect(names).toContain(dayName(addDays(today, day)));
      });

      it('moves rows stranded in the default (maintenance stopped for over a week) into their own children', async () => {
        const today = await utcToday(pool);
        const newest = (await children(pool)).filter((name) => name !== 'dispute_events_default').at(-1) as string;
        const stale = (await children(pool)).filter((name) => name > dayName(addDays(today, 2)) && name <= newest);
        for (const name of stale) await pool.query(`DROP TABLE ${pg.escapeIdentifier(name)}`);
        const disputeId = await seedDispute(pool, 'stranded');
        const day4 = addDays(today, 4).toISOString().slice(0, 10);
        expect(await insertEvent(pool, disputeId, 'stranded', `${day4} 12:00:00`)).toBe('dispute_events_default');

        await runPartitionMaintenance(pool);

        const { rows } = await pool.query(
          `SELECT tableoid::regclass::text AS partition FROM dispute_events WHERE id = 'stranded'`,
        );
        expect(rows).toEqual([{ partition: dayName(addDays(today, 4)) }]);
        const { rows: inDefault } = await pool.query('SELECT 1 FROM ONLY dispute_events_default');
        expect(inDefault).toHaveLength(0);
        const names = await children(pool);
        for (let day = 0; day <= 7; day++) expect(names).toContain(dayName(addDays(today, day)));
      });

      it('the start-up timer runs maintenance immediately and reports failures instead of throwing', async () => {
        const dropped = await dropNewestChildren(2);
        const schedule = startPartitionMaintenance(pool, { intervalMs: 3_600_000 });
        try {
          await eventually(async () => (await children(pool)).includes(dropped.at(-1) as string));
        } finally {
          await schedule.stop();
        }

        const failures: string[] = [];
        const failing = startPartitionMaintenance(pool, {
          intervalMs: 20,
          retention: 'not an interval',
          log: (message, level) => {
            if (level === 'error') failures.push(message);
          },
        });
        try {
          await eventually(async () => failures.length >= 2);
        } finally {
          await failing.stop();
        }
        expect(failures[0]).toMatch(/partition maintenance failed: .*interval/);
      });
    });

    it('maintenance skips, without failing, a dispute_events that pg_partman does not manage', async () => {
      const url = await databases.create('unmanaged');
      await runMigrations({ databaseUrl: url });
      const pool = open(url);
      // As after a fallback migration (no pg_partman then) on a server that got pg_partman later.
      await pool.query(`DELETE FROM partman.part_config WHERE parent_table = 'public.dispute_events'`);
      const disputeId = await seedDispute(pool);
      await insertEvent(pool, disputeId, 'in_default', '2000-01-01 00:00:00');
      const logged: Array<[string, string | undefined]> = [];
      await runPartitionMaintenance(pool, { log: (message, level) => logged.push([message, level]) });
      expect(logged).toEqual([
        ['partition maintenance skipped: pg_partman does not manage public.dispute_events', 'debug'],
      ]);
    });

    describe('existing rows and retention', () => {
      let pool: pg.Pool;
      let today: Date;
      const at = (days: number, time = '12:00:00') => `${addDays(today, days).toISOString().slice(0, 10)} ${time}`;

      beforeAll(async () => {
        const url = await databases.create('retention');
        await runMigrations({ databaseUrl: url, count: MIGRATIONS_BEFORE_PARTITIONING });
        pool = open(url);
        today = await utcToday(pool);
        const disputeId = await seedDispute(pool);
        // Rows of the plain table before partitioning: old ones, today's, and one beyond the premade week.
        for (const [id, days] of [
          ['old_100', -100],
          ['old_40', -40],
          ['old_29', -29],
          ['today', 0],
          ['future_20', 20],
        ] as const) {
          await insertEvent(pool, disputeId, id, at(days));
        }
        await runMigrations({ databaseUrl: url });
      });

      it('moves every existing row into its daily child; the set runs gap-free from the oldest row', async () => {
        const { rows } = await pool.query<{ id: string; partition: string }>(
          'SELECT id, tableoid::regclass::text AS partition FROM dispute_events ORDER BY created_at',
        );
        expect(rows).toEqual([
          { id: 'old_100', partition: dayName(addDays(today, -100)) },
          { id: 'old_40', partition: dayName(addDays(today, -40)) },
          { id: 'old_29', partition: dayName(addDays(today, -29)) },
          { id: 'today', partition: dayName(today) },
          { id: 'future_20', partition: dayName(addDays(today, 20)) },
        ]);
        const names = await children(pool);
        for (let day = -100; day <= 20; day++) expect(names).toContain(dayName(addDays(today, day)));
        const { rows: inDefault } = await pool.query('SELECT 1 FROM ONLY dispute_events_default');
        expect(inDefault).toHaveLength(0);
        const { rows: plain } = await pool.query(`SELECT to_regclass('public.dispute_events_unpart') AS oid`);
        expect(plain[0].oid).toBeNull();
      });

      it('drops children older than the configured retention and keeps the rest', async () => {
        await runPartitionMaintenance(pool, { retention: '30 days' });
        const { rows } = await pool.query<{ id: string }>('SELECT id FROM dispute_events ORDER BY created_at');
        expect(rows.map(({ id }) => id)).toEqual(['old_29', 'today', 'future_20']);
        const dated = (await children(pool)).filter((name) => name !== 'dispute_events_default').sort();
        expect(dated[0]).toBe(dayName(addDays(today, -30)));
        const { rows: config } = await pool.query(
          `SELECT retention, retention_keep_table FROM partman.part_config WHERE parent_table = 'public.dispute_events'`,
        );
        expect(config).toEqual([{ retention: '30 days', retention_keep_table: false }]);
      });

      it('keeps everything again once retention is unset', async () => {
        await runPartitionMaintenance(pool, { retention: null });
        const { rows: config } = await pool.query(
          `SELECT retention FROM partman.part_config WHERE parent_table = 'public.dispute_events'`,
        );
        expect(config).toEqual([{ retention: null }]);
        const before = await children(pool);
        await runPartitionMaintenance(pool, { retention: null });
        expect(await children(pool)).toEqual(before);
      });
    });

    describe('down migrations', () => {
      let url: string;
      let pool: pg.Pool;

      beforeAll(async () => {
        url = await databases.create('down');
        await runMigrations({ databaseUrl: url });
        pool = open(url);
        const disputeId = await seedDispute(pool);
        await insertEvent(pool, disputeId, 'kept_today', new Date().toISOString().replace('Z', ''));
        await insertEvent(pool, disputeId, 'kept_in_default', '2000-01-01 00:00:00');
      });

      it('un-partitions dispute_events back to the plain table, keeping its rows', async () => {
        await runMigrations({
          databaseUrl: url,
          direction: 'down',
          count: ALL_MIGRATIONS - MIGRATIONS_BEFORE_PARTITIONING,
        });
        expect(await appliedMigrations(pool)).toHaveLength(MIGRATIONS_BEFORE_PARTITIONING);
        const { rows } = await pool.query(
          `SELECT c.relkind AS kind, (SELECT count(*)::int FROM pg_inherits WHERE inhparent = c.oid) AS children
         FROM pg_class c WHERE c.oid = 'public.dispute_events'::regclass`,
        );
        expect(rows).toEqual([{ kind: 'r', children: 0 }]);
        const { rows: events } = await pool.query('SELECT id FROM dispute_events ORDER BY id');
        expect(events.map(({ id }) => id)).toEqual(['kept_in_default', 'kept_today']);
        const { rows: names } = await pool.query(
          `SELECT conname AS name FROM pg_constraint WHERE conrelid = 'public.dispute_events'::regclass
         UNION ALL SELECT indexname FROM pg_indexes WHERE tablename = 'dispute_events' ORDER BY 1`,
        );
        expect(names.map(({ name }) => name)).toEqual([
          'de_kind_created_at_inc_dispute',
          'dispute_events_pkey',
          'dispute_events_pkey',
          'fk_dispute_event_dispute',
        ]);
        const { rows: extension } = await pool.query(`SELECT 1 FROM pg_extension WHERE extname = 'pg_partman'`);
        expect(extension).toHaveLength(0);
      });

      it('all the way down leaves only the (empty) migrations bookkeeping table', async () => {
        await runMigrations({ databaseUrl: url, direction: 'down', count: Number.POSITIVE_INFINITY });
        const { rows: objects } = await pool.query(
          `SELECT n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') ORDER BY 1, 2`,
        );
        expect(objects).toEqual([
          { schema: 'public', name: MIGRATIONS_TABLE },
          { schema: 'public', name: `${MIGRATIONS_TABLE}_id_seq` },
          { schema: 'public', name: `${MIGRATIONS_TABLE}_pkey` },
        ]);
        expect(await appliedMigrations(pool)).toEqual([]);
        const { rows: schemas } = await pool.query(
          `SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname NOT IN ('information_schema', 'public')`,
        );
        expect(schemas).toEqual([]);
        const { rows: types } = await pool.query(
          `SELECT typname FROM pg_type WHERE typnamespace = 'public'::regnamespace AND typname NOT LIKE '%${MIGRATIONS_TABLE}%'`,
        );
        expect(types).toEqual([]);
      });

      it('migrates up again after a full down', async () => {
        await runMigrations({ databaseUrl: url });
        expect(await appliedMigrations(pool)).toHaveLength(ALL_MIGRATIONS);
        expect(await children(pool)).toContain('dispute_events_default');
      });
    });
  },
);
