/** Internal updates used by ingest in http mode (spec §7.1); registered only in http mode, ingest's key only. */
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type pg from 'pg';
import { InternalResult } from '../http/schemas.ts';
import { PUBLIC_WEBHOOK_RESPONSES, type WebhookOutcome } from '../webhooks/process.ts';
import { webhookRoute } from './webhook-route.ts';

function answer(reply: FastifyReply, outcome: WebhookOutcome) {
  if (outcome === 'processed') return reply.status(200).send({ success: true });
  if (outcome === 'duplicate') {
    return reply.status(200).send({ success: true, duplicate: true, message: 'event already processed' });
  }
  const { status, message } = PUBLIC_WEBHOOK_RESPONSES[outcome];
  return reply.status(status).send({ success: false, message });
}

const responses = {
  200: InternalResult,
  400: InternalResult,
  404: InternalResult,
  409: InternalResult,
  422: InternalResult,
};

export const internalUpdateRoutes: FastifyPluginAsync<{ pool: pg.Pool }> = async (app, { pool }) => {
  const common = {
    source: 'internal',
    tag: 'internal',
    responses,
    answer,
    errorStyle: 'internal',
    access: 'internal',
  } as const;
  webhookRoute(app, pool, {
    ...common,
    url: '/internal/updates/orders',
    kind: 'order',
    summary: 'Apply an order webhook forwarded by ingest',
  });
  webhookRoute(app, pool, {
    ...common,
    url: '/internal/updates/disputes',
    kind: 'chargeback',
    summary: 'Apply a chargeback webhook forwarded by ingest',
  });
};
