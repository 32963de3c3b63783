/**
 * One way to expose webhook processing over HTTP, shared by the public webhook routes (spec §5.5) and the
 * internal update routes (spec §7.1): they differ only in URL, error shape and how an outcome is answered.
 */
import {
  ChargebackWebhookSchema,
  OrderWebhookSchema,
  parseChargebackWebhook,
  parseOrderWebhook,
  type ValidationResult,
} from '@payment-manager/shared';
import { recordWebhookOutcome } from '@payment-manager/shared/observability';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type pg from 'pg';
import type { Access } from '../http/auth.ts';
import type { ErrorStyle } from '../http/errors.ts';
import { invalidRequest } from '../http/errors.ts';
import { processChargebackWebhook, processOrderWebhook, type WebhookOutcome } from '../webhooks/process.ts';

const KINDS = {
  order: {
    schema: OrderWebhookSchema,
    apply: (pool: pg.Pool, body: unknown) => processOrderWebhook(pool, parsedOrThrow(parseOrderWebhook(body))),
  },
  chargeback: {
    schema: ChargebackWebhookSchema,
    apply: (pool: pg.Pool, body: unknown) =>
      processChargebackWebhook(pool, parsedOrThrow(parseChargebackWebhook(body))),
  },
} as const;

function parsedOrThrow<T>(result: ValidationResult<T>): T {
  if (!result.ok) throw invalidRequest(result.message);
  return result.value;
}

/** The shared parser validates and normalises; fastify's own validation of the same schema is skipped. */
const validatedByHandler = () => (data: unknown) => ({ value: data });

export interface WebhookRoute {
  url: string;
  kind: keyof typeof KINDS;
  /** Metric label: which entry point applied the webhook. */
  source: 'api' | 'internal';
  tag: string;
  summary: string;
  responses: Record<number, unknown>;
  errorStyle?: ErrorStyle;
  access?: Access;
  answer(reply: FastifyReply, outcome: WebhookOutcome): FastifyReply;
}

export function webhookRoute(app: FastifyInstance, pool: pg.Pool, route: WebhookRoute): void {
  const { schema, apply } = KINDS[route.kind];
  app.post(
    route.url,
    {
      schema: { tags: [route.tag], summary: route.summary, body: schema, response: route.responses },
      validatorCompiler: validatedByHandler,
      config: {
        ...(route.errorStyle ? { errorStyle: route.errorStyle } : {}),
        access: route.access ?? 'public',
      },
    },
    async (request, reply) =>
      route.answer(reply, recordWebhookOutcome(route.source, route.kind, await apply(pool, request.body))),
  );
}
