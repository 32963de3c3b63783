/**
 * Ingest's provider webhook routes (docs/api.md): the signature is checked before validation, the route schema (the
 * shared webhook schema, the same the API uses) validates, then the webhook is published to Kafka (kafka mode) or
 * forwarded to the API (http mode). No database, no domain logic.
 */
import {
  type ChargebackWebhook,
  ChargebackWebhookSchema,
  disputeEnvelope,
  normaliseChargebackWebhook,
  normaliseOrderWebhook,
  type OrderWebhook,
  OrderWebhookSchema,
  orderEnvelope,
  type ValidationResult,
  type WebhookEnvelope,
} from '@payment-manager/shared';
import { DomainError, invalidRequest } from '@payment-manager/shared/errors';
import { ERROR_BODY, sendError } from '@payment-manager/shared/http-errors';
import { webhookOutcomes, withProducerSpan } from '@payment-manager/shared/observability';
import { applyWebhookSignatureGuard, type SignatureVerifier } from '@payment-manager/shared/signatures';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { IngestConfig } from '../config.ts';
import type { ApiForwarder, ApiUpdateRoute } from '../http/api-forwarder.ts';
import type { WebhookPublisher } from '../kafka/publisher.ts';

/** Seconds a provider should wait before retrying when the broker is unreachable. */
export const BROKER_RETRY_AFTER_SECONDS = 5;

type WebhookKind = 'order' | 'chargeback';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Which webhook an ingest route receives (metric label). */
    webhookKind?: WebhookKind;
  }
}

export interface WebhookRouteOptions {
  mode: IngestConfig['webhookMode'];
  topics: Pick<IngestConfig['kafka'], 'ordersTopic' | 'disputesTopic'>;
  publisher?: WebhookPublisher;
  forwarder?: ApiForwarder;
  signatureVerifier: SignatureVerifier | null;
}

const responses = {
  202: { description: 'Accepted: published (kafka mode) or applied by the API (http mode)', type: 'null' },
  200: {
    description: 'http mode: a duplicate the API had already applied',
    type: 'object',
    properties: { message: { type: 'string' } },
  },
  401: ERROR_BODY,
  404: ERROR_BODY,
  409: ERROR_BODY,
  422: ERROR_BODY,
  502: ERROR_BODY,
  503: ERROR_BODY,
};

/** Non-retriable protocol errors (message too large, authorisation…) will not heal by retrying later. */
function isPermanentKafkaError(err: unknown): boolean {
  const error = err as { name?: string; retriable?: boolean };
  return error.name === 'KafkaJSProtocolError' && error.retriable === false;
}

function storableOrThrow<T>(result: ValidationResult<T>): T {
  if (!result.ok) throw invalidRequest(result.problems);
  return result.value;
}

/** The two webhook routes: URL, shared schema, the envelope of a schema-valid body, and the API route of http mode. */
const WEBHOOK_ROUTES: ReadonlyArray<{
  url: string;
  kind: WebhookKind;
  summary: string;
  schema: object;
  envelope(body: unknown): WebhookEnvelope;
  apiRoute: ApiUpdateRoute;
}> = [
  {
    url: '/webhooks/payments/orders',
    kind: 'order',
    summary: 'Order webhook from the provider',
    schema: OrderWebhookSchema,
    envelope: (body) => orderEnvelope(storableOrThrow(normaliseOrderWebhook(body as OrderWebhook))),
    apiRoute: 'orders',
  },
  {
    url: '/webhooks/payments/chargebacks',
    kind: 'chargeback',
    summary: 'Chargeback webhook from the provider',
    schema: ChargebackWebhookSchema,
    envelope: (body) => disputeEnvelope(storableOrThrow(normaliseChargebackWebhook(body as ChargebackWebhook))),
    apiRoute: 'disputes',
  },
];

/** The webhook routes: signed (WEBHOOK_SECRET), the only routes of ingest besides its PUBLIC_PATHS (app.ts). */
export const WEBHOOK_PATHS: readonly string[] = WEBHOOK_ROUTES.map((route) => route.url);

/**
 * The scope's function name is the plugin name that @fastify/otel puts in the handler span's name
 * (`handler - webhookRoutes`); an anonymous plugin would put its source text there.
 */
export async function webhookRoutes(scope: FastifyInstance, options: WebhookRouteOptions): Promise<void> {
  const { mode, topics } = options;
  applyWebhookSignatureGuard(scope, options.signatureVerifier);

  // A webhook refused by the schema (or as unstorable) is counted like any other verdict.
  scope.addHook('onError', async (request, _reply, error) => {
    const kind = request.routeOptions.config.webhookKind;
    if (kind && error instanceof DomainError && error.kind === 'validation') {
      webhookOutcomes.inc({ source: 'ingest', kind, outcome: 'invalid' });
    }
  });

  async function publish(kind: WebhookKind, envelope: WebhookEnvelope, request: FastifyRequest, reply: FastifyReply) {
    const topic = kind === 'order' ? topics.ordersTopic : topics.disputesTopic;
    try {
      // The message carries the W3C context of its own producer span: the API consumer continues this trace.
      await withProducerSpan(topic, { 'messaging.kafka.message.key': envelope.key }, async (headers) => {
        await options.publisher?.publish({ topic, key: envelope.key, value: JSON.stringify(envelope), headers });
      });
    } catch (err) {
      if (isPermanentKafkaError(err)) {
        webhookOutcomes.inc({ source: 'ingest', kind, outcome: 'failed' });
        request.log.error({ err, topic }, 'publishing webhook failed permanently');
        return sendError(reply, 500, 'internal', 'publishing webhook failed');
      }
      request.log.warn({ err, topic }, 'broker unavailable, webhook not accepted');
      webhookOutcomes.inc({ source: 'ingest', kind, outcome: 'unavailable' });
      reply.header('retry-after', String(BROKER_RETRY_AFTER_SECONDS));
      // The broker's own text stays in the log above: a 5xx body never carries dependency text (http-errors.ts).
      return sendError(reply, 503, 'unavailable', 'message broker unavailable, webhook not accepted; retry later');
    }
    webhookOutcomes.inc({ source: 'ingest', kind, outcome: 'accepted' });
    return reply.status(202).send();
  }

  async function forward(route: ApiUpdateRoute, request: FastifyRequest, reply: FastifyReply) {
    const abort = new AbortController();
    reply.raw.on('close', () => {
      if (!reply.raw.writableEnded) abort.abort(new Error('provider closed the connection'));
    });
    try {
      const answer = await (options.forwarder as ApiForwarder).forward(route, request.rawBody ?? '', abort.signal);
      const outcome = answer.status < 300 ? 'accepted' : answer.status < 500 ? 'rejected' : 'unavailable';
      webhookOutcomes.inc({ source: 'ingest', kind: route === 'orders' ? 'order' : 'chargeback', outcome });
      return answer.body === undefined
        ? reply.status(answer.status).send()
        : reply.status(answer.status).send(answer.body);
    } catch (err) {
      if (abort.signal.aborted) {
        request.log.info('provider went away; forwarding abandoned');
        return reply;
      }
      throw err;
    }
  }

  for (const route of WEBHOOK_ROUTES) {
    scope.post(
      route.url,
      {
        schema: { tags: ['webhooks'], summary: route.summary, body: route.schema, response: responses },
        config: { webhookKind: route.kind },
      },
      async (request, reply) => {
        const envelope = route.envelope(request.body);
        if (mode === 'kafka') return publish(route.kind, envelope, request, reply);
        return forward(route.apiRoute, request, reply);
      },
    );
  }
}
