/**
 * The end-to-end scenarios, written once against a small driver so the same scenarios run in
 * `sync` mode (the API alone, see sync-driver.ts) and in `http`/`kafka` mode through ingest (pipeline suites):
 *
 *   const driver = createFetchDriver({ webhooksBaseUrl: ingestUrl, apiBaseUrl: apiUrl, database: pool });
 *   for (const scenario of scenarios) it(scenario.name, () => scenario.run(driver));
 *
 * Scenarios flagged `provider` call WireMock (capture, representment) through the API's provider client.
 *
 * Rules that keep them mode-independent:
 *  - webhooks are accepted with any of 200/201/202 (sync answers 202 at once, ingest after publishing);
 *  - every effect a later step depends on is awaited with `driver.settle` (polling with a deadline, never a
 *    fixed sleep), because in the asynchronous modes a webhook is applied after the answer;
 *  - every id is unique per run (or prefixed, for the fixture), so scenarios may share a database, WireMock and
 *    broker with other tests running in parallel.
 */
import { randomUUID } from 'node:crypto';
import { errorBody } from '@payment-manager/testkit/errors';
import { chargebackWebhook, nextOrderWebhook, orderWebhook, uniqueId } from '@payment-manager/testkit/webhooks';
import type pg from 'pg';
import { expect } from 'vitest';
import type { HttpResult, Json } from '../support/http.ts';
import { type FixtureIds, loadDisputeEventsFixture } from './dispute-events-fixture.ts';

export type { HttpResult };

export interface ScenarioDriver {
  sendOrderWebhook(body: unknown): Promise<HttpResult>;
  sendChargebackWebhook(body: unknown): Promise<HttpResult>;
  /** A request to the API (reads and manual operations). */
  request(method: string, url: string, body?: unknown): Promise<HttpResult>;
  /** Retries `probe` (containing expects) until it passes or a deadline expires; resolves with its value. */
  settle<T>(probe: () => Promise<T>): Promise<T>;
  /** The API's database, for fixtures the Go suite also loaded as SQL. */
  database: pg.Pool;
}

export interface Scenario {
  /** Number of the scenario in this catalogue. */
  id: number;
  name: string;
  /** Needs WireMock (provider calls). */
  provider?: boolean;
  run(driver: ScenarioDriver): Promise<void>;
}

const ACCEPTED = [200, 201, 202];

async function accepted(result: Promise<HttpResult>): Promise<HttpResult> {
  const answer = await result;
  expect(ACCEPTED, `webhook answered ${answer.status} ${answer.text}`).toContain(answer.status);
  return answer;
}

async function ok(driver: ScenarioDriver, method: string, url: string, body?: unknown, status = 200): Promise<Json> {
  const answer = await driver.request(method, url, body);
  expect(answer.status, `${method} ${url} answered ${answer.status} ${answer.text}`).toBe(status);
  return answer.json;
}

const enc = encodeURIComponent;

/** Waits until the order exists (and, when given, has `status`). */
export function orderSettled(driver: ScenarioDriver, orderId: string, status?: string): Promise<Json> {
  return driver.settle(async () => {
    const order = await ok(driver, 'GET', `/orders/${enc(orderId)}`);
    if (status) expect(order.status).toBe(status);
    return order;
  });
}

/** Finds the dispute of an order the way the Go suite did: scanning `GET /disputes`. */
export function disputeSettled(driver: ScenarioDriver, orderId: string, status?: string): Promise<Json> {
  return driver.settle(async () => {
    // The largest page (docs/api.md#limit-and-offset): a scenario database holds far fewer disputes.
    const disputes: Json[] = await ok(driver, 'GET', '/disputes?limit=200');
    const dispute = disputes.find((d) => d.order_id === orderId);
    expect(dispute, `no dispute for ${orderId} yet`).toBeDefined();
    if (status) expect(dispute.status).toBe(status);
    return dispute;
  });
}

export async function createOrder(driver: ScenarioDriver, overrides: Parameters<typeof orderWebhook>[0] = {}) {
  const webhook = orderWebhook(overrides);
  await accepted(driver.sendOrderWebhook(webhook));
  await orderSettled(driver, webhook.order_id, 'created');
  return webhook;
}

export async function openDispute(
  driver: ScenarioDriver,
  orderId: string,
  overrides: Parameters<typeof chargebackWebhook>[1] = {},
) {
  await accepted(driver.sendChargebackWebhook(chargebackWebhook(orderId, overrides)));
  return disputeSettled(driver, orderId, 'open');
}

async function orderEvents(driver: ScenarioDriver, params: string): Promise<Json> {
  return ok(driver, 'GET', `/orders/events?${params}`);
}

async function disputeEvents(driver: ScenarioDriver, params: string): Promise<Json> {
  return ok(driver, 'GET', `/disputes/events?${params}`);
}

const times = (items: Array<{ created_at: string }>) => items.map((item) => Date.parse(item.created_at));

function expectMonotonic(items: Array<{ created_at: string }>, ascending: boolean) {
  const values = times(items);
  for (let i = 1; i < values.length; i++) {
    if (ascending) expect(values[i]).toBeGreaterThanOrEqual(values[i - 1] as number);
    else expect(values[i]).toBeLessThanOrEqual(values[i - 1] as number);
  }
}

/** Follows next_cursor until has_more is false; returns the pages. */
async function allPages(read: (cursor: string | null) => Promise<Json>, maxPages = 50): Promise<Json[]> {
  const pages: Json[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < maxPages; i++) {
    const page = await read(cursor);
    pages.push(page);
    if (!page.has_more) return pages;
    expect(page.next_cursor).not.toBe('');
    cursor = page.next_cursor;
  }
  throw new Error(`pagination did not end within ${maxPages} pages`);
}

function disputeIdsParam(ids: FixtureIds, numbers: number[]): string {
  return numbers.map((n) => `dispute_ids=${enc(ids.dispute(n))}`).join('&');
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

export const scenarios: readonly Scenario[] = [
  {
    id: 1,
    name: 'dispute events pagination over the 50/15/103 fixture',
    async run(driver) {
      const ids = await loadDisputeEventsFixture(driver.database, `s1-${randomUUID().slice(0, 8)}-`);

      // basic flow: 7 disputes, 50 events, pages of 20/20/10 ascending
      const seven = disputeIdsParam(ids, range(1, 7));
      const pages = await allPages((cursor) =>
        disputeEvents(driver, `${seven}&limit=20&sort_asc=true${cursor ? `&cursor=${enc(cursor)}` : ''}`),
      );
      expect(pages.map((p) => p.items.length)).toEqual([20, 20, 10]);
      expect(pages.map((p) => p.has_more)).toEqual([true, true, false]);
      expect(pages[0].next_cursor).not.toBe(pages[1].next_cursor);
      expect(pages[2].next_cursor).toBe('');
      const items = pages.flatMap((p) => p.items);
      expect(new Set(items.map((i: Json) => i.event_id)).size).toBe(50);
      expectMonotonic(items, true);

      // ordering: dispute_001 both directions
      const one = disputeIdsParam(ids, [1]);
      const asc = await disputeEvents(driver, `${one}&sort_asc=true&limit=20`);
      const desc = await disputeEvents(driver, `${one}&sort_asc=false&limit=20`);
      expectMonotonic(asc.items, true);
      expectMonotonic(desc.items, false);
      expect(desc.items.map((i: Json) => i.event_id)).toEqual([...asc.items.map((i: Json) => i.event_id)].reverse());

      // single page
      expect(asc.items).toHaveLength(7);
      expect(asc.has_more).toBe(false);
      expect(asc.next_cursor).toBe('');
      expect(asc.items.every((i: Json) => i.dispute_id === ids.dispute(1))).toBe(true);

      // small limit: 001+002, limit 5 → exactly 3 pages, 14 events
      const two = disputeIdsParam(ids, [1, 2]);
      const smallPages = await allPages((cursor) =>
        disputeEvents(driver, `${two}&limit=5${cursor ? `&cursor=${enc(cursor)}` : ''}`),
      );
      expect(smallPages).toHaveLength(3);
      const smallItems = smallPages.flatMap((p) => p.items);
      expect(smallItems).toHaveLength(14);
      expect(new Set(smallItems.map((i: Json) => i.event_id)).size).toBe(14);
      expectMonotonic(smallItems, false);

      // empty
      const empty = await disputeEvents(driver, `dispute_ids=${enc(ids.dispute(999))}`);
      expect(empty).toEqual({ items: [], next_cursor: '', has_more: false });

      // kind filter: 011–015 evidence_added → 14
      const kinds = await disputeEvents(driver, `${disputeIdsParam(ids, range(11, 15))}&kinds=evidence_added&limit=20`);
      expect(kinds.items).toHaveLength(14);
      expect(kinds.has_more).toBe(false);
      expect(kinds.items.every((i: Json) => i.kind === 'evidence_added')).toBe(true);
    },
  },
  {
    id: 2,
    name: 'chargeback flow: opened → open dispute, closed with resolution won → won',
    async run(driver) {
      const order = await createOrder(driver, { user_id: '44444444-4444-4444-4444-444444444444' });
      const dispute = await openDispute(driver, order.order_id, {
        reason: 'fraud',
        amount: 100.5,
        currency: 'USD',
        meta: {},
      });
      expect(dispute).toMatchObject({ order_id: order.order_id, reason: 'fraud', amount: 100.5, currency: 'USD' });
      expect(dispute.closed_at).toBeUndefined();

      await accepted(
        driver.sendChargebackWebhook(
          chargebackWebhook(order.order_id, {
            status: 'closed',
            occurred_at: '2025-03-20T16:45:00Z',
            meta: { resolution: 'won' },
            transaction_id: 'txn-unknown-field',
          }),
        ),
      );
      const closed = await disputeSettled(driver, order.order_id, 'won');
      expect(closed.closed_at).toBe('2025-03-20T16:45:00Z');
      expect(closed.dispute_id).toBe(dispute.dispute_id);
    },
  },
  {
    id: 3,
    name: 'create orders: two created webhooks → listed, one webhook_received event each',
    async run(driver) {
      const first = orderWebhook({ meta: { amount: '10.00', currency: 'USD' } });
      const second = orderWebhook({ meta: { amount: '20.00', currency: 'EUR' } });
      await accepted(driver.sendOrderWebhook(first));
      await accepted(driver.sendOrderWebhook(second));
      await driver.settle(async () => {
        const orders: Json[] = await ok(driver, 'GET', '/orders?limit=200');
        expect(orders.length).toBeGreaterThanOrEqual(2);
        const mine = orders.filter((o) => o.order_id === first.order_id || o.order_id === second.order_id);
        expect(mine).toHaveLength(2);
      });
      const events = await orderEvents(
        driver,
        `order_ids=${enc(first.order_id)},${enc(second.order_id)}&kinds=webhook_received`,
      );
      expect(events.items).toHaveLength(2);
      expect(events.items.map((e: Json) => e.data.meta.amount).sort()).toEqual(['10.00', '20.00']);
    },
  },
  {
    id: 4,
    name: 'update order: created then updated (created_at an hour earlier) → updated',
    async run(driver) {
      const created = await createOrder(driver, {
        created_at: '2025-03-04T10:00:00Z',
        updated_at: '2025-03-04T10:00:00Z',
      });
      await accepted(
        driver.sendOrderWebhook(
          nextOrderWebhook(created, {
            status: 'updated',
            created_at: '2025-03-04T09:00:00Z',
            updated_at: '2025-03-04T10:30:00Z',
          }),
        ),
      );
      const order = await orderSettled(driver, created.order_id, 'updated');
      expect(order.created_at).toBe('2025-03-04T10:00:00Z');
      expect(order.updated_at).toBe('2025-03-04T10:30:00Z');
    },
  },
  {
    id: 5,
    name: 'evidence addition: open dispute → evidence → under_review, evidence readable, event stored',
    async run(driver) {
      const order = await createOrder(driver);
      const dispute = await openDispute(driver, order.order_id, {
        reason: 'unauthorized',
        amount: 250.75,
        currency: 'USD',
      });
      const evidence = {
        fields: { delivery_note: 'left at reception', invoice_ref: 'INV-7781', tracking: 'TRK-1' },
        files: [
          { file_id: 'f-901', name: 'invoice.pdf', content_type: 'application/pdf', size: 48213 },
          { file_id: 'f-902', name: 'photo.jpg', content_type: 'image/jpeg', size: 1024 },
        ],
      };
      const saved = await ok(driver, 'POST', `/disputes/${enc(dispute.dispute_id)}/evidence`, evidence);
      expect(saved.dispute_id).toBe(dispute.dispute_id);
      expect(saved.fields.invoice_ref).toBe('INV-7781');
      expect(saved.files).toEqual(evidence.files);

      const reviewed = await ok(driver, 'GET', `/disputes/${enc(dispute.dispute_id)}`);
      expect(reviewed.status).toBe('under_review');
      const read = await ok(driver, 'GET', `/disputes/${enc(dispute.dispute_id)}/evidence`);
      expect(read).toEqual(saved);
      const events = await disputeEvents(driver, `dispute_ids=${enc(dispute.dispute_id)}&kinds=evidence_added`);
      expect(events.items).toHaveLength(1);
    },
  },
  {
    id: 6,
    name: 'submit dispute: evidence with one file → submit 202 → submitted with sg-subm-1',
    provider: true,
    async run(driver) {
      const order = await createOrder(driver);
      const dispute = await openDispute(driver, order.order_id);
      const path = `/disputes/${enc(dispute.dispute_id)}`;
      await ok(driver, 'POST', `${path}/evidence`, {
        fields: { note: 'signed delivery' },
        files: [{ file_id: 'f-1', name: 'pod.pdf', content_type: 'application/pdf', size: 10 }],
      });
      expect((await ok(driver, 'GET', path)).status).toBe('under_review');

      const accepted202 = await ok(driver, 'POST', `${path}/submit`, undefined, 202);
      expect(accepted202).toMatchObject({
        dispute_id: dispute.dispute_id,
        submission_id: 'sg-subm-1',
        status: 'submitted',
      });

      const submitted = await ok(driver, 'GET', path);
      expect(submitted.status).toBe('submitted');
      expect(submitted.submitting_id).toBe('sg-subm-1');
      expect(submitted.submitted_at).toMatch(/Z$/);
      const events = await disputeEvents(driver, `dispute_ids=${enc(dispute.dispute_id)}&kinds=evidence_submitted`);
      expect(events.items).toHaveLength(1);
      expect(events.items[0].provider_event_id).toBe('sg-subm-1');
    },
  },
  {
    id: 7,
    name: 'order hold: set manual_review, clear, set risk → four events',
    async run(driver) {
      const webhook = await createOrder(driver);
      const path = `/orders/${enc(webhook.order_id)}`;
      const fresh = await ok(driver, 'GET', path);
      expect(fresh).toMatchObject({ status: 'created', on_hold: false });
      expect(fresh.hold_reason).toBeUndefined();

      const set = await ok(driver, 'POST', `${path}/hold`, { action: 'set', reason: 'manual_review' });
      expect(set).toMatchObject({ order_id: webhook.order_id, on_hold: true, reason: 'manual_review' });
      expect(await ok(driver, 'GET', path)).toMatchObject({ on_hold: true, hold_reason: 'manual_review' });

      const cleared = await ok(driver, 'POST', `${path}/hold`, { action: 'clear' });
      expect(cleared).toMatchObject({ order_id: webhook.order_id, on_hold: false });
      expect(cleared.reason).toBeUndefined();
      const afterClear = await ok(driver, 'GET', path);
      expect(afterClear.on_hold).toBe(false);
      expect(afterClear.hold_reason).toBeUndefined();

      await ok(driver, 'POST', `${path}/hold`, { action: 'set', reason: 'risk' });
      expect(await ok(driver, 'GET', path)).toMatchObject({ on_hold: true, hold_reason: 'risk' });

      const events = await orderEvents(driver, `order_ids=${enc(webhook.order_id)}&sort_asc=true`);
      expect(events.items.map((e: Json) => e.kind)).toEqual([
        'webhook_received',
        'hold_set',
        'hold_cleared',
        'hold_set',
      ]);
    },
  },
  {
    id: 8,
    name: 'order capture: success with txn-capture-123 and two events; held order → 409',
    provider: true,
    async run(driver) {
      const webhook = await createOrder(driver);
      const captured = await ok(driver, 'POST', `/orders/${enc(webhook.order_id)}/capture`, {
        amount: 100.5,
        currency: 'USD',
        idempotency_key: 'capture-test-key-1',
      });
      expect(captured).toMatchObject({
        order_id: webhook.order_id,
        amount: 100.5,
        currency: 'USD',
        status: 'success',
        provider_tx_id: 'txn-capture-123',
      });
      expect(Date.parse(captured.captured_at)).toBeGreaterThan(0);
      const events = await orderEvents(driver, `order_ids=${enc(webhook.order_id)}&sort_asc=true`);
      expect(events.items.map((e: Json) => e.kind)).toEqual([
        'webhook_received',
        'capture_requested',
        'capture_completed',
      ]);

      const held = await createOrder(driver);
      await ok(driver, 'POST', `/orders/${enc(held.order_id)}/hold`, { action: 'set', reason: 'risk' });
      const refused = await driver.request('POST', `/orders/${enc(held.order_id)}/capture`, {
        amount: 100.5,
        currency: 'USD',
        idempotency_key: 'capture-test-key-2',
      });
      expect(refused.status).toBe(409);
      expect(refused.json).toEqual(
        errorBody('conflict', 'order is on hold: clear the hold before capturing', { from: 'created' }),
      );
    },
  },
  {
    id: 9,
    name: 'order events: kind filter and cursor pages over three held orders; monotonic listings',
    async run(driver) {
      const orders = [];
      for (let i = 0; i < 3; i++) {
        const webhook = await createOrder(driver);
        const path = `/orders/${enc(webhook.order_id)}/hold`;
        await ok(driver, 'POST', path, { action: 'set', reason: 'risk' });
        await ok(driver, 'POST', path, { action: 'clear' });
        orders.push(webhook.order_id);
      }
      const ids = `order_ids=${orders.map(enc).join(',')}`;
      const holdSets = await orderEvents(driver, `${ids}&kinds=hold_set`);
      expect(holdSets.items).toHaveLength(3);
      expect(holdSets.items.every((e: Json) => e.kind === 'hold_set')).toBe(true);

      const first = await orderEvents(driver, `${ids}&limit=5`);
      expect(first.items).toHaveLength(5);
      expect(first.has_more).toBe(true);
      expect(first.next_cursor).not.toBe('');
      const second = await orderEvents(driver, `${ids}&limit=5&cursor=${enc(first.next_cursor)}`);
      expect(second.items).toHaveLength(4);
      expect(second.has_more).toBe(false);
      expect(second.next_cursor).toBe('');
      const all = [...first.items, ...second.items].map((e: Json) => e.event_id);
      expect(new Set(all).size).toBe(9);

      // (b) one order with created / set / clear, listed both ways
      const single = await createOrder(driver, { order_id: uniqueId('ord-9b') });
      const path = `/orders/${enc(single.order_id)}/hold`;
      await ok(driver, 'POST', path, { action: 'set', reason: 'risk' });
      await ok(driver, 'POST', path, { action: 'clear' });
      const ascending = await orderEvents(driver, `order_ids=${enc(single.order_id)}&sort_asc=true`);
      const descending = await orderEvents(driver, `order_ids=${enc(single.order_id)}&sort_asc=false`);
      expect(ascending.items).toHaveLength(3);
      expectMonotonic(ascending.items, true);
      expectMonotonic(descending.items, false);
      expect(ascending.items.map((e: Json) => e.kind)).toEqual(['webhook_received', 'hold_set', 'hold_cleared']);
    },
  },
];
