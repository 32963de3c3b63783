import { Writable } from 'node:stream';
import { loggerOptions } from '@payment-manager/shared/observability';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { buildIngestApp } from '../src/app.ts';
import { createApiForwarder } from '../src/http/api-forwarder.ts';

interface LogLine {
  level: string;
  message: string;
  reqId?: string;
  req?: { method: string; url: string; headers: Record<string, string> };
  res?: { statusCode: number };
  responseTime?: number;
}

const apps: Array<{ close(): Promise<unknown> }> = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

async function ingestLoggingAt(level: 'info' | 'debug') {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  const app = await buildIngestApp({
    config: {
      webhookMode: 'http',
      bodyLimitBytes: 1_048_576,
      logLevel: level,
      kafka: { ordersTopic: 'unused.orders', disputesTopic: 'unused.disputes' },
    },
    // Never reached: the requests below are answered before forwarding.
    forwarder: createApiForwarder({
      baseUrl: 'http://127.0.0.1:9',
      timeoutMs: 100,
      retryAttempts: 1,
      retryBaseDelayMs: 1,
      retryMaxDelayMs: 1,
    }),
    signatureVerifier: null,
    loggerInstance: pino(loggerOptions({ level, service: 'ingest-test' }), sink),
  });
  apps.push(app);
  const completions = () => lines.filter((line) => line.message === 'request completed');
  return { app, lines, completions };
}

describe('ingest request logging', () => {
  it('logs one completion line for a rejected webhook at info: metadata and redacted headers, no body', async () => {
    const { app, lines, completions } = await ingestLoggingAt('info');
    const answer = await app.inject({
      method: 'POST',
      url: '/webhooks/payments/orders',
      headers: { 'webhook-signature': 'v1,c2VjcmV0', 'content-type': 'application/json' },
      payload: '{"order_id":"ord-secret-body"}',
    });
    expect(answer.statusCode).toBe(400);
    expect(completions()).toHaveLength(1);
    const [line] = completions();
    expect(line).toMatchObject({
      level: 'info',
      req: { method: 'POST', url: '/webhooks/payments/orders' },
      res: { statusCode: 400 },
    });
    expect(line?.reqId).toEqual(expect.any(String));
    expect(line?.responseTime).toEqual(expect.any(Number));
    expect(line?.req?.headers['webhook-signature']).toBe('[REDACTED]');
    expect(JSON.stringify(lines)).not.toContain('ord-secret-body');
    expect(lines.filter((l) => l.message === 'incoming request')).toHaveLength(0);
  });

  it('keeps successful requests out of the info log and logs them at debug', async () => {
    const atInfo = await ingestLoggingAt('info');
    expect((await atInfo.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    expect(atInfo.completions()).toHaveLength(0);

    const atDebug = await ingestLoggingAt('debug');
    expect((await atDebug.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    expect(atDebug.completions()).toEqual([
      expect.objectContaining({
        level: 'debug',
        req: expect.objectContaining({ url: '/health' }),
        res: { statusCode: 200 },
      }),
    ]);
  });

  it('logs an unmatched route (404) at info with its request id', async () => {
    const { app, completions } = await ingestLoggingAt('info');
    expect((await app.inject({ method: 'GET', url: '/nope' })).statusCode).toBe(404);
    expect(completions()).toEqual([
      expect.objectContaining({ level: 'info', res: { statusCode: 404 }, reqId: expect.any(String) }),
    ]);
  });
});
