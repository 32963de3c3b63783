/**
 * Least-privilege roles on a real PostgreSQL (docs/data-tier.md#roles): the migrating role owns the schema, the API's
 * role reads and writes without DDL — also in partitions pg_partman creates after the migrations — and the read role
 * only reads. The test setup creates the login roles as CloudNativePG's managed roles do in a cluster.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { testApiKeys } from '@payment-manager/testkit/auth';
import { useTestDatabase } from '@payment-manager/testkit/postgres';
import { describeWith } from '@payment-manager/testkit/services';
import { chargebackWebhook, orderWebhook } from '@payment-manager/testkit/webhooks';
import type pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type App, buildApp } from '../src/app.ts';
import { loadApiConfig } from '../src/config.ts';
import { runMigrations, runPartitionMaintenance, SERVICE_ROLES } from '../src/db/migrations.ts';
import { createPool } from '../src/db/pool.ts';
import { createSilvergateClient } from '../src/provider/silvergate.ts';
import { startApiServer } from '../src/server.ts';
import { call } from './support/http.ts';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PERMISSION_DENIED = '42501';
const MUST_BE_OWNER = '42501';

async function sqlError(pool: pg.Pool, text: string, values: unknown[] = []): Promise<{ code?: string }> {
  try {
    await pool.query(text, values);
  } catch (err) {
    return err as { code?: string };
  }
  throw new Error(`expected "${text}" to be refused`);
}

describeWith(['postgres'], 'service roles: owner runs DDL, the API role only DML, the read role only reads', () => {
  const db = useTestDatabase();
  let appPool: pg.Pool;
  let readPool: pg.Pool;

  beforeAll(() => {
    if (!db.appUrl || !db.readUrl) throw new Error('the test setup made no service roles (Citus project?)');
    appPool = createPool({ pgUrl: db.appUrl, max: 3, applicationName: 'payment-manager-test-app' });
    readPool = createPool({ pgUrl: db.readUrl, max: 2, applicationName: 'payment-manager-test-read' });
  });
  afterAll(async () => {
    await Promise.all([appPool?.end(), readPool?.end()]);
  });

  it('connects as the roles the deployment made, none of them owner or superuser', async () => {
    const { rows } = await appPool.query<{ user: string; superuser: string }>(
      `SELECT current_user AS user, current_setting('is_superuser') AS superuser`,
    );
    expect(rows[0]).toEqual({ user: SERVICE_ROLES.app, superuser: 'off' });
    const { rows: owners } = await db.pool.query<{ owner: string }>(
      `SELECT DISTINCT tableowner AS owner FROM pg_tables WHERE schemaname = 'public'`,
    );
    expect(owners.map((row) => row.owner)).not.toContain(SERVICE_ROLES.app);
    expect(owners.map((row) => row.owner)).not.toContain(SERVICE_ROLES.read);
  });

  it('the API role cannot run DDL: CREATE TABLE, ALTER TABLE, DROP TABLE, CREATE SCHEMA, writing the migration history', async () => {
    expect((await sqlError(appPool, 'CREATE TABLE public.intruder (id int)')).code).toBe(PERMISSION_DENIED);
    expect((await sqlError(appPool, 'ALTER TABLE public.orders ADD COLUMN intruder int')).code).toBe(MUST_BE_OWNER);
    expect((await sqlError(appPool, 'DROP TABLE public.evidence')).code).toBe(MUST_BE_OWNER);
    // It reads the migration history (readiness: is the schema current?) but cannot write it.
    expect((await appPool.query('SELECT count(*)::int AS n FROM public.pgmigrations')).rows[0].n).toBeGreaterThan(0);
    expect((await sqlError(appPool, 'DELETE FROM public.pgmigrations')).code).toBe(PERMISSION_DENIED);
    expect((await sqlError(appPool, 'CREATE SCHEMA intruder')).code).toBe(PERMISSION_DENIED);
  });

  it('migrations as the API role fail; as the owner they succeed and repeat the grants', async () => {
    await expect(runMigrations({ databaseUrl: db.appUrl as string })).rejects.toThrow(
      /permission denied|must be owner/,
    );
    await runMigrations({ databaseUrl: db.databaseUrl });
    const { rows } = await db.pool.query<{ allowed: boolean }>(
      `SELECT has_table_privilege($1, 'public.orders', 'INSERT') AS allowed`,
      [SERVICE_ROLES.app],
    );
    expect(rows[0]?.allowed).toBe(true);
  });

  it('npm run migrate uses PG_MIGRATION_URL (the owner) over PG_URL (the API role)', async () => {
    const migrate = (env: Record<string, string>) =>
      promisify(execFile)(process.execPath, ['services/api/src/migrate.ts'], {
        cwd: REPO_ROOT,
        env: { ...process.env, PG_MIGRATION_URL: '', ...env },
        timeout: 60_000,
      }).then(
        ({ stdout }) => ({ code: 0, output: stdout }),
        (err: { code?: number; stdout?: string; stderr?: string }) => ({
          code: err.code,
          output: `${err.stdout}${err.stderr}`,
        }),
      );
    const asOwner = await migrate({ PG_URL: db.appUrl as string, PG_MIGRATION_URL: db.databaseUrl });
    expect(asOwner.code, asOwner.output).toBe(0);
    const asApp = await migrate({ PG_URL: db.appUrl as string });
    expect(asApp.code, asApp.output).toBe(1);
    expect(asApp.output).toMatch(/permission denied|must be owner/);
    expect(asApp.output).not.toContain(new URL(db.appUrl as string).password);
  });

  it('the API process starts with the API and read roles only when a separate step migrates (MIGRATE_ON_START=false)', async () => {
    const config = loadApiConfig({
      PG_URL: db.appUrl as string,
      PG_REPLICA_URL: db.readUrl as string,
      MIGRATE_ON_START: 'false',
      PORT: '0',
      HOST: '127.0.0.1',
      WEBHOOK_MODE: 'sync',
      WEBHOOK_SECRET: `whsec_${randomBytes(24).toString('base64')}`,
      SILVERGATE_BASE_URL: 'http://127.0.0.1:9',
      SILVERGATE_CAPTURE_PATH: '/c',
      SILVERGATE_SUBMIT_REPRESENTMENT_PATH: '/s',
    });
    const api = await startApiServer(config, { logger: false });
    try {
      // Readiness includes "migrations applied", read from pgmigrations as the API role.
      const ready = await fetch(`${api.url}/health/ready`);
      expect(ready.status, await ready.text()).toBe(200);
    } finally {
      await api.close();
    }
  });

  it('the API serves webhooks and reads as the API role, with plain reads as the read role', async () => {
    const app: App = await buildApp({
      config: { webhookMode: 'sync', bodyLimitBytes: 1_048_576, logLevel: 'error', apiKeys: testApiKeys() },
      pool: appPool,
      readPool,
      provider: createSilvergateClient({
        baseUrl: 'http://127.0.0.1:9',
        capturePath: '/c',
        submitRepresentmentPath: '/s',
        timeoutMs: 1_000,
      }),
      logger: false,
    });
    try {
      const order = orderWebhook();
      expect((await call(app, 'POST', '/webhooks/payments/orders', order)).status).toBe(202);
      expect(
        (await call(app, 'POST', '/webhooks/payments/chargebacks', chargebackWebhook(order.order_id))).status,
      ).toBe(202);
      const read = await call(app, 'GET', `/orders/${order.order_id}`);
      expect(read.status).toBe(200);
      expect(read.json.order_id ?? read.json.id).toBe(order.order_id);
      const disputes = await call(app, 'GET', `/disputes?order_id=${order.order_id}`);
      expect(disputes.status).toBe(200);
      expect(disputes.json).toHaveLength(1);
    } finally {
      await app.close();
    }
  });

  it('partition maintenance run by the API role creates partitions the API role writes to and does not own', async () => {
    // Three more days pre-made than the migration's 7: maintenance must create tables the template did not have.
    await db.pool.query(`UPDATE partman.part_config SET premake = 10 WHERE parent_table = 'public.dispute_events'`);
    const day = (offset: number) =>
      new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10).replaceAll('-', '');
    const newChild = `dispute_events_p${day(10)}`;
    const exists = async () =>
      (await db.pool.query(`SELECT to_regclass($1) IS NOT NULL AS found`, [`public.${newChild}`])).rows[0]?.found;
    expect(await exists()).toBe(false);

    await runPartitionMaintenance(appPool, {});
    expect(await exists()).toBe(true);
    const { rows: owner } = await db.pool.query<{ owner: string }>(
      `SELECT tableowner AS owner FROM pg_tables WHERE schemaname = 'public' AND tablename = $1`,
      [newChild],
    );
    expect(owner[0]?.owner).not.toBe(SERVICE_ROLES.app);

    const order = `ord-partition-${Date.now()}`;
    await appPool.query(
      `INSERT INTO orders (id, user_id, status, created_at, updated_at, shard_key)
       VALUES ($1::text, '0b7d3c52-6f0e-4e59-9a0c-2f4f8f5e1a10', 'created', now(), now(), order_shard_key($1::text))`,
      [order],
    );
    await appPool.query(
      `INSERT INTO disputes (id, order_id, status, reason, amount, currency, opened_at, shard_key)
       VALUES ($1::text, $1::text, 'open', 'fraud', 1, 'USD', now(), order_shard_key($1::text))`,
      [order],
    );
    const at = new Date(Date.now() + 10 * 86_400_000).toISOString().replace('T', ' ').replace('Z', '');
    await appPool.query(
      `INSERT INTO dispute_events (id, dispute_id, kind, provider_event_id, data, created_at, shard_key)
       VALUES ($1::text, $1::text, 'opened', $1::text, '{}', $2, order_shard_key($1::text))`,
      [order, at],
    );
    const { rows: landed } = await db.pool.query<{ partition: string }>(
      `SELECT tableoid::regclass::text AS partition FROM dispute_events WHERE id = $1`,
      [order],
    );
    expect(landed[0]?.partition).toBe(newChild);
    const { rows: readable } = await readPool.query('SELECT id FROM dispute_events WHERE id = $1', [order]);
    expect(readable).toHaveLength(1);
  });

  it('the read role reads but cannot write, run maintenance or DDL', async () => {
    const { rows } = await readPool.query<{ n: number }>('SELECT count(*)::int AS n FROM orders');
    expect(rows[0]?.n).toBeGreaterThan(0);
    expect(
      (
        await sqlError(
          readPool,
          `INSERT INTO orders (id, user_id, status, created_at, updated_at, shard_key)
           VALUES ('ord-read', '0b7d3c52-6f0e-4e59-9a0c-2f4f8f5e1a10', 'created', now(), now(), order_shard_key('ord-read'))`,
        )
      ).code,
    ).toBe(PERMISSION_DENIED);
    expect((await sqlError(readPool, `UPDATE orders SET status = 'x'`)).code).toBe(PERMISSION_DENIED);
    expect((await sqlError(readPool, 'DELETE FROM dispute_events')).code).toBe(PERMISSION_DENIED);
    expect((await sqlError(readPool, 'SELECT * FROM public.dispute_events_maintenance(null, false)')).code).toBe(
      PERMISSION_DENIED,
    );
    expect((await sqlError(readPool, 'CREATE TABLE public.intruder (id int)')).code).toBe(PERMISSION_DENIED);
  });
});
