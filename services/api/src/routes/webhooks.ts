/** Public provider webhooks on the API in sync/http mode (spec §5, R-1). */
import { applyWebhookSignatureGuard, type SignatureVerifier } from '@payment-manager/shared/signatures';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type pg from 'pg';
import { MessageBody } from '../http/schemas.ts';
import { PUBLIC_WEBHOOK_RESPONSES, type WebhookOutcome } from '../webhooks/process.ts';
import { webhookRoute } from './webhook-route.ts';

const responses = {
  202: { description: 'Processed', type: 'null' },
  200: MessageBody,
  400: MessageBody,
  401: MessageBody,
  404: MessageBody,
  409: MessageBody,
  422: MessageBody,
};

function answer(reply: FastifyReply, outcome: WebhookOutcome) {
  const { status, message } = PUBLIC_WEBHOOK_RESPONSES[outcome];
  return message === undefined ? reply.status(status).send() : reply.status(status).send({ message });
}

export const publicWebhookRoutes: FastifyPluginAsync<{
  pool: pg.Pool;
  signatureVerifier: SignatureVerifier | null;
}> = async (app, { pool, signatureVerifier }) => {
  applyWebhookSignatureGuard(app, signatureVerifier);
  const common = { source: 'api', tag: 'webhooks', responses, answer } as const;
  webhookRoute(app, pool, {
    ...common,
    url: '/webhooks/payments/orders',
    kind: 'order',
    summary: 'Order webhook from the provider',
  });
  webhookRoute(app, pool, {
    ...common,
    url: '/webhooks/payments/chargebacks',
    kind: 'chargeback',
    summary: 'Chargeback webhook from the provider',
  });
};
