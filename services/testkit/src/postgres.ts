import { randomBytes } from 'node:crypto';
import { SERVICE_ROLES } from '@payment-manager/api/db/migrations';
import { createPool } from '@payment-manager/api/db/pool';
import type pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { cloneDatabase, databaseUrlAs, databaseUrlFor, dropDatabase } from './pg-admin.ts';
import { requirePostgres, testServices } from './services.ts';

export const DOMAIN_TABLES = ['dispute_events', 'disputes', 'order_events', 'orders', 'evidence'] as const;

export interface TestDatabase {
  /** URL of the new database, e.g. for `PG_URL` of an API under test. */
  databaseUrl: string;
  /**
   * The same database as the API's read/write role and as the read-only role (docs/data-tier.md#roles); null on
   * Citus, where the test setup does not create them.
   */
  appUrl: string | null;
  readUrl: string | null;
  /** Pool built by the API's own createPool (UTC sessions, timestamp/numeric parsers). */
  pool: pg.Pool;
  /** Closes the pool and drops the database. */
  drop(): Promise<void>;
}

/**
 * A fresh database with every migration applied, cloned from the run's template (milliseconds, not a migration
 * run per file), so test files never see each other's rows.
 */
export async function createTestDatabase(options: { poolMax?: number } = {}): Promise<TestDatabase> {
  const { adminUrl, templateDatabase, databasePrefix, workerAdminUrls } = requirePostgres();
  const name = `${databasePrefix}${randomBytes(4).toString('hex')}`;
  await cloneDatabase(adminUrl, templateDatabase, name, workerAdminUrls);
  const databaseUrl = databaseUrlFor(adminUrl, name);
  const pool = createPool({ pgUrl: databaseUrl, max: options.poolMax ?? 5, applicationName: 'payment-manager-test' });
  let dropped = false;
  const withRoles = testServices().flavour === 'postgres';
  return {
    databaseUrl,
    appUrl: withRoles ? databaseUrlAs(adminUrl, databaseUrl, SERVICE_ROLES.app) : null,
    readUrl: withRoles ? databaseUrlAs(adminUrl, databaseUrl, SERVICE_ROLES.read) : null,
    pool,
    async drop() {
      if (dropped) return;
      dropped = true;
      await pool.end();
      for (const node of [adminUrl, ...workerAdminUrls]) await dropDatabase(node, name);
    },
  };
}

/**
 * Registers beforeAll/afterAll hooks that create and drop one test database for the calling file. Read the
 * fields inside tests or hooks (they are set once beforeAll has run).
 */
export function useTestDatabase(options: { poolMax?: number } = {}): TestDatabase {
  const handle = {} as TestDatabase;
  beforeAll(async () => {
    Object.assign(handle, await createTestDatabase(options));
  });
  afterAll(async () => {
    await handle.drop?.();
  });
  return handle;
}

/** Empties the five domain tables (the scenario catalogue does this before every end-to-end test). */
export async function truncateAll(pool: pg.Pool): Promise<void> {
  await pool.query(`TRUNCATE TABLE ${DOMAIN_TABLES.join(', ')} RESTART IDENTITY CASCADE`);
}
