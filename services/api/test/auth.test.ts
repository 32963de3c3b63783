/** API keys and roles: every non-webhook, non-health route needs a key; money-moving operations need operator. */
import { hashApiKey, parseApiKeys, type Role } from '@payment-manager/api/http/auth';
import { errorBody, validationBody } from '@payment-manager/testkit/errors';
import { describeWith } from '@payment-manager/testkit/services';
import { orderWebhook } from '@payment-manager/testkit/webhooks';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, useTestApi } from './support/app.ts';
import { call } from './support/http.ts';

/** Every protected route, with the roles admitted; the body is valid so only the credential decides. */
const PROTECTED: Array<{ method: 'GET' | 'POST'; url: string; admits: Role[]; body?: unknown }> = [
  { method: 'GET', url: '/orders', admits: ['reader', 'operator'] },
  { method: 'GET', url: '/orders/events', admits: ['reader', 'operator'] },
  { method: 'GET', url: '/orders/o-1', admits: ['reader', 'operator'] },
  { method: 'POST', url: '/orders/o-1/hold', admits: ['operator'], body: { action: 'set', reason: 'risk' } },
  {
    method: 'POST',
    url: '/orders/o-1/capture',
    admits: ['operator'],
    body: { amount: 10, currency: 'USD', idempotency_key: 'k' },
  },
  { method: 'GET', url: '/disputes', admits: ['reader', 'operator'] },
  { method: 'GET', url: '/disputes/events', admits: ['reader', 'operator'] },
  { method: 'GET', url: '/disputes/d-1', admits: ['reader', 'operator'] },
  { method: 'POST', url: '/disputes/d-1/evidence', admits: ['operator'], body: { fields: { a: 'b' } } },
  { method: 'GET', url: '/disputes/d-1/evidence', admits: ['reader', 'operator'] },
  { method: 'POST', url: '/disputes/d-1/submit', admits: ['operator'] },
  { method: 'POST', url: '/internal/updates/orders', admits: ['ingest'], body: orderWebhook() },
  { method: 'POST', url: '/internal/updates/disputes', admits: ['ingest'], body: { status: 'opened' } },
];
const ROLES: Role[] = ['reader', 'operator', 'ingest'];

describeWith(['postgres'], 'API authentication and roles', () => {
  const api = useTestApi();

  it('the table above covers every route the OpenAPI document marks as protected', async () => {
    const doc = (await call(api.app, 'GET', '/docs/json')).json as {
      paths: Record<string, Record<string, { security?: unknown[] }>>;
    };
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops)
        .filter(([, op]) => op.security)
        .map(([method, op]) => {
          expect(op).toHaveProperty(['responses', '401']);
          expect(op).toHaveProperty(['responses', '403']);
          return `${method.toUpperCase()} ${path.replace(/\{[^}]+\}/, (m) => (m.includes('order') ? 'o-1' : 'd-1'))}`;
        }),
    );
    expect(documented.sort()).toEqual(PROTECTED.map((r) => `${r.method} ${r.url}`).sort());
  });

  describe.each(PROTECTED)('$method $url', ({ method, url, admits, body }) => {
    it('no credential → 401 with WWW-Authenticate, before the body is looked at', async () => {
      const answer = await call(api.app, method, url, body, { as: null });
      expect(answer.status).toBe(401);
      expect(answer.headers['www-authenticate']).toBe('Bearer');
      expect(answer.json).toEqual(
        errorBody('unauthorized', 'missing authorization header: send the header "Authorization: Bearer <API key>"'),
      );
    });

    it('an unknown key, or another scheme → 401', async () => {
      for (const authorization of ['Bearer not-a-key', 'Basic b3BlcmF0b3I6eA==', 'Bearer ']) {
        expect((await call(api.app, method, url, body, { headers: { authorization } })).status).toBe(401);
      }
    });

    it.each(ROLES.filter((role) => !admits.includes(role)))('role %s → 403', async (role) => {
      const answer = await call(api.app, method, url, body, { as: role });
      expect(answer.status).toBe(403);
      expect(answer.json).toEqual(errorBody('forbidden', /^role \w+ may not call .*; roles allowed: /));
    });

    it.each(admits)('role %s gets past authentication', async (role) => {
      expect([401, 403]).not.toContain((await call(api.app, method, url, body, { as: role })).status);
    });
  });

  it('health, metrics, docs and provider webhooks need no API key', async () => {
    for (const url of ['/health', '/health/live', '/metrics', '/docs/json']) {
      expect((await call(api.app, 'GET', url, undefined, { as: null })).status).toBe(200);
    }
    expect((await call(api.app, 'POST', '/webhooks/payments/orders', orderWebhook(), { as: null })).status).toBe(202);
  });

  describe('without API_KEYS every protected route is closed', () => {
    let closed: Awaited<ReturnType<typeof createTestApp>>;
    beforeAll(async () => {
      closed = await createTestApp(api.pool, { apiKeys: new Map() });
      return () => closed.close();
    });
    it.each(PROTECTED)('$method $url → 401', async ({ method, url, body }) => {
      expect((await call(closed, method, url, body)).status).toBe(401);
    });
  });

  describe('capture validates currency (ISO 4217) and amount (positive, fits DECIMAL(10,2))', () => {
    it.each([
      ['currency XXX (not money)', { amount: 10, currency: 'XXX' }],
      ['currency usd (lower case)', { amount: 10, currency: 'usd' }],
      ['currency ABC (unknown)', { amount: 10, currency: 'ABC' }],
      ['amount 1e308', { amount: 1e308, currency: 'USD' }],
      ['amount 99999999.995 (rounds past DECIMAL(10,2))', { amount: 99_999_999.995, currency: 'USD' }],
      ['amount 0', { amount: 0, currency: 'USD' }],
      ['amount -5', { amount: -5, currency: 'USD' }],
    ])('%s → 400 before the provider is called', async (_name, fields) => {
      const answer = await call(api.app, 'POST', '/orders/o-1/capture', { ...fields, idempotency_key: 'k' });
      expect(answer.status).toBe(400);
      expect(answer.json).toEqual(validationBody(/^invalid request: body\.(currency|amount) /));
    });
  });
});

describe('API_KEYS', () => {
  it('parses role:sha256 entries and refuses anything else without echoing it', () => {
    const hash = hashApiKey('secret-key');
    expect(parseApiKeys(`reader:${hash}, operator:${'a'.repeat(64)}`)).toEqual(
      new Map([
        [hash, 'reader'],
        ['a'.repeat(64), 'operator'],
      ]),
    );
    expect(parseApiKeys(undefined).size).toBe(0);
    for (const bad of [`admin:${hash}`, `reader:${hash.slice(1)}`, 'reader:secret-key', 'secret-key']) {
      expect(() => parseApiKeys(bad)).toThrow(/API_KEYS entries must be <role>:<sha256 hex>/);
      try {
        parseApiKeys(bad);
      } catch (err) {
        expect((err as Error).message).not.toContain('secret-key');
      }
    }
  });
});
