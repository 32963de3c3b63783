/** Order state machine and decisions (docs/domain.md#order-state-machine, docs/domain.md#processing-an-order-webhook). Pure: no I/O. */
import type { NormalisedOrderWebhook } from '@payment-manager/shared';

export const ORDER_STATUSES = ['created', 'updated', 'success', 'failed'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];
export const HOLD_REASONS = ['manual_review', 'risk'] as const;
export type HoldReason = (typeof HOLD_REASONS)[number];

const ALLOWED_TRANSITIONS: Record<string, readonly OrderStatus[]> = {
  created: ['updated', 'failed', 'success'],
  updated: ['updated', 'failed', 'success'],
  success: [],
  failed: [],
};

export function canTransition(from: string, to: OrderStatus): boolean {
  return ALLOWED_TRANSITIONS[from]?.includes(to) ?? false;
}

export function isFinalStatus(status: string): boolean {
  return status === 'success' || status === 'failed';
}

export type OrderWebhookDecision =
  | { kind: 'create'; order: { id: string; userId: string; createdAt: string; updatedAt: string } }
  | { kind: 'transition'; status: OrderStatus; updatedAt: string }
  | { kind: 'reject'; outcome: 'order_already_exists' | 'order_not_found' }
  | { kind: 'reject'; outcome: 'invalid_transition'; from: string; to: OrderStatus };

/** What a (non-duplicate) order webhook does to the order currently stored, if any. */
export function decideOrderWebhook(
  current: { status: string } | null,
  webhook: NormalisedOrderWebhook,
): OrderWebhookDecision {
  if (webhook.status === 'created') {
    if (current) return { kind: 'reject', outcome: 'order_already_exists' };
    return {
      kind: 'create',
      order: {
        id: webhook.order_id,
        userId: webhook.user_id,
        createdAt: webhook.created_at,
        updatedAt: webhook.updated_at,
      },
    };
  }
  if (!current) return { kind: 'reject', outcome: 'order_not_found' };
  if (!canTransition(current.status, webhook.status)) {
    return { kind: 'reject', outcome: 'invalid_transition', from: current.status, to: webhook.status };
  }
  return { kind: 'transition', status: webhook.status, updatedAt: webhook.updated_at };
}

/** Capture is refused while held or once final (docs/domain.md#capture); it never changes the order itself. */
export function captureRefusal(order: { on_hold: boolean; status: string }): string | null {
  if (order.on_hold) return 'order is on hold: clear the hold before capturing';
  if (isFinalStatus(order.status)) return `order is in final status ${order.status}: it can no longer be captured`;
  return null;
}

export function captureStatus(providerStatus: string): 'success' | 'failed' {
  return providerStatus === 'success' ? 'success' : 'failed';
}
