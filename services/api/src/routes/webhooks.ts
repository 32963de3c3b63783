/** Public provider webhooks on the API in sync/http mode (spec §5, R-1). */

import {
  ChargebackWebhookSchema,
  OrderWebhookSchema,
  parseChargebackWebhook,
  parseOrderWebhook,
  type ValidationResult,
} from '@payment-manager/shared';
import { recordWebhookOutcome } from '@payment-manager/shared/observability';
import { applyWebhookSignatureGuard, type SignatureVerifier } from '@payment-manager/shared/signatures';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type pg from 'pg';
import { invalidRequest } from '../http/errors.ts';
import { MessageBody } from '../http/schemas.ts';
import {
  PUBLIC_WEBHOOK_RESPONSES,
  processChargebackWebhook,
  processOrderWebhook,
  type WebhookOutcome,
} from '../webhooks/process.ts';

/** The shared parser validates and normalises; fastify's own validation of the same schema is skipped. */
export const validatedByHandler = () => (data: unknown) => ({ value: data });

const responses = {
  202: { description: 'Processed', type: 'null' },
  200: MessageBody,
  400: MessageBody,
  404: MessageBody,
  409: MessageBody,
  401: MessageBody,
  422: MessageBody,
};

export function parsedOrThrow<T>(result: ValidationResult<T>): T {
  if (!result.ok) throw invalidRequest(result.message);
  return result.value;
}

function sendOutcome(reply: FastifyReply, outcome: WebhookOutcome) {
  const { status, message } = PUBLIC_WEBHOOK_RESPONSES[outcome];
  return message === undefined ? reply.status(status).send() : reply.status(status).send({ message });
}

export const publicWebhookRoutes: FastifyPluginAsync<{
  pool: pg.Pool;
  signatureVerifier: SignatureVerifier | null;
}> = async (app, { pool, signatureVerifier }) => {
  applyWebhookSignatureGuard(app, signatureVerifier);
  app.post(
    '/webhooks/payments/orders',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Order webhook from the provider',
        body: OrderWebhookSchema,
        response: responses,
      },
      validatorCompiler: validatedByHandler,
    },
    async (request, reply) =>
      sendOutcome(
        reply,
        recordWebhookOutcome(
          'api',
          'order',
          await processOrderWebhook(pool, parsedOrThrow(parseOrderWebhook(request.body))),
        ),
      ),
  );
  app.post(
    '/webhooks/payments/chargebacks',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Chargeback webhook from the provider',
        body: ChargebackWebhookSchema,
        response: responses,
      },
      validatorCompiler: validatedByHandler,
    },
    async (request, reply) =>
      sendOutcome(
        reply,
        recordWebhookOutcome(
          'api',
          'chargeback',
          await processChargebackWebhook(pool, parsedOrThrow(parseChargebackWebhook(request.body))),
        ),
      ),
  );
};
