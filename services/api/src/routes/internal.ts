/** Internal updates used by ingest in http mode (docs/api.md); registered only in http mode, ingest's key only. */
import { ERROR_BODY } from '@payment-manager/shared/http-errors';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type pg from 'pg';
import { InternalResult } from '../http/schemas.ts';
import { registerWebhookEndpoint } from './webhook-route.ts';

function answer(reply: FastifyReply, outcome: 'processed' | 'duplicate') {
  if (outcome === 'processed') return reply.status(200).send({ success: true });
  return reply.status(200).send({ success: true, duplicate: true, message: 'event already processed' });
}

const responses = { 200: InternalResult, 404: ERROR_BODY, 409: ERROR_BODY, 422: ERROR_BODY };

export const internalUpdateRoutes: FastifyPluginAsync<{ pool: pg.Pool }> = async (app, { pool }) => {
  const common = { source: 'internal', tag: 'internal', responses, answer, access: 'internal' } as const;
  registerWebhookEndpoint(app, pool, {
    ...common,
    url: '/internal/updates/orders',
    kind: 'order',
    summary: 'Apply an order webhook forwarded by ingest',
  });
  registerWebhookEndpoint(app, pool, {
    ...common,
    url: '/internal/updates/disputes',
    kind: 'chargeback',
    summary: 'Apply a chargeback webhook forwarded by ingest',
  });
};
