/** SQL for disputes, evidence and the dispute event log. Thin: no decisions here. */
import { randomUUID } from 'node:crypto';
import type { Queryable } from '../db/pool.ts';
import type { DisputeChange, NewDispute } from '../domain/disputes.ts';
import type { NewEvent } from './orders.ts';

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

export async function findDispute(db: Queryable, disputeId: string, forUpdate = false): Promise<DisputeRow | null> {
  const { rows } = await db.query<DisputeRow>(
    `SELECT ${DISPUTE_COLUMNS} FROM disputes WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`,
    [disputeId],
  );
  return rows[0] ?? null;
}

export async function findDisputeByOrder(db: Queryable, orderId: string): Promise<DisputeRow | null> {
  const { rows } = await db.query<DisputeRow>(`SELECT ${DISPUTE_COLUMNS} FROM disputes WHERE order_id = $1`, [orderId]);
  return rows[0] ?? null;
}

export interface DisputeListFilter {
  orderId: string | null;
  statuses: string[];
  limit: number | null;
  offset: number;
}

export async function listDisputes(db: Queryable, filter: DisputeListFilter): Promise<DisputeRow[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.orderId) {
    params.push(filter.orderId);
    where.push(`order_id = $${params.length}`);
  }
  if (filter.statuses.length > 0) {
    params.push(filter.statuses);
    where.push(`status = ANY($${params.length}::text[])`);
  }
  params.push(filter.limit, filter.offset);
  const sql =
    `SELECT ${DISPUTE_COLUMNS} FROM disputes` +
    (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '') +
    ` ORDER BY opened_at DESC, id ASC LIMIT $${params.length - 1} OFFSET $${params.length}`;
  const { rows } = await db.query<DisputeRow>(sql, params);
  return rows;
}

export async function insertDispute(db: Queryable, dispute: NewDispute): Promise<string> {
  const id = randomUUID();
  await db.query(
    `INSERT INTO disputes (id, order_id, status, reason, amount, currency, opened_at, evidence_due_at)
     VALUES ($1, $2, 'open', $3, $4, $5, $6::timestamptz AT TIME ZONE 'UTC', $7::timestamptz AT TIME ZONE 'UTC')`,
    [id, dispute.orderId, dispute.reason, dispute.amount, dispute.currency, dispute.openedAt, dispute.evidenceDueAt],
  );
  return id;
}

export async function applyDisputeChange(db: Queryable, disputeId: string, change: DisputeChange): Promise<void> {
  await db.query(
    `UPDATE disputes SET status = $2,
       evidence_due_at = $3::timestamptz AT TIME ZONE 'UTC',
       closed_at = $4::timestamptz AT TIME ZONE 'UTC'
     WHERE id = $1`,
    [disputeId, change.status, change.evidenceDueAt, change.closedAt],
  );
}

export async function setDisputeStatus(db: Queryable, disputeId: string, status: string): Promise<void> {
  await db.query('UPDATE disputes SET status = $2 WHERE id = $1', [disputeId, status]);
}

export async function markSubmitted(db: Queryable, disputeId: string, submissionId: string): Promise<DisputeRow> {
  const { rows } = await db.query<DisputeRow>(
    `UPDATE disputes SET status = 'submitted', submitting_id = $2, submitted_at = now() AT TIME ZONE 'UTC'
     WHERE id = $1 RETURNING ${DISPUTE_COLUMNS}`,
    [disputeId, submissionId],
  );
  return rows[0] as DisputeRow;
}

export async function disputeEventExists(db: Queryable, disputeId: string, providerEventId: string): Promise<boolean> {
  const { rowCount } = await db.query('SELECT 1 FROM dispute_events WHERE dispute_id = $1 AND provider_event_id = $2', [
    disputeId,
    providerEventId,
  ]);
  return (rowCount ?? 0) > 0;
}

/**
 * The unique index on dispute_events includes created_at and so never catches a replay; callers
 * check disputeEventExists inside the locked transaction first.
 */
export async function appendDisputeEvent(db: Queryable, disputeId: string, event: NewEvent): Promise<void> {
  await db.query(
    `INSERT INTO dispute_events (id, dispute_id, kind, provider_event_id, data, created_at)
     VALUES ($1, $2, $3, $4, $5::jsonb, clock_timestamp() AT TIME ZONE 'UTC')`,
    [randomUUID(), disputeId, event.kind, event.providerEventId, JSON.stringify(event.data)],
  );
}

export async function findEvidence(db: Queryable, disputeId: string): Promise<EvidenceRow | null> {
  const { rows } = await db.query<EvidenceRow>(
    'SELECT dispute_id, fields, files, updated_at FROM evidence WHERE dispute_id = $1',
    [disputeId],
  );
  return rows[0] ?? null;
}

export async function upsertEvidence(
  db: Queryable,
  disputeId: string,
  evidence: { fields: Record<string, string>; files: EvidenceFile[] },
): Promise<EvidenceRow> {
  const { rows } = await db.query<EvidenceRow>(
    `INSERT INTO evidence (dispute_id, fields, files, updated_at)
     VALUES ($1, $2::jsonb, $3::jsonb, now() AT TIME ZONE 'UTC')
     ON CONFLICT (dispute_id) DO UPDATE SET fields = EXCLUDED.fields, files = EXCLUDED.files, updated_at = EXCLUDED.updated_at
     RETURNING dispute_id, fields, files, updated_at`,
    [disputeId, JSON.stringify(evidence.fields), JSON.stringify(evidence.files)],
  );
  return rows[0] as EvidenceRow;
}
