/** Manual order operations (docs/domain.md#holds, docs/domain.md#capture): holds and capture. */
import { randomUUID } from 'node:crypto';
import { conflict, notFound, providerFailure } from '@payment-manager/shared/errors';
import type pg from 'pg';
import { lockOrder, withTransaction } from '../db/pool.ts';
import { captureRefusal, captureStatus, type HoldReason } from '../domain/orders.ts';
import { type CaptureRequest, ProviderError, type SilvergateClient } from '../provider/silvergate.ts';
import { appendOrderEvent, findOrder, setHold } from '../store/orders.ts';

export type HoldCommand = { action: 'set'; reason: HoldReason } | { action: 'clear'; reason?: string };

export async function changeHold(pool: pg.Pool, orderId: string, command: HoldCommand) {
  return withTransaction(pool, async (tx) => {
    await lockOrder(tx, orderId);
    const order = await setHold(tx, orderId, command.action === 'set' ? command.reason : null);
    if (!order) throw notFound('order not found');
    const data =
      command.action === 'set'
        ? { action: 'set', reason: command.reason }
        : { action: 'clear', ...(command.reason !== undefined ? { reason: command.reason } : {}) };
    await appendOrderEvent(tx, orderId, {
      kind: command.action === 'set' ? 'hold_set' : 'hold_cleared',
      providerEventId: randomUUID(),
      data,
    });
    return {
      order_id: order.order_id,
      on_hold: order.on_hold,
      ...(order.hold_reason !== null ? { reason: order.hold_reason } : {}),
      updated_at: order.updated_at,
    };
  });
}

/**
 * Checks, calls the provider with no transaction open, then records both events in one transaction
 * (docs/domain.md#capture). A repeated idempotency_key asks the provider again; the events are not duplicated.
 */
export async function captureOrder(pool: pg.Pool, provider: SilvergateClient, request: CaptureRequest) {
  const order = await findOrder(pool, request.order_id);
  if (!order) throw notFound('order not found');
  const refusal = captureRefusal(order);
  if (refusal) throw conflict(refusal, { from: order.status });

  let answer: Awaited<ReturnType<SilvergateClient['capture']>>;
  try {
    answer = await provider.capture(request);
  } catch (err) {
    if (err instanceof ProviderError) throw providerFailure(`provider capture failed: ${err.message}`);
    throw err;
  }
  const capture = {
    order_id: request.order_id,
    amount: request.amount,
    currency: request.currency,
    status: captureStatus(answer.status),
    provider_tx_id: answer.transaction_id,
    captured_at: new Date().toISOString(),
  };

  await withTransaction(pool, async (tx) => {
    await lockOrder(tx, request.order_id);
    const requested = await appendOrderEvent(tx, request.order_id, {
      kind: 'capture_requested',
      providerEventId: request.idempotency_key,
      data: { amount: request.amount, currency: request.currency, idempotency_key: request.idempotency_key },
    });
    // The event keeps the answer the operator got (docs/domain.md#event-kinds: "the capture response object").
    await appendOrderEvent(
      tx,
      request.order_id,
      {
        kind: capture.status === 'success' ? 'capture_completed' : 'capture_failed',
        providerEventId: answer.transaction_id,
        data: capture,
      },
      requested?.created_at,
    );
  });
  return capture;
}
