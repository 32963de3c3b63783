/**
 * `npm run load` for two seconds against a local API in sync mode (real PostgreSQL, a real port): the virtual users'
 * webhooks are applied and become visible, and the final table reports every request kind, the statuses and the
 * webhook-to-visible lag. Only local addresses; bounded in time and requests.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { TEST_API_KEYS } from '@payment-manager/testkit/auth';
import { useTestDatabase } from '@payment-manager/testkit/postgres';
import { describeWith } from '@payment-manager/testkit/services';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type RunningApi, startTestApi } from '../../services/ingest/test/support/pipeline.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

describeWith(['postgres'], 'npm run load', () => {
  const db = useTestDatabase({ poolMax: 10 });
  let api: RunningApi;

  beforeAll(async () => {
    api = await startTestApi({ pool: db.pool, mode: 'sync' });
  });
  afterAll(async () => {
    await api?.close();
  });

  it('walks orders through their lifecycle with 2 users for 2 s and reports rate, statuses, percentiles and lag', async () => {
    const { stdout } = await run(
      process.execPath,
      [
        'scripts/load.ts',
        '--webhooks-url',
        api.url,
        '--api-url',
        api.url,
        '--vus',
        '2',
        '--duration',
        '2',
        '--max-requests',
        '5000',
        '--chargeback-ratio',
        '1',
      ],
      {
        cwd: ROOT,
        env: { ...process.env, PM_LOAD_API_KEY: TEST_API_KEYS.reader, WEBHOOK_SECRET: '' },
        timeout: 30_000,
      },
    );
    expect(stdout).toMatch(/^requests \d+ in [\d.]+ s = \d+ req\/s, 2 virtual users$/m);
    for (const kind of ['webhook order', 'GET /orders/{id}', 'GET /orders?limit=10', 'GET /orders/events?limit=10'])
      expect(stdout).toMatch(
        new RegExp(`^${kind.replace(/[?{}/]/g, '\\$&')} +[1-9]\\d* +[\\d.]+ +[\\d.]+ +[\\d.]+ +2\\d\\d×`, 'm'),
      );
    // Every order webhook was accepted and became readable; none failed.
    expect(stdout).toMatch(/^webhook order +\d+ .* 202×\d+$/m);
    expect(stdout).toMatch(/^webhook-to-visible lag \(order\s*\) +[1-9]\d* webhooks {2}p50 [\d.]+ ms/m);
    expect(stdout).not.toMatch(/never became visible/);
    const { rows } = await db.pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM orders WHERE id LIKE 'load-%' AND status IN ('success', 'failed')",
    );
    expect(rows[0]?.n).toBeGreaterThan(0);
  }, 60_000);

  it('refuses a flag out of range, naming it', async () => {
    await expect(run(process.execPath, ['scripts/load.ts', '--vus', '0'], { cwd: ROOT })).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--vus must be a whole number from 1 to 10000'),
    });
  });
});
