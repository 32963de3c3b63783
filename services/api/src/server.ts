/** Wires configuration, database, provider and (in kafka mode) consumers into a listening API. */
import { createKafkaClient, type KafkaLogSink } from '@payment-manager/shared/kafka-client';
import { type HealthCheck, kafkaCheck } from '@payment-manager/shared/observability';
import type { FastifyServerOptions } from 'fastify';
import { type App, buildApp } from './app.ts';
import type { ApiConfig } from './config.ts';
import { runMigrations, startPartitionMaintenance } from './db/migrations.ts';
import { createPool, waitForDatabase } from './db/pool.ts';
import { ReplicaReads } from './db/replica-reads.ts';
import { startWebhookConsumers, type WebhookConsumers } from './kafka/consumers.ts';
import { createSilvergateClient } from './provider/silvergate.ts';

export interface RunningApi {
  app: App;
  url: string;
  close(): Promise<void>;
}

export async function startApiServer(
  config: ApiConfig,
  opts: { logger?: FastifyServerOptions['logger'] } = {},
): Promise<RunningApi> {
  // The app's logger exists only once the app is built, after the pools; hence the indirection.
  let appLog: App['log'] | null = null;
  const onIdleClientError = (error: Error) =>
    appLog?.warn({ err: error }, 'an idle PostgreSQL client lost its connection; the pool replaces it');
  const pool = createPool({ pgUrl: config.pgUrl, max: config.pgPoolMax, onIdleClientError });
  const replicaPool = config.pgReplicaUrl
    ? createPool({
        pgUrl: config.pgReplicaUrl,
        max: config.pgPoolMax,
        applicationName: 'payment-manager-api-reads',
        // A replica that does not answer must cost a read little: it then goes to the primary.
        connectionTimeoutMillis: 2_000,
        onIdleClientError,
      })
    : null;
  const readPool = replicaPool
    ? new ReplicaReads({
        primary: pool,
        replica: replicaPool,
        maxLagMs: config.pgReplicaMaxLagMs,
        log: (message) => appLog?.info(message),
      })
    : pool;
  const provider = createSilvergateClient(config.silvergate);
  // kafkajs logs go to the app's logger (with trace ids); the app is built after the client, hence the indirection.
  const kafkaLog: KafkaLogSink = {
    debug: (obj, message) => app.log.debug(obj, message),
    info: (obj, message) => app.log.info(obj, message),
    warn: (obj, message) => app.log.warn(obj, message),
    error: (obj, message) => app.log.error(obj, message),
  };
  const kafka =
    config.webhookMode === 'kafka'
      ? createKafkaClient({
          clientId: 'payment-manager-api',
          brokers: config.kafka.brokers,
          security: config.kafka.security,
          logger: kafkaLog,
        })
      : null;
  const kafkaAdmin = kafka?.admin() ?? null;
  // Readiness includes the consumers' progress; they start after the app is built.
  let consumers: WebhookConsumers | null = null;
  const consumersProgress: HealthCheck = {
    name: 'kafka-consumers',
    check: async () => consumers?.progressCheck().check(),
  };
  const app: App = await buildApp({
    config,
    pool,
    readPool,
    provider,
    readinessChecks: kafkaAdmin ? [kafkaCheck(kafkaAdmin), consumersProgress] : [],
    ...(opts.logger !== undefined ? { logger: opts.logger } : {}),
  });
  const log = app.log;
  appLog = log;
  const stops: Array<() => Promise<void> | void> = [];
  if (readPool instanceof ReplicaReads) stops.push(() => readPool.stop());
  try {
    if (readPool instanceof ReplicaReads) readPool.start();
    await waitForDatabase(pool);
    if (config.migrateOnStart) {
      await runMigrations({
        // The owner's role (PG_MIGRATION_URL): the API's own role may not run DDL (docs/data-tier.md#roles).
        databaseUrl: config.pgMigrationUrl,
        log: (message) => (message.startsWith('WARNING:') ? log.warn(message) : log.info(message)),
      });
    } else {
      log.info('migrations skipped at start-up (MIGRATE_ON_START=false): a separate step applies them');
    }
    const maintenance = startPartitionMaintenance(pool, {
      intervalMs: config.partitionMaintenanceIntervalMs,
      retention: config.disputeEventsRetention,
      log: (message, level = 'info') => log[level](message),
    });
    stops.push(() => maintenance.stop());
    if (kafka && kafkaAdmin) {
      const started = startWebhookConsumers({ pool, config, logger: kafkaLog, kafka });
      consumers = started;
      // Reversed at close: consumers finish and commit before the admin client and the pools go away.
      stops.push(() => kafkaAdmin.disconnect());
      stops.push(() => started.stop());
    }
    const url = await app.listen({ port: config.port, host: config.host });
    log.info({ mode: config.webhookMode }, `API listening on ${url} (webhook mode ${config.webhookMode})`);
    return {
      app,
      url,
      async close() {
        await app.close();
        for (const stop of stops.reverse()) await stop();
        await pool.end();
        await replicaPool?.end();
      },
    };
  } catch (err) {
    await app.close().catch(() => {});
    for (const stop of stops.reverse()) await stop();
    await pool.end().catch(() => {});
    await replicaPool?.end().catch(() => {});
    throw err;
  }
}
