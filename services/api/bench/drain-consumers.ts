/**
 * The API's Kafka consumers alone, as one API process runs them in kafka mode (production group timeouts, pool
 * size and partition concurrency), for `npm run bench:drain`. Settings come as JSON in PM_DRAIN_SETTINGS; the apply
 * mode (`batch` or `message`) is the only thing a run varies. Prints "started" once the consumers run.
 */
import { createKafkaClient } from '@payment-manager/shared/kafka-client';
import { createPool } from '../src/db/pool.ts';
import type { ApplyMode } from '../src/kafka/batch-handler.ts';
import { startWebhookConsumers } from '../src/kafka/consumers.ts';

const settings = JSON.parse(process.env.PM_DRAIN_SETTINGS ?? '{}') as {
  databaseUrl: string;
  brokers: string[];
  applyMode: ApplyMode;
  kafka: Parameters<typeof startWebhookConsumers>[0]['config']['kafka'];
};
const log = {
  debug() {},
  info() {},
  warn: (fields: object, message: string) => process.stderr.write(`${message} ${JSON.stringify(fields)}\n`),
  error: (fields: object, message: string) => process.stderr.write(`${message} ${JSON.stringify(fields)}\n`),
};
// PG_POOL_MAX's default (services/api/src/config.ts).
const pool = createPool({ pgUrl: settings.databaseUrl, max: 10 });
const consumers = startWebhookConsumers({
  pool,
  kafka: createKafkaClient({ clientId: 'bench-drain', brokers: settings.brokers, logger: log }),
  logger: log,
  config: { kafka: settings.kafka },
  applyMode: settings.applyMode,
});
process.once('SIGTERM', () => {
  void consumers
    .stop()
    .then(() => pool.end())
    .finally(() => process.exit(0));
});
process.stdout.write('started\n');
