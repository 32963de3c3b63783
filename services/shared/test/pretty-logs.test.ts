/** Readable logs on a developer's terminal, JSON lines everywhere else. */
import { Writable } from 'node:stream';
import Fastify from 'fastify';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { loggerOptions, oneLineRequestLogs, wantsPrettyLogs } from '../src/observability/index.ts';

describe('wantsPrettyLogs', () => {
  it('is true only on a terminal outside production', () => {
    expect(wantsPrettyLogs({}, { isTTY: true })).toBe(true);
    expect(wantsPrettyLogs({ NODE_ENV: 'development' }, { isTTY: true })).toBe(true);
    expect(wantsPrettyLogs({ NODE_ENV: 'production' }, { isTTY: true })).toBe(false);
    expect(wantsPrettyLogs({}, { isTTY: false })).toBe(false);
    expect(wantsPrettyLogs({}, {})).toBe(false);
  });

  it('pretty options go through pino-pretty; plain options write JSON lines', () => {
    expect(loggerOptions({ level: 'info', service: 's', pretty: true }).transport).toMatchObject({
      target: 'pino-pretty',
    });
    expect(loggerOptions({ level: 'info', service: 's' }).transport).toBeUndefined();
  });
});

describe('oneLineRequestLogs', () => {
  async function appLogging(enabled: boolean) {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    const app = Fastify({
      loggerInstance: pino(loggerOptions({ level: 'info', service: 'test' }), sink),
      ...oneLineRequestLogs(enabled),
    });
    app.get('/ok', async () => ({ ok: true }));
    app.get('/boom', async () => {
      throw new Error('boom');
    });
    app.get('/quiet', { logLevel: 'warn' }, async () => ({ ok: true }));
    await app.ready();
    return { app, lines };
  }

  it('writes one line per request: method, url, status and time; an error keeps its own line', async () => {
    const { app, lines } = await appLogging(true);
    await app.inject({ method: 'GET', url: '/ok?x=1' });
    await app.inject({ method: 'GET', url: '/boom' });
    await app.inject({ method: 'GET', url: '/quiet' });
    await app.close();
    const requests = lines.filter((line) => String(line.message).startsWith('GET '));
    expect(requests.map((line) => [line.level, String(line.message).replace(/ [\d.]+ ms$/, '')])).toEqual([
      ['info', 'GET /ok?x=1 200'],
      ['error', 'GET /boom 500'],
    ]);
    expect(lines.filter((line) => (line.err as { message?: string })?.message === 'boom')).toHaveLength(1);
    expect(lines.some((line) => line.message === 'incoming request' || line.message === 'request completed')).toBe(
      false,
    );
  });

  it('leaves fastify’s own request lines alone when off', async () => {
    const { app, lines } = await appLogging(false);
    await app.inject({ method: 'GET', url: '/ok' });
    await app.close();
    expect(lines.map((line) => line.message)).toEqual(['incoming request', 'request completed']);
  });
});
