/** http mode against a real local HTTP server standing in for the API (docs/api.md#ingest-http-mode mapping and retries). */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TEST_API_KEYS } from '@payment-manager/testkit/auth';
import { DEPENDENCY_TEXT, errorBody, serverErrorBody, validationBody } from '@payment-manager/testkit/errors';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { post, type RunningIngest, startHttpIngest } from './support/pipeline.ts';

interface Seen {
  method: string;
  path: string;
  contentType: string | undefined;
  authorization: string | undefined;
  body: string;
}

/** Answers the queued responses in order (the last one repeats) and records every request. */
class FakeApi {
  seen: Seen[] = [];
  /** Requests whose connection closed before we answered them. */
  closedEarly = 0;
  answers: Array<(res: ServerResponse) => void> = [];
  server: Server = createServer((req, res) => this.onRequest(req, res));
  url = '';

  async start() {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse) {
    let body = '';
    for await (const chunk of req) body += chunk;
    this.seen.push({
      method: req.method ?? '',
      path: req.url ?? '',
      contentType: req.headers['content-type'],
      authorization: req.headers.authorization,
      body,
    });
    res.on('close', () => {
      if (!res.writableEnded) this.closedEarly++;
    });
    const answer = this.answers.length > 1 ? this.answers.shift() : this.answers[0];
    answer?.(res);
  }

  json(status: number, body: unknown) {
    return (res: ServerResponse) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
  }

  close() {
    this.server.closeAllConnections();
    this.server.close();
  }
}

const order = {
  provider_event_id: 'pe-1',
  order_id: 'ord-1',
  user_id: '0b7d3c52-6f0e-4e59-9a0c-2f4f8f5e1a10',
  status: 'created',
  created_at: '2025-03-04T09:00:00Z',
  updated_at: '2025-03-04T09:00:00Z',
  unknown_field: 'kept in the forwarded bytes',
};
const chargeback = {
  provider_event_id: 'cb-1',
  order_id: 'ord-1',
  status: 'updated',
  occurred_at: '2025-03-04T09:00:00Z',
};

describe('ingest http mode: forwarding to the API', () => {
  const api = new FakeApi();
  let ingest: RunningIngest;

  beforeAll(async () => {
    await api.start();
    ingest = await startHttpIngest({ apiBaseUrl: api.url, timeoutMs: 300, retryBaseDelayMs: 20 });
  });
  afterAll(async () => {
    await ingest.close();
    api.close();
  });
  afterEach(() => {
    api.seen = [];
    api.answers = [];
    api.closedEarly = 0;
  });

  it('forwards the exact received bytes to /internal/updates/orders and /disputes as application/json', async () => {
    api.answers = [api.json(200, { success: true })];
    const raw = JSON.stringify(order, null, 2);
    expect((await post(`${ingest.url}/webhooks/payments/orders`, raw, { 'content-type': 'text/plain' })).status).toBe(
      202,
    );
    expect((await post(`${ingest.url}/webhooks/payments/chargebacks`, chargeback)).status).toBe(202);
    expect(api.seen.map((s) => [s.method, s.path, s.contentType])).toEqual([
      ['POST', '/internal/updates/orders', 'application/json'],
      ['POST', '/internal/updates/disputes', 'application/json'],
    ]);
    expect(api.seen[0]?.body).toBe(raw);
  });

  it("sends ingest's own API key (API_KEY), which the API admits on /internal/updates/* only", async () => {
    api.answers = [api.json(200, { success: true })];
    await post(`${ingest.url}/webhooks/payments/orders`, order);
    expect(api.seen[0]?.authorization).toBe(`Bearer ${TEST_API_KEYS.ingest}`);
  });

  it('maps a duplicate to 200 "Duplicate webhook received"', async () => {
    api.answers = [api.json(200, { success: true, duplicate: true, message: 'event already processed' })];
    const answer = await post(`${ingest.url}/webhooks/payments/orders`, order);
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ message: 'Duplicate webhook received' });
  });

  it.each([400, 404, 409, 422])('passes %i through with the API error body, without retrying', async (status) => {
    const apiError = errorBody('conflict', `api says ${status}`, { from: 'success', to: 'updated' });
    api.answers = [api.json(status, apiError)];
    const answer = await post(`${ingest.url}/webhooks/payments/orders`, order);
    expect(answer.status).toBe(status);
    expect(answer.json).toEqual(apiError);
    expect(api.seen).toHaveLength(1);
  });

  it('wraps an API error without the shared shape (an older API) into it', async () => {
    api.answers = [api.json(404, { success: false, message: 'order not found' })];
    const answer = await post(`${ingest.url}/webhooks/payments/orders`, order);
    expect(answer.status).toBe(404);
    expect(answer.json).toEqual(errorBody('error', 'order not found'));
  });

  it('never forwards a webhook that fails the shared schema', async () => {
    const answer = await post(`${ingest.url}/webhooks/payments/orders`, { ...order, user_id: 'not-a-uuid' });
    expect(answer.status).toBe(400);
    expect(answer.json).toEqual(validationBody(/^invalid request: body\.user_id must be a UUID$/, 'user_id'));
    expect(api.seen).toHaveLength(0);
  });

  it('answers 502 after exactly 3 attempts when the API keeps answering 500', async () => {
    api.answers = [api.json(500, { success: false, message: 'boom' })];
    const answer = await post(`${ingest.url}/webhooks/payments/orders`, order);
    expect(answer.status).toBe(502);
    expect(answer.json).toEqual(serverErrorBody('bad_gateway'));
    expect(JSON.stringify(answer.json)).not.toMatch(/boom|api answered 500/);
    expect(api.seen).toHaveLength(3);
  });

  it('succeeds when a 503 is followed by a 200', async () => {
    api.answers = [api.json(503, { message: 'starting' }), api.json(200, { success: true })];
    const answer = await post(`${ingest.url}/webhooks/payments/orders`, order);
    expect(answer.status).toBe(202);
    expect(api.seen).toHaveLength(2);
  });

  it('treats a per-attempt timeout like a network error: retried, then 502', async () => {
    api.answers = [() => {}]; // never answers
    const answer = await post(`${ingest.url}/webhooks/payments/orders`, order);
    expect(answer.status).toBe(502);
    expect(answer.json).toEqual(serverErrorBody('bad_gateway'));
    expect(JSON.stringify(answer.json)).not.toMatch(/timeout after 300 ms/);
    expect(api.seen).toHaveLength(3);
  });

  it('answers 502 for statuses outside the mapping table', async () => {
    api.answers = [api.json(401, { message: 'who are you' })];
    const answer = await post(`${ingest.url}/webhooks/payments/orders`, order);
    expect(answer.status).toBe(502);
    expect(api.seen).toHaveLength(1);
  });

  it('stops as soon as the provider hangs up: the pending API call is cancelled, no retry follows', async () => {
    // A 10 s attempt timeout: the upstream call can only end early because the provider's abort propagated.
    const patient = await startHttpIngest({ apiBaseUrl: api.url, timeoutMs: 10_000, retryBaseDelayMs: 20 });
    try {
      api.answers = [() => {}];
      const abort = new AbortController();
      const request = fetch(`${patient.url}/webhooks/payments/orders`, {
        method: 'POST',
        body: JSON.stringify(order),
        signal: abort.signal,
      }).catch((err: Error) => err);
      await expect.poll(() => api.seen.length).toBe(1);
      abort.abort();
      expect(await request).toBeInstanceOf(Error);
      await expect.poll(() => api.closedEarly, { timeout: 3000 }).toBe(1);
      expect(api.seen).toHaveLength(1);
    } finally {
      await patient.close();
    }
  });
});

describe('ingest http mode: API unreachable', () => {
  it("answers 502 after all attempts, without the network error's words", async () => {
    const ingest = await startHttpIngest({ apiBaseUrl: 'http://127.0.0.1:9', retryBaseDelayMs: 10 });
    try {
      const answer = await post(`${ingest.url}/webhooks/payments/orders`, order);
      expect(answer.status).toBe(502);
      expect(answer.json).toEqual(serverErrorBody('bad_gateway'));
      expect(JSON.stringify(answer.json)).not.toMatch(DEPENDENCY_TEXT);
    } finally {
      await ingest.close();
    }
  });
});
