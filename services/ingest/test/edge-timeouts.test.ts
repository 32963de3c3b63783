/** Timeouts at ingest's HTTP edge: a client that sends its body or headers too slowly is cut. */
import { envReader, readEdgeTimeouts } from '@payment-manager/shared';
import { FAST_EDGE_TIMEOUTS, SLOW_BODY_REQUEST, slowClient } from '@payment-manager/testkit/slow-client';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIngestApp } from '../src/app.ts';
import { createApiForwarder } from '../src/http/api-forwarder.ts';

describe('ingest edge timeouts', () => {
  let ingest: FastifyInstance;
  let port = 0;

  beforeAll(async () => {
    // http mode towards a closed port: the requests under test never get that far.
    ingest = await buildIngestApp({
      config: {
        webhookMode: 'http',
        bodyLimitBytes: 1_048_576,
        logLevel: 'error',
        http: FAST_EDGE_TIMEOUTS,
        kafka: { ordersTopic: 'unused', disputesTopic: 'unused' },
      },
      forwarder: createApiForwarder({
        baseUrl: 'http://127.0.0.1:9',
        timeoutMs: 100,
        retryAttempts: 1,
        retryBaseDelayMs: 10,
        retryMaxDelayMs: 10,
      }),
      signatureVerifier: null,
      logger: false,
    });
    await ingest.listen({ port: 0, host: '127.0.0.1' });
    port = (ingest.server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await ingest?.close();
  });

  it('a body declared as 100 bytes of which one arrives is cut after the request timeout', async () => {
    const { closedAfterMs, answer } = await slowClient(port, SLOW_BODY_REQUEST);
    expect(closedAfterMs).toBeGreaterThanOrEqual(FAST_EDGE_TIMEOUTS.requestTimeoutMs - 100);
    expect(closedAfterMs).toBeLessThan(FAST_EDGE_TIMEOUTS.requestTimeoutMs + 3000);
    expect(answer).toMatch(/^(HTTP\/1\.1 408|$)/);
  });

  it('headers that never finish are cut', async () => {
    const { closedAfterMs } = await slowClient(port, 'POST /webhooks/payments/orders HTTP/1.1\r\nHost: x\r\n');
    expect(closedAfterMs).toBeLessThan(FAST_EDGE_TIMEOUTS.requestTimeoutMs + 3000);
  });

  it('an idle keep-alive connection is closed after the keep-alive timeout', async () => {
    const { closedAfterMs, answer } = await slowClient(port, 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
    expect(closedAfterMs).toBeLessThan(FAST_EDGE_TIMEOUTS.keepAliveTimeoutMs + 3000);
  });

  it('configuration: defaults, and headers/keep-alive may not exceed the request/idle timeouts', () => {
    expect(readEdgeTimeouts(envReader({}))).toEqual({
      requestTimeoutMs: 10_000,
      headersTimeoutMs: 5000,
      keepAliveTimeoutMs: 65_000,
      idleTimeoutMs: 75_000,
    });
    expect(() => readEdgeTimeouts(envReader({ HTTP_HEADERS_TIMEOUT: '20s' }))).toThrow(/HTTP_HEADERS_TIMEOUT/);
    expect(() => readEdgeTimeouts(envReader({ HTTP_KEEP_ALIVE_TIMEOUT: '2m' }))).toThrow(/HTTP_KEEP_ALIVE_TIMEOUT/);
  });
});
