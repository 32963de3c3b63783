/** Cross-cutting HTTP contract: health, the generated OpenAPI document, unknown routes (spec §3, issue 2 item 6). */
import { describeWith } from '@payment-manager/testkit/services';
import { expect, it } from 'vitest';
import { useTestApi } from './support/app.ts';
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

  it('unknown routes and methods → 404 {"message"}', async () => {
    for (const [method, url] of [
      ['GET', '/nope'],
      ['DELETE', '/orders'],
      ['POST', '/orders/x/refund'],
    ] as const) {
      const answer = await call(api.app, method, url);
      expect(answer.status).toBe(404);
      expect(answer.json).toEqual({ message: expect.any(String) });
    }
  });
});
