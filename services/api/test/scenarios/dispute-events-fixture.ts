import type pg from 'pg';

/**
 * The Go original's integration fixture (docs/domain.md#database): 50 orders, 15 disputes, 103 dispute events with
 * per-dispute counts 7, 7, 7, 6, 8, 7, 8, 3, 8, 8, 8, 8, 4, 7, 7; disputes 011–015 hold exactly 14
 * `evidence_added` events. Orders carry the non-domain statuses `completed`/`pending` (docs/domain.md#orders).
 *
 * Every id carries `prefix`, so the fixture can be loaded next to other data (several modes, one database).
 * Consecutive events of a dispute share one `created_at` in pairs, and disputes 001/002 start at the same
 * instant, so keyset pagination has to break ties by event id; timestamps carry microseconds (docs/domain.md#timestamps).
 */

export const EVENTS_PER_DISPUTE = [7, 7, 7, 6, 8, 7, 8, 3, 8, 8, 8, 8, 4, 7, 7] as const;
/** evidence_added events per dispute; 011–015 sum to 14. */
const EVIDENCE_PER_DISPUTE = [2, 2, 2, 2, 3, 2, 3, 1, 2, 2, 3, 3, 2, 3, 3] as const;
const FINAL_STATUSES = ['won', 'lost', 'closed', 'canceled'] as const;
/** dispute_013 … dispute_015 are the active ones. */
const ACTIVE_STATUSES = ['open', 'submitted', 'under_review'] as const;

const pad = (n: number) => String(n).padStart(3, '0');

export interface FixtureIds {
  order: (n: number) => string;
  dispute: (n: number) => string;
  event: (n: number) => string;
}

export function fixtureIds(prefix: string): FixtureIds {
  return {
    order: (n) => `${prefix}order_${pad(n)}`,
    dispute: (n) => `${prefix}dispute_${pad(n)}`,
    event: (n) => `${prefix}event_${pad(n)}`,
  };
}

interface FixtureEvent {
  id: string;
  disputeId: string;
  kind: string;
  providerEventId: string;
  createdAt: string;
}

function disputeStatus(index: number): string {
  return index < 12 ? (FINAL_STATUSES[index % 4] as string) : (ACTIVE_STATUSES[index - 12] as string);
}

function eventKinds(index: number, count: number, evidence: number, status: string): string[] {
  const closing = FINAL_STATUSES.includes(status as (typeof FINAL_STATUSES)[number])
    ? ['provider_decision']
    : status === 'submitted'
      ? ['evidence_submitted']
      : [];
  const updates = count - 1 - evidence - closing.length;
  if (updates < 0) throw new Error(`fixture dispute ${index + 1}: ${count} events cannot hold its kinds`);
  return [
    'webhook_opened',
    ...Array(evidence).fill('evidence_added'),
    ...Array(updates).fill('webhook_updated'),
    ...closing,
  ];
}

/** UTC wall clock with microseconds, the way TIMESTAMP columns store it. */
function timestamp(disputeIndex: number, eventIndex: number): string {
  // 001 and 002 start together so their events tie across disputes too.
  const slot = Math.max(disputeIndex, 1);
  const base = Date.UTC(2024, 0, 15 + (slot % 14), 8, 0, 0);
  const at = new Date(base + Math.floor(eventIndex / 2) * 3_600_000);
  return `${at.toISOString().slice(0, 19)}.${String(123456 + slot).padStart(6, '0')}`;
}

export function fixtureEvents(prefix: string): FixtureEvent[] {
  const ids = fixtureIds(prefix);
  const events: FixtureEvent[] = [];
  EVENTS_PER_DISPUTE.forEach((count, index) => {
    const kinds = eventKinds(index, count, EVIDENCE_PER_DISPUTE[index] as number, disputeStatus(index));
    kinds.forEach((kind, eventIndex) => {
      const n = events.length + 1;
      events.push({
        id: ids.event(n),
        disputeId: ids.dispute(index + 1),
        kind,
        providerEventId: `chb_${kind}_${pad(n)}`,
        createdAt: timestamp(index, eventIndex),
      });
    });
  });
  return events;
}

export async function loadDisputeEventsFixture(pool: pg.Pool, prefix: string): Promise<FixtureIds> {
  const ids = fixtureIds(prefix);
  const orderNumbers = Array.from({ length: 50 }, (_, i) => i + 1);
  await pool.query(
    `INSERT INTO orders (id, user_id, status, on_hold, created_at, updated_at, shard_key)
     SELECT id, user_id, status, on_hold, created_at, updated_at, order_shard_key(id) FROM (
     SELECT $1 || 'order_' || lpad(n::text, 3, '0') AS id,
            ('550e8400-e29b-41d4-a716-4466554400' || lpad(n::text, 2, '0'))::uuid,
            CASE WHEN n % 3 = 0 THEN 'pending' ELSE 'completed' END,
            FALSE,
            TIMESTAMP '2024-01-15 10:00:00' + ((n - 1) % 14) * interval '1 day',
            TIMESTAMP '2024-01-15 12:00:00' + ((n - 1) % 14) * interval '1 day'
     FROM unnest($2::int[]) AS n) AS o(id, user_id, status, on_hold, created_at, updated_at)`,
    [prefix, orderNumbers],
  );
  const disputes = EVENTS_PER_DISPUTE.map((_, index) => ({
    id: ids.dispute(index + 1),
    order_id: ids.order(index + 1),
    status: disputeStatus(index),
    reason: ['fraud', 'product_not_received', 'duplicate', 'other'][index % 4],
    amount: 10 + index * 12.5,
    currency: ['USD', 'EUR', 'UAH', 'GBP'][index % 4],
    opened_at: timestamp(index, 0),
  }));
  await pool.query(
    `INSERT INTO disputes (id, order_id, status, reason, amount, currency, opened_at, shard_key)
     SELECT id, order_id, status, reason, amount, currency, opened_at, order_shard_key(order_id)
     FROM jsonb_to_recordset($1::jsonb)
       AS d(id text, order_id text, status text, reason text, amount numeric, currency text, opened_at timestamp)`,
    [JSON.stringify(disputes)],
  );
  const orderOfDispute = new Map(disputes.map((d) => [d.id, d.order_id]));
  await pool.query(
    `INSERT INTO dispute_events (id, dispute_id, kind, provider_event_id, data, created_at, shard_key)
     SELECT id, dispute_id, kind, provider_event_id, jsonb_build_object('fixture', true, 'kind', kind), created_at,
            order_shard_key(order_id)
     FROM jsonb_to_recordset($1::jsonb)
       AS e(id text, dispute_id text, order_id text, kind text, provider_event_id text, created_at timestamp)`,
    [
      JSON.stringify(
        fixtureEvents(prefix).map((e) => ({
          id: e.id,
          dispute_id: e.disputeId,
          order_id: orderOfDispute.get(e.disputeId),
          kind: e.kind,
          provider_event_id: e.providerEventId,
          created_at: e.createdAt,
        })),
      ),
    ],
  );
  return ids;
}
