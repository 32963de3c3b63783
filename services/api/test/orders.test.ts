/** Order reads and manual operations without the provider (docs/api.md#limit-and-offset, docs/api.md#endpoints, docs/domain.md#holds, docs/domain.md#capture checks before the call). */
import { randomUUID } from 'node:crypto';
import { errorBody, validationBody } from '@payment-manager/testkit/errors';
import { describeWith } from '@payment-manager/testkit/services';
import { nextOrderWebhook, orderWebhook, uniqueId } from '@payment-manager/testkit/webhooks';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIST_LIMIT } from '../src/domain/list-page.ts';
import { useTestApi } from './support/app.ts';
import { call, query } from './support/http.ts';

describeWith(['postgres'], 'orders', () => {
  const api = useTestApi();
  const get = (url: string) => call(api.app, 'GET', url);

  async function createOrder(overrides: Parameters<typeof orderWebhook>[0] = {}) {
    const webhook = orderWebhook(overrides);
    expect((await call(api.app, 'POST', '/webhooks/payments/orders', webhook)).status).toBe(202);
    return webhook;
  }

  async function eventKinds(orderId: string): Promise<string[]> {
    const { rows } = await api.pool.query<{ kind: string }>(
      'SELECT kind FROM order_events WHERE order_id = $1 ORDER BY created_at, id',
      [orderId],
    );
    return rows.map((r) => r.kind);
  }

  describe('GET /orders (docs/api.md#limit-and-offset)', () => {
    const user = randomUUID();
    const p = uniqueId('list');
    const id = (suffix: string) => `${p}-${suffix}`;

    beforeAll(async () => {
      // b and c share created_at (tie broken by order_id); c and e share updated_at; e has a non-domain status (docs/domain.md#orders).
      await api.pool.query(
        `INSERT INTO orders (id, user_id, status, on_hold, hold_reason, created_at, updated_at, shard_key)
         SELECT id, $2, status, on_hold, hold_reason, created_at, updated_at, order_shard_key(id) FROM (VALUES
         ($1 || '-a', 'created', FALSE, NULL, '2025-01-01 10:00:00'::timestamp, '2025-01-05 00:00:00'::timestamp),
         ($1 || '-b', 'updated', FALSE, NULL, '2025-01-02 10:00:00.123456', '2025-01-03 00:00:00'),
         ($1 || '-c', 'success', FALSE, NULL, '2025-01-02 10:00:00.123456', '2025-01-04 00:00:00'),
         ($1 || '-d', 'failed', FALSE, NULL, '2025-01-03 10:00:00', '2025-01-03 12:00:00'),
         ($1 || '-e', 'completed', TRUE, 'risk', '2025-01-04 10:00:00', '2025-01-04 00:00:00'))
         AS o(id, status, on_hold, hold_reason, created_at, updated_at)`,
        [p, user],
      );
    });

    const listed = async (params: Record<string, string | number | undefined>) => {
      const answer = await get(`/orders${query({ user_id: user, ...params })}`);
      expect(answer.status, answer.text).toBe(200);
      return (answer.json as Array<{ order_id: string }>).map((o) => o.order_id);
    };

    it('without parameters returns a plain array of at most the default page (docs/api.md#limit-and-offset)', async () => {
      const answer = await get('/orders');
      expect(answer.status).toBe(200);
      expect(Array.isArray(answer.json)).toBe(true);
      const { rows } = await api.pool.query('SELECT count(*)::int AS n FROM orders');
      expect(answer.json).toHaveLength(Math.min(rows[0].n, DEFAULT_LIST_LIMIT));
    });

    it('defaults to created_at descending with ties broken by order_id ascending', async () => {
      expect(await listed({})).toEqual([id('e'), id('d'), id('b'), id('c'), id('a')]);
      expect(await listed({ sort_order: 'asc' })).toEqual([id('a'), id('b'), id('c'), id('d'), id('e')]);
      expect(await listed({ sort_by: 'updated_at' })).toEqual([id('a'), id('c'), id('e'), id('d'), id('b')]);
      expect(await listed({ sort_by: 'updated_at', sort_order: 'asc' })).toEqual([
        id('b'),
        id('d'),
        id('c'),
        id('e'),
        id('a'),
      ]);
    });

    it('filters by a comma-separated status list and by user_id in any case', async () => {
      expect(await listed({ status: 'created,updated' })).toEqual([id('b'), id('a')]);
      expect(await listed({ status: 'failed' })).toEqual([id('d')]);
      expect(await listed({ user_id: user.toUpperCase(), status: 'success' })).toEqual([id('c')]);
    });

    it('pages with limit (1–200) and a row offset (docs/api.md#limit-and-offset)', async () => {
      expect(await listed({ limit: 2 })).toEqual([id('e'), id('d')]);
      expect(await listed({ limit: 2, offset: 2 })).toEqual([id('b'), id('c')]);
      expect(await listed({ offset: 4 })).toEqual([id('a')]);
      expect(await listed({ limit: 200, offset: 10 })).toEqual([]);
      expect(await listed({ limit: 1 })).toEqual([id('e')]);
    });

    it('answers an empty array, not null, when nothing matches (docs/api.md#conventions)', async () => {
      const answer = await get(`/orders?user_id=${randomUUID()}`);
      expect(answer.status).toBe(200);
      expect(answer.json).toEqual([]);
    });

    it('returns stored non-domain statuses verbatim, omits unset optionals, timestamps in UTC with Z (docs/domain.md#orders)', async () => {
      const answer = await get(`/orders?user_id=${user}`);
      const e = answer.json.find((o: { order_id: string }) => o.order_id === id('e'));
      expect(e).toEqual({
        order_id: id('e'),
        user_id: user,
        status: 'completed',
        on_hold: true,
        hold_reason: 'risk',
        created_at: '2025-01-04T10:00:00Z',
        updated_at: '2025-01-04T00:00:00Z',
      });
      const b = answer.json.find((o: { order_id: string }) => o.order_id === id('b'));
      expect(b).not.toHaveProperty('hold_reason');
      expect(b.created_at).toBe('2025-01-02T10:00:00.123456Z');
      for (const order of answer.json) {
        expect(order.created_at).toMatch(/Z$/);
        expect(order.updated_at).toMatch(/Z$/);
      }
      expect((await get(`/orders/${id('e')}`)).json.status).toBe('completed');
    });

    it.each([
      ['status=pending', /status/],
      ['status=created,bogus', /status/],
      ['user_id=not-a-uuid', /user_id/],
      ['limit=0', /limit/],
      ['limit=201', /limit/],
      ['limit=ten', /limit/],
      ['limit=1.5', /limit/],
      ['offset=-1', /offset/],
      ['offset=x', /offset/],
      ['sort_by=id', /sort_by/],
      ['sort_order=up', /sort_order/],
    ])('%s → 400 in the one error shape, naming the parameter', async (params, mentions) => {
      const answer = await get(`/orders?${params}`);
      expect(answer.status).toBe(400);
      expect(answer.json).toEqual(validationBody(/^invalid request: query\./));
      expect(answer.json.error).toBe(answer.json.message);
      expect(answer.json.message).toMatch(mentions);
    });
  });

  describe('GET /orders/{order_id} (docs/api.md#endpoints)', () => {
    it('unknown → 404 {"code":"not_found","message":"order not found"}', async () => {
      const answer = await get(`/orders/${uniqueId('nope')}`);
      expect(answer.status).toBe(404);
      expect(answer.json).toEqual(errorBody('not_found', 'order not found'));
    });

    it('/orders/events wins over /orders/{order_id}', async () => {
      const answer = await get('/orders/events?order_ids=none');
      expect(answer.status).toBe(200);
      expect(answer.json).toEqual({ items: [], next_cursor: '', has_more: false });
    });
  });

  describe('POST /orders/{order_id}/hold (docs/domain.md#holds)', () => {
    const hold = (orderId: string, body: unknown) => call(api.app, 'POST', `/orders/${orderId}/hold`, body);

    it('set, replace the reason, clear: state, response, updated_at = now() and events in one transaction', async () => {
      const webhook = await createOrder();
      const before = Date.now();
      const set = await hold(webhook.order_id, { action: 'set', reason: 'manual_review' });
      expect(set.status).toBe(200);
      expect(set.json).toEqual({
        order_id: webhook.order_id,
        on_hold: true,
        reason: 'manual_review',
        updated_at: expect.stringMatching(/Z$/),
      });
      expect(Date.parse(set.json.updated_at)).toBeGreaterThanOrEqual(before - 5_000);

      const replaced = await hold(webhook.order_id, { action: 'set', reason: 'risk' });
      expect(replaced.json).toMatchObject({ on_hold: true, reason: 'risk' });

      const cleared = await hold(webhook.order_id, { action: 'clear', reason: 'risk' });
      expect(cleared.status).toBe(200);
      expect(cleared.json).not.toHaveProperty('reason');
      expect(cleared.json.on_hold).toBe(false);
      const order = (await get(`/orders/${webhook.order_id}`)).json;
      expect(order).toMatchObject({ on_hold: false, status: 'created' });
      expect(order).not.toHaveProperty('hold_reason');

      const { rows } = await api.pool.query(
        `SELECT kind, data, provider_event_id FROM order_events WHERE order_id = $1 AND kind <> 'webhook_received'
         ORDER BY created_at, id`,
        [webhook.order_id],
      );
      expect(rows.map((r) => [r.kind, r.data])).toEqual([
        ['hold_set', { action: 'set', reason: 'manual_review' }],
        ['hold_set', { action: 'set', reason: 'risk' }],
        ['hold_cleared', { action: 'clear', reason: 'risk' }],
      ]);
      for (const row of rows) expect(row.provider_event_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-/);
    });

    it('is allowed in final statuses and does not block webhooks', async () => {
      const webhook = await createOrder();
      await call(api.app, 'POST', '/webhooks/payments/orders', nextOrderWebhook(webhook, { status: 'failed' }));
      expect((await hold(webhook.order_id, { action: 'set', reason: 'risk' })).status).toBe(200);

      const held = await createOrder();
      await hold(held.order_id, { action: 'set', reason: 'risk' });
      const answer = await call(
        api.app,
        'POST',
        '/webhooks/payments/orders',
        nextOrderWebhook(held, { status: 'success' }),
      );
      expect(answer.status).toBe(202);
      expect((await get(`/orders/${held.order_id}`)).json).toMatchObject({ status: 'success', on_hold: true });
    });

    it('unknown order → 404 {"error","message"} and no event', async () => {
      const orderId = uniqueId('nope');
      const answer = await hold(orderId, { action: 'set', reason: 'risk' });
      expect(answer.status).toBe(404);
      expect(answer.json).toEqual(errorBody('not_found', 'order not found'));
      const { rows } = await api.pool.query('SELECT count(*)::int AS n FROM order_events WHERE order_id = $1', [
        orderId,
      ]);
      expect(rows[0].n).toBe(0);
    });

    it('set without reason → 400 saying a reason is required for set (checked before existence)', async () => {
      const answer = await hold(uniqueId('nope'), { action: 'set' });
      expect(answer.status).toBe(400);
      expect(answer.json).toEqual(
        validationBody('invalid request: body.reason is required when action is set', 'reason'),
      );
      expect(answer.json.problems).toEqual([
        { in: 'body', field: 'reason', message: 'is required when action is set', allowed: ['manual_review', 'risk'] },
      ]);
    });

    it.each([
      ['no action', {}],
      ['unknown action', { action: 'pause' }],
      ['unknown reason', { action: 'set', reason: 'fraud' }],
      ['unknown reason with clear', { action: 'clear', reason: 'bogus' }],
      ['ill-typed action', { action: 1 }],
      ['array body', [{ action: 'set' }]],
    ])('%s → 400 validation error in the one error shape', async (_name, body) => {
      const webhook = await createOrder();
      const answer = await hold(webhook.order_id, body);
      expect(answer.status).toBe(400);
      expect(answer.json).toEqual(validationBody(/^invalid request: body/));
      expect(await eventKinds(webhook.order_id)).toEqual(['webhook_received']);
      expect((await get(`/orders/${webhook.order_id}`)).json.on_hold).toBe(false);
    });
  });

  describe('POST /orders/{order_id}/capture: checks before the provider (docs/domain.md#capture)', () => {
    const capture = (orderId: string, body: unknown) => call(api.app, 'POST', `/orders/${orderId}/capture`, body);
    const valid = { amount: 100.5, currency: 'USD', idempotency_key: 'k-1' };

    it.each([
      ['amount 0', { ...valid, amount: 0 }],
      ['amount 0.5', { ...valid, amount: 0.5 }],
      ['amount missing', { currency: 'USD', idempotency_key: 'k' }],
      ['amount as a string', { ...valid, amount: '10' }],
      ['currency of 2 characters', { ...valid, currency: 'US' }],
      ['currency missing', { amount: 10, idempotency_key: 'k' }],
      ['empty idempotency_key', { ...valid, idempotency_key: '' }],
      ['idempotency_key of 256 characters', { ...valid, idempotency_key: 'k'.repeat(256) }],
    ])('%s → 400 validation error in the one error shape', async (_name, body) => {
      const answer = await capture(uniqueId('nope'), body);
      expect(answer.status).toBe(400);
      expect(answer.json).toEqual(validationBody(/^invalid request: body/));
    });

    it('every problem of a capture body is reported at once', async () => {
      const answer = await capture(uniqueId('nope'), {});
      expect(answer.status).toBe(400);
      expect(answer.json).toEqual(validationBody(/^invalid request: /, 'amount', 'currency', 'idempotency_key'));
      expect(answer.json.message).toBe(
        'invalid request: body.amount is required; body.currency is required; body.idempotency_key is required',
      );
    });

    it('a wrong currency says what is accepted without listing every ISO 4217 code', async () => {
      const answer = await capture(uniqueId('nope'), { ...valid, currency: 'XYZ', amount: 0 });
      expect(answer.json.problems).toEqual([
        { in: 'body', field: 'amount', message: 'must be >= 1' },
        { in: 'body', field: 'currency', message: 'must be an ISO 4217 code, e.g. USD' },
      ]);
    });

    it('unknown order → 404 in the one error shape', async () => {
      const answer = await capture(uniqueId('nope'), valid);
      expect(answer.status).toBe(404);
      expect(answer.json).toEqual(errorBody('not_found', 'order not found'));
    });

    it('on hold → 409 "order is on hold" (before the final-status check); final → 409 "order is in final status"', async () => {
      const held = await createOrder();
      await call(api.app, 'POST', `/orders/${held.order_id}/hold`, { action: 'set', reason: 'risk' });
      await call(api.app, 'POST', '/webhooks/payments/orders', nextOrderWebhook(held, { status: 'success' }));
      const onHold = await capture(held.order_id, valid);
      expect(onHold.status).toBe(409);
      expect(onHold.json).toEqual(
        errorBody('conflict', 'order is on hold: clear the hold before capturing', { from: 'success' }),
      );

      for (const status of ['success', 'failed']) {
        const order = await createOrder();
        await call(api.app, 'POST', '/webhooks/payments/orders', nextOrderWebhook(order, { status }));
        const final = await capture(order.order_id, valid);
        expect(final.status).toBe(409);
        expect(final.json).toEqual(
          errorBody('conflict', `order is in final status ${status}: it can no longer be captured`, { from: status }),
        );
        expect(await eventKinds(order.order_id)).toEqual(['webhook_received', 'webhook_received']);
      }
    });
  });
});
