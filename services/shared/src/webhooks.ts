/**
 * Provider webhook contracts (docs/domain.md#order-webhook, docs/domain.md#chargeback-webhook), written once and used by ingest, the API's public and
 * internal webhook routes and the Kafka consumers, so every entry point rejects exactly the same input.
 */
import { type Static, Type } from 'typebox';
import type { Problem } from './errors.ts';
import { compileStrict, invalid, type ValidationResult } from './validation.ts';

const BoundedId = (description: string) => Type.String({ minLength: 1, maxLength: 255, description });
const Rfc3339 = (description: string) => Type.String({ format: 'date-time', description });
/** The largest value of the DECIMAL(10,2) columns; 99999999.995 would round past it. */
export const MAX_DECIMAL_10_2 = 99_999_999.99;
/** Timestamps are stored as UTC wall clock; outside years 0001–9999 (after the offset) they are not storable. */
// Date.UTC maps years 0–99 to 1900–1999, so year 1 is set explicitly.
const EARLIEST_TIMESTAMP_MS = new Date('0001-01-01T00:00:00Z').getTime();
const LATEST_TIMESTAMP_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** Stored with every event (event data), so bounded: at most this many bytes of JSON. */
export const MAX_META_BYTES = 16 * 1024;
const StringMap = Type.Record(Type.String(), Type.String(), {
  description: `Free-form provider metadata; every value must be a string; at most ${MAX_META_BYTES} bytes as JSON`,
});

export const ORDER_WEBHOOK_STATUSES = ['created', 'updated', 'success', 'failed'] as const;
export const CHARGEBACK_WEBHOOK_STATUSES = ['opened', 'updated', 'closed'] as const;

export const OrderWebhookSchema = Type.Object(
  {
    provider_event_id: BoundedId('Provider event id; unique per order'),
    order_id: BoundedId('Provider order id'),
    user_id: Type.String({ format: 'uuid', description: 'Customer id; Kafka partition key' }),
    status: Type.Enum(ORDER_WEBHOOK_STATUSES),
    created_at: Rfc3339('RFC 3339 timestamp'),
    updated_at: Rfc3339('RFC 3339 timestamp'),
    meta: Type.Optional(StringMap),
  },
  { $id: 'OrderWebhook', additionalProperties: true },
);
export type OrderWebhook = Static<typeof OrderWebhookSchema>;

const ChargebackWebhookObject = Type.Object(
  {
    provider_event_id: BoundedId('Provider event id; unique per dispute'),
    order_id: BoundedId('Provider order id'),
    user_id: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 255,
        description: 'Kafka key only; falls back to order_id (docs/kafka.md#keys-and-partitioning)',
      }),
    ),
    status: Type.Enum(CHARGEBACK_WEBHOOK_STATUSES),
    reason: Type.Optional(Type.String({ maxLength: 1024, description: 'Stored when the dispute is opened' })),
    amount: Type.Optional(
      Type.Number({ minimum: 0, maximum: MAX_DECIMAL_10_2, description: 'Major units; fits DECIMAL(10,2)' }),
    ),
    currency: Type.Optional(Type.String({ minLength: 3, maxLength: 3 })),
    occurred_at: Rfc3339('When the provider changed the chargeback'),
    evidence_due_at: Type.Optional(Type.Union([Rfc3339('Evidence deadline'), Type.Null()])),
    meta: Type.Optional(StringMap),
  },
  { additionalProperties: true },
);
export type ChargebackWebhook = Static<typeof ChargebackWebhookObject>;

/** `amount` and `currency` are required only when the chargeback is opened. */
export const ChargebackWebhookSchema = {
  ...ChargebackWebhookObject,
  $id: 'ChargebackWebhook',
  if: { properties: { status: { const: 'opened' } }, required: ['status'] },
  // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then keyword; the schema object is never awaited
  then: { required: ['amount', 'currency'] },
} as unknown as typeof ChargebackWebhookObject;

export type WebhookKind = 'order' | 'chargeback';

const validateOrder = compileStrict<OrderWebhook>(OrderWebhookSchema);
const validateChargeback = compileStrict<ChargebackWebhook>(ChargebackWebhookSchema);

/**
 * What JSON Schema cannot say but PostgreSQL would refuse, checked on the normalised (stored) webhook so ingest
 * rejects exactly what the API would: NUL characters and unpaired UTF-16 surrogates in any string (text and jsonb
 * cannot hold them), timestamps outside years 0001–9999 UTC, and meta over MAX_META_BYTES.
 */
function unstorable(webhook: Record<string, unknown>, timestampFields: readonly string[]): Problem[] {
  const problems: Problem[] = [];
  for (const [field, value] of Object.entries(webhook)) {
    const strings =
      typeof value === 'string' ? [value] : value && typeof value === 'object' ? Object.entries(value).flat() : [];
    if (strings.some((text) => typeof text === 'string' && (text.includes('\u0000') || !text.isWellFormed()))) {
      problems.push({ in: 'body', field, message: 'must not contain NUL characters or unpaired surrogates' });
    }
  }
  for (const field of timestampFields) {
    const value = webhook[field];
    if (typeof value !== 'string') continue;
    const ms = Date.parse(value);
    if (!(ms >= EARLIEST_TIMESTAMP_MS && ms <= LATEST_TIMESTAMP_MS)) {
      problems.push({ in: 'body', field, message: 'must be between 0001-01-01 and 9999-12-31 UTC' });
    }
  }
  if (webhook.meta && Buffer.byteLength(JSON.stringify(webhook.meta)) > MAX_META_BYTES) {
    problems.push({ in: 'body', field: 'meta', message: `must be at most ${MAX_META_BYTES} bytes of JSON` });
  }
  return problems;
}

function storableOrError<T extends object>(value: T, timestampFields: readonly string[]): ValidationResult<T> {
  const problems = unstorable(value as Record<string, unknown>, timestampFields);
  return problems.length > 0 ? invalid(problems) : { ok: true, value };
}

/** The storability rules alone, for a webhook that is already normalised (e.g. from a Kafka envelope). */
export const storableOrderWebhook = (webhook: NormalisedOrderWebhook) =>
  storableOrError(webhook, ['created_at', 'updated_at']);
export const storableChargebackWebhook = (webhook: NormalisedChargebackWebhook) =>
  storableOrError(webhook, ['occurred_at', 'evidence_due_at']);

/** Validates and normalises an order webhook (see normaliseOrderWebhook). */
export function parseOrderWebhook(input: unknown): ValidationResult<NormalisedOrderWebhook> {
  const result = validateOrder(input);
  return result.ok ? normaliseOrderWebhook(result.value) : result;
}

/**
 * Normalises an order webhook that passed OrderWebhookSchema (a route schema or parseOrderWebhook): unknown fields
 * dropped, user_id lower-cased, meta null when absent; refuses what PostgreSQL could not store.
 */
export function normaliseOrderWebhook(w: OrderWebhook): ValidationResult<NormalisedOrderWebhook> {
  return storableOrError(
    {
      provider_event_id: w.provider_event_id,
      order_id: w.order_id,
      user_id: w.user_id.toLowerCase(),
      status: w.status,
      created_at: w.created_at,
      updated_at: w.updated_at,
      meta: w.meta ?? null,
    },
    ['created_at', 'updated_at'],
  );
}

/** Validates and normalises a chargeback webhook (see normaliseChargebackWebhook). */
export function parseChargebackWebhook(input: unknown): ValidationResult<NormalisedChargebackWebhook> {
  const result = validateChargeback(input);
  return result.ok ? normaliseChargebackWebhook(result.value) : result;
}

/**
 * Normalises a chargeback webhook that passed ChargebackWebhookSchema: unknown fields dropped, absent optionals
 * become null; refuses what PostgreSQL could not store.
 */
export function normaliseChargebackWebhook(w: ChargebackWebhook): ValidationResult<NormalisedChargebackWebhook> {
  return storableOrError(
    {
      provider_event_id: w.provider_event_id,
      order_id: w.order_id,
      user_id: w.user_id ?? null,
      status: w.status,
      reason: w.reason ?? '',
      amount: w.amount ?? null,
      currency: w.currency ?? null,
      occurred_at: w.occurred_at,
      evidence_due_at: w.evidence_due_at ?? null,
      meta: w.meta ?? null,
    },
    ['occurred_at', 'evidence_due_at'],
  );
}

export interface NormalisedOrderWebhook {
  provider_event_id: string;
  order_id: string;
  user_id: string;
  status: OrderWebhook['status'];
  created_at: string;
  updated_at: string;
  meta: Record<string, string> | null;
}

export interface NormalisedChargebackWebhook {
  provider_event_id: string;
  order_id: string;
  user_id: string | null;
  status: ChargebackWebhook['status'];
  reason: string;
  amount: number | null;
  currency: string | null;
  occurred_at: string;
  evidence_due_at: string | null;
  meta: Record<string, string> | null;
}

/** Kafka message key (docs/kafka.md#message-envelope): user_id, or order_id for chargebacks without one (docs/kafka.md#keys-and-partitioning). */
export function partitionKey(webhook: NormalisedOrderWebhook | NormalisedChargebackWebhook): string {
  return webhook.user_id ?? webhook.order_id;
}
