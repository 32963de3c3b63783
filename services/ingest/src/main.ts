/** Ingest process: config from env (README.md#configuration), kafka or http hand-over, 5 s drain on SIGINT/SIGTERM (docs/domain.md#start-up-and-shutdown). */

import { ConfigError } from '@payment-manager/shared';
import { EXIT_USAGE } from '@payment-manager/shared/cli';
import { createKafkaClient } from '@payment-manager/shared/kafka-client';
import { kafkaCheck, loggerOptions, shutdownTelemetry, wantsPrettyLogs } from '@payment-manager/shared/observability';
import { signatureVerifierFromEnv } from '@payment-manager/shared/signatures';
import closeWithGrace from 'close-with-grace';
import pino from 'pino';
import { buildIngestApp } from './app.ts';
import { loadIngestConfig } from './config.ts';
import { createApiForwarder } from './http/api-forwarder.ts';
import { createKafkaPublisher } from './kafka/publisher.ts';

const SHUTDOWN_GRACE_MS = 5000;

async function main(): Promise<void> {
  let config: ReturnType<typeof loadIngestConfig>;
  try {
    config = loadIngestConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`ingest: invalid configuration: ${err.message}\n`);
      process.exit(EXIT_USAGE);
    }
    throw err;
  }
  const pretty = wantsPrettyLogs();
  const logger = pino(loggerOptions({ level: config.logLevel, service: 'payment-manager-ingest', pretty }));
  const signatureVerifier = signatureVerifierFromEnv(config.webhookSecret, { warn: (m) => logger.warn(m) });

  const kafka =
    config.webhookMode === 'kafka'
      ? createKafkaClient({
          clientId: 'payment-manager-ingest',
          brokers: config.kafka.brokers,
          security: config.kafka.security,
          logger,
        })
      : undefined;
  const publisher = kafka ? createKafkaPublisher(kafka, { idempotent: config.kafka.idempotentProducer }) : undefined;
  const admin = kafka?.admin();
  if (publisher) {
    // Start-up does not wait for the broker: until it answers, webhooks get 503 + Retry-After.
    publisher
      .connect()
      .catch((err: Error) => logger.warn({ err }, 'broker not reachable yet; will retry on the next webhook'));
  }

  const app = await buildIngestApp({
    config,
    publisher,
    forwarder: config.webhookMode === 'http' ? createApiForwarder(config.api) : undefined,
    signatureVerifier,
    loggerInstance: logger,
    oneLineRequestLogs: pretty,
    readinessChecks: admin ? [kafkaCheck(admin)] : [],
  });

  closeWithGrace({ delay: SHUTDOWN_GRACE_MS }, async ({ signal, err }) => {
    if (err) logger.error({ err }, 'shutting down after a fatal error');
    else logger.info({ signal }, 'shutting down');
    // Stop accepting and let in-flight requests finish, then flush the last batches to the broker.
    await app.close();
    await publisher?.close();
    await admin?.disconnect();
    await shutdownTelemetry();
  });

  await app.listen({ port: config.port, host: config.host });
  logger.info({ mode: config.webhookMode, port: config.port }, 'ingest listening');
}

await main();
