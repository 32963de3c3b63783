/**
 * One way to expose webhook processing over HTTP, shared by the public webhook routes and the internal update routes
 * used by ingest (docs/api.md): they differ only in URL, access and how a success is answered. The route schema
 * validates the body (after the signature check, where there is one); a rejection is a domain error, answered by
 * the one error handler.
 */
import {
  ChargebackWebhookSchema,
  normaliseChargebackWebhook,
  normaliseOrderWebhook,
  OrderWebhookSchema,
  type ValidationResult,
} from '@payment-manager/shared';
import { invalidRequest } from '@payment-manager/shared/errors';
import { recordWebhookOutcome } from '@payment-manager/shared/observability';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type pg from 'pg';
import type { Access } from '../http/auth.ts';
import { processChargebackWebhook, processOrderWebhook, type WebhookResult } from '../webhooks/process.ts';

const KINDS = {
  order: {
    schema: OrderWebhookSchema,
    apply: (pool: pg.Pool, body: unknown) =>
      processOrderWebhook(pool, storableOrThrow(normaliseOrderWebhook(body as never))),
  },
  chargeback: {
    schema: ChargebackWebhookSchema,
    apply: (pool: pg.Pool, body: unknown) =>
      processChargebackWebhook(pool, storableOrThrow(normaliseChargebackWebhook(body as never))),
  },
} as const;

function storableOrThrow<T>(result: ValidationResult<T>): T {
  if (!result.ok) throw invalidRequest(result.problems);
  return result.value;
}

export interface WebhookEndpoint {
  url: string;
  kind: keyof typeof KINDS;
  /** Metric label: which entry point applied the webhook. */
  source: 'api' | 'internal';
  tag: string;
  summary: string;
  /** Success answers; error statuses get the shared error body. */
  responses: Record<number, unknown>;
  access?: Access;
  answer(reply: FastifyReply, outcome: 'processed' | 'duplicate'): FastifyReply;
}

export function registerWebhookEndpoint(app: FastifyInstance, pool: pg.Pool, endpoint: WebhookEndpoint): void {
  const { schema, apply } = KINDS[endpoint.kind];
  app.post(
    endpoint.url,
    {
      schema: { tags: [endpoint.tag], summary: endpoint.summary, body: schema, response: endpoint.responses },
      config: { access: endpoint.access ?? 'public' },
    },
    async (request, reply) => {
      const result: WebhookResult = await apply(pool, request.body);
      recordWebhookOutcome(endpoint.source, endpoint.kind, result.outcome);
      if ('error' in result) throw result.error;
      return endpoint.answer(reply, result.outcome);
    },
  );
}
