/**
 * Turns a Kafka record value into the webhook it carries: JSON, then the envelope schema of shared/envelope.ts
 * (payload included) — one validation; the payload is already the normalised webhook the domain takes.
 */
import { type NormalisedChargebackWebhook, type NormalisedOrderWebhook, parseEnvelope } from '@payment-manager/shared';

export type DecodedWebhook =
  | { ok: true; type: 'order.webhook'; webhook: NormalisedOrderWebhook }
  | { ok: true; type: 'dispute.webhook'; webhook: NormalisedChargebackWebhook }
  | { ok: false; message: string };

export function decodeEnvelope(
  expectedType: 'order.webhook' | 'dispute.webhook',
  value: Buffer | null,
): DecodedWebhook {
  if (!value || value.length === 0) return { ok: false, message: 'invalid envelope: empty message value' };
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch (err) {
    return { ok: false, message: `invalid envelope: not JSON (${(err as Error).message})` };
  }
  const parsed = parseEnvelope(expectedType, json);
  if (!parsed.ok) return { ok: false, message: `invalid ${parsed.part}: ${parsed.message}` };
  const { envelope } = parsed;
  return envelope.type === 'order.webhook'
    ? { ok: true, type: envelope.type, webhook: envelope.payload }
    : { ok: true, type: envelope.type, webhook: envelope.payload };
}
