/**
 * The Kafka record value (docs/kafka.md#message-envelope) with its own schema: what ingest publishes and the API consumers accept. The
 * payload is the webhook as ingest normalised it (every field present, absent optionals `null`), so a consumer
 * validates it once against this schema and hands it to the domain as it is (docs/kafka-batch.md).
 */
import { randomUUID } from 'node:crypto';
import { type TSchema, Type } from 'typebox';
import { problemsFromAjv, strictAjv } from './validation.ts';
import {
  ChargebackWebhookSchema,
  type NormalisedChargebackWebhook,
  type NormalisedOrderWebhook,
  OrderWebhookSchema,
  partitionKey,
  storableChargebackWebhook,
  storableOrderWebhook,
} from './webhooks.ts';

/** Kafka value (docs/kafka.md#message-envelope). `event_id` is for tracing only and never used for deduplication. */
export type WebhookEnvelope =
  | { event_id: string; key: string; type: 'order.webhook'; payload: NormalisedOrderWebhook; timestamp: string }
  | { event_id: string; key: string; type: 'dispute.webhook'; payload: NormalisedChargebackWebhook; timestamp: string };

const nullable = (schema: TSchema) => Type.Union([schema, Type.Null()]);
const order = OrderWebhookSchema.properties;
const chargeback = ChargebackWebhookSchema.properties;
const Meta = nullable(Type.Record(Type.String(), Type.String()));

/** The normalised order webhook: the provider's fields and constraints, all present, unknown fields gone. */
export const NormalisedOrderWebhookSchema = Type.Object(
  {
    provider_event_id: order.provider_event_id,
    order_id: order.order_id,
    // Lower-cased by normalisation.
    user_id: Type.String({ format: 'uuid', pattern: '^[^A-Z]*$' }),
    status: order.status,
    created_at: order.created_at,
    updated_at: order.updated_at,
    meta: Meta,
  },
  { additionalProperties: false },
);

/** The normalised chargeback webhook; `reason` is '' when the provider sent none. */
export const NormalisedChargebackWebhookSchema = Type.Object(
  {
    provider_event_id: chargeback.provider_event_id,
    order_id: chargeback.order_id,
    user_id: nullable(chargeback.user_id),
    status: chargeback.status,
    reason: chargeback.reason,
    amount: nullable(chargeback.amount),
    currency: nullable(chargeback.currency),
    occurred_at: chargeback.occurred_at,
    evidence_due_at: chargeback.evidence_due_at,
    meta: Meta,
  },
  { additionalProperties: false },
);

/** The envelope around a payload: `type` says which payload schema applies. */
export const EnvelopeSchema = Type.Object(
  {
    event_id: Type.String({ minLength: 1 }),
    key: Type.String({ minLength: 1 }),
    type: Type.Union([Type.Literal('order.webhook'), Type.Literal('dispute.webhook')]),
    payload: Type.Object({}),
    timestamp: Type.String({ format: 'date-time' }),
  },
  { additionalProperties: false },
);

/** Problems named from `prefix` (envelope, payload) instead of an HTTP request part. */
function compile<T>(
  schema: TSchema,
  prefix: string,
): (input: unknown) => { ok: true; value: T } | { ok: false; message: string } {
  const validate = strictAjv.compile(schema);
  return (input) => {
    if (validate(input)) return { ok: true, value: input as T };
    const problems = problemsFromAjv(validate.errors, 'body');
    const message = problems
      .map(({ field, message }) => `${field === '' ? prefix : `${prefix}.${field}`} ${message}`)
      .join('; ');
    return { ok: false, message };
  };
}

const validateEnvelope = compile<WebhookEnvelope>(EnvelopeSchema, 'envelope');
const validateOrderPayload = compile<NormalisedOrderWebhook>(NormalisedOrderWebhookSchema, 'payload');
const validateChargebackPayload = compile<NormalisedChargebackWebhook>(NormalisedChargebackWebhookSchema, 'payload');

function orderPayloadProblem(payload: object): string | null {
  const valid = validateOrderPayload(payload);
  const storable = valid.ok ? storableOrderWebhook(valid.value) : valid;
  return storable.ok ? null : storable.message;
}

function chargebackPayloadProblem(payload: object): string | null {
  const valid = validateChargebackPayload(payload);
  const storable = valid.ok ? storableChargebackWebhook(valid.value) : valid;
  return storable.ok ? null : storable.message;
}

export type EnvelopeResult =
  | { ok: true; envelope: WebhookEnvelope }
  | { ok: false; part: 'envelope' | 'payload'; message: string };

/**
 * A parsed record value as the consumers of `type` accept it: an envelope of that type whose payload passes the
 * normalised webhook's schema and the storability rules ingest applied before publishing. The payload is checked
 * first, so a bad webhook is reported as such even in a sparse envelope.
 */
export function parseEnvelope(type: 'order.webhook' | 'dispute.webhook', json: unknown): EnvelopeResult {
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    return { ok: false, part: 'envelope', message: 'not a JSON object' };
  const { type: actual, payload } = json as { type?: unknown; payload?: unknown };
  if (actual !== type)
    return { ok: false, part: 'envelope', message: `type ${JSON.stringify(actual)}, expected ${type}` };
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload))
    return { ok: false, part: 'envelope', message: 'payload is not an object' };
  const problem = type === 'order.webhook' ? orderPayloadProblem(payload) : chargebackPayloadProblem(payload);
  if (problem !== null) return { ok: false, part: 'payload', message: problem };
  const envelope = validateEnvelope(json);
  return envelope.ok
    ? { ok: true, envelope: envelope.value }
    : { ok: false, part: 'envelope', message: envelope.message };
}

export function orderEnvelope(payload: NormalisedOrderWebhook, now = new Date()): WebhookEnvelope {
  return {
    event_id: randomUUID(),
    key: partitionKey(payload),
    type: 'order.webhook',
    payload,
    timestamp: now.toISOString(),
  };
}

export function disputeEnvelope(payload: NormalisedChargebackWebhook, now = new Date()): WebhookEnvelope {
  return {
    event_id: randomUUID(),
    key: partitionKey(payload),
    type: 'dispute.webhook',
    payload,
    timestamp: now.toISOString(),
  };
}
