/** The Go suite's 50/15/103 fixture (docs/domain.md#database) as loaded by scenario 1: its shape is part of the contract. */

import { useTestDatabase } from '@payment-manager/testkit/postgres';
import { describeWith } from '@payment-manager/testkit/services';
import { expect, it } from 'vitest';
import { EVENTS_PER_DISPUTE, loadDisputeEventsFixture } from './scenarios/dispute-events-fixture.ts';

describeWith(['postgres'], 'dispute events fixture', () => {
  const db = useTestDatabase();

  it('has 50 orders, 15 disputes (12 final, 3 active), 103 events with the per-dispute counts and tied timestamps', async () => {
    const prefix = 'fx-';
    const ids = await loadDisputeEventsFixture(db.pool, prefix);
    const count = async (sql: string, params: unknown[] = []) =>
      (await db.pool.query<{ n: number }>(sql, params)).rows[0]?.n;

    expect(await count(`SELECT count(*)::int AS n FROM orders WHERE id LIKE 'fx-order_%'`)).toBe(50);
    expect(
      await count(`SELECT count(DISTINCT status)::int AS n FROM orders WHERE status IN ('completed', 'pending')`),
    ).toBe(2);
    expect(
      await count(`SELECT count(*)::int AS n FROM disputes WHERE status IN ('won', 'lost', 'closed', 'canceled')`),
    ).toBe(12);
    const { rows: active } = await db.pool.query(
      `SELECT status FROM disputes WHERE status NOT IN ('won', 'lost', 'closed', 'canceled') ORDER BY status`,
    );
    expect(active.map((r) => r.status)).toEqual(['open', 'submitted', 'under_review']);
    expect(await count('SELECT count(*)::int AS n FROM dispute_events')).toBe(103);

    const { rows } = await db.pool.query<{ dispute_id: string; n: number }>(
      'SELECT dispute_id, count(*)::int AS n FROM dispute_events GROUP BY dispute_id ORDER BY dispute_id',
    );
    expect(rows.map((r) => r.n)).toEqual([...EVENTS_PER_DISPUTE]);
    expect(rows[0]?.dispute_id).toBe(ids.dispute(1));
    expect(
      await count(
        `SELECT count(*)::int AS n FROM dispute_events WHERE kind = 'evidence_added' AND dispute_id = ANY($1)`,
        [[11, 12, 13, 14, 15].map(ids.dispute)],
      ),
    ).toBe(14);
    const { rows: ids103 } = await db.pool.query(`SELECT min(id) AS first, max(id) AS last FROM dispute_events`);
    expect(ids103[0]).toEqual({ first: ids.event(1), last: ids.event(103) });
    // Keyset ties: timestamps shared within a dispute and across dispute_001/002.
    expect(
      await count(
        `SELECT count(*)::int AS n FROM (SELECT created_at FROM dispute_events GROUP BY created_at HAVING count(*) > 1) t`,
      ),
    ).toBeGreaterThan(10);
    expect(
      await count(
        `SELECT count(*)::int AS n FROM dispute_events a JOIN dispute_events b ON a.created_at = b.created_at
         WHERE a.dispute_id = $1 AND b.dispute_id = $2`,
        [ids.dispute(1), ids.dispute(2)],
      ),
    ).toBeGreaterThan(0);
    expect(
      await count(
        `SELECT count(*)::int AS n FROM dispute_events WHERE extract(microseconds FROM created_at)::int % 1000 <> 0`,
      ),
    ).toBe(103);
  });
});
