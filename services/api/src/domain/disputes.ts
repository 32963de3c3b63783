/** Dispute state rules and chargeback decisions (docs/domain.md#dispute-state-machine, docs/domain.md#processing-a-chargeback-webhook). Pure: no I/O. */
import type { NormalisedChargebackWebhook } from '@payment-manager/shared';

export const DISPUTE_STATUSES = ['open', 'under_review', 'submitted', 'won', 'lost', 'closed', 'canceled'] as const;
export type DisputeStatus = (typeof DISPUTE_STATUSES)[number];

export const DISPUTE_EVENT_KIND_BY_WEBHOOK_STATUS = {
  opened: 'webhook_opened',
  updated: 'webhook_updated',
  closed: 'provider_decision',
} as const;

const EDITABLE: readonly string[] = ['open', 'under_review', 'submitted', 'closed'];
export const SUBMITTABLE_STATUSES: readonly string[] = ['open', 'under_review'];

export const isEditable = (status: string) => EDITABLE.includes(status);
export const isSubmittable = (status: string) => SUBMITTABLE_STATUSES.includes(status);

/** Evidence moves an open dispute under review; other statuses are kept. */
export const statusAfterEvidence = (status: string) => (status === 'open' ? 'under_review' : status);

/** `closed` resolves to won/lost when the provider says so (case-insensitive), else plain closed (docs/domain.md#dispute-state-machine). */
export function closingStatus(meta: Record<string, string> | null): DisputeStatus {
  const resolution = meta?.resolution?.toLowerCase();
  return resolution === 'won' || resolution === 'lost' ? resolution : 'closed';
}

export interface DisputeChange {
  status: string;
  evidenceDueAt: string | null;
  closedAt: string | null;
}

export interface NewDispute {
  orderId: string;
  reason: string;
  amount: number;
  currency: string;
  openedAt: string;
  evidenceDueAt: string | null;
}

export type ChargebackDecision =
  | { kind: 'create'; dispute: NewDispute }
  | { kind: 'apply'; change: DisputeChange }
  | { kind: 'reject'; outcome: 'dispute_not_found' | 'order_not_found' };

/**
 * What a (non-duplicate) chargeback does. Provider webhooks apply in any status: the provider is
 * authoritative, exactly as in the Go original (docs/domain.md#dispute-state-machine).
 */
export function decideChargeback(
  current: { status: string; evidence_due_at: string | null; closed_at: string | null } | null,
  orderExists: boolean,
  webhook: NormalisedChargebackWebhook,
): ChargebackDecision {
  if (!current) {
    if (webhook.status !== 'opened') return { kind: 'reject', outcome: 'dispute_not_found' };
    if (!orderExists) return { kind: 'reject', outcome: 'order_not_found' };
    return {
      kind: 'create',
      dispute: {
        orderId: webhook.order_id,
        reason: webhook.reason,
        // Schema validation guarantees both on `opened`.
        amount: webhook.amount as number,
        currency: webhook.currency as string,
        openedAt: webhook.occurred_at,
        evidenceDueAt: webhook.evidence_due_at,
      },
    };
  }
  const evidenceDueAt = webhook.evidence_due_at ?? current.evidence_due_at;
  if (webhook.status === 'closed') {
    return {
      kind: 'apply',
      change: { status: closingStatus(webhook.meta), evidenceDueAt, closedAt: webhook.occurred_at },
    };
  }
  // `opened` re-opens (provider-authoritative, docs/domain.md#ordering-and-replays); `updated` never changes the status.
  const status = webhook.status === 'opened' ? 'open' : current.status;
  return { kind: 'apply', change: { status, evidenceDueAt, closedAt: current.closed_at } };
}
