/**
 * Bad input is the client's fault (docs/api.md#conventions, docs/domain.md#webhooks, docs/api.md#conventions): always a 4xx with a clear message, never a 500, and
 * nothing stored.
 */

import { errorBody, validationBody } from '@payment-manager/testkit/errors';
import { describeWith } from '@payment-manager/testkit/services';
import { chargebackWebhook, orderWebhook, unstorableWebhooks } from '@payment-manager/testkit/webhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.ts';
import { createTestApp, useTestApi } from './support/app.ts';
import { call } from './support/http.ts';

const ORDERS = '/webhooks/payments/orders';
const CHARGEBACKS = '/webhooks/payments/chargebacks';

type Body = Record<string, unknown>;
const without = (body: Body, key: string) => {
  const copy = { ...body };
  delete copy[key];
  return copy;
};

describeWith(['postgres'], 'bad input', () => {
  const api = useTestApi();

  async function rowCounts() {
    const { rows } = await api.pool.query(
      `SELECT (SELECT count(*) FROM orders)::int AS orders, (SELECT count(*) FROM order_events)::int AS order_events,
              (SELECT count(*) FROM disputes)::int AS disputes, (SELECT count(*) FROM dispute_events)::int AS dispute_events,
              (SELECT count(*) FROM evidence)::int AS evidence`,
    );
    return rows[0];
  }

  /** Sends, expects a 4xx with a non-empty message, and checks that no table changed. */
  async function rejected(path: string, body: unknown, options: Parameters<typeof call>[4] = {}, status = 400) {
    const before = await rowCounts();
    const answer = await call(api.app, 'POST', path, body, options);
    expect(answer.status, answer.text).toBe(status);
    expect(typeof answer.json?.message).toBe('string');
    expect(answer.json.message.length).toBeGreaterThan(0);
    expect(await rowCounts()).toEqual(before);
    return answer;
  }

  describe('order webhook schema (docs/domain.md#order-webhook)', () => {
    const base = orderWebhook() as Body;
    it.each<[string, unknown, string]>([
      ...['provider_event_id', 'order_id', 'user_id', 'status', 'created_at', 'updated_at'].map(
        (field): [string, unknown, string] => [`missing ${field}`, without(base, field), field],
      ),
      ['empty order_id', { ...base, order_id: '' }, 'order_id'],
      ['order_id of 256 characters', { ...base, order_id: 'o'.repeat(256) }, 'order_id'],
      ['empty provider_event_id', { ...base, provider_event_id: '' }, 'provider_event_id'],
      ['numeric order_id', { ...base, order_id: 42 }, 'order_id'],
      ['user_id that is not a UUID', { ...base, user_id: 'user-1' }, 'user_id'],
      ['unknown status', { ...base, status: 'completed' }, 'status'],
      ['status in upper case', { ...base, status: 'CREATED' }, 'status'],
      ['created_at without a zone', { ...base, created_at: '2025-03-04T09:00:00' }, 'created_at'],
      ['created_at as a number', { ...base, created_at: 1741078800 }, 'created_at'],
      ['meta with a number value', { ...base, meta: { amount: 42 } }, 'meta'],
      ['meta with a nested object', { ...base, meta: { nested: { a: 'b' } } }, 'meta'],
      ['meta that is an array', { ...base, meta: ['a'] }, 'meta'],
    ])('%s → 400 naming the field', async (_name, body, field) => {
      const answer = await rejected(ORDERS, body);
      expect(answer.json).toEqual(validationBody(new RegExp(`^invalid request: .*body\\.${field}`), field));
    });
  });

  describe('chargeback webhook schema (docs/domain.md#chargeback-webhook)', () => {
    const base = chargebackWebhook('ord-bad-input') as Body;
    it.each<[string, unknown, string]>([
      ...['provider_event_id', 'order_id', 'status', 'occurred_at'].map((field): [string, unknown, string] => [
        `missing ${field}`,
        without(base, field),
        field,
      ]),
      ['opened without amount', without(base, 'amount'), 'amount'],
      ['opened without currency', without(base, 'currency'), 'currency'],
      ['amount as a string', { ...base, amount: '10' }, 'amount'],
      ['negative amount', { ...base, amount: -1 }, 'amount'],
      ['amount of 100000000', { ...base, amount: 100_000_000 }, 'amount'],
      ['currency of 4 characters', { ...base, currency: 'USDT' }, 'currency'],
      ['unknown status', { ...base, status: 'reopened' }, 'status'],
      ['bad evidence_due_at', { ...base, evidence_due_at: 'tomorrow' }, 'evidence_due_at'],
      ['meta with a boolean value', { ...base, meta: { resolution: true } }, 'meta'],
      ['reason as a number', { ...base, reason: 7 }, 'reason'],
      ['updated with an ill-typed amount', { ...base, status: 'updated', amount: '1' }, 'amount'],
    ])('%s → 400 naming the field', async (_name, body, field) => {
      const answer = await rejected(CHARGEBACKS, body);
      expect(answer.json).toEqual(validationBody(new RegExp(`^invalid request: .*body\\.${field}`), field));
    });
  });

  describe('values PostgreSQL cannot store or compare → 400, not 500', () => {
    const order = orderWebhook();
    beforeAll(async () => {
      expect((await call(api.app, 'POST', ORDERS, order)).status).toBe(202);
    });

    it.each<[string, string, () => unknown]>([
      ['a NUL character in order_id', ORDERS, () => orderWebhook({ order_id: 'a\u0000b' })],
      ['a NUL character in provider_event_id', ORDERS, () => orderWebhook({ provider_event_id: 'a\u0000b' })],
      ['a NUL character in a meta value', ORDERS, () => orderWebhook({ meta: { note: 'x\u0000' } })],
      ['year 0', ORDERS, () => orderWebhook({ created_at: '0000-01-01T00:00:00Z' })],
      ['a NUL character in reason', CHARGEBACKS, () => chargebackWebhook(order.order_id, { reason: 'x\u0000' })],
      [
        'an amount that rounds past DECIMAL(10,2)',
        CHARGEBACKS,
        () => chargebackWebhook(order.order_id, { amount: 99999999.999 }),
      ],
      ['a NUL character (internal endpoint)', '/internal/updates/orders', () => orderWebhook({ order_id: 'a\u0000b' })],
    ])('webhook with %s', async (_name, path, body) => {
      const answer = await rejected(path, body());
      expect(answer.json).toEqual(validationBody());
    });

    it.each(unstorableWebhooks())(
      'the same 400 as ingest (shared schema), no database text: $name',
      async ({ kind, body }) => {
        for (const path of [
          kind === 'order' ? ORDERS : CHARGEBACKS,
          `/internal/updates/${kind === 'order' ? 'orders' : 'disputes'}`,
        ]) {
          const answer = await rejected(path, body);
          expect(answer.json).toEqual(validationBody(/^invalid request: body\./));
        }
      },
    );

    it.each(['/orders?offset=1e20', '/orders?offset=9223372036854775807', '/disputes?offset=1e20'])(
      'GET %s → 400 without bigint overflow text',
      async (url) => {
        const answer = await call(api.app, 'GET', url);
        expect(answer.status).toBe(400);
        expect(answer.text).not.toMatch(/bigint|out of range for type/);
      },
    );

    it.each([
      '/orders/a%00b',
      '/orders/events?order_ids=a%00b',
      '/orders/events?time_from=0000-01-01T00:00:00Z',
      '/disputes?order_id=a%00b',
      '/disputes/a%00b',
      '/disputes/events?dispute_ids=a%00b',
    ])('GET %s', async (url) => {
      const answer = await call(api.app, 'GET', url);
      expect(answer.status).toBe(400);
      expect(answer.json).toEqual(validationBody());
      // PostgreSQL's own wording (e.g. 'invalid byte sequence for encoding "UTF8": 0x00') never reaches the client.
      expect(answer.text).not.toMatch(/UTF8|0x00|encoding|date\/time|out of range for type/);
    });

    it('hold on an order id with a NUL character', async () => {
      const answer = await rejected('/orders/a%00b/hold', { action: 'set', reason: 'risk' });
      expect(answer.json).toEqual(validationBody());
    });

    it('capture with a NUL character is refused before the provider is called', async () => {
      const answer = await rejected(`/orders/${order.order_id}/capture`, {
        amount: 1,
        currency: 'US\u0000',
        idempotency_key: 'k',
      });
      expect(answer.json).toEqual(validationBody(/body\.currency/, 'currency'));
      const key = await rejected(`/orders/${order.order_id}/capture`, {
        amount: 1,
        currency: 'USD',
        idempotency_key: 'k\u0000',
      });
      expect(key.json).toEqual(validationBody(/body\.idempotency_key/, 'idempotency_key'));
    });

    it('evidence with a NUL character in a field value', async () => {
      await api.pool.query(
        `INSERT INTO disputes (id, order_id, status, reason, amount, currency, opened_at, shard_key)
         VALUES ($1, $2, 'open', 'fraud', 1, 'USD', now(), order_shard_key($2::varchar))`,
        [`d-${order.order_id}`, order.order_id],
      );
      await rejected(`/disputes/d-${order.order_id}/evidence`, { fields: { note: 'x\u0000' } });
      expect((await call(api.app, 'GET', `/disputes/d-${order.order_id}`)).json.status).toBe('open');
    });
  });

  describe('bodies that are not a JSON object', () => {
    const cases: Array<[string, string]> = [
      ['malformed JSON', '{"order_id": "a",'],
      ['truncated JSON', '{"order_id'],
      ['an empty body', ''],
      ['whitespace only', '   '],
      ['JSON null', 'null'],
      ['a JSON array', '[]'],
      ['a JSON string', '"hello"'],
      ['a JSON number', '42'],
    ];
    for (const path of [ORDERS, CHARGEBACKS, '/internal/updates/orders', '/internal/updates/disputes']) {
      it.each(cases)(`${path}: %s → 400`, async (_name, raw) => {
        await rejected(path, undefined, { raw });
      });
    }

    it('malformed JSON says so', async () => {
      const answer = await rejected(ORDERS, undefined, { raw: '{"a":' });
      expect(answer.json.message).toMatch(/JSON/);
    });

    it.each(['/orders/x/hold', '/orders/x/capture', '/disputes/x/evidence'])(
      '%s with malformed JSON → 400 in the one error shape, saying it is not JSON',
      async (path) => {
        const answer = await rejected(path, undefined, { raw: '{"action":' });
        expect(answer.json).toEqual(errorBody('bad_request', /^body is not valid JSON: /));
      },
    );

    it.each(['/orders/x/hold', '/orders/x/capture'])(
      '%s with an empty body → 400 validation error in the one error shape',
      async (path) => {
        const answer = await rejected(path, undefined, { raw: '' });
        expect(answer.json).toEqual(validationBody(/^invalid request: body /));
      },
    );
  });

  describe('Content-Type is not consulted (docs/api.md#conventions)', () => {
    it.each([
      ['text/plain', { 'content-type': 'text/plain' }],
      ['application/x-www-form-urlencoded', { 'content-type': 'application/x-www-form-urlencoded' }],
      ['application/json; charset=utf-8', { 'content-type': 'application/json; charset=utf-8' }],
      ['an unusual vendor type', { 'content-type': 'application/vnd.provider+json' }],
    ])('a JSON body sent as %s is processed', async (_name, headers) => {
      const webhook = orderWebhook();
      const answer = await call(api.app, 'POST', ORDERS, undefined, { raw: JSON.stringify(webhook), headers });
      expect(answer.status).toBe(202);
      expect((await call(api.app, 'GET', `/orders/${webhook.order_id}`)).status).toBe(200);
    });

    it('a JSON body without any Content-Type header is processed', async () => {
      const webhook = orderWebhook();
      const response = await api.app.inject({
        method: 'POST',
        url: ORDERS,
        payload: Buffer.from(JSON.stringify(webhook)),
      });
      expect(response.statusCode).toBe(202);
    });
  });

  describe('body limit', () => {
    let small: App;
    beforeAll(async () => {
      small = await createTestApp(api.pool, { bodyLimitBytes: 1024 });
    });
    afterAll(async () => {
      await small?.close();
    });

    it.each([ORDERS, CHARGEBACKS, '/internal/updates/orders', '/disputes/x/evidence', '/orders/x/capture'])(
      '%s: a body over the limit → 413 with a message, nothing stored',
      async (path) => {
        const before = await rowCounts();
        const webhook = orderWebhook({ meta: { padding: 'x'.repeat(2048) } });
        const answer = await call(small, 'POST', path, webhook);
        expect(answer.status).toBe(413);
        expect(answer.json).toEqual(errorBody('payload_too_large', expect.any(String)));
        expect(await rowCounts()).toEqual(before);
      },
    );

    it('a body under the limit is processed', async () => {
      const answer = await call(small, 'POST', ORDERS, orderWebhook());
      expect(answer.status).toBe(202);
    });
  });

  describe('routes', () => {
    it('unknown routes → 404 in the one error shape, naming the route', async () => {
      const answer = await call(api.app, 'GET', '/nope?x=1');
      expect(answer.status).toBe(404);
      expect(answer.json).toEqual(errorBody('route_not_found', 'route GET /nope not found'));
    });

    it('order ids of up to 255 characters (docs/domain.md#order-webhook) work in paths, also percent-encoded', async () => {
      for (const orderId of ['o'.repeat(255), `ü/${'o'.repeat(250)}`]) {
        const webhook = orderWebhook({ order_id: orderId });
        expect((await call(api.app, 'POST', ORDERS, webhook)).status).toBe(202);
        const path = `/orders/${encodeURIComponent(orderId)}`;
        const read = await call(api.app, 'GET', path);
        expect(read.status, read.text).toBe(200);
        expect(read.json.order_id).toBe(orderId);
        expect((await call(api.app, 'POST', `${path}/hold`, { action: 'set', reason: 'risk' })).status).toBe(200);
      }
    });

    it('a path parameter longer than 255 characters → 4xx, not 500', async () => {
      const answer = await call(api.app, 'GET', `/orders/${'o'.repeat(300)}`);
      expect([400, 404, 414]).toContain(answer.status);
      expect(answer.json).toMatchObject(errorBody(expect.any(String), expect.any(String)));
    });
  });
});
