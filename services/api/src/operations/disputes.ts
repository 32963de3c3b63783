/** Manual dispute operations (docs/domain.md#evidence–docs/domain.md#representment): evidence and representment. */
import { randomUUID } from 'node:crypto';
import { conflict, notFound, providerFailure } from '@payment-manager/shared/errors';
import type pg from 'pg';
import { withTransaction } from '../db/pool.ts';
import { isEditable, isSubmittable, SUBMITTABLE_STATUSES, statusAfterEvidence } from '../domain/disputes.ts';
import { ProviderError, type SilvergateClient } from '../provider/silvergate.ts';
import {
  appendDisputeEvent,
  type EvidenceFile,
  findDispute,
  findEvidenceByKey,
  markSubmitted,
  setDisputeStatus,
  upsertEvidence,
} from '../store/disputes.ts';

export async function putEvidence(
  pool: pg.Pool,
  disputeId: string,
  input: { fields?: Record<string, string>; files?: EvidenceFile[] },
) {
  return withTransaction(pool, async (tx) => {
    const found = await findDispute(tx, disputeId, true);
    if (!found) throw notFound('dispute not found');
    const { row: dispute, key } = found;
    if (!isEditable(dispute.status)) {
      throw conflict(`dispute cannot be edited in status: ${dispute.status}`, { from: dispute.status });
    }
    // Absent parts are stored empty, never as JSON null (docs/domain.md#evidence); upsert replaces, it does not merge.
    const evidence = await upsertEvidence(tx, key, { fields: input.fields ?? {}, files: input.files ?? [] });
    const nextStatus = statusAfterEvidence(dispute.status);
    if (nextStatus !== dispute.status) await setDisputeStatus(tx, key, nextStatus);
    await appendDisputeEvent(tx, key, { kind: 'evidence_added', providerEventId: randomUUID(), data: evidence });
    return evidence;
  });
}

/**
 * The dispute row stays locked across the provider call — the one exception of docs/domain.md#transactions-and-locks — so two
 * concurrent submits cannot both reach the provider; the second sees `submitted` and gets 409.
 */
export async function submitDispute(pool: pg.Pool, provider: SilvergateClient, disputeId: string) {
  return withTransaction(pool, async (tx) => {
    const found = await findDispute(tx, disputeId, true);
    if (!found) throw notFound('dispute not found');
    const { row: dispute, key } = found;
    const transition = { from: dispute.status, to: 'submitted' };
    if (!isSubmittable(dispute.status)) {
      throw conflict(
        `status ${dispute.status} not eligible for submission: only ${SUBMITTABLE_STATUSES.join(' or ')} disputes can be submitted`,
        transition,
      );
    }
    const evidence = await findEvidenceByKey(tx, key);
    if (!evidence) {
      throw conflict('dispute has no evidence: add evidence first (POST /disputes/{dispute_id}/evidence)', transition);
    }

    let submission: { id: string };
    try {
      submission = await provider.submitRepresentment({
        order_id: dispute.order_id,
        evidences_file_id: evidence.files.map((file) => file.file_id),
      });
    } catch (err) {
      if (err instanceof ProviderError) throw providerFailure(`provider submit: ${err.message}`);
      throw err;
    }
    const submitted = await markSubmitted(tx, key, submission.id);
    await appendDisputeEvent(tx, key, {
      kind: 'evidence_submitted',
      providerEventId: submission.id,
      data: { provider_submission_id: submission.id },
    });
    return {
      dispute_id: disputeId,
      submission_id: submission.id,
      status: submitted.status,
      submitted_at: submitted.submitted_at as string,
    };
  });
}
