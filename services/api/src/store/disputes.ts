/**
 * SQL for disputes, evidence and the dispute event log. Thin: no decisions here. Statements about one dispute
 * name its shard key (its order's), so on Citus they run on that shard alone (docs/data-tier.md).
 */
import { randomUUID } from 'node:crypto';
import type { Queryable } from '../db/pool.ts';
import { disputeShardKeyHint, newDisputeId, orderShardKey } from '../db/shard-key.ts';
import type { DisputeChange, NewDispute } from '../domain/disputes.ts';
import { afterRow, type NewEvent } from './orders.ts';

export interface DisputeRow {
  dispute_id: string;
  order_id: string;
  status: string;
  reason: string;
  amount: number;
  currency: string;
  opened_at: string;
  evidence_due_at: string | null;
  submitting_id: string | null;
  submitted_at: string | null;
  closed_at: string | null;
}

export interface EvidenceFile {
  file_id: string;
  name: string;
  content_type: string;
  size: number;
}

export interface EvidenceRow {
  dispute_id: string;
  fields: Record<string, string>;
  files: EvidenceFile[];
  updated_at: string;
}

const DISPUTE_COLUMNS =
  'id AS dispute_id, order_id, status, reason, amount, currency, opened_at, evidence_due_at, submitting_id, submitted_at, closed_at';

/** Where a dispute lives: its id and the shard key of its order. */
export interface DisputeKey {
  disputeId: string;
  shardKey: number;
}

/** A dispute as stored, with the shard key its later statements need (never part of a response). */
export interface StoredDispute {
  row: DisputeRow;
  key: DisputeKey;
}

type DisputeRowWithKey = DisputeRow & { shard_key: number };

function stored(row: DisputeRowWithKey | undefined): StoredDispute | null {
  if (!row) return null;
  const { shard_key, ...dispute } = row;
  return { row: dispute, key: { disputeId: dispute.dispute_id, shardKey: shard_key } };
}

/**
 * The shard key of a dispute known only by id. New ids start with it (one router query); disputes created
 * before shard keys existed, and unknown ids, take one lookup across all shards (docs/data-tier.md).
 */
async function locateDispute<T>(
  disputeId: string,
  byKey: (shardKey: number) => Promise<T | null>,
  findKey: () => Promise<number | null>,
): Promise<T | null> {
  const hint = disputeShardKeyHint(disputeId);
  if (hint !== null) {
    const found = await byKey(hint);
    if (found !== null) return found;
  }
  const shardKey = await findKey();
  return shardKey === null || shardKey === hint ? null : byKey(shardKey);
}

async function disputeShardKey(db: Queryable, disputeId: string): Promise<number | null> {
  const { rows } = await db.query<{ shard_key: number }>('SELECT shard_key FROM disputes WHERE id = $1', [disputeId]);
  return rows[0]?.shard_key ?? null;
}

export async function findDispute(db: Queryable, disputeId: string, forUpdate = false): Promise<StoredDispute | null> {
  return locateDispute(
    disputeId,
    async (shardKey) => {
      const { rows } = await db.query<DisputeRowWithKey>(
        `SELECT ${DISPUTE_COLUMNS}, shard_key FROM disputes WHERE shard_key = $2 AND id = $1${forUpdate ? ' FOR UPDATE' : ''}`,
        [disputeId, shardKey],
      );
      return stored(rows[0]);
    },
    () => disputeShardKey(db, disputeId),
  );
}

export async function findDisputeByOrder(db: Queryable, orderId: string): Promise<StoredDispute | null> {
  const { rows } = await db.query<DisputeRowWithKey>(
    `SELECT ${DISPUTE_COLUMNS}, shard_key FROM disputes WHERE shard_key = $2 AND order_id = $1`,
    [orderId, orderShardKey(orderId)],
  );
  return stored(rows[0]);
}

export interface DisputeListFilter {
  orderId: string | null;
  statuses: string[];
  limit: number;
  offset: number;
  /** Keyset: only disputes after this one in the listing's order (docs/api.md#limit-and-offset). */
  after: { value: string; id: string } | null;
}

export async function listDisputes(db: Queryable, filter: DisputeListFilter): Promise<DisputeRow[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.orderId) {
    params.push(filter.orderId, orderShardKey(filter.orderId));
    where.push(`order_id = $${params.length - 1} AND shard_key = $${params.length}`);
  }
  if (filter.statuses.length > 0) {
    params.push(filter.statuses);
    where.push(`status = ANY($${params.length}::text[])`);
  }
  if (filter.after) where.push(afterRow('opened_at', 'desc', filter.after, params));
  params.push(filter.limit, filter.offset);
  const sql =
    `SELECT ${DISPUTE_COLUMNS} FROM disputes` +
    (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '') +
    ` ORDER BY opened_at DESC, id ASC LIMIT $${params.length - 1} OFFSET $${params.length}`;
  const { rows } = await db.query<DisputeRow>(sql, params);
  return rows;
}

export async function insertDispute(db: Queryable, dispute: NewDispute): Promise<DisputeKey> {
  const key = { disputeId: newDisputeId(dispute.orderId), shardKey: orderShardKey(dispute.orderId) };
  await db.query(
    `INSERT INTO disputes (id, order_id, status, reason, amount, currency, opened_at, evidence_due_at, shard_key)
     VALUES ($1, $2, 'open', $3, $4, $5, $6::timestamptz AT TIME ZONE 'UTC', $7::timestamptz AT TIME ZONE 'UTC', $8)`,
    [
      key.disputeId,
      dispute.orderId,
      dispute.reason,
      dispute.amount,
      dispute.currency,
      dispute.openedAt,
      dispute.evidenceDueAt,
      key.shardKey,
    ],
  );
  return key;
}

export async function applyDisputeChange(db: Queryable, key: DisputeKey, change: DisputeChange): Promise<void> {
  await db.query(
    `UPDATE disputes SET status = $2,
       evidence_due_at = $3::timestamptz AT TIME ZONE 'UTC',
       closed_at = $4::timestamptz AT TIME ZONE 'UTC'
     WHERE shard_key = $5 AND id = $1`,
    [key.disputeId, change.status, change.evidenceDueAt, change.closedAt, key.shardKey],
  );
}

export async function setDisputeStatus(db: Queryable, key: DisputeKey, status: string): Promise<void> {
  await db.query('UPDATE disputes SET status = $2 WHERE shard_key = $3 AND id = $1', [
    key.disputeId,
    status,
    key.shardKey,
  ]);
}

export async function markSubmitted(db: Queryable, key: DisputeKey, submissionId: string): Promise<DisputeRow> {
  const { rows } = await db.query<DisputeRow>(
    `UPDATE disputes SET status = 'submitted', submitting_id = $2, submitted_at = now() AT TIME ZONE 'UTC'
     WHERE shard_key = $3 AND id = $1 RETURNING ${DISPUTE_COLUMNS}`,
    [key.disputeId, submissionId, key.shardKey],
  );
  return rows[0] as DisputeRow;
}

export async function disputeEventExists(db: Queryable, key: DisputeKey, providerEventId: string): Promise<boolean> {
  const { rowCount } = await db.query(
    'SELECT 1 FROM dispute_events WHERE shard_key = $3 AND dispute_id = $1 AND provider_event_id = $2',
    [key.disputeId, providerEventId, key.shardKey],
  );
  return (rowCount ?? 0) > 0;
}

/**
 * The unique index on dispute_events includes created_at and so never catches a replay (docs/domain.md#idempotency); callers
 * check disputeEventExists inside the locked transaction first.
 */
export async function appendDisputeEvent(db: Queryable, key: DisputeKey, event: NewEvent): Promise<void> {
  await db.query(
    `INSERT INTO dispute_events (id, dispute_id, kind, provider_event_id, data, created_at, shard_key)
     VALUES ($1, $2, $3, $4, $5::jsonb, clock_timestamp() AT TIME ZONE 'UTC', $6)`,
    [randomUUID(), key.disputeId, event.kind, event.providerEventId, JSON.stringify(event.data), key.shardKey],
  );
}

const EVIDENCE_COLUMNS = 'dispute_id, fields, files, updated_at';

/** By dispute id alone (GET …/evidence): the dispute id's shard first, as findDispute does. */
export async function findEvidence(db: Queryable, disputeId: string): Promise<EvidenceRow | null> {
  return locateDispute(
    disputeId,
    (shardKey) => findEvidenceByKey(db, { disputeId, shardKey }),
    () => disputeShardKey(db, disputeId),
  );
}

export async function findEvidenceByKey(db: Queryable, key: DisputeKey): Promise<EvidenceRow | null> {
  const { rows } = await db.query<EvidenceRow>(
    `SELECT ${EVIDENCE_COLUMNS} FROM evidence WHERE shard_key = $2 AND dispute_id = $1`,
    [key.disputeId, key.shardKey],
  );
  return rows[0] ?? null;
}

export async function upsertEvidence(
  db: Queryable,
  key: DisputeKey,
  evidence: { fields: Record<string, string>; files: EvidenceFile[] },
): Promise<EvidenceRow> {
  const { rows } = await db.query<EvidenceRow>(
    `INSERT INTO evidence (dispute_id, fields, files, updated_at, shard_key)
     VALUES ($1, $2::jsonb, $3::jsonb, now() AT TIME ZONE 'UTC', $4)
     ON CONFLICT (dispute_id, shard_key) DO UPDATE SET fields = EXCLUDED.fields, files = EXCLUDED.files, updated_at = EXCLUDED.updated_at
     RETURNING ${EVIDENCE_COLUMNS}`,
    [key.disputeId, JSON.stringify(evidence.fields), JSON.stringify(evidence.files), key.shardKey],
  );
  return rows[0] as EvidenceRow;
}
