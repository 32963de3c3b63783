/**
 * The API at its edges (issue 21, "bounded and quiet"): rate limits per API key (per address where no key is
 * needed), prototype-poisoning-safe JSON, and exactly the documented public paths, checked at start-up.
 */
import { hashApiKey, PUBLIC_PATHS, parseApiKeys } from '@payment-manager/api/http/auth';
import { TEST_API_KEYS } from '@payment-manager/testkit/auth';
import { documentedPublicPaths } from '@payment-manager/testkit/docs';
import { errorBody } from '@payment-manager/testkit/errors';
import { describeWith } from '@payment-manager/testkit/services';
import { orderWebhook } from '@payment-manager/testkit/webhooks';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.ts';
import { createTestApp, useTestApi } from './support/app.ts';
import { call } from './support/http.ts';

/** A second reader key: the limit is per key, not per role. */
const OTHER_READER = 'pm_test_second_reader_key';

describeWith(['postgres'], 'API edges', () => {
  const api = useTestApi();

  describe('rate limit (docs/api.md#rate-limits)', () => {
    async function limitedApp(max: number) {
      const keys = parseApiKeys(
        [
          `reader:${hashApiKey(TEST_API_KEYS.reader)}`,
          `reader:${hashApiKey(OTHER_READER)}`,
          `ingest:${hashApiKey(TEST_API_KEYS.ingest)}`,
        ].join(','),
      );
      return buildApp({
        config: {
          webhookMode: 'http',
          bodyLimitBytes: 1_048_576,
          logLevel: 'error',
          apiKeys: keys,
          rateLimit: { max, windowMs: 60_000 },
        },
        pool: api.pool,
        provider: {
          capture: async () => ({ transaction_id: 't', status: 'success' }),
          submitRepresentment: async () => ({ id: 'x' }),
        },
        logger: false,
      });
    }
    const as = (key: string, remoteAddress = '192.0.2.1') => ({
      headers: { authorization: `Bearer ${key}` },
      remoteAddress,
    });

    it('over the limit a key gets 429 with Retry-After in the error model; another key is unaffected', async () => {
      const app = await limitedApp(3);
      try {
        for (let i = 0; i < 3; i++) {
          const ok = await app.inject({ method: 'GET', url: '/orders', ...as(TEST_API_KEYS.reader) });
          expect(ok.statusCode).toBe(200);
          expect(ok.headers['x-ratelimit-remaining']).toBeUndefined();
        }
        // From another address too: the key is what counts, not where it comes from.
        const limited = await app.inject({ method: 'GET', url: '/orders', ...as(TEST_API_KEYS.reader, '192.0.2.99') });
        expect(limited.statusCode).toBe(429);
        expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
        expect(limited.headers['x-ratelimit-limit']).toBe('3');
        expect(limited.json()).toEqual(
          errorBody('rate_limited', /^rate limit exceeded: at most 3 requests per 1 min; retry after 1 minute/),
        );
        const other = await app.inject({ method: 'GET', url: '/orders', ...as(OTHER_READER) });
        expect(other.statusCode).toBe(200);
      } finally {
        await app.close();
      }
    });

    it("routes without a key count per source address; probes, metrics and ingest's own key are never limited", async () => {
      const app = await limitedApp(2);
      try {
        const webhook = (remoteAddress: string) =>
          app.inject({ method: 'POST', url: '/webhooks/payments/orders', payload: '{}', remoteAddress });
        expect((await webhook('192.0.2.7')).statusCode).toBe(400);
        expect((await webhook('192.0.2.7')).statusCode).toBe(400);
        expect((await webhook('192.0.2.7')).statusCode).toBe(429);
        expect((await webhook('192.0.2.8')).statusCode).toBe(400);
        for (const url of ['/health', '/health/live', '/health/ready', '/metrics']) {
          for (let i = 0; i < 4; i++) {
            expect((await app.inject({ method: 'GET', url, remoteAddress: '192.0.2.7' })).statusCode, url).toBe(200);
          }
        }
        for (let i = 0; i < 4; i++) {
          const forwarded = await app.inject({
            method: 'POST',
            url: '/internal/updates/orders',
            payload: orderWebhook(),
            ...as(TEST_API_KEYS.ingest),
          });
          expect(forwarded.statusCode).toBe(200);
        }
      } finally {
        await app.close();
      }
    });

    it('unauthenticated requests are refused (401) before they count against anyone', async () => {
      const app = await limitedApp(1);
      try {
        for (let i = 0; i < 3; i++) {
          expect((await app.inject({ method: 'GET', url: '/orders', ...as('pm_not_a_key') })).statusCode).toBe(401);
        }
        expect((await app.inject({ method: 'GET', url: '/orders', ...as(TEST_API_KEYS.reader) })).statusCode).toBe(200);
      } finally {
        await app.close();
      }
    });
  });

  describe('JSON bodies with prototype poisoning (docs/api.md#conventions)', () => {
    it.each([
      ['__proto__', '/orders/o-1/hold', '{"action":"set","reason":"risk","__proto__":{"polluted":true}}'],
      [
        'constructor.prototype',
        '/orders/o-1/capture',
        '{"amount":10,"currency":"USD","idempotency_key":"k","constructor":{"prototype":{"polluted":true}}}',
      ],
      ['__proto__ in a webhook', '/webhooks/payments/orders', '{"order_id":"o","__proto__":{"polluted":true}}'],
    ])('%s → 400 in the error model', async (_name, url, raw) => {
      const answer = await call(api.app, 'POST', url, undefined, { raw });
      expect(answer.status).toBe(400);
      expect(answer.json).toEqual(errorBody('bad_request', /forbidden "__proto__" or "constructor.prototype" key/));
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });
  });

  describe('public paths (docs/api.md#authentication)', () => {
    it('PUBLIC_PATHS is exactly the list docs/api.md gives, and each of them is a route', async () => {
      expect(documentedPublicPaths('API')).toEqual([...PUBLIC_PATHS].sort());
      for (const url of PUBLIC_PATHS) {
        const method = url.startsWith('/webhooks/') ? 'POST' : 'GET';
        expect(api.app.hasRoute({ method, url }), url).toBe(true);
      }
    });

    it('a route added without the API-key check stops the start, naming it', async () => {
      const app = await buildApp({
        config: { webhookMode: 'sync', bodyLimitBytes: 1_048_576, logLevel: 'error' },
        pool: api.pool,
        provider: {
          capture: async () => ({ transaction_id: 't', status: 'success' }),
          submitRepresentment: async () => ({ id: 'x' }),
        },
        logger: false,
      });
      app.get('/orders/export', { config: { access: 'public' } }, async () => []);
      await expect(app.ready()).rejects.toThrow(
        /^routes without the API-key check: GET,HEAD \/orders\/export|^routes without the API-key check: .*GET \/orders\/export/,
      );
      await app.close().catch(() => {});
    });

    it('a route on the list stays open and every other route of the real app carries the check', async () => {
      const app = await createTestApp(api.pool);
      try {
        expect((await call(app, 'GET', '/health', undefined, { as: null })).status).toBe(200);
        expect((await call(app, 'GET', '/orders', undefined, { as: null })).status).toBe(401);
      } finally {
        await app.close();
      }
    });
  });
});
