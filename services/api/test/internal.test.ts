/** Internal update endpoints used by ingest in http mode (docs/api.md#internal-updates). */

import { errorBody, validationBody } from '@payment-manager/testkit/errors';
import { describeWith } from '@payment-manager/testkit/services';
import { chargebackWebhook, nextOrderWebhook, orderWebhook, uniqueId } from '@payment-manager/testkit/webhooks';
import { describe, expect, it } from 'vitest';
import { createTestApp, useTestApi } from './support/app.ts';
import { call } from './support/http.ts';

const ORDERS = '/internal/updates/orders';
const DISPUTES = '/internal/updates/disputes';

describeWith(['postgres'], 'internal update endpoints (docs/api.md#internal-updates)', () => {
  const api = useTestApi();
  const send = (path: string, body: unknown) => call(api.app, 'POST', path, body);

  describe('orders', () => {
    it('processed → 200 {"success":true}; duplicate → 200 with the duplicate flag', async () => {
      const webhook = orderWebhook();
      const first = await send(ORDERS, webhook);
      expect(first.status).toBe(200);
      expect(first.json).toEqual({ success: true });
      const again = await send(ORDERS, webhook);
      expect(again.status).toBe(200);
      expect(again.json).toEqual({ success: true, duplicate: true, message: 'event already processed' });
      const { rows } = await api.pool.query('SELECT count(*)::int AS n FROM order_events WHERE order_id = $1', [
        webhook.order_id,
      ]);
      expect(rows[0].n).toBe(1);
    });

    it('order not found → 404, order already exists → 409, invalid transition → 422', async () => {
      const missing = await send(ORDERS, orderWebhook({ status: 'success' }));
      expect(missing.status).toBe(404);
      expect(missing.json).toEqual(errorBody('not_found', 'order not found'));

      const created = orderWebhook();
      await send(ORDERS, created);
      const exists = await send(ORDERS, nextOrderWebhook(created, {}));
      expect(exists.status).toBe(409);
      expect(exists.json).toEqual(errorBody('already_exists', 'order already exists'));

      await send(ORDERS, nextOrderWebhook(created, { status: 'failed' }));
      const invalid = await send(ORDERS, nextOrderWebhook(created, { status: 'updated' }));
      expect(invalid.status).toBe(422);
      expect(invalid.json).toEqual(
        errorBody('invalid_transition', 'invalid status transition of the order: failed → updated', {
          from: 'failed',
          to: 'updated',
        }),
      );
    });

    it.each([
      ['missing order_id', (w: Record<string, unknown>) => delete w.order_id],
      ['ill-typed amount in meta', (w: Record<string, unknown>) => (w.meta = { amount: 10 })],
      ['unknown status', (w: Record<string, unknown>) => (w.status = 'completed')],
      ['bad user_id', (w: Record<string, unknown>) => (w.user_id = 'not-a-uuid')],
      ['bad timestamp', (w: Record<string, unknown>) => (w.created_at = '2025-03-04 09:00')],
    ])('invalid body (%s) → 400 validation error in the one error shape', async (_name, mutate) => {
      const webhook = orderWebhook() as Record<string, unknown>;
      mutate(webhook);
      const answer = await send(ORDERS, webhook);
      expect(answer.status).toBe(400);
      expect(answer.json).toEqual(validationBody(/^invalid request: body\./));
      expect(Object.keys(answer.json).sort()).toEqual(['code', 'details', 'error', 'message', 'problems', 'success']);
    });

    it('malformed JSON → 400 in the one error shape', async () => {
      const answer = await call(api.app, 'POST', ORDERS, undefined, { raw: '{"order_id":' });
      expect(answer.status).toBe(400);
      expect(answer.json).toEqual(errorBody('bad_request', /^body is not valid JSON: /));
    });
  });

  describe('disputes', () => {
    it('processed → 200, duplicate → 200 with flag, unknown dispute/order → 404 (docs/api.md#internal-updates)', async () => {
      const order = orderWebhook();
      await send(ORDERS, order);

      const early = await send(DISPUTES, chargebackWebhook(order.order_id, { status: 'updated' }));
      expect(early.status).toBe(404);
      expect(early.json).toEqual(errorBody('not_found', 'dispute not found'));

      const noOrder = await send(DISPUTES, chargebackWebhook(uniqueId('missing')));
      expect(noOrder.status).toBe(404);
      expect(noOrder.json).toEqual(errorBody('not_found', 'order not found'));

      const opened = chargebackWebhook(order.order_id);
      expect((await send(DISPUTES, opened)).json).toEqual({ success: true });
      const again = await send(DISPUTES, opened);
      expect(again.status).toBe(200);
      expect(again.json).toEqual({ success: true, duplicate: true, message: 'event already processed' });
    });

    it('opened without amount/currency → 400; updated without them → 200', async () => {
      const order = orderWebhook();
      await send(ORDERS, order);
      const { amount: _a, currency: _c, ...bare } = chargebackWebhook(order.order_id);
      const invalid = await send(DISPUTES, bare);
      expect(invalid.status).toBe(400);
      expect(invalid.json).toEqual(validationBody(/^invalid request: .*body\.amount is required/, 'amount'));
      expect((await send(DISPUTES, chargebackWebhook(order.order_id))).status).toBe(200);
      expect((await send(DISPUTES, { ...bare, provider_event_id: uniqueId('cb'), status: 'updated' })).json).toEqual({
        success: true,
      });
    });
  });

  it('http mode serves both the internal and the public webhook routes', async () => {
    const app = await createTestApp(api.pool, { webhookMode: 'http' });
    try {
      expect((await call(app, 'POST', ORDERS, orderWebhook())).status).toBe(200);
      expect((await call(app, 'POST', '/webhooks/payments/orders', orderWebhook())).status).toBe(202);
    } finally {
      await app.close();
    }
  });

  it.each(['kafka', 'sync'] as const)(
    'do not exist in %s mode (they would bypass signatures and Kafka ordering)',
    async (webhookMode) => {
      const app = await createTestApp(api.pool, { webhookMode });
      try {
        expect((await call(app, 'POST', ORDERS, orderWebhook())).status).toBe(404);
        expect((await call(app, 'POST', DISPUTES, chargebackWebhook('o-1'))).status).toBe(404);
      } finally {
        await app.close();
      }
    },
  );
});
