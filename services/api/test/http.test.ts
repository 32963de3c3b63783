/** Cross-cutting HTTP contract: health, the generated OpenAPI document, unknown routes (spec §3, issue 2 item 6). */
import { createPool } from '@payment-manager/api/db/pool';
import { errorBody, validationBody } from '@payment-manager/testkit/errors';
import { describeWith, requirePostgres } from '@payment-manager/testkit/services';
import { FAST_EDGE_TIMEOUTS, SLOW_BODY_REQUEST, slowClient } from '@payment-manager/testkit/slow-client';
import { orderWebhook } from '@payment-manager/testkit/webhooks';
import { expect, it } from 'vitest';
import { createTestApp, useTestApi } from './support/app.ts';
import { call } from './support/http.ts';

describeWith(['postgres'], 'HTTP conventions', () => {
  const api = useTestApi();

  it('GET /health → 200 {"service":"api","status":"ok"}', async () => {
    const answer = await call(api.app, 'GET', '/health');
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ service: 'api', status: 'ok' });
  });

  it('serves an OpenAPI 3 document at /docs/json listing every public and internal route', async () => {
    const answer = await call(api.app, 'GET', '/docs/json');
    expect(answer.status).toBe(200);
    expect(answer.json.openapi).toMatch(/^3\./);
    const paths = answer.json.paths as Record<string, Record<string, unknown>>;
    const routes = Object.entries(paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(routes).toEqual(
      expect.arrayContaining([
        'GET /health',
        'GET /orders',
        'GET /orders/events',
        'GET /orders/{order_id}',
        'POST /orders/{order_id}/hold',
        'POST /orders/{order_id}/capture',
        'GET /disputes',
        'GET /disputes/events',
        'GET /disputes/{dispute_id}',
        'POST /disputes/{dispute_id}/evidence',
        'GET /disputes/{dispute_id}/evidence',
        'POST /disputes/{dispute_id}/submit',
        'POST /internal/updates/orders',
        'POST /internal/updates/disputes',
        'POST /webhooks/payments/orders',
        'POST /webhooks/payments/chargebacks',
      ]),
    );
    const capture = paths['/orders/{order_id}/capture']?.post as {
      requestBody?: unknown;
      responses?: Record<string, unknown>;
    };
    expect(capture.requestBody).toBeDefined();
    expect(Object.keys(capture.responses ?? {})).toEqual(expect.arrayContaining(['200', '400', '404', '409', '502']));
  });

  it('serves the documentation UI at /docs', async () => {
    const answer = await api.app.inject({ method: 'GET', url: '/docs' });
    expect([200, 302]).toContain(answer.statusCode);
  });

  it('unknown routes and methods → 404 in the one error shape', async () => {
    for (const [method, url] of [
      ['GET', '/nope'],
      ['DELETE', '/orders'],
      ['POST', '/orders/x/refund'],
    ] as const) {
      const answer = await call(api.app, method, url);
      expect(answer.status).toBe(404);
      expect(answer.json).toEqual(errorBody('route_not_found', `route ${method} ${url} not found`));
    }
  });

  it('a database failure → 500 with a generic message in each route family (§5.5 "anything else", §7.1 "other")', async () => {
    const url = new URL(requirePostgres().adminUrl);
    url.pathname = '/pm_test_database_that_does_not_exist';
    const pool = createPool({ pgUrl: url.toString(), max: 1 });
    const app = await createTestApp(pool);
    try {
      const webhook = await call(app, 'POST', '/webhooks/payments/orders', orderWebhook());
      expect(webhook.status).toBe(500);
      expect(webhook.json).toEqual(errorBody('internal', 'internal server error'));
      const internal = await call(app, 'POST', '/internal/updates/orders', orderWebhook());
      expect(internal.status).toBe(500);
      expect(internal.json).toEqual(errorBody('internal', 'internal server error'));
      const list = await call(app, 'GET', '/orders');
      expect(list.status).toBe(500);
      expect(list.json).toEqual(errorBody('internal', 'internal server error'));
      expect(list.text).not.toMatch(/does_not_exist|stack/);
    } finally {
      await app.close();
      await pool.end();
    }
  });

  it('a slow body (100 bytes declared, one sent) is cut after the request timeout', async () => {
    const app = await createTestApp(api.pool, { http: FAST_EDGE_TIMEOUTS });
    try {
      await app.listen({ port: 0, host: '127.0.0.1' });
      const { closedAfterMs } = await slowClient((app.server.address() as { port: number }).port, SLOW_BODY_REQUEST);
      expect(closedAfterMs).toBeGreaterThanOrEqual(FAST_EDGE_TIMEOUTS.requestTimeoutMs - 100);
      expect(closedAfterMs).toBeLessThan(FAST_EDGE_TIMEOUTS.requestTimeoutMs + 3000);
    } finally {
      await app.close();
    }
  });
});
