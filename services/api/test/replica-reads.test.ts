/**
 * Plain reads on a real streaming replica (pg_basebackup -R of a primary the harness started): lag-aware routing.
 * Pausing WAL replay moves reads to the primary within PG_REPLICA_MAX_LAG, stopping the replica fails no read and
 * not readiness, and resuming brings the reads back to the replica.
 */

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { testApiKeys } from '@payment-manager/testkit/auth';
import { testVariable } from '@payment-manager/testkit/discovery';
import { databaseUrlFor, dropDatabase, withAdminClient } from '@payment-manager/testkit/pg-admin';
import { eventually } from '@payment-manager/testkit/poll';
import { orderWebhook } from '@payment-manager/testkit/webhooks';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../src/app.ts';
import { runMigrations } from '../src/db/migrations.ts';
import { createPool } from '../src/db/pool.ts';
import { ReplicaReads } from '../src/db/replica-reads.ts';
import { createSilvergateClient } from '../src/provider/silvergate.ts';
import { call } from './support/http.ts';

const PRIMARY = testVariable('PM_TEST_PG_PRIMARY_URL');
const REPLICA = testVariable('PM_TEST_PG_REPLICA_URL');
const CONTROL = fileURLToPath(new URL('../../../scripts/data-tier-services.sh', import.meta.url));
const MAX_LAG_MS = 1_000;
const unavailable =
  PRIMARY && REPLICA
    ? null
    : 'PM_TEST_PG_PRIMARY_URL / PM_TEST_PG_REPLICA_URL are unset; scripts/test-all.sh starts the pair with scripts/data-tier-services.sh (as root; or eval "$(scripts/test-services.sh start)")';

const replicaControl = (command: 'replica-stop' | 'replica-start') => promisify(execFile)('bash', [CONTROL, command]);

describe.skipIf(unavailable !== null)(
  `reads on a streaming replica, lag-aware${unavailable ? ` [skipped: ${unavailable}]` : ''}`,
  () => {
    const database = `pm_test_replica_${randomBytes(4).toString('hex')}`;
    let primary: pg.Pool;
    let replica: pg.Pool;
    let replicaAdmin: pg.Pool;
    let reads: ReplicaReads;
    let app: App;

    beforeAll(async () => {
      await withAdminClient(PRIMARY as string, (client) =>
        client.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`),
      );
      await runMigrations({ databaseUrl: databaseUrlFor(PRIMARY as string, database) });
      primary = createPool({ pgUrl: databaseUrlFor(PRIMARY as string, database), max: 5 });
      replica = createPool({
        pgUrl: databaseUrlFor(REPLICA as string, database),
        max: 5,
        connectionTimeoutMillis: 2_000,
      });
      replicaAdmin = new pg.Pool({ connectionString: REPLICA as string, max: 1 });
      replicaAdmin.on('error', () => {});
      reads = new ReplicaReads({ primary, replica, maxLagMs: MAX_LAG_MS, checkIntervalMs: 100 }).start();
      app = await buildApp({
        config: { webhookMode: 'sync', bodyLimitBytes: 1_048_576, logLevel: 'error', apiKeys: testApiKeys() },
        pool: primary,
        readPool: reads,
        provider: createSilvergateClient({
          baseUrl: 'http://127.0.0.1:9',
          capturePath: '/c',
          submitRepresentmentPath: '/s',
          timeoutMs: 1_000,
        }),
        logger: false,
      });
      await app.ready();
    });
    afterAll(async () => {
      await replicaControl('replica-start').catch(() => {});
      await replicaAdmin?.query('SELECT pg_wal_replay_resume()').catch(() => {});
      await app?.close();
      await reads?.stop();
      await Promise.all([primary?.end(), replica?.end(), replicaAdmin?.end()]);
      await dropDatabase(PRIMARY as string, database);
    });

    async function servedBy(): Promise<{ replica: number; primary: number }> {
      const text = (await call(app, 'GET', '/metrics')).text;
      const count = (pool: string) =>
        Number(new RegExp(`^dpm_pg_reads_total\\{pool="${pool}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
      return { replica: count('replica'), primary: count('primary') };
    }

    async function createOrder(): Promise<string> {
      const body = orderWebhook();
      expect((await call(app, 'POST', '/webhooks/payments/orders', body)).status).toBe(202);
      return body.order_id;
    }

    it('serves plain reads from the replica once it has caught up, with the lag as a metric', async () => {
      const orderId = await createOrder();
      await eventually(async () => {
        expect(reads.target()).toBe('replica');
        expect((await call(app, 'GET', `/orders/${orderId}`)).status).toBe(200);
      });
      const before = await servedBy();
      expect((await call(app, 'GET', `/orders/${orderId}`)).status).toBe(200);
      expect((await servedBy()).replica).toBe(before.replica + 1);
      expect((await call(app, 'GET', '/metrics')).text).toMatch(/^dpm_pg_replica_lag_seconds (0|0\.\d+)$/m);
    });

    it('pg_wal_replay_pause() moves reads to the primary within the lag bound; resuming brings them back', async () => {
      await replicaAdmin.query('SELECT pg_wal_replay_pause()');
      const written = Date.now();
      const orderId = await createOrder();
      // The replica never sees this order while paused: a 200 proves the read went to the primary.
      await eventually(async () => expect((await call(app, 'GET', `/orders/${orderId}`)).status).toBe(200), {
        timeoutMs: MAX_LAG_MS + 3_000,
        intervalMs: 50,
      });
      const movedAfterMs = Date.now() - written;
      expect(movedAfterMs).toBeLessThanOrEqual(MAX_LAG_MS + 500);
      expect(reads.target()).toBe('primary');
      const before = await servedBy();
      expect((await call(app, 'GET', '/orders')).status).toBe(200);
      expect((await servedBy()).primary).toBe(before.primary + 1);
      console.log(`replay paused: reads moved to the primary ${movedAfterMs} ms after the write`);

      await replicaAdmin.query('SELECT pg_wal_replay_resume()');
      await eventually(() => expect(reads.target()).toBe('replica'), { timeoutMs: 5_000, intervalMs: 50 });
      const resumed = await servedBy();
      expect((await call(app, 'GET', `/orders/${orderId}`)).status).toBe(200);
      expect((await servedBy()).replica).toBe(resumed.replica + 1);
    });

    it('stopping the replica keeps every read answering 200 and readiness up; restarting brings reads back', async () => {
      const orderId = await createOrder();
      await eventually(() => expect(reads.target()).toBe('replica'), { timeoutMs: 5_000, intervalMs: 50 });
      // Reads may lag a write by up to PG_REPLICA_MAX_LAG (documented); this test is about the replica going away,
      // so it starts once the replica has replayed the order.
      await eventually(async () => expect((await call(app, 'GET', `/orders/${orderId}`)).status).toBe(200));
      const statuses: number[] = [];
      let reading = true;
      const reader = (async () => {
        while (reading) {
          statuses.push((await call(app, 'GET', `/orders/${orderId}`)).status);
          statuses.push((await call(app, 'GET', '/disputes')).status);
        }
      })();
      await replicaControl('replica-stop');
      await eventually(() => expect(reads.target()).toBe('primary'), { timeoutMs: 5_000, intervalMs: 50 });
      expect((await call(app, 'GET', '/health/ready')).status).toBe(200);
      const afterStop = statuses.length;
      await eventually(() => expect(statuses.length).toBeGreaterThan(afterStop + 20), { timeoutMs: 10_000 });
      await replicaControl('replica-start');
      await eventually(() => expect(reads.target()).toBe('replica'), { timeoutMs: 15_000, intervalMs: 100 });
      reading = false;
      await reader;
      expect(statuses.length).toBeGreaterThan(20);
      expect(statuses.filter((status) => status !== 200)).toEqual([]);
      const back = await servedBy();
      expect((await call(app, 'GET', `/orders/${orderId}`)).status).toBe(200);
      expect((await servedBy()).replica).toBe(back.replica + 1);
    });
  },
);
