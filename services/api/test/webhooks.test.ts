/** Public webhook endpoints in sync mode: outcome mapping (docs/domain.md#webhook-outcomes), replays and ordering (docs/domain.md#ordering-and-replays), concurrency (docs/domain.md#transactions-and-locks). */

import { errorBody } from '@payment-manager/testkit/errors';
import { describeWith } from '@payment-manager/testkit/services';
import { chargebackWebhook, nextOrderWebhook, orderWebhook, uniqueId } from '@payment-manager/testkit/webhooks';
import { describe, expect, it } from 'vitest';
import { useTestApi } from './support/app.ts';
import { call } from './support/http.ts';

const ORDERS = '/webhooks/payments/orders';
const CHARGEBACKS = '/webhooks/payments/chargebacks';

describeWith(['postgres'], 'public webhooks (sync mode)', () => {
  const api = useTestApi({ poolMax: 12 });
  const send = (path: string, body: unknown) => call(api.app, 'POST', path, body);

  async function orderEventCount(orderId: string): Promise<number> {
    const { rows } = await api.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM order_events WHERE order_id = $1',
      [orderId],
    );
    return rows[0]?.n ?? -1;
  }

  async function disputeEventsOfOrder(orderId: string) {
    const { rows } = await api.pool.query<{ kind: string; provider_event_id: string }>(
      `SELECT e.kind, e.provider_event_id FROM dispute_events e JOIN disputes d ON d.id = e.dispute_id
       WHERE d.order_id = $1 ORDER BY e.created_at, e.id`,
      [orderId],
    );
    return rows;
  }

  async function storedOrder(orderId: string) {
    const { rows } = await api.pool.query('SELECT * FROM orders WHERE id = $1', [orderId]);
    return rows[0];
  }

  async function storedDispute(orderId: string) {
    const { rows } = await api.pool.query('SELECT * FROM disputes WHERE order_id = $1', [orderId]);
    return rows[0];
  }

  describe('order webhook outcomes (docs/domain.md#webhook-outcomes)', () => {
    it('processed → 202 with an empty body; the order and its webhook_received event are stored', async () => {
      const webhook = orderWebhook({
        user_id: '0B7D3C52-6F0E-4E59-9A0C-2F4F8F5E1A10',
        created_at: '2025-03-04T11:00:00+02:00',
      });
      const answer = await send(ORDERS, { ...webhook, transaction_id: 'ignored-unknown-field' });
      expect(answer.status).toBe(202);
      expect(answer.text).toBe('');

      const order = await call(api.app, 'GET', `/orders/${webhook.order_id}`);
      expect(order.json).toEqual({
        order_id: webhook.order_id,
        user_id: '0b7d3c52-6f0e-4e59-9a0c-2f4f8f5e1a10',
        status: 'created',
        on_hold: false,
        created_at: '2025-03-04T09:00:00Z',
        updated_at: '2025-03-04T09:00:00Z',
      });
      const events = await call(api.app, 'GET', `/orders/events?order_ids=${webhook.order_id}`);
      expect(events.json.items).toHaveLength(1);
      expect(events.json.items[0]).toMatchObject({
        order_id: webhook.order_id,
        kind: 'webhook_received',
        provider_event_id: webhook.provider_event_id,
        data: {
          provider_event_id: webhook.provider_event_id,
          order_id: webhook.order_id,
          user_id: '0b7d3c52-6f0e-4e59-9a0c-2f4f8f5e1a10',
          status: 'created',
          meta: { amount: '42.00', currency: 'EUR' },
        },
      });
      expect(events.json.items[0].data).not.toHaveProperty('transaction_id');
    });

    it('stores meta as null in the event when absent', async () => {
      const { meta: _meta, ...withoutMeta } = orderWebhook();
      expect((await send(ORDERS, withoutMeta)).status).toBe(202);
      const { rows } = await api.pool.query('SELECT data FROM order_events WHERE order_id = $1', [
        withoutMeta.order_id,
      ]);
      expect(rows[0].data.meta).toBeNull();
    });

    it('duplicate → 200 {"message":"Duplicate webhook received"}, nothing new stored', async () => {
      const webhook = orderWebhook();
      expect((await send(ORDERS, webhook)).status).toBe(202);
      const again = await send(ORDERS, webhook);
      expect(again.status).toBe(200);
      expect(again.json).toEqual({ message: 'Duplicate webhook received' });
      expect(await orderEventCount(webhook.order_id)).toBe(1);

      // A replayed non-creating webhook is a duplicate too (checked before the transition).
      const updated = nextOrderWebhook(webhook, { status: 'success', updated_at: '2025-03-04T10:00:00Z' });
      expect((await send(ORDERS, updated)).status).toBe(202);
      expect((await send(ORDERS, updated)).json).toEqual({ message: 'Duplicate webhook received' });
      expect(await orderEventCount(webhook.order_id)).toBe(2);
    });

    it('created for an existing order with a new event id → 409 order already exists (docs/domain.md#processing-an-order-webhook)', async () => {
      const webhook = orderWebhook();
      await send(ORDERS, webhook);
      const answer = await send(ORDERS, nextOrderWebhook(webhook, { user_id: crypto.randomUUID() }));
      expect(answer.status).toBe(409);
      expect(answer.json).toEqual(errorBody('already_exists', 'order already exists'));
      expect(await orderEventCount(webhook.order_id)).toBe(1);
      expect((await storedOrder(webhook.order_id)).user_id).toBe(webhook.user_id);
    });

    it('updated for an unknown order → 404 order not found', async () => {
      const answer = await send(ORDERS, orderWebhook({ status: 'updated' }));
      expect(answer.status).toBe(404);
      expect(answer.json).toEqual(errorBody('not_found', 'order not found'));
    });

    it('every allowed transition applies; final statuses are sticky (422)', async () => {
      const paths: string[][] = [['updated', 'updated', 'success'], ['updated', 'failed'], ['success'], ['failed']];
      for (const path of paths) {
        const created = orderWebhook();
        await send(ORDERS, created);
        for (const [i, status] of path.entries()) {
          const answer = await send(
            ORDERS,
            nextOrderWebhook(created, { status, updated_at: `2025-03-04T1${i}:00:00Z` }),
          );
          expect(answer.status, `${path.join('→')} at ${status}`).toBe(202);
        }
        const final = path[path.length - 1] as string;
        expect((await storedOrder(created.order_id)).status).toBe(final);
        for (const status of ['updated', 'success', 'failed', 'created']) {
          const late = await send(ORDERS, nextOrderWebhook(created, { status }));
          if (status === 'created') {
            expect(late.status).toBe(409);
          } else {
            expect(late.status, `${final} → ${status}`).toBe(422);
            expect(late.json).toEqual(
              errorBody('invalid_transition', `invalid status transition of the order: ${final} → ${status}`, {
                from: final,
                to: status,
              }),
            );
          }
        }
        expect(await orderEventCount(created.order_id)).toBe(path.length + 1);
      }
    });

    it('a transition keeps user_id and created_at and overwrites updated_at, also backwards (docs/domain.md#ordering-and-replays)', async () => {
      const created = orderWebhook({ created_at: '2025-03-04T09:00:00Z', updated_at: '2025-03-04T12:00:00Z' });
      await send(ORDERS, created);
      await send(
        ORDERS,
        nextOrderWebhook(created, {
          status: 'updated',
          user_id: crypto.randomUUID(),
          created_at: '2020-01-01T00:00:00Z',
          updated_at: '2025-03-04T10:00:00.250Z',
        }),
      );
      const order = (await call(api.app, 'GET', `/orders/${created.order_id}`)).json;
      expect(order).toMatchObject({
        status: 'updated',
        user_id: created.user_id,
        created_at: '2025-03-04T09:00:00Z',
      });
      expect(order.updated_at).toMatch(/Z$/);
      expect(Date.parse(order.updated_at)).toBe(Date.parse('2025-03-04T10:00:00.250Z'));
    });
  });

  it('timestamps do not depend on the process time zone (docs/domain.md#timestamps)', async () => {
    const saved = process.env.TZ;
    process.env.TZ = 'Pacific/Kiritimati';
    try {
      const webhook = orderWebhook({
        created_at: '2025-03-04T09:00:00.123456Z',
        updated_at: '2025-03-04T23:30:00-05:00',
      });
      expect((await send(ORDERS, webhook)).status).toBe(202);
      const order = (await call(api.app, 'GET', `/orders/${webhook.order_id}`)).json;
      expect(order.created_at).toBe('2025-03-04T09:00:00.123456Z');
      expect(order.updated_at).toBe('2025-03-05T04:30:00Z');
      const held = await call(api.app, 'POST', `/orders/${webhook.order_id}/hold`, { action: 'set', reason: 'risk' });
      expect(Math.abs(Date.parse(held.json.updated_at) - Date.now())).toBeLessThan(60_000);
      const events = (await call(api.app, 'GET', `/orders/events?order_ids=${webhook.order_id}`)).json;
      for (const event of events.items)
        expect(Math.abs(Date.parse(event.created_at) - Date.now())).toBeLessThan(60_000);
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });

  describe('out-of-order delivery and replays (docs/domain.md#ordering-and-replays)', () => {
    it('updated before created → 404; after created arrives, the replay of the same payload succeeds', async () => {
      const created = orderWebhook();
      const updated = nextOrderWebhook(created, { status: 'updated', updated_at: '2025-03-04T10:00:00Z' });
      expect((await send(ORDERS, updated)).status).toBe(404);
      expect(await storedOrder(created.order_id)).toBeUndefined();
      expect((await send(ORDERS, created)).status).toBe(202);
      expect((await send(ORDERS, updated)).status).toBe(202);
      expect((await storedOrder(created.order_id)).status).toBe('updated');
      expect(await orderEventCount(created.order_id)).toBe(2);
    });

    it('a late updated after success → 422 and nothing changes', async () => {
      const created = orderWebhook();
      await send(ORDERS, created);
      await send(ORDERS, nextOrderWebhook(created, { status: 'success', updated_at: '2025-03-04T11:00:00Z' }));
      const late = await send(
        ORDERS,
        nextOrderWebhook(created, { status: 'updated', updated_at: '2025-03-04T10:00:00Z' }),
      );
      expect(late.status).toBe(422);
      expect(late.json).toEqual(
        errorBody('invalid_transition', 'invalid status transition of the order: success → updated', {
          from: 'success',
          to: 'updated',
        }),
      );
      const order = await storedOrder(created.order_id);
      expect(order.status).toBe('success');
      expect(order.updated_at).toBe('2025-03-04T11:00:00Z');
      expect(await orderEventCount(created.order_id)).toBe(2);
    });

    it('closed before opened → 404 dispute not found; replay after opened applies', async () => {
      const order = orderWebhook();
      await send(ORDERS, order);
      const closed = chargebackWebhook(order.order_id, { status: 'closed', meta: { resolution: 'lost' } });
      const early = await send(CHARGEBACKS, closed);
      expect(early.status).toBe(404);
      expect(early.json).toEqual(errorBody('not_found', 'dispute not found'));
      expect(await storedDispute(order.order_id)).toBeUndefined();

      const updated = await send(CHARGEBACKS, chargebackWebhook(order.order_id, { status: 'updated' }));
      expect(updated.status).toBe(404);
      expect(updated.json).toEqual(errorBody('not_found', 'dispute not found'));

      expect((await send(CHARGEBACKS, chargebackWebhook(order.order_id))).status).toBe(202);
      expect((await send(CHARGEBACKS, closed)).status).toBe(202);
      expect((await storedDispute(order.order_id)).status).toBe('lost');
    });

    it('chargeback for an unknown order → 404 order not found, no dispute (docs/domain.md#processing-a-chargeback-webhook)', async () => {
      const orderId = uniqueId('missing');
      const answer = await send(CHARGEBACKS, chargebackWebhook(orderId));
      expect(answer.status).toBe(404);
      expect(answer.json).toEqual(errorBody('not_found', 'order not found'));
      expect(await storedDispute(orderId)).toBeUndefined();
    });
  });

  describe('chargeback outcomes (docs/domain.md#processing-a-chargeback-webhook, docs/domain.md#webhook-outcomes)', () => {
    it('opened creates an open dispute with the webhook fields; duplicates answer 200 and store nothing', async () => {
      const order = orderWebhook();
      await send(ORDERS, order);
      const opened = chargebackWebhook(order.order_id, {
        reason: 'goods_not_received',
        amount: 42,
        currency: 'EUR',
        occurred_at: '2025-03-05T09:00:00+01:00',
        evidence_due_at: '2025-03-19T23:59:59Z',
      });
      expect((await send(CHARGEBACKS, opened)).status).toBe(202);
      const again = await send(CHARGEBACKS, opened);
      expect(again.status).toBe(200);
      expect(again.json).toEqual({ message: 'Duplicate webhook received' });

      const disputes = (await call(api.app, 'GET', `/disputes?order_id=${order.order_id}`)).json;
      expect(disputes).toHaveLength(1);
      expect(disputes[0]).toEqual({
        dispute_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        order_id: order.order_id,
        status: 'open',
        reason: 'goods_not_received',
        amount: 42,
        currency: 'EUR',
        opened_at: '2025-03-05T08:00:00Z',
        evidence_due_at: '2025-03-19T23:59:59Z',
      });
      expect(await disputeEventsOfOrder(order.order_id)).toEqual([
        { kind: 'webhook_opened', provider_event_id: opened.provider_event_id },
      ]);
    });

    it('updated keeps status and amounts, replaces evidence_due_at only when non-null; closed resolutions', async () => {
      const order = orderWebhook();
      await send(ORDERS, order);
      await send(CHARGEBACKS, chargebackWebhook(order.order_id, { evidence_due_at: '2025-03-19T00:00:00Z' }));
      await send(
        CHARGEBACKS,
        chargebackWebhook(order.order_id, {
          status: 'updated',
          amount: 1,
          currency: 'GBP',
          reason: 'other',
          evidence_due_at: null,
        }),
      );
      let dispute = await storedDispute(order.order_id);
      expect(dispute).toMatchObject({ status: 'open', amount: 100.5, currency: 'USD', reason: 'fraud' });
      expect(dispute.evidence_due_at).toBe('2025-03-19T00:00:00Z');

      await send(
        CHARGEBACKS,
        chargebackWebhook(order.order_id, { status: 'updated', evidence_due_at: '2025-03-25T00:00:00Z' }),
      );
      expect((await storedDispute(order.order_id)).evidence_due_at).toBe('2025-03-25T00:00:00Z');

      await send(
        CHARGEBACKS,
        chargebackWebhook(order.order_id, {
          status: 'closed',
          occurred_at: '2025-04-01T00:00:00Z',
          meta: { resolution: 'LoSt' },
        }),
      );
      dispute = await storedDispute(order.order_id);
      expect(dispute.status).toBe('lost');
      expect(dispute.closed_at).toBe('2025-04-01T00:00:00Z');

      // A late opened with a new id re-opens (provider-authoritative).
      await send(CHARGEBACKS, chargebackWebhook(order.order_id, { status: 'opened', amount: 5, currency: 'EUR' }));
      expect((await storedDispute(order.order_id)).status).toBe('open');
      expect((await storedDispute(order.order_id)).amount).toBe(100.5);
      expect((await disputeEventsOfOrder(order.order_id)).map((e) => e.kind)).toEqual([
        'webhook_opened',
        'webhook_updated',
        'webhook_updated',
        'provider_decision',
        'webhook_opened',
      ]);
    });

    it.each([
      [{ resolution: 'won' }, 'won'],
      [{ resolution: 'WON' }, 'won'],
      [{ resolution: 'draw' }, 'closed'],
      [{}, 'closed'],
      [undefined, 'closed'],
    ])('closed with meta %j → %s (docs/domain.md#dispute-state-machine)', async (meta, expected) => {
      const order = orderWebhook();
      await send(ORDERS, order);
      await send(CHARGEBACKS, chargebackWebhook(order.order_id));
      const closed = chargebackWebhook(order.order_id, { status: 'closed' });
      if (meta === undefined) delete closed.meta;
      else closed.meta = meta;
      expect((await send(CHARGEBACKS, closed)).status).toBe(202);
      expect((await storedDispute(order.order_id)).status).toBe(expected);
    });

    it('dispute events carry the normalised webhook: absent optionals null, reason "", unknown fields dropped', async () => {
      const order = orderWebhook();
      await send(ORDERS, order);
      await send(CHARGEBACKS, chargebackWebhook(order.order_id, { user_id: order.user_id }));
      const updated = {
        provider_event_id: uniqueId('cb'),
        order_id: order.order_id,
        status: 'updated',
        occurred_at: '2025-03-06T08:00:00+01:00',
        transaction_id: 'dropped',
      };
      expect((await send(CHARGEBACKS, updated)).status).toBe(202);
      const { rows } = await api.pool.query(
        `SELECT e.data FROM dispute_events e JOIN disputes d ON d.id = e.dispute_id
         WHERE d.order_id = $1 AND e.provider_event_id = $2`,
        [order.order_id, updated.provider_event_id],
      );
      expect(rows[0].data).toEqual({
        provider_event_id: updated.provider_event_id,
        order_id: order.order_id,
        user_id: null,
        status: 'updated',
        reason: '',
        amount: null,
        currency: null,
        occurred_at: '2025-03-06T08:00:00+01:00',
        evidence_due_at: null,
        meta: null,
      });
    });

    it('chargeback without user_id is accepted (docs/kafka.md#keys-and-partitioning)', async () => {
      const order = orderWebhook();
      await send(ORDERS, order);
      const opened = chargebackWebhook(order.order_id);
      expect(opened.user_id).toBeUndefined();
      expect((await send(CHARGEBACKS, opened)).status).toBe(202);
    });
  });

  describe('concurrency (docs/domain.md#transactions-and-locks)', () => {
    it('two different created webhooks for one order concurrently: one 202, one 409, one event', async () => {
      const first = orderWebhook();
      const second = nextOrderWebhook(first, { user_id: crypto.randomUUID() });
      const answers = await Promise.all([send(ORDERS, first), send(ORDERS, second)]);
      expect(answers.map((a) => a.status).sort()).toEqual([202, 409]);
      expect(await orderEventCount(first.order_id)).toBe(1);
    });

    it('identical order webhooks sent concurrently store exactly one event and one order', async () => {
      const webhook = orderWebhook();
      const answers = await Promise.all(Array.from({ length: 8 }, () => send(ORDERS, webhook)));
      const statuses = answers.map((a) => a.status).sort();
      expect(statuses.filter((s) => s === 202)).toHaveLength(1);
      expect(statuses.filter((s) => s === 200)).toHaveLength(7);
      expect(await orderEventCount(webhook.order_id)).toBe(1);
    });

    it('identical transition webhooks sent concurrently store exactly one event', async () => {
      const created = orderWebhook();
      await send(ORDERS, created);
      const updated = nextOrderWebhook(created, { status: 'updated', updated_at: '2025-03-04T10:00:00Z' });
      const answers = await Promise.all(Array.from({ length: 6 }, () => send(ORDERS, updated)));
      expect(answers.filter((a) => a.status === 202)).toHaveLength(1);
      expect(answers.filter((a) => a.status === 200)).toHaveLength(5);
      expect(await orderEventCount(created.order_id)).toBe(2);
    });

    it('identical opened chargebacks sent concurrently create one dispute with one event (docs/domain.md#idempotency, docs/domain.md#disputes)', async () => {
      const order = orderWebhook();
      await send(ORDERS, order);
      const opened = chargebackWebhook(order.order_id);
      const answers = await Promise.all(Array.from({ length: 6 }, () => send(CHARGEBACKS, opened)));
      expect(answers.filter((a) => a.status === 202)).toHaveLength(1);
      expect(answers.filter((a) => a.status === 200)).toHaveLength(5);
      const { rows } = await api.pool.query('SELECT count(*)::int AS n FROM disputes WHERE order_id = $1', [
        order.order_id,
      ]);
      expect(rows[0].n).toBe(1);
      expect(await disputeEventsOfOrder(order.order_id)).toHaveLength(1);
    });

    it('different opened chargebacks for one order concurrently: one dispute, both events', async () => {
      const order = orderWebhook();
      await send(ORDERS, order);
      const answers = await Promise.all([
        send(CHARGEBACKS, chargebackWebhook(order.order_id)),
        send(CHARGEBACKS, chargebackWebhook(order.order_id)),
      ]);
      expect(answers.map((a) => a.status)).toEqual([202, 202]);
      const { rows } = await api.pool.query('SELECT count(*)::int AS n FROM disputes WHERE order_id = $1', [
        order.order_id,
      ]);
      expect(rows[0].n).toBe(1);
      expect((await disputeEventsOfOrder(order.order_id)).map((e) => e.kind)).toEqual([
        'webhook_opened',
        'webhook_opened',
      ]);
    });

    it('two different webhooks for one order concurrently both apply with a consistent result', async () => {
      const created = orderWebhook();
      await send(ORDERS, created);
      const updated = nextOrderWebhook(created, { status: 'updated', updated_at: '2025-03-04T10:00:00Z' });
      const success = nextOrderWebhook(created, { status: 'success', updated_at: '2025-03-04T11:00:00Z' });
      const [a, b] = await Promise.all([send(ORDERS, updated), send(ORDERS, success)]);
      const order = await storedOrder(created.order_id);
      const { rows } = await api.pool.query<{ provider_event_id: string }>(
        'SELECT provider_event_id FROM order_events WHERE order_id = $1 ORDER BY created_at, id',
        [created.order_id],
      );
      const applied = rows.map((r) => r.provider_event_id);
      if (order.status === 'success' && applied.length === 3) {
        // updated first, then success: both applied
        expect([a.status, b.status]).toEqual([202, 202]);
        expect(applied).toEqual([created.provider_event_id, updated.provider_event_id, success.provider_event_id]);
        expect(order.updated_at).toBe('2025-03-04T11:00:00Z');
      } else {
        // success first: the later updated is refused as a transition out of a final status
        expect(order.status).toBe('success');
        expect([a.status, b.status]).toEqual([422, 202]);
        expect(applied).toEqual([created.provider_event_id, success.provider_event_id]);
      }
    });

    it('a hold and a status webhook for one order concurrently both apply', async () => {
      const created = orderWebhook();
      await send(ORDERS, created);
      const [hold, webhook] = await Promise.all([
        call(api.app, 'POST', `/orders/${created.order_id}/hold`, { action: 'set', reason: 'risk' }),
        send(ORDERS, nextOrderWebhook(created, { status: 'updated', updated_at: '2025-03-04T10:00:00Z' })),
      ]);
      expect(hold.status).toBe(200);
      expect(webhook.status).toBe(202);
      const order = await storedOrder(created.order_id);
      expect(order).toMatchObject({ status: 'updated', on_hold: true, hold_reason: 'risk' });
      expect(await orderEventCount(created.order_id)).toBe(3);
    });
  });
});
