/** Cross-cutting HTTP contract: health, the generated OpenAPI document, unknown routes (docs/api.md#conventions, issue 2 item 6). */
import { createPool } from '@payment-manager/api/db/pool';
import { DEPENDENCY_TEXT, errorBody, serverErrorBody, validationBody } from '@payment-manager/testkit/errors';
import { describeWith, requirePostgres } from '@payment-manager/testkit/services';
import { FAST_EDGE_TIMEOUTS, SLOW_BODY_REQUEST, slowClient } from '@payment-manager/testkit/slow-client';
import { orderWebhook } from '@payment-manager/testkit/webhooks';
import { expect, it } from 'vitest';
import { createTestApp, useTestApi } from './support/app.ts';
import { call, type Json } from './support/http.ts';

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

  it('documents the error model: every error status of every operation answers ErrorBody', async () => {
    const doc = (await call(api.app, 'GET', '/docs/json')).json;
    expect(doc.info.description).toMatch(/every answer ≥ 400 has the body ErrorBody/);
    expect(doc.components.schemas.ErrorBody).toMatchObject({
      required: ['code', 'message', 'error', 'success'],
      properties: expect.objectContaining({ problems: expect.any(Object), from: expect.any(Object) }),
    });
    const errorResponses: string[] = [];
    for (const [path, methods] of Object.entries(doc.paths as Record<string, Record<string, Json>>)) {
      for (const [method, operation] of Object.entries(methods)) {
        const validates = Boolean(operation.parameters?.length || operation.requestBody);
        if (validates) expect(Object.keys(operation.responses), `${method} ${path}`).toContain('400');
        for (const [status, response] of Object.entries(operation.responses as Record<string, Json>)) {
          if (Number(status) < 400) continue;
          // Readiness answers 503 with its report (the documented exception): what a probe or operator reads.
          if (path === '/health/ready' && status === '503') {
            expect(response.content['application/json'].schema.required).toEqual(['status', 'checks']);
            continue;
          }
          errorResponses.push(`${method} ${path} ${status}`);
          expect(response.content['application/json'].schema, `${method} ${path} ${status}`).toEqual({
            $ref: '#/components/schemas/ErrorBody',
          });
        }
      }
    }
    expect(errorResponses).toEqual(expect.arrayContaining(['post /orders/{order_id}/capture 409', 'get /orders 401']));
  });

  it('one error body everywhere: fastify’s own errors, validation, authentication and domain errors', async () => {
    const answers = [
      await call(api.app, 'GET', '/nope'),
      await call(api.app, 'GET', '/orders?order_id=x'),
      await call(api.app, 'POST', '/orders/x/hold', undefined, { raw: '{"action":' }),
      await call(api.app, 'GET', '/orders', undefined, { as: null }),
      await call(api.app, 'GET', '/internal/updates/orders', undefined, { as: 'reader' }),
      await call(api.app, 'POST', '/internal/updates/orders', orderWebhook(), { as: 'reader' }),
      await call(api.app, 'GET', '/orders/nope'),
      await call(api.app, 'POST', '/disputes/x/evidence', { fields: { note: 'x'.repeat(70_000) } }),
    ];
    expect(answers.map((answer) => answer.status)).toEqual([404, 400, 400, 401, 404, 403, 404, 413]);
    for (const answer of answers) {
      expect(answer.json, answer.text).toMatchObject(errorBody(expect.any(String), expect.any(String)));
      expect(answer.json.error).toBe(answer.json.message);
    }
    expect(answers.map((answer) => answer.json.code)).toEqual([
      'route_not_found',
      'validation',
      'bad_request',
      'unauthorized',
      'route_not_found',
      'forbidden',
      'not_found',
      'payload_too_large',
    ]);
  });

  it('unknown query parameters → 400 naming them, on every list and page route', async () => {
    for (const [url, known] of [
      ['/orders?order_ids=x', 'status, user_id, limit, offset, cursor, sort_by, sort_order'],
      ['/disputes?dispute_id=x', 'order_id, status, limit, offset, cursor'],
      ['/orders/events?order_id=x', 'order_ids, kinds, time_from, time_to, limit, cursor, sort_asc'],
      ['/disputes/events?dispute_id=x', 'dispute_ids, kinds, time_from, time_to, limit, cursor, sort_asc'],
    ] as const) {
      const answer = await call(api.app, 'GET', url);
      expect(answer.status, url).toBe(400);
      const unknown = (url.split('?')[1] as string).split('=')[0] as string;
      expect(answer.json, url).toEqual(
        validationBody(`invalid request: query.${unknown} is not a known query parameter; known: ${known}`, unknown),
      );
    }
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

  it('a database failure → 500 with a generic message in each route family (docs/domain.md#webhook-outcomes "anything else", docs/api.md#internal-updates "other")', async () => {
    const url = new URL(requirePostgres().adminUrl);
    url.pathname = '/pm_test_database_that_does_not_exist';
    const pool = createPool({ pgUrl: url.toString(), max: 1 });
    const app = await createTestApp(pool);
    try {
      const webhook = await call(app, 'POST', '/webhooks/payments/orders', orderWebhook());
      expect(webhook.status).toBe(500);
      const internal = await call(app, 'POST', '/internal/updates/orders', orderWebhook());
      const list = await call(app, 'GET', '/orders');
      for (const answer of [webhook, internal, list]) {
        expect(answer.status).toBe(500);
        expect(answer.json).toEqual(serverErrorBody('internal'));
        // The message is generic; the request id is what finds the database's words in the log.
        expect(answer.json.message).not.toMatch(DEPENDENCY_TEXT);
        expect(answer.text).not.toMatch(/does_not_exist|stack/);
      }
      const ready = await call(app, 'GET', '/health/ready');
      expect(ready.status).toBe(503);
      // Readiness gives states only: which check is down, not the driver's words.
      expect(ready.json).toEqual({
        status: 'down',
        checks: [
          { name: 'postgres', status: 'down' },
          { name: 'migrations', status: 'down' },
        ],
      });
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
