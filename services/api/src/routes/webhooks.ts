/** Public provider webhooks on the API in sync/http mode (docs/api.md). */
import { ERROR_BODY } from '@payment-manager/shared/http-errors';
import { applyWebhookSignatureGuard, type SignatureVerifier } from '@payment-manager/shared/signatures';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type pg from 'pg';
import { MessageBody } from '../http/schemas.ts';
import { registerWebhookEndpoint } from './webhook-route.ts';

const responses = {
  202: { description: 'Processed', type: 'null' },
  200: MessageBody,
  401: ERROR_BODY,
  404: ERROR_BODY,
  409: ERROR_BODY,
  422: ERROR_BODY,
};

function answer(reply: FastifyReply, outcome: 'processed' | 'duplicate') {
  return outcome === 'processed'
    ? reply.status(202).send()
    : reply.status(200).send({ message: 'Duplicate webhook received' });
}

export const publicWebhookRoutes: FastifyPluginAsync<{
  pool: pg.Pool;
  signatureVerifier: SignatureVerifier | null;
}> = async (app, { pool, signatureVerifier }) => {
  applyWebhookSignatureGuard(app, signatureVerifier);
  const common = { source: 'api', tag: 'webhooks', responses, answer } as const;
  registerWebhookEndpoint(app, pool, {
    ...common,
    url: '/webhooks/payments/orders',
    kind: 'order',
    summary: 'Order webhook from the provider',
  });
  registerWebhookEndpoint(app, pool, {
    ...common,
    url: '/webhooks/payments/chargebacks',
    kind: 'chargeback',
    summary: 'Chargeback webhook from the provider',
  });
};
