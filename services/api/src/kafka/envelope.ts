/** Turns a Kafka record value back into a validated webhook (spec §11.2), with the same checks as HTTP input. */
import {
  type NormalisedChargebackWebhook,
  type NormalisedOrderWebhook,
  parseChargebackWebhook,
  parseOrderWebhook,
} from '@payment-manager/shared';

export type DecodedWebhook =
  | { ok: true; type: 'order.webhook'; webhook: NormalisedOrderWebhook }
  | { ok: true; type: 'dispute.webhook'; webhook: NormalisedChargebackWebhook }
  | { ok: false; message: string };

/**
 * The envelope carries the normalised webhook, where absent optional fields are `null`; the provider-facing
 * schema expects them absent instead. Dropping null members restores an input the shared parser accepts
 * and that normalises to the very same object.
 */
function withoutNulls(payload: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(payload).filter(([, value]) => value !== null));
}

export function decodeEnvelope(
  expectedType: 'order.webhook' | 'dispute.webhook',
  value: Buffer | null,
): DecodedWebhook {
  if (!value || value.length === 0) return { ok: false, message: 'invalid envelope: empty message value' };
  let envelope: unknown;
  try {
    envelope = JSON.parse(value.toString('utf8'));
  } catch (err) {
    return { ok: false, message: `invalid envelope: not JSON (${(err as Error).message})` };
  }
  if (envelope === null || typeof envelope !== 'object')
    return { ok: false, message: 'invalid envelope: not a JSON object' };
  const { type, payload } = envelope as { type?: unknown; payload?: unknown };
  if (type !== expectedType)
    return { ok: false, message: `invalid envelope: type ${JSON.stringify(type)}, expected ${expectedType}` };
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    return { ok: false, message: 'invalid envelope: payload is not an object' };
  }
  if (expectedType === 'order.webhook') {
    const parsed = parseOrderWebhook(withoutNulls(payload));
    return parsed.ok
      ? { ok: true, type: expectedType, webhook: parsed.value }
      : { ok: false, message: `invalid payload: ${parsed.message}` };
  }
  const parsed = parseChargebackWebhook(withoutNulls(payload));
  return parsed.ok
    ? { ok: true, type: expectedType, webhook: parsed.value }
    : { ok: false, message: `invalid payload: ${parsed.message}` };
}
