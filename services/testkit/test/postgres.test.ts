import type pg from 'pg';
import { expect, it } from 'vitest';
import { createTestDatabase, DOMAIN_TABLES, truncateAll, useTestDatabase } from '../src/postgres.ts';
import { describeWith } from '../src/services.ts';

function insertOrder(pool: pg.Pool, id: string) {
  return pool.query(
    `INSERT INTO orders (id, user_id, status, created_at, updated_at, shard_key)
     VALUES ($1, gen_random_uuid(), 'created', now(), now(), order_shard_key($1::varchar))`,
    [id],
  );
}

describeWith(['postgres'], 'testkit: a fresh Postgres database per test file', () => {
  const database = useTestDatabase();

  it('is cloned from the migrated template with every domain table', async () => {
    const { rows } = await database.pool.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name = ANY($1)`,
      [DOMAIN_TABLES],
    );
    expect(rows.map((row) => row.table_name).sort()).toEqual([...DOMAIN_TABLES].sort());
  });

  it('uses the API pool settings (UTC sessions)', async () => {
    const { rows } = await database.pool.query<{ TimeZone: string }>('SHOW TimeZone');
    expect(rows[0]?.TimeZone).toBe('UTC');
  });

  it('is isolated from another test database and dropped on request', async () => {
    const other = await createTestDatabase();
    try {
      await insertOrder(other.pool, 'o-isolated');
      const mine = await database.pool.query('SELECT 1 FROM orders WHERE id = $1', ['o-isolated']);
      expect(mine.rowCount).toBe(0);
      const theirs = await other.pool.query('SELECT 1 FROM orders WHERE id = $1', ['o-isolated']);
      expect(theirs.rowCount).toBe(1);
    } finally {
      await other.drop();
    }
    const name = new URL(other.databaseUrl).pathname.slice(1);
    const { rowCount } = await database.pool.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    expect(rowCount).toBe(0);
  });

  it('truncateAll empties the domain tables', async () => {
    await insertOrder(database.pool, 'o-truncate');
    await truncateAll(database.pool);
    const { rows } = await database.pool.query<{ count: string }>('SELECT count(*) FROM orders');
    expect(rows[0]?.count).toBe('0');
  });
});
