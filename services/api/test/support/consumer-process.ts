/**
 * A separate API consumer process for the crash tests: a test SIGKILLs it mid-stream, so whatever it processed
 * but had not committed yet is redelivered to the next member of the group. Configured through env (JSON); it
 * always runs the production consumer settings.
 */

import { createKafkaClient } from '@payment-manager/shared/kafka-client';
import { createPool } from '../../src/db/pool.ts';
import { startWebhookConsumers } from '../../src/kafka/consumers.ts';

const settings = JSON.parse(process.env.PM_CONSUMER_SETTINGS ?? '{}') as {
  databaseUrl: string;
  brokers: string[];
  maxWebhooksPerTransaction?: number;
  kafka: Parameters<typeof startWebhookConsumers>[0]['config']['kafka'];
};
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const pool = createPool({ pgUrl: settings.databaseUrl, max: 4 });
startWebhookConsumers({
  pool,
  kafka: createKafkaClient({ clientId: 'crash-test-consumer', brokers: settings.brokers, logger: silent }),
  logger: silent,
  // Production group timeouts (CONSUMER_GROUP_TIMEOUTS): the crash tests must exercise what is deployed.
  config: { kafka: settings.kafka },
  maxWebhooksPerTransaction: settings.maxWebhooksPerTransaction,
});
process.stdout.write('started\n');
