import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * Empty scratch databases for the migration suites, which need databases *without* the migrated template
 * (they run migrations themselves). Admin URL as in the test contract: PM_TEST_PG_URL or the local default.
 */
export const ADMIN_URL = process.env.PM_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Why Postgres cannot be used, or null when it answers. An explicit PM_TEST_PG_URL must answer. */
export async function postgresUnavailable(): Promise<string | null> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    return null;
  } catch (err) {
    if (process.env.PM_TEST_PG_URL) throw err;
    return `no PostgreSQL at ${ADMIN_URL} (${(err as Error).message}); set PM_TEST_PG_URL or run scripts/test-all.sh`;
  } finally {
    await client.end().catch(() => {});
  }
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export function databaseUrl(name: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export interface ScratchDatabases {
  /** Creates an empty database and returns its URL. */
  create(label: string): Promise<string>;
  /** Drops every database created so far (call in afterAll). */
  dropAll(): Promise<void>;
}

export function scratchDatabases(suite: string): ScratchDatabases {
  const prefix = `pm_scratch_${suite}_${process.pid}_${randomBytes(3).toString('hex')}_`;
  const created: string[] = [];
  return {
    async create(label) {
      const name = `${prefix}${label}`;
      await admin((client) => client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`));
      created.push(name);
      return databaseUrl(name);
    },
    async dropAll() {
      await admin(async (client) => {
        for (const name of created.splice(0)) {
          await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`);
        }
      });
    },
  };
}

/** Polls `probe` until it returns true or the deadline passes (no fixed sleeps in tests). */
export async function eventually(probe: () => Promise<boolean>, timeoutMs = 10_000, stepMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, stepMs));
  }
}
