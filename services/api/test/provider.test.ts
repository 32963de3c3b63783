/**
 * Capture and representment against the run's real WireMock (docs/domain.md#capture, docs/domain.md#representment, docs/domain.md#the-payment-provider). WireMock is shared with other
 * test files, so temporary stubs and journal queries are scoped by the order id in the request body.
 */

import { testApiKeys } from '@payment-manager/testkit/auth';
import { DEPENDENCY_TEXT, errorBody, serverErrorBody } from '@payment-manager/testkit/errors';
import { describeWith } from '@payment-manager/testkit/services';
import { chargebackWebhook, nextOrderWebhook, orderWebhook, uniqueId } from '@payment-manager/testkit/webhooks';
import {
  addStub,
  bodyWithOrderId,
  countRequests,
  findRequests,
  removeStub,
  type StubMapping,
  withStub,
} from '@payment-manager/testkit/wiremock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.ts';
import { CAPTURE_PATH, createTestApp, REPRESENTMENT_PATH, useTestApi } from './support/app.ts';
import { call } from './support/http.ts';

describeWith(['postgres', 'wiremock'], 'provider calls against WireMock', () => {
  const api = useTestApi();

  async function createOrder(orderId = uniqueId('ord')) {
    const webhook = orderWebhook({ order_id: orderId });
    expect((await call(api.app, 'POST', '/webhooks/payments/orders', webhook)).status).toBe(202);
    return webhook;
  }

  async function orderEvents(orderId: string) {
    const { rows } = await api.pool.query<{
      kind: string;
      provider_event_id: string;
      data: unknown;
      created_text: string;
    }>(
      `SELECT kind, provider_event_id, data, to_char(created_at, 'YYYY-MM-DD HH24:MI:SS.US') AS created_text
       FROM order_events WHERE order_id = $1 ORDER BY created_at, id`,
      [orderId],
    );
    return rows;
  }

  const captureRequests = (orderId: string) => ({
    method: 'POST',
    url: CAPTURE_PATH,
    bodyPatterns: [bodyWithOrderId(orderId)],
  });
  const representmentRequests = (orderId: string) => ({
    method: 'POST',
    url: REPRESENTMENT_PATH,
    bodyPatterns: [bodyWithOrderId(orderId)],
  });

  /** A stub for this order only, outranking the shipped ones. */
  const captureStub = (orderId: string, response: StubMapping['response']): StubMapping => ({
    priority: 1,
    request: { method: 'POST', url: CAPTURE_PATH, bodyPatterns: [bodyWithOrderId(orderId)] },
    response,
  });

  describe('capture (docs/domain.md#capture, docs/domain.md#the-payment-provider)', () => {
    const capture = (app: App, orderId: string, body: unknown) => call(app, 'POST', `/orders/${orderId}/capture`, body);

    it('success: 200 with the provider answer, two events with strictly increasing created_at, order unchanged', async () => {
      const order = await createOrder();
      const before = (await call(api.app, 'GET', `/orders/${order.order_id}`)).json;
      const answer = await capture(api.app, order.order_id, {
        amount: 100.5,
        currency: 'USD',
        idempotency_key: 'key-1',
      });
      expect(answer.status).toBe(200);
      expect(answer.json).toEqual({
        order_id: order.order_id,
        amount: 100.5,
        currency: 'USD',
        status: 'success',
        provider_tx_id: 'txn-capture-123',
        captured_at: expect.stringMatching(/Z$/),
      });

      const [request, ...others] = await findRequests(captureRequests(order.order_id));
      expect(others).toEqual([]);
      expect(JSON.parse(request?.body ?? '')).toEqual({
        order_id: order.order_id,
        amount: 100.5,
        currency: 'USD',
        idempotency_key: 'key-1',
      });
      expect(request?.headers['Content-Type']).toBe('application/json');

      const events = await orderEvents(order.order_id);
      expect(events.map((e) => [e.kind, e.provider_event_id])).toEqual([
        ['webhook_received', order.provider_event_id],
        ['capture_requested', 'key-1'],
        ['capture_completed', 'txn-capture-123'],
      ]);
      expect(events[1]?.data).toEqual({ amount: 100.5, currency: 'USD', idempotency_key: 'key-1' });
      // docs/domain.md#event-kinds: the event stores the capture response object of docs/domain.md#capture, i.e. what the operator got back.
      expect(events[2]?.data).toEqual(answer.json);
      expect(answer.json).toMatchObject({ status: 'success', provider_tx_id: 'txn-capture-123' });
      expect((events[2]?.created_text ?? '') > (events[1]?.created_text ?? '')).toBe(true);
      expect((await call(api.app, 'GET', `/orders/${order.order_id}`)).json).toEqual(before);
    });

    it('a repeated idempotency_key calls the provider again and stores no duplicate events', async () => {
      const order = await createOrder();
      const body = { amount: 5, currency: 'EUR', idempotency_key: 'same-key' };
      expect((await capture(api.app, order.order_id, body)).status).toBe(200);
      const again = await capture(api.app, order.order_id, body);
      expect(again.status).toBe(200);
      expect(again.json.provider_tx_id).toBe('txn-capture-123');
      expect(await countRequests(captureRequests(order.order_id))).toBe(2);
      const kinds = (await orderEvents(order.order_id)).map((e) => e.kind);
      expect(kinds).toEqual(['webhook_received', 'capture_requested', 'capture_completed']);
    });

    it('a 2xx with another status → 200 status failed and a capture_failed event', async () => {
      const order = await createOrder();
      await withStub(
        captureStub(order.order_id, {
          status: 200,
          jsonBody: { transaction_id: 'txn-declined-1', status: 'declined' },
        }),
        async () => {
          const answer = await capture(api.app, order.order_id, { amount: 3, currency: 'USD', idempotency_key: 'k-f' });
          expect(answer.status).toBe(200);
          expect(answer.json).toMatchObject({ status: 'failed', provider_tx_id: 'txn-declined-1' });
        },
      );
      const events = await orderEvents(order.order_id);
      expect(events.map((e) => [e.kind, e.provider_event_id])).toEqual([
        ['webhook_received', order.provider_event_id],
        ['capture_requested', 'k-f'],
        ['capture_failed', 'txn-declined-1'],
      ]);
      expect(events[2]?.data).toMatchObject({
        order_id: order.order_id,
        amount: 3,
        currency: 'USD',
        status: 'failed',
        provider_tx_id: 'txn-declined-1',
      });
    });

    it.each([
      [
        '4xx',
        { status: 400, jsonBody: { error: { code: '2.01', message: 'Validation error' } } },
        /400|2\.01|Validation/,
      ],
      ['5xx', { status: 503, body: 'maintenance' }, /503|maintenance/],
      ['a 2xx that is not JSON', { status: 200, body: 'OK' }, /not JSON|\bOK\b/],
      ['a 2xx without transaction_id', { status: 200, jsonBody: { status: 'success' } }, /transaction_id/],
      ['a reset connection', { status: 200, fault: 'CONNECTION_RESET_BY_PEER' as const }, /ECONNRESET|socket|fetch/],
    ])(
      "provider %s → 502 provider_failure without the provider's words, no events (docs/domain.md#capture)",
      async (_name, response, providerText) => {
        const order = await createOrder();
        await withStub(captureStub(order.order_id, response), async () => {
          const answer = await capture(api.app, order.order_id, {
            amount: 10,
            currency: 'USD',
            idempotency_key: 'k-e',
          });
          expect(answer.status).toBe(502);
          // What the provider said is in the log under request_id, never in a 5xx body (docs/api.md#errors).
          expect(answer.json).toEqual(serverErrorBody('provider_failure'));
          expect(answer.json.error).toBe(answer.json.message);
          expect(answer.text).not.toMatch(providerText);
          expect(answer.text).not.toMatch(DEPENDENCY_TEXT);
        });
        expect((await orderEvents(order.order_id)).map((e) => e.kind)).toEqual(['webhook_received']);
      },
    );

    it('provider slower than the client timeout → 502 and no events', async () => {
      const app = await createTestApp(api.pool, { providerTimeoutMs: 200 });
      try {
        const order = await createOrder();
        await withStub(
          captureStub(order.order_id, {
            status: 200,
            jsonBody: { transaction_id: 'txn-late', status: 'success' },
            fixedDelayMilliseconds: 2_000,
          }),
          async () => {
            const answer = await capture(app, order.order_id, { amount: 10, currency: 'USD', idempotency_key: 'k-t' });
            expect(answer.status).toBe(502);
            expect(answer.json).toEqual(serverErrorBody('provider_failure'));
            expect(answer.text).not.toMatch(/timed out|200 ms/);
          },
        );
        expect((await orderEvents(order.order_id)).map((e) => e.kind)).toEqual(['webhook_received']);
      } finally {
        await app.close();
      }
    });

    it('no provider reachable (network error) → 502', async () => {
      const { buildApp } = await import('../src/app.ts');
      const { createSilvergateClient } = await import('../src/provider/silvergate.ts');
      const app = await buildApp({
        config: { webhookMode: 'sync', bodyLimitBytes: 1_048_576, logLevel: 'error', apiKeys: testApiKeys() },
        pool: api.pool,
        provider: createSilvergateClient({
          baseUrl: 'http://127.0.0.1:9',
          capturePath: CAPTURE_PATH,
          submitRepresentmentPath: REPRESENTMENT_PATH,
          timeoutMs: 1_000,
        }),
        logger: false,
      });
      try {
        const order = await createOrder();
        const answer = await capture(app, order.order_id, { amount: 10, currency: 'USD', idempotency_key: 'k-n' });
        expect(answer.status).toBe(502);
        // A closed port: the fetch error names the address; the answer does not.
        expect(answer.json).toEqual(serverErrorBody('provider_failure'));
        expect(answer.text).not.toMatch(DEPENDENCY_TEXT);
        expect((await orderEvents(order.order_id)).map((e) => e.kind)).toEqual(['webhook_received']);
      } finally {
        await app.close();
      }
    });
  });

  describe('representment (docs/domain.md#representment, docs/domain.md#the-payment-provider)', () => {
    const submit = (disputeId: string) => call(api.app, 'POST', `/disputes/${disputeId}/submit`);
    const file = (id: string) => ({ file_id: id, name: `${id}.pdf`, content_type: 'application/pdf', size: 1 });

    async function disputeWithEvidence(files: Array<ReturnType<typeof file>>, orderId = uniqueId('ord')) {
      await createOrder(orderId);
      expect((await call(api.app, 'POST', '/webhooks/payments/chargebacks', chargebackWebhook(orderId))).status).toBe(
        202,
      );
      const [dispute] = (await call(api.app, 'GET', `/disputes?order_id=${orderId}`)).json;
      const evidence = await call(api.app, 'POST', `/disputes/${dispute.dispute_id}/evidence`, { files });
      expect(evidence.status).toBe(200);
      return { disputeId: dispute.dispute_id as string, orderId };
    }

    async function disputeEventKinds(disputeId: string) {
      const { rows } = await api.pool.query(
        'SELECT kind FROM dispute_events WHERE dispute_id = $1 ORDER BY created_at, id',
        [disputeId],
      );
      return rows.map((r) => r.kind);
    }

    it('success → 202 with the submission, file ids in stored order, dispute submitted', async () => {
      const { disputeId, orderId } = await disputeWithEvidence([file('f-2'), file('f-1')]);
      const answer = await submit(disputeId);
      expect(answer.status).toBe(202);
      expect(answer.json).toEqual({
        dispute_id: disputeId,
        submission_id: 'sg-subm-1',
        status: 'submitted',
        submitted_at: expect.stringMatching(/Z$/),
      });
      const [request] = await findRequests(representmentRequests(orderId));
      expect(JSON.parse(request?.body ?? '')).toEqual({ order_id: orderId, evidences_file_id: ['f-2', 'f-1'] });
      expect(request?.headers['Content-Type']).toBe('application/json');
      const dispute = (await call(api.app, 'GET', `/disputes/${disputeId}`)).json;
      expect(dispute).toMatchObject({
        status: 'submitted',
        submitting_id: 'sg-subm-1',
        submitted_at: answer.json.submitted_at,
      });
      expect(await disputeEventKinds(disputeId)).toEqual(['webhook_opened', 'evidence_added', 'evidence_submitted']);
      const { rows } = await api.pool.query(
        `SELECT provider_event_id, data FROM dispute_events WHERE dispute_id = $1 AND kind = 'evidence_submitted'`,
        [disputeId],
      );
      expect(rows).toEqual([{ provider_event_id: 'sg-subm-1', data: { provider_submission_id: 'sg-subm-1' } }]);

      const again = await submit(disputeId);
      expect(again.status).toBe(409);
      expect(again.json).toEqual(
        errorBody(
          'conflict',
          'status submitted not eligible for submission: only open or under_review disputes can be submitted',
          { from: 'submitted', to: 'submitted' },
        ),
      );
      expect(await countRequests(representmentRequests(orderId))).toBe(1);
    });

    it('no files → the empty array is sent (docs/domain.md#the-payment-provider), the provider answers 400 → 502, nothing changes', async () => {
      const { disputeId, orderId } = await disputeWithEvidence([]);
      const answer = await submit(disputeId);
      expect(answer.status).toBe(502);
      expect(answer.json).toEqual(serverErrorBody('provider_failure'));
      expect(answer.text).not.toMatch(/at least one file is required|400/);
      const [request] = await findRequests(representmentRequests(orderId));
      expect(request?.body).toContain('"evidences_file_id":[]');
      const dispute = (await call(api.app, 'GET', `/disputes/${disputeId}`)).json;
      expect(dispute.status).toBe('under_review');
      expect(dispute).not.toHaveProperty('submitting_id');
      expect(await disputeEventKinds(disputeId)).toEqual(['webhook_opened', 'evidence_added']);
    });

    it('order "file-not-ready-error" → provider 422 → 502', async () => {
      const { disputeId } = await disputeWithEvidence([file('f-1')], 'file-not-ready-error');
      const answer = await submit(disputeId);
      expect(answer.status).toBe(502);
      expect(answer.json).toEqual(serverErrorBody('provider_failure'));
      expect(answer.text).not.toMatch(/File not ready|422/);
      expect((await call(api.app, 'GET', `/disputes/${disputeId}`)).json.status).toBe('under_review');
    });

    it('a 2xx without an id → 502 and nothing changes', async () => {
      const orderId = uniqueId('ord');
      const stubId = await addStub({
        priority: 1,
        request: { method: 'POST', url: REPRESENTMENT_PATH, bodyPatterns: [bodyWithOrderId(orderId)] },
        response: { status: 200, jsonBody: { id: '' } },
      });
      try {
        const { disputeId } = await disputeWithEvidence([file('f-1')], orderId);
        const answer = await submit(disputeId);
        expect(answer.status).toBe(502);
        expect(answer.json).toEqual(serverErrorBody('provider_failure'));
        expect(await disputeEventKinds(disputeId)).toEqual(['webhook_opened', 'evidence_added']);
      } finally {
        await removeStub(stubId);
      }
    });

    it.each([
      ['a 5xx', { status: 500, body: 'boom' }, /500|boom/],
      ['a timeout', { status: 200, jsonBody: { id: 'sg-late' }, fixedDelayMilliseconds: 2_000 }, /timed out/],
    ])(
      'provider %s → 502, the row lock is released and a later submit succeeds',
      async (_name, response, providerText) => {
        const app = await createTestApp(api.pool, { providerTimeoutMs: 300 });
        const orderId = uniqueId('ord');
        const stubId = await addStub({
          priority: 1,
          request: { method: 'POST', url: REPRESENTMENT_PATH, bodyPatterns: [bodyWithOrderId(orderId)] },
          response,
        });
        try {
          const { disputeId } = await disputeWithEvidence([file('f-1')], orderId);
          const failed = await call(app, 'POST', `/disputes/${disputeId}/submit`);
          expect(failed.status).toBe(502);
          expect(failed.json).toEqual(serverErrorBody('provider_failure'));
          expect(failed.text).not.toMatch(providerText);
          expect((await call(app, 'GET', `/disputes/${disputeId}`)).json.status).toBe('under_review');
          await removeStub(stubId);
          const retried = await call(app, 'POST', `/disputes/${disputeId}/submit`);
          expect(retried.status).toBe(202);
          expect(retried.json.submission_id).toBe('sg-subm-1');
        } finally {
          await removeStub(stubId).catch(() => {});
          await app.close();
        }
      },
    );

    describe('concurrent submits', () => {
      const orderId = uniqueId('ord-conc');
      let stubId = '';
      beforeAll(async () => {
        // A slow provider keeps the first submit inside its locked transaction while the second one arrives.
        stubId = await addStub({
          priority: 1,
          request: { method: 'POST', url: REPRESENTMENT_PATH, bodyPatterns: [bodyWithOrderId(orderId)] },
          response: { status: 200, jsonBody: { id: 'sg-subm-slow' }, fixedDelayMilliseconds: 300 },
        });
      });
      afterAll(async () => {
        if (stubId) await removeStub(stubId);
      });

      it('one 202, the others 409, exactly one provider call', async () => {
        const { disputeId } = await disputeWithEvidence([file('f-1')], orderId);
        const answers = await Promise.all([submit(disputeId), submit(disputeId), submit(disputeId)]);
        const statuses = answers.map((a) => a.status).sort();
        expect(statuses).toEqual([202, 409, 409]);
        for (const refused of answers.filter((a) => a.status === 409)) {
          expect(refused.json).toEqual(
            errorBody(
              'conflict',
              'status submitted not eligible for submission: only open or under_review disputes can be submitted',
              { from: 'submitted', to: 'submitted' },
            ),
          );
        }
        expect(await countRequests(representmentRequests(orderId))).toBe(1);
        expect((await disputeEventKinds(disputeId)).filter((k) => k === 'evidence_submitted')).toHaveLength(1);
      });
    });
  });

  it('capture on an order whose status webhook arrives meanwhile keeps the webhook result', async () => {
    const order = await createOrder();
    const [captured, webhook] = await Promise.all([
      call(api.app, 'POST', `/orders/${order.order_id}/capture`, {
        amount: 1,
        currency: 'USD',
        idempotency_key: 'k-c',
      }),
      call(api.app, 'POST', '/webhooks/payments/orders', nextOrderWebhook(order, { status: 'updated' })),
    ]);
    expect(captured.status).toBe(200);
    expect(webhook.status).toBe(202);
    expect((await call(api.app, 'GET', `/orders/${order.order_id}`)).json.status).toBe('updated');
    expect((await orderEvents(order.order_id)).map((e) => e.kind).sort()).toEqual(
      ['capture_completed', 'capture_requested', 'webhook_received', 'webhook_received'].sort(),
    );
  });
});
