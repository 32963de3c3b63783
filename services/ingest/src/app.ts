/**
 * Ingest (docs/api.md): validates provider webhooks with the same shared schemas as the API, then publishes them to
 * Kafka (kafka mode) or forwards them to the API (http mode). Routes live in routes/; this builds the app.
 */
import swagger from '@fastify/swagger';
import { fastifyTimeoutOptions } from '@payment-manager/shared';
import {
  ERROR_MODEL_DESCRIPTION,
  namedSchemaReferences,
  registerErrorResponses,
} from '@payment-manager/shared/http-errors';
import {
  type HealthCheck,
  healthPlugin,
  loggerOptions,
  metricsPlugin,
  oneLineRequestLogs,
} from '@payment-manager/shared/observability';
import { registerRateLimit } from '@payment-manager/shared/rate-limit';
import { registerRawJsonBodyParser } from '@payment-manager/shared/raw-json-body';
import { requireGuardOnEveryRoute } from '@payment-manager/shared/route-guard';
import type { SignatureVerifier } from '@payment-manager/shared/signatures';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { IngestConfig } from './config.ts';
import type { ApiForwarder } from './http/api-forwarder.ts';
import type { WebhookPublisher } from './kafka/publisher.ts';
import { cheapRequestLogging } from './request-logging.ts';
import { healthRoute } from './routes/health.ts';
import { WEBHOOK_PATHS, webhookRoutes } from './routes/webhooks.ts';

/**
 * Exactly the routes of ingest that are neither signed nor keyed (docs/api.md#authentication): probes, metrics and
 * the OpenAPI document. Its only other routes are the signed webhooks; any route besides stops the start.
 */
export const PUBLIC_PATHS: readonly string[] = ['/health', '/health/live', '/health/ready', '/metrics', '/docs/json'];

export interface IngestDeps {
  config: Pick<IngestConfig, 'webhookMode' | 'bodyLimitBytes' | 'logLevel'> &
    Partial<Pick<IngestConfig, 'http' | 'rateLimit' | 'trustProxy'>> & {
      kafka: Pick<IngestConfig['kafka'], 'ordersTopic' | 'disputesTopic'>;
    };
  /** Required in kafka mode. */
  publisher?: WebhookPublisher;
  /** Required in http mode. */
  forwarder?: ApiForwarder;
  /** null = signature verification off (WEBHOOK_SIGNATURES_DISABLED=true; docs/security.md). */
  signatureVerifier: SignatureVerifier | null;
  /** fastify logger options; tests pass `false`. */
  logger?: FastifyServerOptions['logger'];
  /** An existing pino logger (main.ts), used instead of `logger`. */
  loggerInstance?: FastifyBaseLogger;
  /** One pretty line per request instead of the JSON completion lines (a developer's terminal, see main.ts). */
  oneLineRequestLogs?: boolean;
  /** Readiness checks for GET /health/ready, e.g. the Kafka broker in kafka mode. */
  readinessChecks?: HealthCheck[];
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
    ...oneLineRequestLogs(deps.oneLineRequestLogs ?? false),
    bodyLimit: config.bodyLimitBytes,
    ...fastifyTimeoutOptions(config.http),
    routerOptions: { ignoreTrailingSlash: true },
    ...(config.trustProxy?.length ? { trustProxy: config.trustProxy } : {}),
  });
  requireGuardOnEveryRoute(app, {
    publicPaths: PUBLIC_PATHS,
    guard: 'a webhook signature check',
    isGuarded: (route) => WEBHOOK_PATHS.includes(route.url),
  });
  registerRawJsonBodyParser(app);
  registerErrorResponses(app);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Payment Manager ingest',
        version: '0.1.0',
        description: `Receives provider webhooks (docs/api.md).\n\n${ERROR_MODEL_DESCRIPTION}`,
      },
    },
    refResolver: namedSchemaReferences,
  });
  app.get('/docs/json', { schema: { hide: true }, logLevel: 'warn' }, async () => app.swagger());

  await app.register(healthRoute);
  await app.register(metricsPlugin);
  await app.register(healthPlugin, { service: 'ingest', checks: deps.readinessChecks ?? [] });
  // Webhook senders are known by their address only; the limit answers before the body is read or verified.
  await registerRateLimit(app, config.rateLimit, { clientOf: (request) => `ip:${request.ip}` });
  await app.register(webhookRoutes, {
    mode: config.webhookMode,
    topics: config.kafka,
    signatureVerifier: deps.signatureVerifier,
    ...(deps.publisher ? { publisher: deps.publisher } : {}),
    ...(deps.forwarder ? { forwarder: deps.forwarder } : {}),
  });

  await app.ready();
  return app;
}
