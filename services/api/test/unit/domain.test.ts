/** Pure domain rules (docs/domain.md#processing-an-order-webhook, docs/domain.md#processing-a-chargeback-webhook, docs/api.md#event-cursors, docs/domain.md#webhook-outcomes): no database, no HTTP. */
import type { NormalisedChargebackWebhook, NormalisedOrderWebhook } from '@payment-manager/shared';
import { DomainError } from '@payment-manager/shared/errors';
import { describe, expect, it } from 'vitest';
import {
  closingStatus,
  decideChargeback,
  isEditable,
  isSubmittable,
  statusAfterEvidence,
} from '../../src/domain/disputes.ts';
import {
  decodeCursor,
  type EventPageRequest,
  encodeCursor,
  eventLimit,
  MAX_EVENT_PAGE_DATA_BYTES,
  parseEventPageRequest,
  SORT_ASC_SPELLINGS,
  splitList,
  toEventPage,
} from '../../src/domain/event-page.ts';
import {
  canTransition,
  captureRefusal,
  captureStatus,
  decideOrderWebhook,
  type OrderStatus,
} from '../../src/domain/orders.ts';
import { buildEventPageSql } from '../../src/store/events.ts';

const orderWebhook = (status: NormalisedOrderWebhook['status']): NormalisedOrderWebhook => ({
  provider_event_id: 'pe-1',
  order_id: 'ord-1',
  user_id: '0b7d3c52-6f0e-4e59-9a0c-2f4f8f5e1a10',
  status,
  created_at: '2025-03-04T09:00:00Z',
  updated_at: '2025-03-04T10:00:00Z',
  meta: null,
});

const chargeback = (
  status: NormalisedChargebackWebhook['status'],
  overrides: Partial<NormalisedChargebackWebhook> = {},
): NormalisedChargebackWebhook => ({
  provider_event_id: 'cb-1',
  order_id: 'ord-1',
  user_id: null,
  status,
  reason: 'fraud',
  amount: 42,
  currency: 'EUR',
  occurred_at: '2025-03-05T08:00:00Z',
  evidence_due_at: null,
  meta: null,
  ...overrides,
});

describe('order state machine (docs/domain.md#order-state-machine)', () => {
  const targets: OrderStatus[] = ['created', 'updated', 'success', 'failed'];
  const allowed: Record<string, OrderStatus[]> = {
    created: ['updated', 'success', 'failed'],
    updated: ['updated', 'success', 'failed'],
    success: [],
    failed: [],
    completed: [],
  };
  for (const [from, to] of Object.entries(allowed)) {
    for (const target of targets) {
      const expected = to.includes(target);
      it(`${from} → ${target}: ${expected ? 'allowed' : 'refused'}`, () => {
        expect(canTransition(from, target)).toBe(expected);
      });
    }
  }

  it('decideOrderWebhook: created creates unless the order exists', () => {
    expect(decideOrderWebhook(null, orderWebhook('created'))).toEqual({
      kind: 'create',
      order: {
        id: 'ord-1',
        userId: '0b7d3c52-6f0e-4e59-9a0c-2f4f8f5e1a10',
        createdAt: '2025-03-04T09:00:00Z',
        updatedAt: '2025-03-04T10:00:00Z',
      },
    });
    expect(decideOrderWebhook({ status: 'success' }, orderWebhook('created'))).toEqual({
      kind: 'reject',
      outcome: 'order_already_exists',
    });
  });

  it('decideOrderWebhook: other statuses need the order and an allowed transition', () => {
    expect(decideOrderWebhook(null, orderWebhook('updated'))).toEqual({ kind: 'reject', outcome: 'order_not_found' });
    expect(decideOrderWebhook({ status: 'created' }, orderWebhook('success'))).toEqual({
      kind: 'transition',
      status: 'success',
      updatedAt: '2025-03-04T10:00:00Z',
    });
    expect(decideOrderWebhook({ status: 'failed' }, orderWebhook('updated'))).toEqual({
      kind: 'reject',
      outcome: 'invalid_transition',
      from: 'failed',
      to: 'updated',
    });
  });

  it('capture is refused on hold first, then in final statuses; only "success" succeeds', () => {
    expect(captureRefusal({ on_hold: true, status: 'success' })).toBe(
      'order is on hold: clear the hold before capturing',
    );
    expect(captureRefusal({ on_hold: false, status: 'failed' })).toBe(
      'order is in final status failed: it can no longer be captured',
    );
    expect(captureRefusal({ on_hold: false, status: 'success' })).toBe(
      'order is in final status success: it can no longer be captured',
    );
    expect(captureRefusal({ on_hold: false, status: 'updated' })).toBeNull();
    expect(captureStatus('success')).toBe('success');
    expect(captureStatus('SUCCESS')).toBe('failed');
    expect(captureStatus('declined')).toBe('failed');
  });
});

describe('dispute rules (docs/domain.md#dispute-state-machine, docs/domain.md#processing-a-chargeback-webhook)', () => {
  it('editability, submittability and the evidence status change', () => {
    for (const status of ['open', 'under_review', 'submitted', 'closed']) expect(isEditable(status)).toBe(true);
    for (const status of ['won', 'lost', 'canceled']) expect(isEditable(status)).toBe(false);
    for (const status of ['open', 'under_review']) expect(isSubmittable(status)).toBe(true);
    for (const status of ['submitted', 'won', 'lost', 'closed', 'canceled']) expect(isSubmittable(status)).toBe(false);
    expect(statusAfterEvidence('open')).toBe('under_review');
    for (const status of ['under_review', 'submitted', 'closed']) expect(statusAfterEvidence(status)).toBe(status);
  });

  it.each([
    [{ resolution: 'won' }, 'won'],
    [{ resolution: 'Won' }, 'won'],
    [{ resolution: 'LOST' }, 'lost'],
    [{ resolution: 'draw' }, 'closed'],
    [{ resolution: '' }, 'closed'],
    [{ other: 'won' }, 'closed'],
    [null, 'closed'],
  ])('closingStatus(%j) = %s (docs/domain.md#dispute-state-machine)', (meta, expected) => {
    expect(closingStatus(meta)).toBe(expected);
  });

  const current = { status: 'under_review', evidence_due_at: '2025-03-19T00:00:00Z', closed_at: null };

  it('without a dispute: only opened creates, and only for an existing order', () => {
    expect(decideChargeback(null, true, chargeback('updated'))).toEqual({
      kind: 'reject',
      outcome: 'dispute_not_found',
    });
    expect(decideChargeback(null, true, chargeback('closed'))).toEqual({
      kind: 'reject',
      outcome: 'dispute_not_found',
    });
    expect(decideChargeback(null, false, chargeback('closed'))).toEqual({
      kind: 'reject',
      outcome: 'dispute_not_found',
    });
    expect(decideChargeback(null, false, chargeback('opened'))).toEqual({ kind: 'reject', outcome: 'order_not_found' });
    expect(decideChargeback(null, true, chargeback('opened', { evidence_due_at: '2025-03-19T00:00:00Z' }))).toEqual({
      kind: 'create',
      dispute: {
        orderId: 'ord-1',
        reason: 'fraud',
        amount: 42,
        currency: 'EUR',
        openedAt: '2025-03-05T08:00:00Z',
        evidenceDueAt: '2025-03-19T00:00:00Z',
      },
    });
  });

  it('opened re-opens, updated keeps the status, both keep evidence_due_at unless a new one is sent', () => {
    expect(decideChargeback(current, true, chargeback('opened'))).toEqual({
      kind: 'apply',
      change: { status: 'open', evidenceDueAt: '2025-03-19T00:00:00Z', closedAt: null },
    });
    expect(decideChargeback(current, true, chargeback('updated', { evidence_due_at: '2025-04-01T00:00:00Z' }))).toEqual(
      {
        kind: 'apply',
        change: { status: 'under_review', evidenceDueAt: '2025-04-01T00:00:00Z', closedAt: null },
      },
    );
  });

  it('closed resolves case-insensitively and sets closed_at; unknown resolution → closed; applied in any status', () => {
    const closed = (meta: Record<string, string> | null) =>
      decideChargeback(
        { ...current, status: 'won' },
        true,
        chargeback('closed', { meta, occurred_at: '2025-04-02T00:00:00Z' }),
      );
    expect(closed({ resolution: 'LoSt' })).toEqual({
      kind: 'apply',
      change: { status: 'lost', evidenceDueAt: '2025-03-19T00:00:00Z', closedAt: '2025-04-02T00:00:00Z' },
    });
    expect(closed({ resolution: 'draw' })).toMatchObject({ change: { status: 'closed' } });
  });
});

describe('event pages (docs/api.md#event-cursors, docs/domain.md#webhook-outcomes)', () => {
  const request = (overrides: Partial<EventPageRequest> = {}): EventPageRequest => ({
    aggregateIds: [],
    kinds: [],
    timeFrom: null,
    timeTo: null,
    limit: 10,
    cursor: null,
    ascending: false,
    ...overrides,
  });
  const disputeLog = { table: 'dispute_events', aggregateColumn: 'dispute_id' } as const;
  const SELECT =
    'SELECT id AS event_id, dispute_id, kind, provider_event_id, data, created_at, octet_length(data::text) AS data_bytes FROM dispute_events';
  /** The row query inside the byte-budget wrapper, and its parameters without the budget. */
  const buildRowsSql = (...args: Parameters<typeof buildEventPageSql>) => {
    const built = buildEventPageSql(...args);
    const rows = /FROM \((SELECT id AS event_id.*)\) fetched\)/.exec(built.sql);
    expect(built.params.at(-1)).toBe(MAX_EVENT_PAGE_DATA_BYTES);
    return { sql: rows?.[1], params: built.params.slice(0, -1) };
  };
  const cursor = { event_id: 'ev-9', created_at: '2025-05-01T10:00:00.123456Z' };

  it('no filters: no WHERE, newest first, LIMIT limit+1', () => {
    expect(buildRowsSql(disputeLog, request())).toEqual({
      sql: `${SELECT} ORDER BY created_at DESC, id DESC LIMIT $1`,
      params: [11],
    });
  });

  it('id filter, kinds, only time_from, only time_to', () => {
    expect(buildRowsSql(disputeLog, request({ aggregateIds: ['d1', 'd2'] }))).toEqual({
      sql: `${SELECT} WHERE dispute_id = ANY($1::text[]) ORDER BY created_at DESC, id DESC LIMIT $2`,
      params: [['d1', 'd2'], 11],
    });
    expect(buildRowsSql(disputeLog, request({ kinds: ['evidence_added'], limit: 20 })).sql).toBe(
      `${SELECT} WHERE kind = ANY($1::text[]) ORDER BY created_at DESC, id DESC LIMIT $2`,
    );
    expect(buildRowsSql(disputeLog, request({ timeFrom: '2025-01-01T00:00:00Z' })).sql).toBe(
      `${SELECT} WHERE created_at >= ($1::timestamptz AT TIME ZONE 'UTC') ORDER BY created_at DESC, id DESC LIMIT $2`,
    );
    expect(buildRowsSql(disputeLog, request({ timeTo: '2025-01-01T00:00:00Z' })).sql).toBe(
      `${SELECT} WHERE created_at < ($1::timestamptz AT TIME ZONE 'UTC') ORDER BY created_at DESC, id DESC LIMIT $2`,
    );
  });

  it('cursor descending uses <, ascending uses >; ascending without cursor orders ASC', () => {
    expect(buildRowsSql(disputeLog, request({ cursor })).sql).toBe(
      `${SELECT} WHERE (created_at, id) < (($1::timestamptz AT TIME ZONE 'UTC'), $2) ORDER BY created_at DESC, id DESC LIMIT $3`,
    );
    expect(buildRowsSql(disputeLog, request({ cursor, ascending: true })).sql).toBe(
      `${SELECT} WHERE (created_at, id) > (($1::timestamptz AT TIME ZONE 'UTC'), $2) ORDER BY created_at ASC, id ASC LIMIT $3`,
    );
    expect(buildRowsSql(disputeLog, request({ ascending: true })).sql).toBe(
      `${SELECT} ORDER BY created_at ASC, id ASC LIMIT $1`,
    );
  });

  it('all filters combined, in the order ids, kinds, time range, cursor', () => {
    const built = buildRowsSql(
      { table: 'order_events', aggregateColumn: 'order_id' },
      request({
        aggregateIds: ['o1'],
        kinds: ['hold_set'],
        timeFrom: '2025-01-01T00:00:00Z',
        timeTo: '2025-02-01T00:00:00+01:00',
        cursor,
        limit: 5,
        ascending: true,
      }),
    );
    expect(built.sql).toBe(
      'SELECT id AS event_id, order_id, kind, provider_event_id, data, created_at, octet_length(data::text) AS data_bytes FROM order_events WHERE ' +
        "order_id = ANY($1::text[]) AND kind = ANY($2::text[]) AND created_at >= ($3::timestamptz AT TIME ZONE 'UTC') " +
        "AND created_at < ($4::timestamptz AT TIME ZONE 'UTC') AND (created_at, id) > (($5::timestamptz AT TIME ZONE 'UTC'), $6) " +
        'ORDER BY created_at ASC, id ASC LIMIT $7',
    );
    expect(built.params).toEqual([
      ['o1'],
      ['hold_set'],
      '2025-01-01T00:00:00Z',
      '2025-02-01T00:00:00+01:00',
      cursor.created_at,
      'ev-9',
      6,
    ]);
  });

  it('cursor: standard base64 of {"event_id","created_at"}, round trip keeps microseconds', () => {
    const encoded = encodeCursor(cursor);
    expect(JSON.parse(Buffer.from(encoded, 'base64').toString('utf8'))).toEqual(cursor);
    expect(decodeCursor(encoded)).toEqual(cursor);
  });

  it.each([
    '',
    '!!!',
    Buffer.from('[]').toString('base64'),
    Buffer.from('{"event_id":1,"created_at":"x"}').toString('base64'),
  ])('undecodable cursor %j → a validation error naming the cursor', (raw) => {
    expect(() => decodeCursor(raw)).toThrow(DomainError);
    expect(() => decodeCursor(raw)).toThrow(/query\.cursor cannot be decoded/);
  });

  // Non-integers ('1.5', 'ten') are refused by the route schema: see event-pages.test.ts.
  it('limit: absent/0/negative → 10, capped at 1000', () => {
    expect(eventLimit(undefined)).toBe(10);
    expect(eventLimit(0)).toBe(10);
    expect(eventLimit(-7)).toBe(10);
    expect(eventLimit(25)).toBe(25);
    expect(eventLimit(1000)).toBe(1000);
    expect(eventLimit(1001)).toBe(1000);
  });

  // Other spellings are refused by the route schema, which lists these: see event-pages.test.ts.
  it('sort_asc accepts the Go boolean spellings only', () => {
    const ascending = (sort_asc?: string) => parseEventPageRequest({ sort_asc }, 'order_ids').ascending;
    for (const yes of ['true', 'TRUE', 'True', 't', 'T', '1']) expect(ascending(yes)).toBe(true);
    for (const no of ['false', 'FALSE', 'False', 'f', 'F', '0', '', undefined]) expect(ascending(no)).toBe(false);
    expect([...SORT_ASC_SPELLINGS.ascending, ...SORT_ASC_SPELLINGS.descending].sort()).toEqual(
      ['', '0', '1', 'F', 'FALSE', 'False', 'T', 'TRUE', 'True', 'f', 'false', 't', 'true'].sort(),
    );
  });

  it('lists are repeatable and comma-split, blanks dropped', () => {
    expect(splitList(undefined)).toEqual([]);
    expect(splitList('a,b')).toEqual(['a', 'b']);
    expect(splitList(['a,b', 'c', ' ', 'd,,'])).toEqual(['a', 'b', 'c', 'd']);
  });

  it('parseEventPageRequest validates times and reads the ids parameter of its log', () => {
    expect(
      parseEventPageRequest(
        { dispute_ids: 'd1,d2', order_ids: 'o1', time_from: '2025-01-01T00:00:00.5+02:00' },
        'dispute_ids',
      ),
    ).toMatchObject({
      aggregateIds: ['d1', 'd2'],
      timeFrom: '2025-01-01T00:00:00.5+02:00',
      limit: 10,
      ascending: false,
      cursor: null,
    });
    expect(() => parseEventPageRequest({ time_to: '2025-01-01' }, 'order_ids')).toThrow(/time_to/);
    expect(() => parseEventPageRequest({ time_from: '2025-13-45T00:00:00Z' }, 'order_ids')).toThrow(/time_from/);
  });

  it('toEventPage: limit+1 rows mean has_more and a cursor of the last returned item', () => {
    const items = [1, 2, 3].map((n) => ({ event_id: `e${n}`, created_at: `2025-01-0${n}T00:00:00.00000${n}Z` }));
    const rows = items.map((item) => ({ ...item, in_page: true }));
    const page = toEventPage(rows, 2);
    expect(page.items).toEqual(items.slice(0, 2));
    expect(page.has_more).toBe(true);
    expect(decodeCursor(page.next_cursor)).toEqual({ event_id: 'e2', created_at: '2025-01-02T00:00:00.000002Z' });
    expect(toEventPage(rows, 3)).toEqual({ items, has_more: false, next_cursor: '' });
    expect(toEventPage([], 10)).toEqual({ items: [], has_more: false, next_cursor: '' });
  });

  it('toEventPage: a row past the byte budget ends the page early; the cursor continues after the last kept row', () => {
    const rows = [1, 2, 3].map((n) => ({
      event_id: `e${n}`,
      created_at: `2025-01-0${n}T00:00:00Z`,
      in_page: n < 3,
    }));
    const page = toEventPage(rows, 10);
    expect(page.items.map((i) => i.event_id)).toEqual(['e1', 'e2']);
    expect(page.has_more).toBe(true);
    expect(decodeCursor(page.next_cursor).event_id).toBe('e2');
  });
});
