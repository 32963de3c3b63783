/** Wires configuration, database, provider and (in kafka mode) consumers into a listening API. */
import type { FastifyServerOptions } from 'fastify';
import { type App, buildApp } from './app.ts';
import type { ApiConfig } from './config.ts';
import { runMigrations, startPartitionMaintenance } from './db/migrations.ts';
import { createPool, waitForDatabase } from './db/pool.ts';
import { createSilvergateClient } from './provider/silvergate.ts';

export interface RunningApi {
  app: App;
  url: string;
  close(): Promise<void>;
}

export async function startApi(
  config: ApiConfig,
  opts: { logger?: FastifyServerOptions['logger'] } = {},
): Promise<RunningApi> {
  const pool = createPool({ pgUrl: config.pgUrl, max: config.pgPoolMax });
  const readPool = config.pgReplicaUrl
    ? createPool({ pgUrl: config.pgReplicaUrl, max: config.pgPoolMax, applicationName: 'payment-manager-api-reads' })
    : pool;
  const provider = createSilvergateClient(config.silvergate);
  const app = await buildApp({
    config,
    pool,
    readPool,
    provider,
    ...(opts.logger !== undefined ? { logger: opts.logger } : {}),
  });
  const log = app.log;
  const stops: Array<() => Promise<void> | void> = [];
  try {
    await waitForDatabase(pool);
    await runMigrations({
      databaseUrl: config.pgUrl,
      log: (message) => (message.startsWith('WARNING:') ? log.warn(message) : log.info(message)),
    });
    const maintenance = startPartitionMaintenance(pool, {
      intervalMs: config.partitionMaintenanceIntervalMs,
      retention: config.disputeEventsRetention,
      log: (message, level = 'info') => log[level](message),
    });
    stops.push(() => maintenance.stop());
    const url = await app.listen({ port: config.port, host: config.host });
    log.info({ mode: config.webhookMode }, `API listening on ${url} (webhook mode ${config.webhookMode})`);
    return {
      app,
      url,
      async close() {
        await app.close();
        for (const stop of stops.reverse()) await stop();
        await pool.end();
        if (readPool !== pool) await readPool.end();
      },
    };
  } catch (err) {
    await app.close().catch(() => {});
    for (const stop of stops.reverse()) await stop();
    await pool.end().catch(() => {});
    if (readPool !== pool) await readPool.end().catch(() => {});
    throw err;
  }
}
