/**
 * Ingest (spec §7.2–§7.4): validates provider webhooks with the same shared schemas as the API, then
 * publishes them to Kafka (kafka mode) or forwards them to the API (http mode). No database, no domain logic.
 */
import {
  disputeEnvelope,
  fastifyTimeoutOptions,
  orderEnvelope,
  parseChargebackWebhook,
  parseOrderWebhook,
  type WebhookEnvelope,
} from '@payment-manager/shared';
import {
  type HealthCheck,
  healthPlugin,
  loggerOptions,
  metricsPlugin,
  webhookOutcomes,
  withProducerSpan,
} from '@payment-manager/shared/observability';
import { registerRawJsonBodyParser } from '@payment-manager/shared/raw-json-body';
import { applyWebhookSignatureGuard, type SignatureVerifier } from '@payment-manager/shared/signatures';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify';
import type { IngestConfig } from './config.ts';
import type { ApiForwarder, WebhookRoute } from './http/api-forwarder.ts';
import type { WebhookPublisher } from './kafka/publisher.ts';
import { cheapRequestLogging } from './request-logging.ts';

/** Seconds a provider should wait before retrying when the broker is unreachable. */
export const BROKER_RETRY_AFTER_SECONDS = 5;

export interface IngestDeps {
  config: Pick<IngestConfig, 'webhookMode' | 'bodyLimitBytes' | 'logLevel'> &
    Partial<Pick<IngestConfig, 'http'>> & {
      kafka: Pick<IngestConfig['kafka'], 'ordersTopic' | 'disputesTopic'>;
    };
  /** Required in kafka mode. */
  publisher?: WebhookPublisher;
  /** Required in http mode. */
  forwarder?: ApiForwarder;
  /** null = signature verification off (WEBHOOK_SECRET unset). */
  signatureVerifier: SignatureVerifier | null;
  /** fastify logger options; tests pass `false`. */
  logger?: FastifyServerOptions['logger'];
  /** An existing pino logger (main.ts), used instead of `logger`. */
  loggerInstance?: FastifyBaseLogger;
  /** Readiness checks for GET /health/ready, e.g. the Kafka broker in kafka mode. */
  readinessChecks?: HealthCheck[];
}

type WebhookKind = 'order' | 'chargeback';

/** Non-retriable protocol errors (message too large, authorisation…) will not heal by retrying later. */
function isPermanentKafkaError(err: unknown): boolean {
  const error = err as { name?: string; retriable?: boolean };
  return error.name === 'KafkaJSProtocolError' && error.retriable === false;
}

export async function buildIngestApp(deps: IngestDeps): Promise<FastifyInstance> {
  const { config } = deps;
  if (config.webhookMode === 'kafka' && !deps.publisher) throw new Error('kafka mode needs a publisher');
  if (config.webhookMode === 'http' && !deps.forwarder) throw new Error('http mode needs a forwarder');

  const app = Fastify({
    ...(deps.loggerInstance
      ? { loggerInstance: deps.loggerInstance }
      : { logger: deps.logger ?? loggerOptions({ level: config.logLevel, service: 'payment-manager-ingest' }) }),
    ...cheapRequestLogging(),
    bodyLimit: config.bodyLimitBytes,
    ...fastifyTimeoutOptions(config.http),
    routerOptions: { ignoreTrailingSlash: true },
  });
  registerRawJsonBodyParser(app);

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const statusCode = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
    if (statusCode >= 500) request.log.error({ err: error }, 'request failed');
    reply.status(statusCode).send({ message: statusCode === 500 ? 'internal server error' : error.message });
  });
  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send({ message: `route ${request.method} ${request.url.split('?')[0]} not found` });
  });

  app.get('/health', async () => ({ service: 'ingest', status: 'ok' }));
  await app.register(metricsPlugin);
  await app.register(healthPlugin, { service: 'ingest', checks: deps.readinessChecks ?? [] });

  async function publish(kind: WebhookKind, envelope: WebhookEnvelope, request: FastifyRequest, reply: FastifyReply) {
    const topic = kind === 'order' ? config.kafka.ordersTopic : config.kafka.disputesTopic;
    try {
      // The message carries the W3C context of its own producer span: the API consumer continues this trace.
      await withProducerSpan(topic, { 'messaging.kafka.message.key': envelope.key }, async (headers) => {
        await deps.publisher?.publish({ topic, key: envelope.key, value: JSON.stringify(envelope), headers });
      });
    } catch (err) {
      if (isPermanentKafkaError(err)) {
        webhookOutcomes.inc({ source: 'ingest', kind, outcome: 'failed' });
        request.log.error({ err, topic }, 'publishing webhook failed permanently');
        return reply.status(500).send({ message: `publishing webhook failed: ${(err as Error).message}` });
      }
      request.log.warn({ err, topic }, 'broker unavailable, webhook not accepted');
      webhookOutcomes.inc({ source: 'ingest', kind, outcome: 'unavailable' });
      return reply
        .status(503)
        .header('retry-after', String(BROKER_RETRY_AFTER_SECONDS))
        .send({ message: `message broker unavailable, webhook not accepted; retry later (${(err as Error).message})` });
    }
    webhookOutcomes.inc({ source: 'ingest', kind, outcome: 'accepted' });
    return reply.status(202).send();
  }

  async function forward(route: WebhookRoute, request: FastifyRequest, reply: FastifyReply) {
    const abort = new AbortController();
    reply.raw.on('close', () => {
      if (!reply.raw.writableEnded) abort.abort(new Error('provider closed the connection'));
    });
    try {
      const answer = await (deps.forwarder as ApiForwarder).forward(route, request.rawBody ?? '', abort.signal);
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

  applyRoutes(app, deps.signatureVerifier, async (scope) => {
    scope.post('/webhooks/payments/orders', async (request, reply) => {
      const parsed = parseOrderWebhook(request.body);
      if (!parsed.ok) {
        webhookOutcomes.inc({ source: 'ingest', kind: 'order', outcome: 'invalid' });
        return reply.status(400).send({ message: parsed.message });
      }
      if (config.webhookMode === 'kafka') return publish('order', orderEnvelope(parsed.value), request, reply);
      return forward('orders', request, reply);
    });
    scope.post('/webhooks/payments/chargebacks', async (request, reply) => {
      const parsed = parseChargebackWebhook(request.body);
      if (!parsed.ok) {
        webhookOutcomes.inc({ source: 'ingest', kind: 'chargeback', outcome: 'invalid' });
        return reply.status(400).send({ message: parsed.message });
      }
      if (config.webhookMode === 'kafka') return publish('chargeback', disputeEnvelope(parsed.value), request, reply);
      return forward('disputes', request, reply);
    });
  });

  await app.ready();
  return app;
}

/**
 * Webhook routes live in their own encapsulated scope so the signature guard covers them and nothing else.
 * The scope's function name is the plugin name that @fastify/otel puts in the handler span's name
 * (`handler - webhookRoutes`); an anonymous plugin would put its source text there.
 */
function applyRoutes(
  app: FastifyInstance,
  verifier: SignatureVerifier | null,
  routes: (scope: FastifyInstance) => Promise<void>,
): void {
  app.register(async function webhookRoutes(scope) {
    applyWebhookSignatureGuard(scope, verifier);
    await routes(scope);
  });
}
