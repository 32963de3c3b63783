/** Ingest's route schemas validate and document its routes, like the API's (shared webhook schemas, one error body). */
import { errorBody, validationBody } from '@payment-manager/testkit/errors';
import { orderWebhook } from '@payment-manager/testkit/webhooks';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIngestApp } from '../src/app.ts';
import { createApiForwarder } from '../src/http/api-forwarder.ts';

describe('ingest OpenAPI document and errors', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await buildIngestApp({
      config: {
        webhookMode: 'http',
        bodyLimitBytes: 1_048_576,
        logLevel: 'error',
        kafka: { ordersTopic: 'unused.orders', disputesTopic: 'unused.disputes' },
      },
      // Never reached: only invalid webhooks are sent below.
      forwarder: createApiForwarder({
        baseUrl: 'http://127.0.0.1:9',
        timeoutMs: 100,
        retryAttempts: 1,
        retryBaseDelayMs: 1,
        retryMaxDelayMs: 1,
      }),
      signatureVerifier: null,
      logger: false,
    });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('documents both webhook routes with the shared schemas and ErrorBody for every error status', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json();
    expect(doc.info.description).toMatch(/ErrorBody/);
    expect(doc.components.schemas.ErrorBody.required).toEqual(['code', 'message', 'error', 'success']);
    for (const path of ['/webhooks/payments/orders', '/webhooks/payments/chargebacks']) {
      const post = doc.paths[path].post;
      expect(post.requestBody.content['application/json'].schema.required, path).toEqual(
        expect.arrayContaining(['provider_event_id', 'order_id', 'status']),
      );
      for (const status of ['400', '401', '404', '409', '422', '502', '503']) {
        expect(post.responses[status].content['application/json'].schema, `${path} ${status}`).toEqual({
          $ref: '#/components/schemas/ErrorBody',
        });
      }
    }
    expect(doc.paths['/health'].get.responses['200']).toBeDefined();
  });

  it('reports every problem of a webhook at once, listing the accepted statuses', async () => {
    const answer = await app.inject({
      method: 'POST',
      url: '/webhooks/payments/orders',
      payload: { ...orderWebhook(), status: 'done', user_id: 'nobody', created_at: 'yesterday' },
    });
    expect(answer.statusCode).toBe(400);
    expect(answer.json()).toEqual(validationBody(/^invalid request: /, 'status', 'user_id', 'created_at'));
    expect(answer.json().problems).toContainEqual({
      in: 'body',
      field: 'status',
      message: 'must be one of: created, updated, success, failed',
      allowed: ['created', 'updated', 'success', 'failed'],
    });
  });

  it('answers unknown routes in the one error shape', async () => {
    const answer = await app.inject({ method: 'GET', url: '/webhooks' });
    expect(answer.statusCode).toBe(404);
    expect(answer.json()).toEqual(errorBody('route_not_found', 'route GET /webhooks not found'));
  });
});
