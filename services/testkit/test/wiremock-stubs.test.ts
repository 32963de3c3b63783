import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { describeWith } from '../src/services.ts';
import {
  addStub,
  bodyWithOrderId,
  countRequests,
  findRequests,
  removeRequests,
  removeStub,
  wiremockUrl,
  withStub,
} from '../src/wiremock.ts';

const CAPTURE = '/api/v1/capture';
const REPRESENTMENT = '/api/v1/dispute-representments/create';
const JSON_TYPE = 'application/json';
const JSON_WITH_CHARSET = 'application/json; charset=utf-8';

async function post(path: string, body: unknown, contentType = JSON_TYPE) {
  const response = await fetch(`${wiremockUrl()}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': contentType },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, text, json: () => JSON.parse(text) as unknown };
}

const validationError = (field: string, message: string) => ({
  error: { code: '2.01', message: 'Validation error', constraints: { [field]: [{ code: 'NotBlank', message }] } },
});

describeWith(['wiremock'], 'deploy/wiremock stubs (docs/domain.md#provider-stubs) on a real WireMock', () => {
  const captureRequest = capture('o-1');

  it('capture OK answers the fixed transaction', async () => {
    const response = await post(CAPTURE, captureRequest);
    expect(response.status).toBe(200);
    expect(response.json()).toEqual({ transaction_id: 'txn-capture-123', status: 'success' });
  });

  it('capture needs every field and exactly Content-Type application/json', async () => {
    const { idempotency_key: _, ...withoutKey } = captureRequest;
    expect((await post(CAPTURE, withoutKey)).status).toBe(404);
    expect((await post(CAPTURE, captureRequest, JSON_WITH_CHARSET)).status).toBe(404);
  });

  it('smoke stub answers plain text', async () => {
    const response = await fetch(`${wiremockUrl()}/some/thing`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain');
    expect(await response.text()).toBe('Hello, world!');
  });

  it('representment OK needs at least one file and exactly application/json', async () => {
    const ok = await post(REPRESENTMENT, { order_id: 'o-1', evidences_file_id: ['f-1'] });
    expect(ok.status).toBe(200);
    expect(ok.json()).toEqual({ id: 'sg-subm-1' });
    expect((await post(REPRESENTMENT, { order_id: 'o-1', evidences_file_id: ['f-1'] }, JSON_WITH_CHARSET)).status).toBe(
      404,
    );
    expect((await post(REPRESENTMENT, { order_id: 'o-1' })).status).toBe(404);
  });

  it('representment with an empty order id is a validation error (also with a charset)', async () => {
    for (const contentType of [JSON_TYPE, JSON_WITH_CHARSET]) {
      const response = await post(REPRESENTMENT, { order_id: '', evidences_file_id: ['f-1'] }, contentType);
      expect(response.status).toBe(400);
      expect(response.json()).toEqual(validationError('order_id', 'is required'));
    }
  });

  it('representment with no files is a validation error (also with a charset)', async () => {
    for (const contentType of [JSON_TYPE, JSON_WITH_CHARSET]) {
      const response = await post(REPRESENTMENT, { order_id: 'o-1', evidences_file_id: [] }, contentType);
      expect(response.status).toBe(400);
      expect(response.json()).toEqual(validationError('evidences_file_id', 'at least one file is required'));
    }
  });

  it('order "file-not-ready-error" wins over the other stubs with 422, only for exactly application/json', async () => {
    for (const files of [['f-2', 'f-1'], []]) {
      const response = await post(REPRESENTMENT, { order_id: 'file-not-ready-error', evidences_file_id: files });
      expect(response.status).toBe(422);
      expect(response.json()).toEqual({ error: { code: '2.01', message: 'File not ready' } });
    }
    const withCharset = { order_id: 'file-not-ready-error', evidences_file_id: ['f-1'] };
    expect((await post(REPRESENTMENT, withCharset, JSON_WITH_CHARSET)).status).toBe(404);
  });
});

describeWith(['wiremock'], 'testkit: WireMock admin helpers', () => {
  it('counts, finds and forgets the requests of one order', async () => {
    const orderId = `o-${randomUUID()}`;
    const pattern = { method: 'POST', url: CAPTURE, bodyPatterns: [bodyWithOrderId(orderId)] };
    await post(CAPTURE, { ...capture(orderId), idempotency_key: 'k-a' });
    await post(CAPTURE, { ...capture(orderId), idempotency_key: 'k-b' });
    expect(await countRequests(pattern)).toBe(2);
    const found = await findRequests(pattern);
    expect(found.map((request) => JSON.parse(request.body).idempotency_key).sort()).toEqual(['k-a', 'k-b']);
    expect(found[0]?.headers['Content-Type']).toBe(JSON_TYPE);
    await removeRequests(pattern);
    expect(await countRequests(pattern)).toBe(0);
  });

  it('a temporary stub scoped to one order simulates a provider failure and disappears again', async () => {
    const orderId = `o-${randomUUID()}`;
    const failure = {
      priority: 1,
      request: { method: 'POST', url: CAPTURE, bodyPatterns: [bodyWithOrderId(orderId)] },
      response: { status: 503, body: 'provider down' },
    };
    await withStub(failure, async () => {
      const failed = await post(CAPTURE, capture(orderId));
      expect(failed.status).toBe(503);
      expect(failed.text).toBe('provider down');
      expect((await post(CAPTURE, capture(`o-${randomUUID()}`))).status).toBe(200);
    });
    expect((await post(CAPTURE, capture(orderId))).status).toBe(200);
  });

  it('a delayed stub outlasts a client timeout', async () => {
    const orderId = `o-${randomUUID()}`;
    const id = await addStub({
      priority: 1,
      request: { method: 'POST', url: CAPTURE, bodyPatterns: [bodyWithOrderId(orderId)] },
      response: { status: 200, jsonBody: { transaction_id: 't', status: 'success' }, fixedDelayMilliseconds: 2_000 },
    });
    try {
      const call = fetch(`${wiremockUrl()}${CAPTURE}`, {
        method: 'POST',
        headers: { 'Content-Type': JSON_TYPE },
        body: JSON.stringify(capture(orderId)),
        signal: AbortSignal.timeout(200),
      });
      await expect(call).rejects.toThrow(/timeout|aborted/i);
    } finally {
      await removeStub(id);
    }
  });
});

function capture(orderId: string) {
  return { order_id: orderId, amount: 10, currency: 'EUR', idempotency_key: `k-${orderId}` };
}
