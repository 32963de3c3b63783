/** Internal updates used by ingest in http mode (spec §7.1); registered in every mode. */

import {
  ChargebackWebhookSchema,
  OrderWebhookSchema,
  parseChargebackWebhook,
  parseOrderWebhook,
} from '@payment-manager/shared';
import { recordWebhookOutcome } from '@payment-manager/shared/observability';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type pg from 'pg';
import { InternalResult } from '../http/schemas.ts';
import {
  PUBLIC_WEBHOOK_RESPONSES,
  processChargebackWebhook,
  processOrderWebhook,
  type WebhookOutcome,
} from '../webhooks/process.ts';
import { parsedOrThrow, validatedByHandler } from './webhooks.ts';

function sendOutcome(reply: FastifyReply, outcome: WebhookOutcome) {
  if (outcome === 'processed') return reply.status(200).send({ success: true });
  if (outcome === 'duplicate')
    return reply.status(200).send({ success: true, duplicate: true, message: 'event already processed' });
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
  app.post(
    '/internal/updates/orders',
    {
      schema: {
        tags: ['internal'],
        summary: 'Apply an order webhook forwarded by ingest',
        body: OrderWebhookSchema,
        response: responses,
      },
      validatorCompiler: validatedByHandler,
      config: { errorStyle: 'internal' },
    },
    async (request, reply) =>
      sendOutcome(
        reply,
        recordWebhookOutcome(
          'internal',
          'order',
          await processOrderWebhook(pool, parsedOrThrow(parseOrderWebhook(request.body))),
        ),
      ),
  );
  app.post(
    '/internal/updates/disputes',
    {
      schema: {
        tags: ['internal'],
        summary: 'Apply a chargeback webhook forwarded by ingest',
        body: ChargebackWebhookSchema,
        response: responses,
      },
      validatorCompiler: validatedByHandler,
      config: { errorStyle: 'internal' },
    },
    async (request, reply) =>
      sendOutcome(
        reply,
        recordWebhookOutcome(
          'internal',
          'chargeback',
          await processChargebackWebhook(pool, parsedOrThrow(parseChargebackWebhook(request.body))),
        ),
      ),
  );
};
