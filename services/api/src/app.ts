import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { fastifyTimeoutOptions } from '@payment-manager/shared';
import {
  type HealthCheck,
  healthPlugin,
  loggerOptions,
  metricsPlugin,
  migrationNames,
  migrationsCheck,
  oneLineRequestLogs,
  postgresCheck,
  registerPoolMetrics,
  wantsPrettyLogs,
} from '@payment-manager/shared/observability';
import { registerRateLimit } from '@payment-manager/shared/rate-limit';
import { signatureVerifierFromEnv } from '@payment-manager/shared/signatures';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type pg from 'pg';
import type { ApiConfig } from './config.ts';
import { MIGRATIONS_DIR, MIGRATIONS_TABLE } from './db/migrations.ts';
import type { Queryable } from './db/pool.ts';
import { ReplicaReads } from './db/replica-reads.ts';
import { registerApiAuth, requireAuthOnEveryRoute } from './http/auth.ts';
import { registerHttpConventions } from './http/conventions.ts';
import { registerOpenApi } from './http/openapi.ts';
import type { SilvergateClient } from './provider/silvergate.ts';
import { disputeRoutes } from './routes/disputes.ts';
import { healthRoutes } from './routes/health.ts';
import { internalUpdateRoutes } from './routes/internal.ts';
import { orderRoutes } from './routes/orders.ts';
import { publicWebhookRoutes } from './routes/webhooks.ts';

export interface AppDeps {
  config: Pick<ApiConfig, 'webhookMode' | 'bodyLimitBytes' | 'logLevel'> &
    Partial<Pick<ApiConfig, 'webhookSecret' | 'apiKeys' | 'http' | 'rateLimit' | 'trustProxy'>>;
  pool: pg.Pool;
  /** Where plain reads go, e.g. the lag-aware replica router (PG_REPLICA_URL); defaults to `pool`. */
  readPool?: Queryable;
  provider: SilvergateClient;
  /** fastify logger options; tests pass `false`. */
  logger?: FastifyServerOptions['logger'];
  /** Readiness checks besides Postgres and migrations, e.g. the Kafka broker in kafka mode. */
  readinessChecks?: HealthCheck[];
}

export type App = FastifyInstance;

/** Builds the API without listening, so tests drive it with `inject` or a real port. */
export async function buildApp(deps: AppDeps): Promise<App> {
  // A developer at a terminal reads pretty one-line logs; everywhere else they are JSON lines.
  const pretty = deps.logger === undefined && wantsPrettyLogs();
  const app = Fastify({
    logger: deps.logger ?? loggerOptions({ level: deps.config.logLevel, service: 'payment-manager-api', pretty }),
    ...oneLineRequestLogs(pretty),
    bodyLimit: deps.config.bodyLimitBytes,
    ...fastifyTimeoutOptions(deps.config.http),
    // Ids may be 255 characters (docs/domain.md#order-webhook), up to 12 bytes each once percent-encoded; fastify's default is 100.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 255 * 12 },
    ...(deps.config.trustProxy?.length ? { trustProxy: deps.config.trustProxy } : {}),
  }).withTypeProvider<TypeBoxTypeProvider>();

  requireAuthOnEveryRoute(app);
  registerHttpConventions(app);
  await registerOpenApi(app);
  await registerApiAuth(app, deps.config.apiKeys ?? new Map());
  // After authentication (its hook runs after the key check), so a request counts against its verified key.
  await registerRateLimit(app, deps.config.rateLimit, {
    clientOf: (request) => (request.apiKeyHash ? `key:${request.apiKeyHash}` : `ip:${request.ip}`),
    // Ingest's forwarding (http mode) is limited where webhooks enter, per source, in ingest.
    exempt: (request) => request.role === 'ingest',
  });

  await app.register(metricsPlugin);
  await app.register(healthRoutes);
  await app.register(healthPlugin, {
    service: 'api',
    checks: [
      postgresCheck(deps.pool),
      migrationsCheck(deps.pool, () => migrationNames(MIGRATIONS_DIR), MIGRATIONS_TABLE),
      ...(deps.readinessChecks ?? []),
    ],
  });
  const unregisterPools = [registerPoolMetrics(deps.pool, 'primary')];
  if (deps.readPool instanceof ReplicaReads)
    unregisterPools.push(registerPoolMetrics(deps.readPool.replica, 'replica'));
  app.addHook('onClose', async () => {
    for (const unregister of unregisterPools) unregister();
  });
  const pools = { pool: deps.pool, readPool: deps.readPool ?? deps.pool };
  await app.register(orderRoutes, { ...pools, provider: deps.provider });
  await app.register(disputeRoutes, { ...pools, provider: deps.provider, bodyLimitBytes: deps.config.bodyLimitBytes });
  // Only ingest in http mode forwards here; in kafka mode the route would bypass signatures and Kafka ordering.
  if (deps.config.webhookMode === 'http') await app.register(internalUpdateRoutes, { pool: deps.pool });
  // kafka mode: public webhooks must go through Kafka to keep per-user ordering (docs/domain.md#services-and-modes).
  if (deps.config.webhookMode !== 'kafka') {
    const signatureVerifier = signatureVerifierFromEnv(deps.config.webhookSecret, app.log);
    await app.register(publicWebhookRoutes, { pool: deps.pool, signatureVerifier });
  }
  return app;
}
