/** Request and response schemas of the API (docs/api.md#endpoints, docs/api.md#internal-updates); they drive validation and the OpenAPI document. */
import { Type } from 'typebox';
import { DISPUTE_STATUSES } from '../domain/disputes.ts';
import { SORT_ASC_SPELLINGS } from '../domain/event-page.ts';
import { DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT } from '../domain/list-page.ts';
import { HOLD_REASONS } from '../domain/orders.ts';

const Timestamp = Type.String({ format: 'date-time', description: 'RFC 3339, UTC' });

/** A success answer that carries only a message (a duplicate webhook). Errors use the shared ErrorBody. */
export const MessageBody = Type.Object({ message: Type.String() }, { additionalProperties: true });
export const InternalResult = Type.Object({
  success: Type.Boolean(),
  duplicate: Type.Optional(Type.Boolean()),
  message: Type.Optional(Type.String()),
});

export const Order = Type.Object({
  order_id: Type.String(),
  user_id: Type.String({ format: 'uuid' }),
  status: Type.String({ description: 'created | updated | success | failed (stored values are returned verbatim)' }),
  on_hold: Type.Boolean(),
  hold_reason: Type.Optional(Type.String()),
  created_at: Timestamp,
  updated_at: Timestamp,
});

export const Dispute = Type.Object({
  dispute_id: Type.String(),
  order_id: Type.String(),
  status: Type.String({ description: DISPUTE_STATUSES.join(' | ') }),
  reason: Type.String(),
  amount: Type.Number(),
  currency: Type.String(),
  opened_at: Timestamp,
  evidence_due_at: Type.Optional(Timestamp),
  submitting_id: Type.Optional(Type.String()),
  submitted_at: Type.Optional(Timestamp),
  closed_at: Type.Optional(Timestamp),
});

const EvidenceFile = Type.Object({
  file_id: Type.String({ minLength: 1, maxLength: 255 }),
  name: Type.String({ maxLength: 255 }),
  content_type: Type.String({ maxLength: 255 }),
  size: Type.Integer({ minimum: 0 }),
});

/**
 * Evidence is stored twice (the bundle and its evidence_added event), so a request body is bounded by
 * MAX_EVIDENCE_BYTES (413 beyond) on top of these per-item limits.
 */
export const MAX_EVIDENCE_BYTES = 64 * 1024;

export const EvidenceInput = Type.Object(
  {
    fields: Type.Optional(Type.Record(Type.String({ maxLength: 255 }), Type.String(), { maxProperties: 100 })),
    files: Type.Optional(Type.Array(EvidenceFile, { maxItems: 50 })),
  },
  { additionalProperties: true },
);

export const Evidence = Type.Object({
  dispute_id: Type.String(),
  fields: Type.Record(Type.String(), Type.String()),
  files: Type.Array(EvidenceFile),
  updated_at: Timestamp,
});

export const HoldInput = Type.Object(
  {
    action: Type.Enum(['set', 'clear']),
    reason: Type.Optional(Type.Enum(HOLD_REASONS)),
  },
  { additionalProperties: true },
);

export const HoldResult = Type.Object({
  order_id: Type.String(),
  on_hold: Type.Boolean(),
  reason: Type.Optional(Type.String()),
  updated_at: Timestamp,
});

/** PostgreSQL text and jsonb cannot hold U+0000. */
const NO_NUL = '^[^\\u0000]*$';

/** ISO 4217 codes as the runtime's ICU data knows them (no XXX/XTS: they are not money). */
const ISO_4217_CURRENCIES = Intl.supportedValuesOf('currency');

/** The largest amount the event log's DECIMAL(10,2) holds. */
export const MAX_AMOUNT = 99_999_999.99;

export const CaptureInput = Type.Object(
  {
    amount: Type.Number({ minimum: 1, maximum: MAX_AMOUNT, description: 'Major units, e.g. 100.5' }),
    // Checked before the provider is called: nothing the provider would be asked for may fail afterwards.
    currency: Type.Enum(ISO_4217_CURRENCIES, { description: 'an ISO 4217 code, e.g. USD' }),
    idempotency_key: Type.String({ minLength: 1, maxLength: 255, pattern: NO_NUL }),
  },
  { additionalProperties: true },
);

export const CaptureResult = Type.Object({
  order_id: Type.String(),
  amount: Type.Number(),
  currency: Type.String(),
  status: Type.Enum(['success', 'failed']),
  provider_tx_id: Type.String(),
  captured_at: Timestamp,
});

export const SubmissionAccepted = Type.Object({
  dispute_id: Type.String(),
  submission_id: Type.String(),
  status: Type.String(),
  submitted_at: Timestamp,
});

/** Far beyond any table here, far below bigint and exactly representable: no overflow or precision loss. */
const MAX_OFFSET = 2_147_483_647;

/** Unknown query parameters are refused (400 naming them and the known ones), never silently ignored. */
const KNOWN_ONLY = { additionalProperties: false } as const;

/** Every list answer is bounded (docs/api.md#limit-and-offset): a larger `limit` is a 400 naming the maximum. */
const LIST_LIMIT = Type.Optional(
  Type.Integer({
    minimum: 1,
    maximum: MAX_LIST_LIMIT,
    default: DEFAULT_LIST_LIMIT,
    description: `Rows per page, 1–${MAX_LIST_LIMIT}; default ${DEFAULT_LIST_LIMIT}. More rows: follow the Link rel="next" header`,
  }),
);
const LIST_CURSOR = Type.Optional(
  Type.String({
    maxLength: 2048,
    description: 'Opaque; set by the Link rel="next" header of the previous page (keyset, replaces offset)',
  }),
);

export const OrderListQuery = Type.Object(
  {
    status: Type.Optional(Type.String({ description: 'Comma-separated order statuses' })),
    user_id: Type.Optional(Type.String({ format: 'uuid' })),
    limit: LIST_LIMIT,
    offset: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_OFFSET, default: 0 })),
    cursor: LIST_CURSOR,
    sort_by: Type.Optional(Type.Enum(['created_at', 'updated_at'])),
    sort_order: Type.Optional(Type.Enum(['asc', 'desc'])),
  },
  KNOWN_ONLY,
);

export const DisputeListQuery = Type.Object(
  {
    order_id: Type.Optional(Type.String()),
    status: Type.Optional(Type.String({ description: 'Comma-separated dispute statuses' })),
    limit: LIST_LIMIT,
    offset: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_OFFSET, default: 0 })),
    cursor: LIST_CURSOR,
  },
  KNOWN_ONLY,
);

const ListParam = (description: string) =>
  Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())], { description }));

/**
 * Event-page parameters: `limit` is an integer whose lenient clamping (absent/0/negative → 10, above 1000 → 1000) is
 * applied by domain/event-page.ts; `sort_asc` takes the Go original's boolean spellings; times are checked there too.
 */
export const eventPageQuery = (idsParam: 'order_ids' | 'dispute_ids') =>
  Type.Object(
    {
      [idsParam]: ListParam('Repeatable and/or comma-separated ids'),
      kinds: ListParam('Repeatable and/or comma-separated event kinds'),
      time_from: Type.Optional(Type.String({ description: 'RFC 3339; created_at >= time_from' })),
      time_to: Type.Optional(Type.String({ description: 'RFC 3339; created_at < time_to' })),
      limit: Type.Optional(Type.Integer({ description: 'Absent, 0 or negative → 10; capped at 1000' })),
      cursor: Type.Optional(Type.String({ description: 'Opaque next_cursor of the previous page' })),
      sort_asc: Type.Optional(
        Type.Enum([...SORT_ASC_SPELLINGS.ascending, ...SORT_ASC_SPELLINGS.descending], {
          description: 'Boolean; default false (newest first)',
        }),
      ),
    },
    KNOWN_ONLY,
  );

export const eventPage = (aggregateColumn: 'order_id' | 'dispute_id') =>
  Type.Object({
    items: Type.Array(
      Type.Object({
        event_id: Type.String(),
        [aggregateColumn]: Type.String(),
        kind: Type.String(),
        provider_event_id: Type.String(),
        data: Type.Unknown(),
        created_at: Timestamp,
      }),
    ),
    next_cursor: Type.String(),
    has_more: Type.Boolean(),
  });
