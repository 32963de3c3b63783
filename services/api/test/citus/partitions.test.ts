/**
 * Citus (project `citus`): dispute_events stays partitioned by day with pg_partman on the distributed table, and
 * partition maintenance keeps creating distributed, co-located partitions (and drops old ones by retention).
 */
import { useTestDatabase } from '@payment-manager/testkit/postgres';
import { describeWith, testServices } from '@payment-manager/testkit/services';
import { beforeAll, expect, it } from 'vitest';
import { runPartitionMaintenance } from '../../src/db/migrations.ts';

describeWith(['postgres'], 'Citus: daily partitions of the distributed dispute_events', () => {
  const db = useTestDatabase();

  beforeAll(() => {
    expect(testServices().flavour, 'this suite belongs to the vitest project "citus"').toBe('citus');
  });

  /** Children of dispute_events with whether Citus distributes them, co-located with orders. */
  async function children() {
    const { rows } = await db.pool.query<{ name: string; distributed: boolean }>(
      `SELECT c.relname AS name,
              EXISTS (SELECT 1 FROM pg_dist_partition p WHERE p.logicalrelid = c.oid
                        AND p.colocationid = (SELECT colocationid FROM pg_dist_partition
                                              WHERE logicalrelid = 'public.orders'::regclass)) AS distributed
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent = 'public.dispute_events'::regclass ORDER BY 1`,
    );
    return rows;
  }

  it('the migrated parent and its children are distributed by shard_key, co-located with orders', async () => {
    const { rows } = await db.pool.query(
      `SELECT logicalrelid::text AS name, column_to_column_name(logicalrelid, partkey) AS column
       FROM pg_dist_partition WHERE logicalrelid::text IN ('orders', 'order_events', 'disputes', 'dispute_events', 'evidence')
       ORDER BY 1`,
    );
    expect(rows).toEqual(
      ['dispute_events', 'disputes', 'evidence', 'order_events', 'orders'].map((name) => ({
        name,
        column: 'shard_key',
      })),
    );
    const parts = await children();
    expect(parts.length).toBeGreaterThanOrEqual(9);
    expect(parts.filter((child) => !child.distributed)).toEqual([]);
  });

  it('maintenance (with retention set) creates further daily partitions as distributed tables', async () => {
    const before = (await children()).map(({ name }) => name);
    await db.pool.query(`UPDATE partman.part_config SET premake = 12 WHERE parent_table = 'public.dispute_events'`);
    await runPartitionMaintenance(db.pool, { retention: '30 days' });
    const after = await children();
    const added = after.filter(({ name }) => !before.includes(name));
    expect(added.length).toBeGreaterThanOrEqual(5);
    expect(after.filter((child) => !child.distributed)).toEqual([]);
    // A row routed through the coordinator lands in the newest child, on a worker.
    const newest = added
      .map(({ name }) => name)
      .sort()
      .at(-1) as string;
    const day = `${newest.slice(-8, -4)}-${newest.slice(-4, -2)}-${newest.slice(-2)}`;
    await db.pool.query(
      `INSERT INTO orders (id, user_id, status, created_at, updated_at, shard_key)
       VALUES ('o-part', gen_random_uuid(), 'created', now(), now(), order_shard_key('o-part'))`,
    );
    await db.pool.query(
      `INSERT INTO disputes (id, order_id, status, reason, amount, currency, opened_at, shard_key)
       VALUES ('d-part', 'o-part', 'open', 'fraud', 1, 'USD', now(), order_shard_key('o-part'))`,
    );
    await db.pool.query(
      `INSERT INTO dispute_events (id, dispute_id, kind, provider_event_id, data, created_at, shard_key)
       VALUES ('e-part', 'd-part', 'webhook_opened', 'p1', '{}', $1::timestamp + interval '1 hour', order_shard_key('o-part'))`,
      [day],
    );
    // (Citus refuses tableoid in RETURNING: the child is read back instead.)
    const { rows } = await db.pool.query(`SELECT id FROM ONLY ${newest}`);
    expect(rows).toEqual([{ id: 'e-part' }]);
  });
});
